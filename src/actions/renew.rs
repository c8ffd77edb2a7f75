//! `renew`: extends from the current `end_time` by whole months and lifts
//! an expiry (`order_status` 3 → 1, `run_status` -2 → -1).

use rusqlite::Transaction;
use serde_json::{json, Value};

use super::{int_param, remember, replay, Ctx};
use crate::domain::months::add_months;
use crate::domain::state::{self, Op, OrderStatus, RunStatus};
use crate::domain::transition::TransitionKind;
use crate::protocol::{Params, Reason, Refusal};
use crate::store::{catalog, transitions};

pub struct Renew {
    guid: String,
    months: i64,
    agent_order_no: String,
}

impl Renew {
    pub fn parse(p: &Params) -> Result<Renew, Refusal> {
        Ok(Renew {
            guid: p.required("guid")?,
            months: int_param(p, "months", None)?,
            agent_order_no: p
                .str("agent_order_no")
                .unwrap_or_default()
                .trim()
                .to_string(),
        })
    }

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, Refusal> {
        let mut inst = ctx.instance(tx, &self.guid)?;
        if let Some(data) = replay(tx, ctx, &self.agent_order_no)? {
            return Ok(data);
        }
        state::check(Op::Renew, inst.state())?;
        let line = catalog::line(tx, &inst.line_guid)?.ok_or_else(|| {
            Refusal::internal(format!("line {} of {} is gone", inst.line_guid, inst.guid))
        })?;
        if line.renew_status != 1 {
            return Err(Refusal::new(
                Reason::RenewClosed,
                format!("线路 {} 未开放续费（renew_status 0）", line.guid),
            ));
        }
        if !line.months.contains(&self.months) {
            return Err(Refusal::new(
                Reason::MonthsNotAllowed,
                format!(
                    "续费时长 {} 个月不在线路可选项 {:?} 中",
                    self.months, line.months
                ),
            ));
        }
        inst.end_time = add_months(inst.end_time, self.months as u32, ctx.zone)
            .filter(|t| *t <= crate::clock::last_second(ctx.zone))
            .ok_or_else(|| Refusal::end_time_out_of_range(self.months, crate::clock::LAST_TIME))?;
        if inst.order_status == OrderStatus::Expired {
            inst.order_status = OrderStatus::Active;
            if inst.run_status == RunStatus::Locked {
                inst.run_status = RunStatus::Stopped;
            }
            transitions::cancel(tx, &inst.guid, &[TransitionKind::Released])?;
        }
        ctx.save(tx, &inst)?;
        transitions::cancel(tx, &inst.guid, &[TransitionKind::Expired])?;
        ctx.schedule(tx, &inst.guid, TransitionKind::Expired, inst.end_time, None)?;
        let data = json!({"end_time": ctx.fmt(inst.end_time)});
        remember(tx, ctx, &self.agent_order_no, &data)?;
        Ok(data)
    }
}
