//! The control API's read views, read under the engine's connection lock:
//! every instance of every member, one instance with its addresses,
//! subnets, records and pending transitions, the catalog an order form
//! needs and the members with their callback URLs — and the answer types
//! that hold the engine's own records (callbacks, fault rules). Keys and
//! passwords are never part of an answer. Synchronous, like the rest of
//! the engine: [`super::handle::EngineHandle`] runs them on a blocking
//! thread.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::Arc;

use rusqlite::Connection;
use serde::Serialize;
use serde_json::{json, Value};

use super::Engine;
use crate::domain::catalog::{Doc, Product};
use crate::domain::state::{IpStatus, OrderStatus, Status};
use crate::protocol::control::{
    CatalogView, InstanceDetail, InstanceList, InstanceSummary, NamedRecord, StateLabel,
    StateLabels, SubnetView, User, Users,
};
pub use crate::store::instances::ListFilter;
use crate::store::instances::{self, Instance};
use crate::store::{self, catalog, changes, network, transitions};

/// `GET /_mock/callbacks`: the callback log, every attempt of every notice.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CallbackList {
    pub callbacks: Vec<crate::callbacks::CallbackRecord>,
}

/// `GET /_mock/faults`: the fault rules with their counters.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FaultList {
    pub faults: Vec<crate::faults::Rule>,
}

/// The words of one state value: the engine's Chinese word and its
/// English meaning.
pub fn label(value: impl Status) -> StateLabel {
    StateLabel {
        zh: value.zh().to_string(),
        en: value.en().to_string(),
    }
}

