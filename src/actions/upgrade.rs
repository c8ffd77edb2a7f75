//! `upgrade`: increments of bandwidth, IPs (single or a subnet) and defense,
//! checked by `domain::upgrade`, with real addresses from the line's pools.

use rusqlite::Transaction;
use serde_json::Value;

use super::{amount_param, int_param, remember, replay, view, Ctx};
use crate::domain::catalog::Line;
use crate::domain::ipalloc;
use crate::domain::state::{self, DegradeStatus, Op, UpgradeStatus};
use crate::domain::upgrade::{check_ratio, check_upgrade, Increment, Totals};
use crate::domain::RuleError;
use crate::protocol::{Params, Refusal};
use crate::seed::PoolKind;
use crate::store::catalog;
use crate::store::changes::{self, UpgradeRecord};
use crate::store::instances::Instance;
use crate::store::network::{self, IpRow, NewIp};

pub struct Upgrade {
    guid: String,
    inc: Increment,
    agent_order_no: String,
}

impl Upgrade {
    pub fn parse(p: &Params) -> Result<Upgrade, Refusal> {
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

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, Refusal> {
        let mut inst = ctx.instance(tx, &self.guid)?;
        if let Some(data) = replay(tx, ctx, &self.agent_order_no)? {
            return Ok(data);
        }
        state::check(Op::Upgrade, inst.state())?;
        let line = catalog::line(tx, &inst.line_guid)?.ok_or_else(|| {
            Refusal::internal(format!("line {} of {} is gone", inst.line_guid, inst.guid))
        })?;
        let after = self.check_limits(tx, &inst, &line)?;
        let order_no = ctx.new_order_no();
        let records = Records {
            guid: &inst.guid,
            order_no: &order_no,
            now: ctx.now,
        };
        if self.inc.bandwidth > 0 {
            let amount = self.inc.bandwidth;
            records.insert(tx, "bandwidth", amount, amount.to_string(), None)?;
        }
        let ips = match (self.inc.ipnum, self.inc.ip_type) {
            (0, _) => Vec::new(),
            (_, 2) => self.add_subnet(tx, &line, &records)?,
            _ => self.add_singles(tx, &line, &records)?,
        };
        if self.inc.defense > 0 {
            let amount = self.inc.defense;
            records.insert(tx, "defense", amount, amount.to_string(), None)?;
        }
        inst.bandwidth = after.bandwidth;
        inst.ipnum = after.ipnum;
        inst.defense = after.defense;
        ctx.begin(tx, &mut inst, Op::Upgrade, None)?;
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

    /// The line's limits on the totals after the upgrade, and the ratio,
    /// which must also hold once every degrade already booked applies.
    fn check_limits(
        &self,
        tx: &Transaction,
        inst: &Instance,
        line: &Line,
    ) -> Result<Totals, Refusal> {
        let current = Totals {
            bandwidth: inst.bandwidth,
            ipnum: inst.ipnum,
            defense: inst.defense,
        };
        let after = check_upgrade(line, current, self.inc)?;
        let pending = changes::degrades_of(tx, &inst.guid)?;
        let pending_sum = |item: &str| {
            pending
                .iter()
                .filter(|d| d.status == DegradeStatus::Pending && d.item == item)
                .map(|d| d.amount)
                .sum::<i64>()
        };
        check_ratio(
            line,
            Totals {
                bandwidth: after.bandwidth - pending_sum("bandwidth"),
                ipnum: after.ipnum - pending_sum("ip"),
                defense: after.defense - pending_sum("defense"),
            },
        )?;
        Ok(after)
    }

    fn exhausted(&self, line: &Line) -> RuleError {
        RuleError::PoolExhausted {
            line: line.guid.clone(),
            size: self.inc.ipnum,
        }
    }

    /// A subnet (`ip_type` 2): one aligned block, one upgrade record.
    fn add_subnet(
        &self,
        tx: &Transaction,
        line: &Line,
        records: &Records,
    ) -> Result<Vec<IpRow>, Refusal> {
        let (pool, block) = network::find_block(tx, &line.guid, self.inc.ipnum as u32)?
            .ok_or_else(|| self.exhausted(line))?;
        let mask = block.netmask().to_string();
        let gateway = ipalloc::block_gateway(block).to_string();
        let label = ipalloc::run_label((u32::from(block.network()), u32::from(block.broadcast())));
        let upgrade_id =
            records.insert(tx, "ipnum", self.inc.ipnum, label, Some((mask, gateway)))?;
        Ok(network::insert_block(
            tx,
            records.guid,
            pool.id,
            block,
            records.now,
            upgrade_id,
        )?)
    }

    /// Single addresses: the lowest free ones of the first pool that has
    /// enough, one upgrade record per contiguous run.
    fn add_singles(
        &self,
        tx: &Transaction,
        line: &Line,
        records: &Records,
    ) -> Result<Vec<IpRow>, Refusal> {
        let (pool, addrs) =
            network::find_singles(tx, &line.guid, PoolKind::Single, self.inc.ipnum as u32)?
                .ok_or_else(|| self.exhausted(line))?;
        let mask = pool.mask();
        let gateway = pool.gateway.map(|g| g.to_string()).unwrap_or_default();
        let mut ips = Vec::with_capacity(addrs.len());
        for run in ipalloc::group_runs(&addrs) {
            let nums = (run.1 - run.0 + 1) as i64;
            let upgrade_id = records.insert(
                tx,
                "ipnum",
                nums,
                ipalloc::run_label(run),
                Some((mask.clone(), gateway.clone())),
            )?;
            for a in run.0..=run.1 {
                ips.push(network::insert_ip(
                    tx,
                    &NewIp {
                        instance_guid: records.guid,
                        pool_id: pool.id,
                        addr: std::net::Ipv4Addr::from(a),
                        mask: &mask,
                        gateway: &gateway,
                        net_type: "ip",
                        is_default: false,
                        create_time: records.now,
                        upgrade_id: Some(upgrade_id),
                    },
                )?);
            }
        }
        Ok(ips)
    }
}

/// The upgrade records of one accepted upgrade: same instance, order
/// number and time.
struct Records<'a> {
    guid: &'a str,
    order_no: &'a str,
    now: i64,
}

impl Records<'_> {
    /// Stores one record; `net` is an address record's (mask, gateway).
    fn insert(
        &self,
        tx: &Transaction,
        kind: &str,
        nums: i64,
        value: String,
        net: Option<(String, String)>,
    ) -> rusqlite::Result<i64> {
        let (mask, gateway) = net.unzip();
        changes::insert_upgrade(
            tx,
            &UpgradeRecord {
                id: 0,
                instance_guid: self.guid.to_string(),
                kind: kind.to_string(),
                nums,
                value,
                status: UpgradeStatus::Active,
                order_no_api: self.order_no.to_string(),
                create_time: self.now,
                degrade_guid: None,
                remaining: nums,
                mask,
                gateway,
            },
        )
    }
}
