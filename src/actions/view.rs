//! How instances, IPs, upgrade and degrade records look on the wire:
//! exactly the fields of the document's examples, in its order, with its
//! value types (strings almost everywhere, `null` where it shows null).

use md5::{Digest, Md5};
use rusqlite::Transaction;
use serde_json::{json, Map, Value};

use crate::domain::catalog::Doc;
use crate::store::changes::{DegradeRecord, UpgradeRecord};
use crate::store::instances::Instance;
use crate::store::network::IpRow;
use crate::store::{catalog, changes, network};

/// Product fields an instance carries, in the document's order for create.
const PRODUCT_FIELDS_CREATE: &[&str] = &[
    "size",
    "main_board",
    "cpu_value",
    "cpu",
    "cpu_num",
    "cpu_max_num",
    "memory",
    "memory_num",
    "memory_max_num",
    "harddisk_guid",
    "harddisk_max_num",
    "raid_tips",
];

/// The same fields in the order the sync views use (`cpu` before `cpu_value`).
const PRODUCT_FIELDS_SYNC: &[&str] = &[
    "size",
    "main_board",
    "cpu",
    "cpu_value",
    "cpu_num",
    "cpu_max_num",
    "memory",
    "memory_num",
    "memory_max_num",
    "harddisk_guid",
    "harddisk_max_num",
    "raid_tips",
];

/// An object from owned values, in order. `json!` copies every `Value` it
/// is given through `to_value` (a deep clone); this moves them.
pub fn object<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn s(v: impl ToString) -> Value {
    Value::String(v.to_string())
}

fn product_fields(out: &mut Map<String, Value>, product: &Doc, fields: &[&str]) {
    for f in fields {
        out.insert(
            f.to_string(),
            product.get(*f).cloned().unwrap_or(Value::Null),
        );
    }
}

