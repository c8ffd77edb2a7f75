//! `sync_baremetal`: one instance by `guid`, or a page (`page`, `number`)
//! of the caller's instances, newest first.

use rusqlite::Transaction;
use serde_json::Value;

use super::{int_param, view, Ctx};
use crate::protocol::{Params, Refusal};
use crate::store::instances;

pub enum SyncBaremetal {
    One { guid: String },
    Page { page: i64, number: i64 },
}

impl SyncBaremetal {
    pub fn parse(p: &Params) -> Result<SyncBaremetal, Refusal> {
        if let Some(guid) = p.str("guid").filter(|g| !g.trim().is_empty()) {
            return Ok(SyncBaremetal::One {
                guid: guid.trim().to_string(),
            });
        }
        let page = int_param(p, "page", Some(1))?;
        let number = int_param(p, "number", Some(10))?;
        if page < 1 {
            return Err(Refusal::bad_param("page", "页码须 ≥ 1"));
        }
        if !(1..=1000).contains(&number) {
            return Err(Refusal::bad_param("number", "单页数量须在 1 到 1000 之间"));
        }
        Ok(SyncBaremetal::Page { page, number })
    }

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, Refusal> {
        let fmt = |t| ctx.fmt(t);
        match self {
            SyncBaremetal::One { guid } => {
                let inst = ctx.instance(tx, &guid)?;
                Ok(view::object([(
                    "baremetal",
                    view::synced(tx, &inst, true, &fmt)?,
                )]))
            }
            SyncBaremetal::Page { page, number } => {
                let (list, total) =
                    instances::page(tx, ctx.userid, (page - 1).saturating_mul(number), number)?;
                let items = list
                    .iter()
                    .map(|i| view::synced(tx, i, false, &fmt))
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok(view::object([
                    ("total_number", Value::from(total.to_string())),
                    ("total_page", Value::from((total + number - 1) / number)),
                    ("baremetal", Value::Array(items)),
                ]))
            }
        }
    }
}
