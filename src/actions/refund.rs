//! `refund` (`module=common`, `productType=baremetal`): the instance is
//! deleted at once and powered off; its stock unit and every IP go back to
//! the pools and pending degrades are cancelled.

use rusqlite::Transaction;
use serde_json::{json, Value};

use super::Ctx;
use crate::domain::state::{self, Op, RunStatus};
use crate::lifecycle;
use crate::protocol::{Params, Refusal};

pub struct Refund {
    guid: String,
}

impl Refund {
    pub fn parse(p: &Params) -> Result<Refund, Refusal> {
        let product_type = p.required("productType")?;
        if product_type != "baremetal" {
            return Err(Refusal::bad_param(
                "productType",
                format!("退款的业务类型须为 baremetal，收到 {product_type:?}"),
            ));
        }
        Ok(Refund {
            guid: p.required("guid")?,
        })
    }

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, Refusal> {
        let mut inst = ctx.instance(tx, &self.guid)?;
        state::check(Op::Refund, inst.state())?;
        lifecycle::delete(tx, &mut inst, ctx.now)?;
        // The machine goes back to the pool, so it is powered off: the
        // engine's `run_status` for that is -1 (stopped). (An instance
        // released after expiry keeps -2, the lock expiry gave it.)
        inst.run_status = RunStatus::Stopped;
        ctx.save(tx, &inst)?;
        ctx.schedule(
            tx,
            &inst.guid,
            crate::store::tasks::Kind::Purged,
            ctx.now + lifecycle::PURGE_AFTER,
            None,
        )?;
        Ok(json!({}))
    }
}
