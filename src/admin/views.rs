//! Read calls for dashboards and other tools: every instance of every member
//! (`GET /_mock/instances`), one instance with its addresses, subnets,
//! records and pending transitions (`GET /_mock/instances/{guid}`), the
//! catalog an order form needs (`GET /_mock/catalog`) and the members with
//! their callback URLs (`GET /_mock/users`). Keys and passwords are never
//! part of an answer.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use axum::extract::{Query, RawQuery};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use rusqlite::Connection;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{Admin, AdminError};
use crate::domain::catalog::{Doc, Line, Product, System};
use crate::domain::state::{IpStatus, OrderStatus, Status};
use crate::engine::Engine;
use crate::protocol::Reason;
use crate::store::instances::{self, Instance, ListFilter};
use crate::store::{self, catalog, changes, network, tasks};

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
    order_status: Option<i64>,
    run_status: Option<i64>,
    act_status: Option<i64>,
    limit: Option<i64>,
    offset: Option<i64>,
}

fn parse_query<T: serde::de::DeserializeOwned + Default>(
    raw: Option<String>,
) -> Result<T, AdminError> {
    match raw.as_deref() {
        None | Some("") => Ok(T::default()),
        Some(text) => {
            let uri = format!("/?{text}")
                .parse()
                .map_err(|_| AdminError::bad_request(Reason::BadQuery, "malformed query"))?;
            Query::<T>::try_from_uri(&uri)
                .map(|q| q.0)
                .map_err(|e| AdminError::bad_request(Reason::BadQuery, e.body_text()))
        }
    }
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
    let q: ListQuery = parse_query(raw)?;
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
        let pending: Vec<_> = tasks::pending_of(&conn, &inst.guid)?
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

fn texts(doc: &Doc, fields: &[&str]) -> Value {
    Value::Object(
        fields
            .iter()
            .map(|f| (f.to_string(), doc.get(*f).cloned().unwrap_or(Value::Null)))
            .collect(),
    )
}

/// `GET /_mock/catalog`: zones, lines, products (with free stock) and OS
/// images, in seed order, with the fields an order form needs.
async fn catalog_view(admin: Admin) -> Reply {
    let answer = blocking(&admin, |engine| {
        let conn = engine.store().lock();
        let zones: Vec<Value> = catalog::list(&conn, catalog::Kind::Zone)?
            .iter()
            .map(|d| texts(d, &["guid", "name"]))
            .collect();
        let lines: Vec<Value> = catalog::list(&conn, catalog::Kind::Line)?
            .iter()
            .map(|d| {
                let line = Line::from_doc(d);
                json!({
                    "guid": line.guid,
                    "name": d.get("name"),
                    "zone_guid": line.zone_guid,
                    "buy_status": line.buy_status.to_string(),
                    "renew_status": line.renew_status.to_string(),
                    "upgrade_status": line.upgrade_status.to_string(),
                    "months": line.months,
                    "ip_num_list": line.ip_num_list,
                    "ip_upgrade_type": line.ip_upgrade_type,
                    "bandwidth_max_size": line.bandwidth_max_size,
                    "ip_bandwidth_rate": line.ip_bandwidth_rate,
                })
            })
            .collect();
        let mut products = Vec::new();
        for d in catalog::list(&conn, catalog::Kind::Product)? {
            let p = Product::from_doc(&d);
            let (total, free) = instances::stock_counts(&conn, &p.guid)?;
            products.push(json!({
                "guid": p.guid,
                "name": p.name,
                "line_guid": p.line_guid,
                "status": p.status.to_string(),
                "cpu": d.get("cpu"),
                "memory": d.get("memory"),
                "cpu_value": p.cpu_value,
                "memory_num": p.memory_num,
                "bandwidth": p.bandwidth,
                "ipnum": p.ipnum,
                "defense": p.defense,
                "stock_type": p.stock_type.to_string(),
                "stock_total": total,
                "stock_free": free,
            }));
        }
        let systems: Vec<Value> = catalog::list(&conn, catalog::Kind::System)?
            .iter()
            .map(|d| {
                let s = System::from_doc(d);
                json!({
                    "guid": s.guid,
                    "name": s.name,
                    "login_name": s.login_name,
                    "type": s.types,
                    "support": s.support,
                    "lines": s.lines,
                    "cpu_limit": s.cpu_limit,
                    "ram_limit": s.ram_limit,
                })
            })
            .collect();
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
