//! `degrade_ip_list`, `degrade` and `degrade_cancel`: scheduled degrades
//! that must match upgrade records, applied by the clock at `apply_time`.

use std::collections::HashSet;

use rusqlite::Transaction;
use serde_json::{json, Map, Value};

use super::Ctx;
use crate::change::Change;
use crate::domain::catalog::Line;
use crate::domain::state::{self, DegradeStatus, IpStatus, Op, UpgradeStatus};
use crate::domain::transition::TransitionKind;
use crate::domain::upgrade::{check_degrade, Degradable, Totals};
use crate::domain::RuleError;
use crate::protocol::{scalar_text, Params, Reason, Refusal};
use crate::store::changes::{self, DegradeRecord};
use crate::store::instances::Instance;
use crate::store::{catalog, network};

pub struct DegradeIpList {
    guid: String,
}

impl DegradeIpList {
    pub fn parse(p: &Params) -> Result<DegradeIpList, Refusal> {
        Ok(DegradeIpList {
            guid: p.required("guid")?,
        })
    }

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, Refusal> {
        let inst = ctx.instance(tx, &self.guid)?;
        let mut list: Vec<Value> = Vec::new();
        for u in changes::upgrades_of(tx, &inst.guid)? {
            if u.kind != "ipnum" || u.status != UpgradeStatus::Active || u.remaining != u.nums {
                continue;
            }
            // A refunded or released instance's addresses are no longer active.
            if network::ips_of_upgrade(tx, u.id)?
                .iter()
                .any(|ip| ip.status != IpStatus::Live)
            {
                continue;
            }
            list.push(json!({"ip": u.value, "mask": u.mask, "gateway": u.gateway}));
        }
        Ok(Value::Array(list))
    }
}

/// One `param` entry.
struct Item {
    /// `bandwidth`, `ip` or `defense`.
    item: String,
    amount: i64,
    ip_values: Vec<String>,
    date: Option<String>,
}

pub struct Degrade {
    guid: String,
    items: Vec<Item>,
}

fn item_error(i: usize, why: impl std::fmt::Display) -> Refusal {
    Refusal::bad_param(&format!("param[{i}]"), why)
}

fn parse_item(i: usize, v: &Value) -> Result<Item, Refusal> {
    let Value::Object(m) = v else {
        return Err(item_error(i, "应为包含 item、value、date 的对象"));
    };
    let item = m.get("item").and_then(scalar_text).unwrap_or_default();
    let value = m.get("value").cloned().unwrap_or(Value::Null);
    let date = m
        .get("date")
        .and_then(scalar_text)
        .filter(|d| !d.trim().is_empty());
    match item.as_str() {
        "bandwidth" | "defense" => {
            let text = scalar_text(&value).unwrap_or_default();
            let amount: i64 = text
                .trim()
                .parse()
                .map_err(|_| item_error(i, format!("{item} 的 value 应为正整数，收到 {text:?}")))?;
            if amount < 0 {
                return Err(item_error(i, format!("{item} 的 value 不能为负数")));
            }
            Ok(Item {
                item,
                amount,
                ip_values: Vec::new(),
                date,
            })
        }
        "ip" => {
            let ip_values: Vec<String> = match &value {
                Value::Array(list) => list.iter().filter_map(scalar_text).collect(),
                Value::Object(map) => map.values().filter_map(scalar_text).collect(),
                other => scalar_text(other)
                    .map(|s| {
                        s.split(',')
                            .map(|p| p.trim().to_string())
                            .filter(|p| !p.is_empty())
                            .collect()
                    })
                    .unwrap_or_default(),
            };
            Ok(Item {
                item,
                amount: 0,
                ip_values,
                date,
            })
        }
        other => Err(item_error(
            i,
            format!("item 只能为 bandwidth、ip 或 defense，收到 {other:?}"),
        )),
    }
}