/// Catalog names by GUID, looked up once per answer.
#[derive(Default)]
struct Names {
    docs: HashMap<(&'static str, String), Option<Arc<Doc>>>,
}

impl Names {
    fn doc(
        &mut self,
        conn: &Connection,
        kind: catalog::CatalogKind,
        guid: &str,
    ) -> rusqlite::Result<Option<Arc<Doc>>> {
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
        kind: catalog::CatalogKind,
        guid: &str,
        field: &str,
    ) -> rusqlite::Result<String> {
        Ok(self
            .doc(conn, kind, guid)?
            .and_then(|d| d.get(field).and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default())
    }

    /// The record `guid` of `kind`, with its name.
    fn record(
        &mut self,
        conn: &Connection,
        kind: catalog::CatalogKind,
        guid: &str,
    ) -> rusqlite::Result<NamedRecord> {
        Ok(NamedRecord {
            guid: guid.to_string(),
            name: self.field(conn, kind, guid, "name")?,
        })
    }
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

fn subnet_view(
    upgrade: Option<&changes::UpgradeRecord>,
    entries: &[&network::IpRow],
) -> SubnetView {
    let by_type = |t: &str| {
        entries
            .iter()
            .find(|ip| ip.net_type == t)
            .map(|ip| ip.ip.clone())
    };
    let mask = entries
        .first()
        .map(|ip| ip.mask.clone())
        .unwrap_or_default();
    let prefix = mask
        .parse::<Ipv4Addr>()
        .map(|m| u32::from(m).count_ones())
        .ok();
    let network = by_type("network");
    SubnetView {
        cidr: network
            .as_ref()
            .zip(prefix)
            .map(|(n, p)| format!("{n}/{p}")),
        network,
        gateway: by_type("gateway"),
        broadcast: by_type("broadcast"),
        mask,
        size: entries.len(),
        status: entries.first().map(|ip| ip.status.to_string()),
        value: upgrade.map(|u| u.value.clone()),
        order_no_api: upgrade.map(|u| u.order_no_api.clone()),
    }
}

impl Engine {
    /// One instance as the list shows it.
    fn summary(
        &self,
        conn: &Connection,
        inst: &Instance,
        names: &mut Names,
    ) -> rusqlite::Result<InstanceSummary> {
        let fmt = |t| self.clock().format(t);
        let now = self.clock().now();
        let zone_guid = names.field(
            conn,
            catalog::CatalogKind::Line,
            &inst.line_guid,
            "line_guid",
        )?;
        let ips = network::ips_of(conn, &inst.guid)?;
        let ip_count = ips.iter().filter(|ip| ip.status == IpStatus::Live).count();
        let primary_ip = ips
            .iter()
            .find(|ip| ip.is_default == 1)
            .map(|ip| ip.ip.clone());
        let subnet_count = subnet_groups(&ips).len();
        // Whole days, rounded away from the end: "1 day left" until the last
        // second, "1 day ago" from the first second after.
        let left = inst.end_time - now;
        let days = if left > 0 {
            (left + 86_399).div_euclid(86_400)
        } else {
            left.div_euclid(86_400)
        };
        let days_left = (inst.order_status != OrderStatus::Deleted).then_some(days);
        Ok(InstanceSummary {
            guid: inst.guid.clone(),
            userid: inst.userid.clone(),
            name: inst.name.clone(),
            zone: names.record(conn, catalog::CatalogKind::Zone, &zone_guid)?,
            line: names.record(conn, catalog::CatalogKind::Line, &inst.line_guid)?,
            product: names.record(conn, catalog::CatalogKind::Product, &inst.product_guid)?,
            system: names.record(conn, catalog::CatalogKind::System, &inst.system_guid)?,
            primary_ip,
            ip_count,
            subnet_count,
            bandwidth: inst.bandwidth,
            defense: inst.defense,
            order_status: inst.order_status.to_string(),
            run_status: inst.run_status.to_string(),
            act_status: inst.act_status.to_string(),
            lock_status: inst.lock_status.to_string(),
            labels: StateLabels {
                order_status: label(inst.order_status),
                run_status: label(inst.run_status),
                act_status: label(inst.act_status),
            },
            start_time: fmt(inst.start_time),
            end_time: fmt(inst.end_time),
            days_left,
        })
    }

    /// `GET /_mock/instances`: one page of every member's instances,
    /// newest first, with how many match in all.
    pub fn instance_list(
        &self,
        filter: &ListFilter,
        offset: i64,
        limit: i64,
    ) -> rusqlite::Result<InstanceList> {
        let conn = self.store().lock();
        let (list, total) = instances::list_all(&conn, filter, offset, limit)?;
        let mut names = Names::default();
        let instances = list
            .iter()
            .map(|inst| self.summary(&conn, inst, &mut names))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(InstanceList {
            instances,
            total,
            now: self.clock().format(self.clock().now()),
        })
    }

    /// `GET /_mock/instances/{guid}`: the summary, the single
    /// `sync_baremetal` view (addresses, upgrade and degrade records),
    /// subnets and pending transitions, whichever member owns it; `None`
    /// when there is no such instance.
    pub fn instance_detail(&self, guid: &str) -> rusqlite::Result<Option<InstanceDetail>> {
        let mut conn = self.store().lock();
        // A read transaction: the rules layer's views read only inside one.
        let conn = conn.transaction()?;
        let Some(inst) = instances::get(&conn, guid)? else {
            return Ok(None);
        };
        let fmt = |t| self.clock().format(t);
        let now = self.clock().now();
        let baremetal = crate::actions::view::synced(&conn, &inst, true, &fmt)?;
        let ips = network::ips_of(&conn, &inst.guid)?;
        let upgrades = changes::upgrades_of(&conn, &inst.guid)?;
        let subnets = subnet_groups(&ips)
            .iter()
            .map(|(id, entries)| subnet_view(upgrades.iter().find(|u| u.id == *id), entries))
            .collect();
        let pending = transitions::pending_of(&conn, &inst.guid)?
            .iter()
            .map(|t| self.pending_view(t, true))
            .collect();
        let mut names = Names::default();
        Ok(Some(InstanceDetail {
            instance: self.summary(&conn, &inst, &mut names)?,
            baremetal,
            subnets,
            pending,
            now: fmt(now),
        }))
    }

    /// `GET /_mock/catalog`: zones, lines, products and OS images, in seed
    /// order, each record exactly as `getzones`, `sync_line`,
    /// `sync_product` and `getsystems` serve it (every rule field, in the
    /// engine's own types: numbers as strings, lists as comma strings), so
    /// an order form reads the rules as a client of the engine would. A
    /// product adds the mock's own `stock_total` and `stock_free`
    /// (numbers): the engine has no call for them.
    pub fn catalog_view(&self) -> rusqlite::Result<CatalogView> {
        let conn = self.store().lock();
        let records = |kind| -> rusqlite::Result<Vec<Value>> {
            Ok(catalog::list(&conn, kind)?
                .into_iter()
                .map(Value::Object)
                .collect())
        };
        let zones = records(catalog::CatalogKind::Zone)?;
        let lines = records(catalog::CatalogKind::Line)?;
        let systems = records(catalog::CatalogKind::System)?;
        let mut products = Vec::new();
        for mut doc in catalog::list(&conn, catalog::CatalogKind::Product)? {
            let guid = Product::from_doc(&doc).guid;
            let (total, free) = instances::stock_counts(&conn, &guid)?;
            doc.insert("stock_total".into(), json!(total));
            doc.insert("stock_free".into(), json!(free));
            products.push(Value::Object(doc));
        }
        Ok(CatalogView {
            zones,
            lines,
            products,
            systems,
        })
    }

    /// Members sorted by userid (numbers first, in numeric order).
    pub fn member_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = self.users().map(|(u, _)| u.to_string()).collect();
        ids.sort_by_key(|u| (u.parse::<u64>().unwrap_or(u64::MAX), u.clone()));
        ids
    }

    /// `GET /_mock/users`: every member and its callback URL (never its key).
    pub fn users_view(&self) -> rusqlite::Result<Users> {
        let conn = self.store().lock();
        let users = self
            .member_ids()
            .into_iter()
            .map(|userid| {
                let callback_url = store::callback_url(&conn, &userid)?;
                Ok(User {
                    userid,
                    callback_url,
                })
            })
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(Users { users })
    }

    /// `GET /_mock/callbacks`.
    pub fn callback_list(&self) -> CallbackList {
        CallbackList {
            callbacks: self.callbacks().records(),
        }
    }

    /// `GET /_mock/faults`.
    pub fn fault_list(&self) -> FaultList {
        FaultList {
            faults: self.faults().list(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_label_has_both_words() {
        let words = |l: StateLabel| serde_json::to_value(l).unwrap_or_default();
        assert_eq!(
            words(label(crate::domain::state::RunStatus::Running)),
            json!({"zh": "运行中", "en": "running"})
        );
        assert_eq!(
            words(label(OrderStatus::Deleted)),
            json!({"zh": "已删除", "en": "deleted"})
        );
    }
}