/// The engine stores passwords encrypted and answers with a 24-character
/// base64 string; the mock derives one from the password and the GUID.
pub fn stored_password(password_b64: &str, guid: &str) -> String {
    use base64::Engine as _;
    let digest = Md5::digest(format!("{password_b64}{guid}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(digest)
}

pub fn ip_entry(ip: &IpRow, fmt: &dyn Fn(i64) -> String) -> Value {
    json!({
        "ip": ip.ip,
        "status": s(ip.status),
        "mask": ip.mask,
        "gateway": ip.gateway,
        "create_time": fmt(ip.create_time),
        "ip_num": s(ip.ip_num),
        "is_default": s(ip.is_default),
        "net_type": ip.net_type,
    })
}

/// An entry of an upgrade answer: `id`, `ip`, `mask`, `gateway`, `net_type`.
pub fn upgrade_ip_entry(ip: &IpRow) -> Value {
    json!({"id": s(ip.id), "ip": ip.ip, "mask": ip.mask, "gateway": ip.gateway, "net_type": ip.net_type})
}

pub fn upgrade_entry(u: &UpgradeRecord, fmt: &dyn Fn(i64) -> String) -> Value {
    json!({
        "type": u.kind,
        "degrade_guid": u.degrade_guid,
        "nums": s(u.nums),
        "value": u.value,
        "status": s(u.status),
        "order_no_api": u.order_no_api,
        "create_time": fmt(u.create_time),
    })
}

pub fn degrade_entry(d: &DegradeRecord, fmt: &dyn Fn(i64) -> String) -> Value {
    json!({
        "id": s(d.id),
        "guid": d.guid,
        "baremetal_guid": d.baremetal_guid,
        "item": d.item,
        "status": s(d.status),
        "reason": d.reason,
        "apply_time": fmt(d.apply_time),
        "create_time": fmt(d.create_time),
        "finish_time": d.finish_time.map(fmt),
        "value": d.value,
        "new_value": d.new_value,
        "old_value": d.old_value,
    })
}

fn product_doc(conn: &Transaction, guid: &str) -> rusqlite::Result<std::sync::Arc<Doc>> {
    Ok(catalog::get_shared(conn, catalog::CatalogKind::Product, guid)?.unwrap_or_default())
}

/// The system's `id` (as `System::from_doc` reads it), without building the whole `System`.
fn system_id(conn: &Transaction, guid: &str) -> rusqlite::Result<String> {
    Ok(
        catalog::get_shared(conn, catalog::CatalogKind::System, guid)?
            .and_then(|doc| doc.get("id").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default(),
    )
}

/// A just-created instance, as `create` answers it; `ips` are its IPs.
// A table: one insert per field of the answer, in the upstream's order.
// tidy: table
pub fn created(
    conn: &Transaction,
    i: &Instance,
    ips: &[IpRow],
    fmt: &dyn Fn(i64) -> String,
) -> rusqlite::Result<Value> {
    let product = product_doc(conn, &i.product_guid)?;
    let mut m = Map::new();
    m.insert("id".into(), s(i.id));
    m.insert("guid".into(), s(&i.guid));
    m.insert("product_guid".into(), s(&i.product_guid));
    m.insert("stock_id".into(), s(i.stock_id.as_deref().unwrap_or("0")));
    m.insert("cabinet_sn".into(), s(&i.cabinet_sn));
    m.insert("name".into(), s(&i.name));
    m.insert("line_guid".into(), s(&i.line_guid));
    product_fields(&mut m, &product, PRODUCT_FIELDS_CREATE);
    m.insert("bandwidth".into(), s(i.bandwidth));
    m.insert("defense".into(), s(i.defense));
    m.insert("ipnum".into(), s(i.ipnum));
    m.insert("system_id".into(), s(system_id(conn, &i.system_guid)?));
    m.insert("login_name".into(), s(&i.login_name));
    m.insert(
        "login_password".into(),
        s(stored_password(&i.login_password, &i.guid)),
    );
    m.insert("ssh_public_key".into(), Value::Null);
    m.insert("system_partition".into(), Value::Null);
    m.insert("system_partition_size".into(), s(&i.system_partition_size));
    m.insert("buy_time".into(), s(fmt(i.buy_time)));
    m.insert("start_time".into(), s(fmt(i.start_time)));
    m.insert("end_time".into(), s(fmt(i.end_time)));
    m.insert("order_status".into(), s(i.order_status));
    m.insert("run_status".into(), s(i.run_status));
    m.insert("act_status".into(), s(i.act_status));
    m.insert("sync_status".into(), s("0"));
    m.insert("sync_time".into(), Value::Null);
    m.insert("renew_notice".into(), s("0"));
    m.insert("renew_notice_time".into(), Value::Null);
    m.insert("buy_remarks".into(), s(&i.buy_remarks));
    m.insert("push_status".into(), s(i.push_status));
    m.insert("is_agent".into(), s("1"));
    m.insert(
        "stock_type".into(),
        product.get("stock_type").cloned().unwrap_or(s("1")),
    );
    m.insert("ipmi_ip".into(), s(""));
    m.insert("ipmi_user".into(), Value::Null);
    m.insert("ipmi_pass".into(), Value::Null);
    m.insert("renew_price".into(), s("0.00"));
    m.insert("renew_price_setting".into(), s("0"));
    m.insert("renew_price_remark".into(), Value::Null);
    m.insert("lock_vnc".into(), s("0"));
    m.insert("is_upgrade".into(), s("0"));
    m.insert("lock_status".into(), s(i.lock_status));
    m.insert("lock_reason".into(), s(""));
    m.insert("lock_time".into(), Value::Null);
    m.insert("install_mode".into(), s(&i.install_mode));
    m.insert("renew_auto".into(), s("0"));
    let ips: Vec<Value> = ips.iter().map(|ip| ip_entry(ip, fmt)).collect();
    m.insert("ip".into(), Value::Array(ips));
    Ok(Value::Object(m))
}

/// An instance as `sync_baremetal` shows it: `single` is the one-GUID view
/// (with a numeric `client_user_id` and no `name`), otherwise the list view.
pub fn synced(
    conn: &Transaction,
    i: &Instance,
    single: bool,
    fmt: &dyn Fn(i64) -> String,
) -> rusqlite::Result<Value> {
    let product = product_doc(conn, &i.product_guid)?;
    let mut m = Map::new();
    m.insert("guid".into(), s(&i.guid));
    m.insert("product_guid".into(), s(&i.product_guid));
    m.insert("line_guid".into(), s(&i.line_guid));
    m.insert("cabinet_sn".into(), s(&i.cabinet_sn));
    if single {
        let id: Value = i
            .client_user_id
            .trim()
            .parse::<i64>()
            .map(Value::from)
            .unwrap_or(Value::from(0));
        m.insert("client_user_id".into(), id);
    } else {
        m.insert("name".into(), s(&i.name));
    }
    product_fields(&mut m, &product, PRODUCT_FIELDS_SYNC);
    m.insert("bandwidth".into(), s(i.bandwidth));
    m.insert("defense".into(), s(i.defense));
    m.insert("ipnum".into(), s(i.ipnum));
    m.insert("system_id".into(), s(system_id(conn, &i.system_guid)?));
    m.insert("login_name".into(), s(&i.login_name));
    m.insert("buy_time".into(), s(fmt(i.buy_time)));
    m.insert("start_time".into(), s(fmt(i.start_time)));
    m.insert("end_time".into(), s(fmt(i.end_time)));
    m.insert("order_status".into(), s(i.order_status));
    m.insert("run_status".into(), s(i.run_status));
    m.insert("act_status".into(), s(i.act_status));
    m.insert("buy_remarks".into(), s(&i.buy_remarks));
    let ips: Vec<Value> = network::ips_of(conn, &i.guid)?
        .iter()
        .map(|ip| ip_entry(ip, fmt))
        .collect();
    m.insert("ip".into(), Value::Array(ips));
    m.insert("system_guid".into(), s(&i.system_guid));
    let ups: Vec<Value> = changes::upgrades_of(conn, &i.guid)?
        .iter()
        .map(|u| upgrade_entry(u, fmt))
        .collect();
    m.insert("upgrade".into(), Value::Array(ups));
    let downs: Vec<Value> = changes::degrades_of(conn, &i.guid)?
        .iter()
        .map(|d| degrade_entry(d, fmt))
        .collect();
    m.insert("degrades".into(), Value::Array(downs));
    Ok(Value::Object(m))
}