impl Degrade {
    pub fn parse(p: &Params) -> Result<Degrade, Refusal> {
        let guid = p.required("guid")?;
        let items = match p.nested("param")? {
            None => Vec::new(),
            Some(Value::Array(list)) => list
                .iter()
                .enumerate()
                .map(|(i, v)| parse_item(i, v))
                .collect::<Result<_, _>>()?,
            Some(Value::Object(map)) => map
                .values()
                .enumerate()
                .map(|(i, v)| parse_item(i, v))
                .collect::<Result<_, _>>()?,
            Some(_) => return Err(Refusal::bad_param("param", "应为数组")),
        };
        let mut seen = HashSet::new();
        for it in &items {
            if !seen.insert(it.item.clone()) {
                return Err(Refusal::bad_param(
                    "param",
                    format!("item {} 重复：每项只能出现一次", it.item),
                ));
            }
        }
        Ok(Degrade { guid, items })
    }

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, Refusal> {
        let inst = ctx.instance(tx, &self.guid)?;
        state::check(Op::Degrade, inst.state())?;
        let line = catalog::line(tx, &inst.line_guid)?.ok_or_else(|| {
            Refusal::internal(format!("line {} of {} is gone", inst.line_guid, inst.guid))
        })?;
        let mut upgrades = changes::upgrades_of(tx, &inst.guid)?;
        let current = after_pending(tx, &inst)?;
        let (request, ip_ids) = self.request(&upgrades)?;
        let after = check_degrade(&line, current, degradable(&upgrades), request)?;

        let mut out = Map::new();
        for it in &self.items {
            let amount = of_item(&request, it).0;
            if amount == 0 {
                continue;
            }
            let apply_time = apply_time(it, ctx, &inst, &line)?;
            let consumed = consume(tx, &mut upgrades, it, amount, &ip_ids)?;
            let (old, label) = of_item(&current, it);
            let (new, _) = of_item(&after, it);
            let value = match it.item.as_str() {
                "bandwidth" | "defense" => amount.to_string(),
                _ => it.ip_values.join(","),
            };
            let guid = ctx.unique_guid(tx)?;
            let record = DegradeRecord {
                id: 0,
                guid: guid.clone(),
                baremetal_guid: inst.guid.clone(),
                item: it.item.clone(),
                status: DegradeStatus::Pending,
                reason: format!("预约降配：{label}"),
                apply_time,
                create_time: ctx.now,
                finish_time: None,
                value,
                new_value: new.to_string(),
                old_value: old.to_string(),
                amount,
                upgrade_ids: consumed.join(","),
            };
            file_degrade(tx, ctx, &record)?;
            out.insert(it.item.clone(), Value::String(guid));
        }
        Ok(super::view::object([
            ("result", Value::Bool(true)),
            ("text", Value::from("success")),
            ("data", Value::Object(out)),
        ]))
    }

    /// The amounts asked for, and the upgrade records (by index) whose IP
    /// ranges the `ip` item names: each must be active, untouched by any
    /// pending degrade, and named once.
    fn request(
        &self,
        upgrades: &[changes::UpgradeRecord],
    ) -> Result<(Totals, Vec<usize>), Refusal> {
        let mut ip_ids: Vec<usize> = Vec::new();
        let mut request = Totals::default();
        for it in &self.items {
            match it.item.as_str() {
                "bandwidth" => request.bandwidth = it.amount,
                "defense" => request.defense = it.amount,
                _ => {
                    for v in &it.ip_values {
                        let idx = upgrades
                            .iter()
                            .position(|u| {
                                u.kind == "ipnum"
                                    && u.status == UpgradeStatus::Active
                                    && u.remaining == u.nums
                                    && u.value == *v
                            })
                            .filter(|idx| !ip_ids.contains(idx))
                            .ok_or_else(|| RuleError::DegradeIpUnknown { value: v.clone() })?;
                        ip_ids.push(idx);
                        request.ipnum += upgrades[idx].nums;
                    }
                }
            }
        }
        Ok((request, ip_ids))
    }
}

/// What the active upgrade records leave to take back, by kind.
fn degradable(upgrades: &[changes::UpgradeRecord]) -> Degradable {
    let available = |kind: &str| {
        upgrades
            .iter()
            .filter(|u| u.kind == kind && u.status == UpgradeStatus::Active)
            .map(|u| u.remaining)
            .sum::<i64>()
    };
    Degradable {
        bandwidth: available("bandwidth"),
        defense: available("defense"),
    }
}

/// The total an item degrades, with the item's name in a degrade's reason.
fn of_item(totals: &Totals, it: &Item) -> (i64, &'static str) {
    match it.item.as_str() {
        "bandwidth" => (totals.bandwidth, "带宽"),
        "defense" => (totals.defense, "防御"),
        _ => (totals.ipnum, "IP"),
    }
}

/// Stores a pending degrade, journals it and schedules it for its apply
/// time.
fn file_degrade(tx: &Transaction, ctx: &mut Ctx, record: &DegradeRecord) -> Result<(), Refusal> {
    changes::insert_degrade(tx, record)?;
    // The journal finds a degrade by its own GUID too.
    ctx.record(Change::DegradeCreated {
        guid: record.guid.clone(),
        item: record.item.clone(),
    });
    ctx.schedule(
        tx,
        &record.baremetal_guid,
        TransitionKind::Degraded,
        record.apply_time,
        Some(&record.guid),
    )?;
    Ok(())
}

