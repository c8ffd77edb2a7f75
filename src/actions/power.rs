//! `stop`, `start` and `restart`: set the busy `act_status` now, finish
//! after the configured delay of simulated time.

use rusqlite::Transaction;
use serde_json::{json, Value};

use super::{ActionName, Ctx};
use crate::domain::state::{self, Op};
use crate::protocol::{Params, Refusal};
use crate::store::tasks::Kind;

pub struct Power {
    op: Op,
    guid: String,
}

impl Power {
    pub fn parse(action: ActionName, p: &Params) -> Result<Power, Refusal> {
        let op = match action {
            ActionName::Stop => Op::Stop,
            ActionName::Start => Op::Start,
            _ => Op::Restart,
        };
        Ok(Power {
            op,
            guid: p.required("guid")?,
        })
    }

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, Refusal> {
        let mut inst = ctx.instance(tx, &self.guid)?;
        state::check(self.op, inst.state())?;
        let (kind, delay) = match self.op {
            Op::Stop => (Kind::Stopped, ctx.timings.stop),
            Op::Start => (Kind::Started, ctx.timings.start),
            _ => (Kind::Restarted, ctx.timings.restart),
        };
        inst.act_status = self.op.busy();
        ctx.save(tx, &inst)?;
        ctx.schedule(tx, &inst.guid, kind, ctx.now + delay, None)?;
        Ok(json!({}))
    }
}
