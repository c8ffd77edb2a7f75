//! `setpass`: only on a stopped instance; busy (`act_status` 3) until done.

use rusqlite::Transaction;
use serde_json::{json, Value};

use super::{password_param, Ctx};
use crate::domain::state::{self, Op};
use crate::protocol::{Params, Refusal};

pub struct Setpass {
    guid: String,
    login_password: String,
}

impl Setpass {
    pub fn parse(p: &Params) -> Result<Setpass, Refusal> {
        Ok(Setpass {
            guid: p.required("guid")?,
            login_password: password_param(p, "loginPassword")?,
        })
    }

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, Refusal> {
        let mut inst = ctx.instance(tx, &self.guid)?;
        state::check(Op::Setpass, inst.state())?;
        inst.login_password = self.login_password;
        ctx.begin(tx, &mut inst, Op::Setpass, None)?;
        Ok(json!({}))
    }
}