/// The instance's totals once every degrade already booked applies.
fn after_pending(tx: &Transaction, inst: &Instance) -> Result<Totals, Refusal> {
    let pending: Vec<DegradeRecord> = changes::degrades_of(tx, &inst.guid)?
        .into_iter()
        .filter(|d| d.status == DegradeStatus::Pending)
        .collect();
    let pending_sum = |item: &str| {
        pending
            .iter()
            .filter(|d| d.item == item)
            .map(|d| d.amount)
            .sum::<i64>()
    };
    Ok(Totals {
        bandwidth: inst.bandwidth - pending_sum("bandwidth"),
        ipnum: inst.ipnum - pending_sum("ip"),
        defense: inst.defense - pending_sum("defense"),
    })
}

/// When an item's degrade applies: its `date`, which must lie between now
/// and the instance's end, or else the line's reservation limit from now
/// (at the latest the end).
fn apply_time(it: &Item, ctx: &Ctx, inst: &Instance, line: &Line) -> Result<i64, Refusal> {
    let Some(text) = &it.date else {
        return Ok(
            (ctx.now + line.reservation_degrade_valid_limit.max(0) * 86_400).min(inst.end_time),
        );
    };
    let t = crate::clock::parse_time(text, ctx.zone).ok_or_else(|| {
        Refusal::bad_param(
            "param.date",
            format!("应为 YYYY-MM-DD HH:MM:SS，收到 {text:?}"),
        )
    })?;
    if t <= ctx.now {
        return Err(RuleError::DegradeDatePast {
            date: text.clone(),
            now: ctx.fmt(ctx.now),
        }
        .into());
    }
    if t > inst.end_time {
        return Err(RuleError::DegradeDateAfterEnd {
            date: text.clone(),
            end_time: ctx.fmt(inst.end_time),
        }
        .into());
    }
    Ok(t)
}

/// Takes an item's amount off the upgrade records, oldest first (the named
/// IP ranges whole); returns what it took as `id:amount` pairs.
fn consume(
    tx: &Transaction,
    upgrades: &mut [changes::UpgradeRecord],
    it: &Item,
    amount: i64,
    ip_ids: &[usize],
) -> Result<Vec<String>, Refusal> {
    let mut consumed: Vec<String> = Vec::new();
    match it.item.as_str() {
        "ip" => {
            for idx in ip_ids {
                let u = &mut upgrades[*idx];
                consumed.push(format!("{}:{}", u.id, u.remaining));
                u.remaining = 0;
                changes::update_upgrade(tx, u)?;
            }
        }
        kind => {
            let mut left = amount;
            for u in upgrades
                .iter_mut()
                .filter(|u| u.kind == kind && u.status == UpgradeStatus::Active && u.remaining > 0)
            {
                if left == 0 {
                    break;
                }
                let take = left.min(u.remaining);
                u.remaining -= take;
                left -= take;
                consumed.push(format!("{}:{}", u.id, take));
                changes::update_upgrade(tx, u)?;
            }
        }
    }
    Ok(consumed)
}

pub struct DegradeCancel {
    guid: String,
    degrade_guid: String,
}

impl DegradeCancel {
    pub fn parse(p: &Params) -> Result<DegradeCancel, Refusal> {
        Ok(DegradeCancel {
            guid: p.required("guid")?,
            degrade_guid: p.required("degrade_guid")?,
        })
    }

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, Refusal> {
        let inst = ctx.instance(tx, &self.guid)?;
        state::check(Op::DegradeCancel, inst.state())?;
        let record = changes::get_degrade(tx, &self.degrade_guid)?
            .filter(|d| d.baremetal_guid == inst.guid)
            .ok_or_else(|| {
                Refusal::new(
                    Reason::DegradeNotFound,
                    format!("业务 {} 没有降配记录 {}", inst.guid, self.degrade_guid),
                )
            })?;
        if record.status != DegradeStatus::Pending {
            return Err(Refusal::new(
                Reason::DegradeNotPending,
                format!(
                    "降配记录 {} {}（status {}），只能取消待执行的降配",
                    record.guid,
                    record.status.zh(),
                    record.status
                ),
            ));
        }
        crate::lifecycle::cancel_degrade(tx, &record)?;
        ctx.record(Change::DegradeCancelled {
            guid: record.guid.clone(),
        });
        Ok(json!({}))
    }
}
