//! Upgrade records and degrade records of instances.

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::domain::state::{DegradeStatus, UpgradeStatus};
use crate::seed::SeedUpgrade;

#[derive(Debug, Clone, PartialEq)]
pub struct UpgradeRecord {
    pub id: i64,
    pub instance_guid: String,
    /// `bandwidth`, `defense` or `ipnum`.
    pub kind: String,
    pub nums: i64,
    pub value: String,
    /// 1 in effect, 0 no longer (degraded).
    pub status: UpgradeStatus,
    pub order_no_api: String,
    pub create_time: i64,
    pub degrade_guid: Option<String>,
    /// How much of `nums` is not yet degraded or pending a degrade.
    pub remaining: i64,
    pub mask: Option<String>,
    pub gateway: Option<String>,
}

fn upgrade_from_row(r: &Row) -> rusqlite::Result<UpgradeRecord> {
    Ok(UpgradeRecord {
        id: r.get(0)?,
        instance_guid: r.get(1)?,
        kind: r.get(2)?,
        nums: r.get(3)?,
        value: r.get(4)?,
        status: r.get(5)?,
        order_no_api: r.get(6)?,
        create_time: r.get(7)?,
        degrade_guid: r.get(8)?,
        remaining: r.get(9)?,
        mask: r.get(10)?,
        gateway: r.get(11)?,
    })
}

const UPGRADE_COLUMNS: &str =
    "id, instance_guid, type, nums, value, status, order_no_api, create_time, degrade_guid, remaining, mask, gateway";

pub fn insert_upgrade(conn: &Connection, u: &UpgradeRecord) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT INTO upgrades (instance_guid, type, nums, value, status, order_no_api, create_time, degrade_guid, \
         remaining, mask, gateway) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)")?.execute(
        params![
            u.instance_guid,
            u.kind,
            u.nums,
            u.value,
            u.status,
            u.order_no_api,
            u.create_time,
            u.degrade_guid,
            u.remaining,
            u.mask,
            u.gateway
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn set_upgrade_mask(
    conn: &Connection,
    id: i64,
    value: &str,
    mask: &str,
    gateway: &str,
) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE upgrades SET value = ?2, mask = ?3, gateway = ?4 WHERE id = ?1")?
        .execute(params![id, value, mask, gateway])?;
    Ok(())
}

pub fn update_upgrade(conn: &Connection, u: &UpgradeRecord) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "UPDATE upgrades SET status = ?2, degrade_guid = ?3, remaining = ?4 WHERE id = ?1",
    )?
    .execute(params![u.id, u.status, u.degrade_guid, u.remaining])?;
    Ok(())
}

pub fn upgrades_of(conn: &Connection, guid: &str) -> rusqlite::Result<Vec<UpgradeRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {UPGRADE_COLUMNS} FROM upgrades WHERE instance_guid = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([guid], upgrade_from_row)?;
    rows.collect()
}

pub fn insert_seeded_upgrade(
    conn: &Connection,
    line_guid: &str,
    guid: &str,
    s: &SeedUpgrade,
    now: i64,
) -> rusqlite::Result<()> {
    let mut u = UpgradeRecord {
        id: 0,
        instance_guid: guid.to_string(),
        kind: s.kind.clone(),
        nums: s.nums,
        value: s.nums.to_string(),
        status: UpgradeStatus::Active,
        order_no_api: s.order_no_api.clone(),
        create_time: now,
        degrade_guid: None,
        remaining: s.nums,
        mask: None,
        gateway: None,
    };
    if s.kind == "ipnum" {
        if let Some(block) = s
            .subnet
            .as_deref()
            .and_then(|b| b.parse::<ipnet::Ipv4Net>().ok())
        {
            u.value = crate::domain::ipalloc::run_label((
                u32::from(block.network()),
                u32::from(block.broadcast()),
            ));
        }
    }
    let id = insert_upgrade(conn, &u)?;
    if s.kind == "ipnum" {
        if let Some((mask, gateway)) =
            super::network::assign_seeded_block(conn, line_guid, guid, s, id, now)?
        {
            set_upgrade_mask(conn, id, &u.value, &mask, &gateway)?;
        }
    }
    Ok(())
}

#[derive(Debug, Clone, PartialEq)]
pub struct DegradeRecord {
    pub id: i64,
    pub guid: String,
    pub baremetal_guid: String,
    /// `bandwidth`, `defense` or `ip`.
    pub item: String,
    pub status: DegradeStatus,
    pub reason: String,
    pub apply_time: i64,
    pub create_time: i64,
    pub finish_time: Option<i64>,
    pub value: String,
    pub new_value: String,
    pub old_value: String,
    /// The amount taken off (M, G or IP count).
    pub amount: i64,
    /// Upgrade records this degrade consumes: `id:amount` pairs.
    pub upgrade_ids: String,
}

fn degrade_from_row(r: &Row) -> rusqlite::Result<DegradeRecord> {
    Ok(DegradeRecord {
        id: r.get(0)?,
        guid: r.get(1)?,
        baremetal_guid: r.get(2)?,
        item: r.get(3)?,
        status: r.get(4)?,
        reason: r.get(5)?,
        apply_time: r.get(6)?,
        create_time: r.get(7)?,
        finish_time: r.get(8)?,
        value: r.get(9)?,
        new_value: r.get(10)?,
        old_value: r.get(11)?,
        amount: r.get(12)?,
        upgrade_ids: r.get(13)?,
    })
}

const DEGRADE_COLUMNS: &str =
    "id, guid, baremetal_guid, item, status, reason, apply_time, create_time, finish_time, \
    value, new_value, old_value, amount, upgrade_ids";

pub fn insert_degrade(conn: &Connection, d: &DegradeRecord) -> rusqlite::Result<i64> {
    conn.prepare_cached("INSERT INTO degrades (guid, baremetal_guid, item, status, reason, apply_time, create_time, finish_time, \
         value, new_value, old_value, amount, upgrade_ids) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")?.execute(
        params![
            d.guid,
            d.baremetal_guid,
            d.item,
            d.status,
            d.reason,
            d.apply_time,
            d.create_time,
            d.finish_time,
            d.value,
            d.new_value,
            d.old_value,
            d.amount,
            d.upgrade_ids
        ],
    )?;
    Ok(conn.last_insert_rowid())
}

pub fn degrades_of(conn: &Connection, guid: &str) -> rusqlite::Result<Vec<DegradeRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DEGRADE_COLUMNS} FROM degrades WHERE baremetal_guid = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([guid], degrade_from_row)?;
    rows.collect()
}

pub fn get_degrade(conn: &Connection, guid: &str) -> rusqlite::Result<Option<DegradeRecord>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {DEGRADE_COLUMNS} FROM degrades WHERE guid = ?1"
    ))?;
    stmt.query_row([guid], degrade_from_row).optional()
}

pub fn set_degrade_status(
    conn: &Connection,
    guid: &str,
    status: DegradeStatus,
    finish_time: Option<i64>,
) -> rusqlite::Result<()> {
    conn.prepare_cached("UPDATE degrades SET status = ?2, finish_time = ?3 WHERE guid = ?1")?
        .execute(params![guid, status, finish_time])?;
    Ok(())
}
