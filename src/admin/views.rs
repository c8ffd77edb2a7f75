//! Read calls for dashboards and other tools: every instance of every member
//! (`GET /_mock/instances`), one instance with its addresses, subnets,
//! records and pending transitions (`GET /_mock/instances/{guid}`), the
//! catalog an order form needs (`GET /_mock/catalog`) and the members with
//! their callback URLs (`GET /_mock/users`). Keys and passwords are never
//! part of an answer.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use axum::extract::RawQuery;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Admin, AdminError};
use crate::domain::catalog::{Doc, Product};
use crate::domain::state::{IpStatus, OrderStatus, Status};
use crate::engine::Engine;
use crate::protocol::{whole, Reason};
use crate::store::instances::{self, Instance, ListFilter};
use crate::store::{self, catalog, changes, network, transitions};

type Reply = Result<Response, AdminError>;

pub fn routes() -> Router<std::sync::Arc<crate::registry::Registry>> {
    Router::new()
        .route("/instances", get(list))
        .route("/instances/{guid}", get(detail))
        .route("/catalog", get(catalog_view))
        .route("/users", get(users))
}

/// Most instances one list answer holds.
const MAX_LIMIT: i64 = 5000;
const DEFAULT_LIMIT: i64 = 500;

/// `{"zh":"运行中","en":"running"}` for one state value: the engine's
/// Chinese word and its English meaning.
pub fn label(value: impl Status) -> Value {
    json!({"zh": value.zh(), "en": value.en()})
}

/// Catalog names by GUID, looked up once per answer.
#[derive(Default)]
struct Names {
    docs: HashMap<(&'static str, String), Option<std::sync::Arc<Doc>>>,
}

impl Names {
    fn doc(
        &mut self,
        conn: &Connection,
        kind: catalog::Kind,
        guid: &str,
    ) -> rusqlite::Result<Option<std::sync::Arc<Doc>>> {
        let key = (kind.as_str(), guid.to_string());
        if let Some(doc) = self.docs.get(&key) {
            return Ok(doc.clone());
        }
        let doc = catalog::get_shared(conn, kind, guid)?;
        self.docs.insert(key, doc.clone());
        Ok(doc)
    }

