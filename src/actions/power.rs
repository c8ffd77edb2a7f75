//! `stop`, `start` and `restart`: set the busy `act_status` now, finish
//! after the configured delay of simulated time.

use rusqlite::Transaction;
use serde_json::{json, Value};

use super::Ctx;
use crate::domain::state::{self, Op};
use crate::protocol::{Params, Refusal};

pub struct Power {
    op: Op,
    guid: String,
}

impl Power {
    pub fn parse(op: Op, p: &Params) -> Result<Power, Refusal> {
        Ok(Power {
            op,
            guid: p.required("guid")?,
        })
    }

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, Refusal> {
        let mut inst = ctx.instance(tx, &self.guid)?;
        state::check(self.op, inst.state())?;
        ctx.begin(tx, &mut inst, self.op, None)?;
        Ok(json!({}))
    }
}
