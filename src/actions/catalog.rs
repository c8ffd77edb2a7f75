//! The five catalog actions: `getzones`, `sync_line`, `getsystems` (paged),
//! `sync_harddisk` and `sync_product`. Records go out as the seed holds them.

use rusqlite::Transaction;
use serde_json::{json, Value};

use super::{int_param, ActionName};
use crate::protocol::{Params, Refusal};
use crate::store::catalog::{self, CatalogKind};

pub enum Catalog {
    Zones,
    Lines,
    Systems { page: i64, length: i64 },
    Harddisks,
    Products,
}

impl Catalog {
    pub fn parse(action: ActionName, params: &Params) -> Result<Catalog, Refusal> {
        Ok(match action {
            ActionName::GetZones => Catalog::Zones,
            ActionName::SyncLine => Catalog::Lines,
            ActionName::SyncHarddisk => Catalog::Harddisks,
            ActionName::SyncProduct => Catalog::Products,
            _ => {
                let page = int_param(params, "page_mode", Some(1))?;
                let length = int_param(params, "page_length", Some(50))?;
                if page < 1 {
                    return Err(Refusal::bad_param("page_mode", "页码须 ≥ 1"));
                }
                if !(1..=1000).contains(&length) {
                    return Err(Refusal::bad_param(
                        "page_length",
                        "单页数量须在 1 到 1000 之间",
                    ));
                }
                Catalog::Systems { page, length }
            }
        })
    }

    pub fn apply(self, conn: &Transaction) -> Result<Value, Refusal> {
        let docs = |kind| -> Result<Value, Refusal> {
            Ok(Value::Array(
                catalog::list(conn, kind)?
                    .into_iter()
                    .map(Value::Object)
                    .collect(),
            ))
        };
        Ok(match self {
            Catalog::Zones => json!({"zones": docs(CatalogKind::Zone)?}),
            Catalog::Lines => docs(CatalogKind::Line)?,
            Catalog::Harddisks => docs(CatalogKind::Harddisk)?,
            Catalog::Products => docs(CatalogKind::Product)?,
            Catalog::Systems { page, length } => {
                let (list, total) = catalog::page(
                    conn,
                    CatalogKind::System,
                    (page - 1).saturating_mul(length),
                    length,
                )?;
                let pages = (total + length - 1) / length;
                json!({"pages": pages, "items": total, "systems": list})
            }
        })
    }
}
