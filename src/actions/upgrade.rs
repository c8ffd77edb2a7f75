//! `upgrade`: increments of bandwidth, IPs (single or a subnet) and defense,
//! checked by `domain::upgrade`, with real addresses from the line's pools.

use rusqlite::Transaction;
use serde_json::Value;

use super::{amount_param, int_param, remember, replay, view, Ctx};
use crate::api::decode::Params;
use crate::api::error::ApiError;
use crate::domain::ipalloc;
use crate::domain::state::{self, Op};
use crate::domain::upgrade::{check_ratio, check_upgrade, Increment, Totals};
use crate::domain::RuleError;
use crate::seed::PoolKind;
use crate::store::changes::{self, Upgrade as UpgradeRecord};
use crate::store::network::{self, IpRow};
use crate::store::{catalog, tasks};

pub struct Upgrade {
    guid: String,
    inc: Increment,
    agent_order_no: String,
}

impl Upgrade {
    pub fn parse(p: &Params) -> Result<Upgrade, ApiError> {
        let ipnum = amount_param(p, "ipnum")?;
        let ip_type = int_param(p, "ip_type", if ipnum > 0 { None } else { Some(1) })?;
        Ok(Upgrade {
            guid: p.required("guid")?,
            inc: Increment {
                bandwidth: amount_param(p, "bandwidth")?,
                ipnum,
                defense: amount_param(p, "defense")?,
                ip_type,
            },
            agent_order_no: p
                .str("agent_order_no")
                .unwrap_or_default()
                .trim()
                .to_string(),
        })
    }

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, ApiError> {
        let mut inst = ctx.instance(tx, &self.guid)?;
        if let Some(data) = replay(tx, ctx, &self.agent_order_no)? {
            return Ok(data);
        }
        state::check(Op::Upgrade, inst.state())?;
        let line = catalog::line(tx, &inst.line_guid)?.ok_or_else(|| {
            ApiError::internal(format!("line {} of {} is gone", inst.line_guid, inst.guid))
        })?;
        let current = Totals {
            bandwidth: inst.bandwidth,
            ipnum: inst.ipnum,
            defense: inst.defense,
        };
        let after = check_upgrade(&line, current, self.inc)?;
        // The ratio must also hold once every degrade already booked applies.
        let pending = changes::degrades_of(tx, &inst.guid)?;
        let pending_sum = |item: &str| {
            pending
                .iter()
                .filter(|d| d.status == 0 && d.item == item)
                .map(|d| d.amount)
                .sum::<i64>()
        };
        check_ratio(
            &line,
            Totals {
                bandwidth: after.bandwidth - pending_sum("bandwidth"),
                ipnum: after.ipnum - pending_sum("ip"),
                defense: after.defense - pending_sum("defense"),
            },
        )?;
        let order_no = ctx.new_order_no();
        let record = |kind: &str, nums: i64, value: String| UpgradeRecord {
            id: 0,
            instance_guid: inst.guid.clone(),
            kind: kind.to_string(),
            nums,
            value,
            status: 1,
            order_no_api: order_no.clone(),
            create_time: ctx.now,
            degrade_guid: None,
            remaining: nums,
            mask: None,
            gateway: None,
        };
        if self.inc.bandwidth > 0 {
            changes::insert_upgrade(
                tx,
                &record(
                    "bandwidth",
                    self.inc.bandwidth,
                    self.inc.bandwidth.to_string(),
                ),
            )?;
        }
        let mut ips: Vec<IpRow> = Vec::new();
        if self.inc.ipnum > 0 {
            let exhausted = || RuleError::PoolExhausted {
                line: line.guid.clone(),
                size: self.inc.ipnum,
            };
            if self.inc.ip_type == 2 {
                let (pool, block) = network::pools(tx, &line.guid, PoolKind::Subnet)?
                    .into_iter()
                    .find_map(|pool| {
                        let taken = network::taken(tx, &pool).ok()?;
                        ipalloc::alloc_block(pool.net, self.inc.ipnum as u32, &taken)
                            .map(|b| (pool, b))
                    })
                    .ok_or_else(exhausted)?;
                let mask = block.netmask().to_string();
                let gateway = ipalloc::block_gateway(block).to_string();
                let label =
                    ipalloc::run_label((u32::from(block.network()), u32::from(block.broadcast())));
                let mut rec = record("ipnum", self.inc.ipnum, label);
                rec.mask = Some(mask.clone());
                rec.gateway = Some(gateway.clone());
                let upgrade_id = changes::insert_upgrade(tx, &rec)?;
                for (addr, kind) in ipalloc::block_entries(block) {
                    ips.push(network::insert_ip(
                        tx,
                        &inst.guid,
                        pool.id,
                        addr,
                        &mask,
                        &gateway,
                        kind,
                        false,
                        ctx.now,
                        Some(upgrade_id),
                    )?);
                }
            } else {
                let (pool, addrs) = network::pools(tx, &line.guid, PoolKind::Single)?
                    .into_iter()
                    .find_map(|pool| {
                        let taken = network::taken(tx, &pool).ok()?;
                        ipalloc::alloc_singles(pool.net, self.inc.ipnum as u32, &taken)
                            .map(|a| (pool, a))
                    })
                    .ok_or_else(exhausted)?;
                let mask = pool.mask();
                let gateway = pool.gateway.map(|g| g.to_string()).unwrap_or_default();
                for run in ipalloc::group_runs(&addrs) {
                    let nums = (run.1 - run.0 + 1) as i64;
                    let mut rec = record("ipnum", nums, ipalloc::run_label(run));
                    rec.mask = Some(mask.clone());
                    rec.gateway = Some(gateway.clone());
                    let upgrade_id = changes::insert_upgrade(tx, &rec)?;
                    for a in run.0..=run.1 {
                        let addr = std::net::Ipv4Addr::from(a);
                        ips.push(network::insert_ip(
                            tx,
                            &inst.guid,
                            pool.id,
                            addr,
                            &mask,
                            &gateway,
                            "ip",
                            false,
                            ctx.now,
                            Some(upgrade_id),
                        )?);
                    }
                }
            }
        }
        if self.inc.defense > 0 {
            changes::insert_upgrade(
                tx,
                &record("defense", self.inc.defense, self.inc.defense.to_string()),
            )?;
        }
        inst.bandwidth = after.bandwidth;
        inst.ipnum = after.ipnum;
        inst.defense = after.defense;
        inst.act_status = Op::Upgrade.busy();
        ctx.save(tx, &inst)?;
        ctx.schedule(
            tx,
            &inst.guid,
            tasks::Kind::Upgraded,
            ctx.now + ctx.timings.upgrade,
            None,
        )?;
        let data = view::object([
            ("order_no_api", Value::from(order_no)),
            (
                "ip",
                Value::Array(ips.iter().map(view::upgrade_ip_entry).collect()),
            ),
        ]);
        remember(tx, ctx, &self.agent_order_no, &data)?;
        Ok(data)
    }
}