    fn field(
        &mut self,
        conn: &Connection,
        kind: catalog::Kind,
        guid: &str,
        field: &str,
    ) -> rusqlite::Result<String> {
        Ok(self
            .doc(conn, kind, guid)?
            .and_then(|d| d.get(field).and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default())
    }
}

/// One instance as the list shows it.
fn summary(
    conn: &Connection,
    engine: &Engine,
    inst: &Instance,
    names: &mut Names,
) -> rusqlite::Result<Value> {
    let fmt = |t| engine.clock().format(t);
    let now = engine.clock().now();
    let zone_guid = names.field(conn, catalog::Kind::Line, &inst.line_guid, "line_guid")?;
    let ips = network::ips_of(conn, &inst.guid)?;
    let live = || ips.iter().filter(|ip| ip.status == IpStatus::Live);
    let primary = ips.iter().find(|ip| ip.is_default == 1).map(|ip| &ip.ip);
    let subnets = subnet_groups(&ips).len();
    // Whole days, rounded away from the end: "1 day left" until the last
    // second, "1 day ago" from the first second after.
    let left = inst.end_time - now;
    let days = if left > 0 {
        (left + 86_399).div_euclid(86_400)
    } else {
        left.div_euclid(86_400)
    };
    let days_left = (inst.order_status != OrderStatus::Deleted).then_some(days);
    Ok(json!({
        "guid": inst.guid,
        "userid": inst.userid,
        "name": inst.name,
        "zone": {"guid": zone_guid, "name": names.field(conn, catalog::Kind::Zone, &zone_guid, "name")?},
        "line": {"guid": inst.line_guid, "name": names.field(conn, catalog::Kind::Line, &inst.line_guid, "name")?},
        "product": {"guid": inst.product_guid, "name": names.field(conn, catalog::Kind::Product, &inst.product_guid, "name")?},
        "system": {"guid": inst.system_guid, "name": names.field(conn, catalog::Kind::System, &inst.system_guid, "name")?},
        "primary_ip": primary,
        "ip_count": live().count(),
        "subnet_count": subnets,
        "bandwidth": inst.bandwidth,
        "defense": inst.defense,
        "order_status": inst.order_status.to_string(),
        "run_status": inst.run_status.to_string(),
        "act_status": inst.act_status.to_string(),
        "lock_status": inst.lock_status.to_string(),
        "labels": {
            "order_status": label(inst.order_status),
            "run_status": label(inst.run_status),
            "act_status": label(inst.act_status),
        },
        "start_time": fmt(inst.start_time),
        "end_time": fmt(inst.end_time),
        "days_left": days_left,
    }))
}

/// The subnets among an instance's addresses (entries of one upgrade that
/// include a `network` entry), live ones and released ones.
fn subnet_groups(ips: &[network::IpRow]) -> Vec<(i64, Vec<&network::IpRow>)> {
    let mut groups: Vec<(i64, Vec<&network::IpRow>)> = Vec::new();
    for ip in ips {
        let Some(upgrade) = ip.upgrade_id else {
            continue;
        };
        match groups.iter_mut().find(|(id, _)| *id == upgrade) {
            Some((_, list)) => list.push(ip),
            None => groups.push((upgrade, vec![ip])),
        }
    }
    groups.retain(|(_, list)| list.iter().any(|ip| ip.net_type == "network"));
    groups
}

fn subnet_view(upgrade: Option<&changes::Upgrade>, entries: &[&network::IpRow]) -> Value {
    let by_type = |t: &str| entries.iter().find(|ip| ip.net_type == t).map(|ip| &ip.ip);
    let mask = entries
        .first()
        .map(|ip| ip.mask.clone())
        .unwrap_or_default();
    let prefix = mask
        .parse::<Ipv4Addr>()
        .map(|m| u32::from(m).count_ones())
        .ok();
    let network = by_type("network");
    json!({
        "cidr": network.zip(prefix).map(|(n, p)| format!("{n}/{p}")),
        "network": network,
        "gateway": by_type("gateway"),
        "broadcast": by_type("broadcast"),
        "mask": mask,
        "size": entries.len(),
        "status": entries.first().map(|ip| ip.status.to_string()),
        "value": upgrade.map(|u| u.value.clone()),
        "order_no_api": upgrade.map(|u| u.order_no_api.clone()),
    })
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    userid: Option<String>,
    #[serde(default, deserialize_with = "whole::opt")]
    order_status: Option<i64>,
    #[serde(default, deserialize_with = "whole::opt")]
    run_status: Option<i64>,
    #[serde(default, deserialize_with = "whole::opt")]
    act_status: Option<i64>,
    #[serde(default, deserialize_with = "whole::opt")]
    limit: Option<i64>,
    #[serde(default, deserialize_with = "whole::opt")]
    offset: Option<i64>,
}

async fn blocking<T: Send + 'static>(
    admin: &Admin,
    f: impl FnOnce(&Engine) -> rusqlite::Result<T> + Send + 'static,
) -> Result<T, AdminError> {
    let engine = admin.engine.clone();
    tokio::task::spawn_blocking(move || f(&engine))
        .await
        .map_err(AdminError::internal)?
        .map_err(AdminError::internal)
}

/// `GET /_mock/instances?userid=&order_status=&run_status=&act_status=&limit=&offset=`
async fn list(admin: Admin, RawQuery(raw): RawQuery) -> Reply {
    let q: ListQuery = super::input::query(raw.as_deref())?;
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) || q.offset.is_some_and(|o| o < 0) {
        return Err(AdminError::bad_request(
            Reason::BadQuery,
            format!("limit must be 1 to {MAX_LIMIT} and offset at least 0"),
        ));
    }
    let offset = q.offset.unwrap_or(0);
    let answer = blocking(&admin, move |engine| {
        let conn = engine.store().lock();
        let filter = ListFilter {
            userid: q.userid.as_deref(),
            order_status: q.order_status,
            run_status: q.run_status,
            act_status: q.act_status,
        };
        let (list, total) = instances::list_all(&conn, &filter, offset, limit)?;
        let mut names = Names::default();
        let items = list
            .iter()
            .map(|inst| summary(&conn, engine, inst, &mut names))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(json!({
            "instances": items,
            "total": total,
            "now": engine.clock().format(engine.clock().now()),
        }))
    })
    .await?;
    Ok(Json(answer).into_response())
}

/// `GET /_mock/instances/{guid}`: the summary, the single `sync_baremetal`
/// view (addresses, upgrade and degrade records), subnets and pending
/// transitions, whichever member owns it.
async fn detail(admin: Admin) -> Reply {
    let guid = admin.path.get("guid").cloned().unwrap_or_default();
    let g = guid.clone();
    let answer = blocking(&admin, move |engine| {
        let conn = engine.store().lock();
        let Some(inst) = instances::get(&conn, &g)? else {
            return Ok(None);
        };
        let fmt = |t| engine.clock().format(t);
        let now = engine.clock().now();
        let view = crate::actions::view::synced(&conn, &inst, true, &fmt)?;
        let ips = network::ips_of(&conn, &inst.guid)?;
        let upgrades = changes::upgrades_of(&conn, &inst.guid)?;
        let subnets: Vec<Value> = subnet_groups(&ips)
            .iter()
            .map(|(id, entries)| subnet_view(upgrades.iter().find(|u| u.id == *id), entries))
            .collect();
        let pending: Vec<_> = transitions::pending_of(&conn, &inst.guid)?
            .iter()
            .map(|t| engine.pending_view(t, true))
            .collect();
        let mut names = Names::default();
        Ok(Some(json!({
            "instance": summary(&conn, engine, &inst, &mut names)?,
            "baremetal": view,
            "subnets": subnets,
            "pending": pending,
            "now": fmt(now),
        })))
    })
    .await?;
    match answer {
        Some(value) => Ok(Json(value).into_response()),
        None => Err(AdminError::not_found(
            Reason::UnknownInstance,
            format!("no instance {guid}"),
        )),
    }
}

/// `GET /_mock/catalog`: zones, lines, products and OS images, in seed
/// order, each record exactly as `getzones`, `sync_line`, `sync_product`
/// and `getsystems` serve it (every rule field, in the engine's own types:
/// numbers as strings, lists as comma strings), so an order form reads the
/// rules as a client of the engine would. A product adds the mock's own
/// `stock_total` and `stock_free` (numbers): the engine has no call for
/// them.
async fn catalog_view(admin: Admin) -> Reply {
    let answer = blocking(&admin, |engine| {
        let conn = engine.store().lock();
        let records = |kind| -> rusqlite::Result<Vec<Value>> {
            Ok(catalog::list(&conn, kind)?
                .into_iter()
                .map(Value::Object)
                .collect())
        };
        let zones = records(catalog::Kind::Zone)?;
        let lines = records(catalog::Kind::Line)?;
        let systems = records(catalog::Kind::System)?;
        let mut products = Vec::new();
        for mut doc in catalog::list(&conn, catalog::Kind::Product)? {
            let guid = Product::from_doc(&doc).guid;
            let (total, free) = instances::stock_counts(&conn, &guid)?;
            doc.insert("stock_total".into(), json!(total));
            doc.insert("stock_free".into(), json!(free));
            products.push(Value::Object(doc));
        }
        Ok(json!({"zones": zones, "lines": lines, "products": products, "systems": systems}))
    })
    .await?;
    Ok(Json(answer).into_response())
}

/// Members sorted by userid (numbers first, in numeric order).
pub fn member_ids(engine: &Engine) -> Vec<String> {
    let mut ids: Vec<String> = engine.users().map(|(u, _)| u.to_string()).collect();
    ids.sort_by_key(|u| (u.parse::<u64>().unwrap_or(u64::MAX), u.clone()));
    ids
}

/// `GET /_mock/users`: every member and its callback URL (never its key).
async fn users(admin: Admin) -> Reply {
    let answer = blocking(&admin, |engine| {
        let conn = engine.store().lock();
        let list = member_ids(engine)
            .into_iter()
            .map(|userid| {
                let url = store::callback_url(&conn, &userid)?;
                Ok(json!({"userid": userid, "callback_url": url}))
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(json!({"users": list}))
    })
    .await?;
    Ok(Json(answer).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_has_both_words() {
        assert_eq!(
            label(crate::domain::state::RunStatus::Running),
            json!({"zh": "运行中", "en": "running"})
        );
        assert_eq!(
            label(OrderStatus::Deleted),
            json!({"zh": "已删除", "en": "deleted"})
        );
    }
}
