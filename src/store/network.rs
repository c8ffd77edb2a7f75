//! IP pools and the addresses held by instances. Allocation decisions are
//! made by `domain::ipalloc`; this module supplies what is taken and records
//! what was chosen. A unique index on live addresses is the last guard
//! against handing one address out twice.

use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::domain::ipalloc::{self, Range};
use crate::domain::state::IpStatus;
use crate::seed::{PoolKind, SeedUpgrade};

#[derive(Debug, Clone, PartialEq)]
pub struct Pool {
    pub id: i64,
    pub line_guid: String,
    pub kind: String,
    pub net: Ipv4Net,
    pub gateway: Option<Ipv4Addr>,
    pub reserved: Vec<Ipv4Net>,
}

impl Pool {
    pub fn mask(&self) -> String {
        self.net.netmask().to_string()
    }
}

/// The pools of a line of one kind, in seed order.
pub fn pools(conn: &Connection, line_guid: &str, kind: PoolKind) -> rusqlite::Result<Vec<Pool>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, line_guid, kind, cidr, gateway, reserved FROM ip_pools WHERE line_guid = ?1 AND kind = ?2 ORDER BY id",
    )?;
    let rows = stmt.query_map(params![line_guid, kind.as_str()], |r| {
        let cidr: String = r.get(3)?;
        let gateway: Option<String> = r.get(4)?;
        let reserved: String = r.get(5)?;
        Ok(Pool {
            id: r.get(0)?,
            line_guid: r.get(1)?,
            kind: r.get(2)?,
            net: cidr.parse().unwrap_or_default(),
            gateway: gateway.and_then(|g| g.parse().ok()),
            reserved: reserved
                .split(',')
                .filter_map(|s| s.trim().parse().ok())
                .collect(),
        })
    })?;
    rows.collect()
}

/// Everything in a pool that may not be handed out: reserved ranges, the
/// pool's gateway, and every live address.
///
/// Everything below the pool's low-water mark (`ip_low`, see
/// `store::derived`) is known to be taken and comes back as one range, so
/// only the live addresses above it are read; the mark then moves up to the
/// first free address. The ranges (and so every allocation) are the same as
/// reading every row. The mark of a single-address pool starts after the
/// network address, which single allocations never hand out.
pub fn taken(conn: &Connection, pool: &Pool) -> rusqlite::Result<Vec<Range>> {
    let mut ranges: Vec<Range> = pool
        .reserved
        .iter()
        .map(|n| (u32::from(n.network()), u32::from(n.broadcast())))
        .collect();
    if let Some(gw) = pool.gateway {
        ranges.push((u32::from(gw), u32::from(gw)));
    }
    let network = u32::from(pool.net.network());
    let base = if pool.kind == PoolKind::Subnet.as_str() || pool.net.prefix_len() >= 31 {
        i64::from(network)
    } else {
        i64::from(network) + 1
    };
    let mark: Option<i64> = conn
        .prepare_cached("SELECT low FROM ip_low WHERE pool_id = ?1")?
        .query_row([pool.id], |r| r.get(0))
        .optional()?;
    let low = mark
        .unwrap_or(base)
        .clamp(base, i64::from(u32::from(pool.net.broadcast())));
    if low > base {
        ranges.push((base as u32, (low - 1) as u32));
    }
    let mut stmt = conn.prepare_cached(
        "SELECT ip_int FROM ips WHERE pool_id = ?1 AND status = ?3 AND ip_int >= ?2 ORDER BY ip_int",
    )?;
    let rows = stmt.query_map(params![pool.id, low, IpStatus::Live], |r| {
        r.get::<_, i64>(0)
    })?;
    for ip in rows {
        let ip = ip? as u32;
        ranges.push((ip, ip));
    }
    let ranges = ipalloc::normalise(ranges);
    let tight = ranges
        .iter()
        .find(|r| i64::from(r.0) <= base && base <= i64::from(r.1))
        .map(|r| i64::from(r.1) + 1)
        .unwrap_or(base);
    if mark.is_none_or(|m| tight > m) {
        conn.prepare_cached(
            "INSERT INTO ip_low (pool_id, low) VALUES (?1, ?2) \
             ON CONFLICT (pool_id) DO UPDATE SET low = excluded.low",
        )?
        .execute(params![pool.id, tight])?;
    }
    Ok(ranges)
}

/// One address held (or once held) by an instance.
#[derive(Debug, Clone, PartialEq)]
pub struct IpRow {
    pub id: i64,
    pub instance_guid: String,
    pub pool_id: i64,
    pub ip: String,
    pub mask: String,
    pub gateway: String,
    pub net_type: String,
    pub is_default: i64,
    pub ip_num: i64,
    pub status: IpStatus,
    pub create_time: i64,
    pub upgrade_id: Option<i64>,
}

fn ip_from_row(r: &Row) -> rusqlite::Result<IpRow> {
    Ok(IpRow {
        id: r.get(0)?,
        instance_guid: r.get(1)?,
        pool_id: r.get(2)?,
        ip: r.get(3)?,
        mask: r.get(4)?,
        gateway: r.get(5)?,
        net_type: r.get(6)?,
        is_default: r.get(7)?,
        ip_num: r.get(8)?,
        status: r.get(9)?,
        create_time: r.get(10)?,
        upgrade_id: r.get(11)?,
    })
}

const IP_COLUMNS: &str =
    "id, instance_guid, pool_id, ip, mask, gateway, net_type, is_default, ip_num, status, create_time, upgrade_id";

/// One live address to record.
#[derive(Debug, Clone, Copy)]
pub struct NewIp<'a> {
    pub instance_guid: &'a str,
    pub pool_id: i64,
    pub addr: Ipv4Addr,
    pub mask: &'a str,
    pub gateway: &'a str,
    /// `ip`, or a subnet block's `network`, `gateway` or `broadcast`.
    pub net_type: &'a str,
    /// Whether it is the instance's primary address.
    pub is_default: bool,
    pub create_time: i64,
    /// The upgrade record that bought it (`None` for a primary address).
    pub upgrade_id: Option<i64>,
}

/// Records one live address.
pub fn insert_ip(conn: &Connection, ip: &NewIp) -> rusqlite::Result<IpRow> {
    conn.prepare_cached("INSERT INTO ips (instance_guid, pool_id, ip, ip_int, mask, gateway, net_type, is_default, ip_num, status, \
         create_time, upgrade_id) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, ?11, ?9, ?10)")?.execute(
        params![
            ip.instance_guid,
            ip.pool_id,
            ip.addr.to_string(),
            u32::from(ip.addr) as i64,
            ip.mask,
            ip.gateway,
            ip.net_type,
            ip.is_default as i64,
            ip.create_time,
            ip.upgrade_id,
            IpStatus::Live
        ],
    )?;
    Ok(IpRow {
        id: conn.last_insert_rowid(),
        instance_guid: ip.instance_guid.to_string(),
        pool_id: ip.pool_id,
        ip: ip.addr.to_string(),
        mask: ip.mask.to_string(),
        gateway: ip.gateway.to_string(),
        net_type: ip.net_type.to_string(),
        is_default: ip.is_default as i64,
        ip_num: 1,
        status: IpStatus::Live,
        create_time: ip.create_time,
        upgrade_id: ip.upgrade_id,
    })
}

/// Every address an instance holds or held, primary first.
pub fn ips_of(conn: &Connection, guid: &str) -> rusqlite::Result<Vec<IpRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {IP_COLUMNS} FROM ips WHERE instance_guid = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([guid], ip_from_row)?;
    rows.collect()
}

pub fn ips_of_upgrade(conn: &Connection, upgrade_id: i64) -> rusqlite::Result<Vec<IpRow>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {IP_COLUMNS} FROM ips WHERE upgrade_id = ?1 ORDER BY id"
    ))?;
    let rows = stmt.query_map([upgrade_id], ip_from_row)?;
    rows.collect()
}

/// Marks every live address of an instance released (`status` -1).
pub fn release_instance_ips(conn: &Connection, guid: &str) -> rusqlite::Result<usize> {
    conn.prepare_cached("UPDATE ips SET status = ?2 WHERE instance_guid = ?1 AND status = ?3")?
        .execute(params![guid, IpStatus::Released, IpStatus::Live])
}

pub fn release_upgrade_ips(conn: &Connection, upgrade_id: i64) -> rusqlite::Result<usize> {
    conn.prepare_cached("UPDATE ips SET status = ?2 WHERE upgrade_id = ?1 AND status = ?3")?
        .execute(params![upgrade_id, IpStatus::Released, IpStatus::Live])
}

/// The lowest `n` free addresses of the first of a line's pools of `kind`
/// that has them, with that pool. `None` when every pool is exhausted.
pub fn find_singles(
    conn: &Connection,
    line_guid: &str,
    kind: PoolKind,
    n: u32,
) -> rusqlite::Result<Option<(Pool, Vec<Ipv4Addr>)>> {
    first_fit(conn, line_guid, kind, |net, taken| {
        ipalloc::alloc_singles(net, n, taken)
    })
}

/// The lowest free aligned block of `size` addresses in the first of a
/// line's subnet pools that has one, with that pool. `None` when every
/// pool is exhausted.
pub fn find_block(
    conn: &Connection,
    line_guid: &str,
    size: u32,
) -> rusqlite::Result<Option<(Pool, Ipv4Net)>> {
    first_fit(conn, line_guid, PoolKind::Subnet, |net, taken| {
        ipalloc::alloc_block(net, size, taken)
    })
}

/// The first of a line's pools of `kind` where `fit` finds room, in pool
/// order, with what it found.
fn first_fit<T>(
    conn: &Connection,
    line_guid: &str,
    kind: PoolKind,
    fit: impl Fn(Ipv4Net, &[Range]) -> Option<T>,
) -> rusqlite::Result<Option<(Pool, T)>> {
    for pool in pools(conn, line_guid, kind)? {
        let taken = taken(conn, &pool)?;
        if let Some(found) = fit(pool.net, &taken) {
            return Ok(Some((pool, found)));
        }
    }
    Ok(None)
}

/// Records every entry of a subnet block bought by upgrade `upgrade_id`;
/// returns the rows, network address first.
pub fn insert_block(
    conn: &Connection,
    instance_guid: &str,
    pool_id: i64,
    block: Ipv4Net,
    create_time: i64,
    upgrade_id: i64,
) -> rusqlite::Result<Vec<IpRow>> {
    let mask = block.netmask().to_string();
    let gateway = ipalloc::block_gateway(block).to_string();
    ipalloc::block_entries(block)
        .into_iter()
        .map(|(addr, net_type)| {
            insert_ip(
                conn,
                &NewIp {
                    instance_guid,
                    pool_id,
                    addr,
                    mask: &mask,
                    gateway: &gateway,
                    net_type,
                    is_default: false,
                    create_time,
                    upgrade_id: Some(upgrade_id),
                },
            )
        })
        .collect()
}

/// Hands a new instance its primary address: the lowest free host address
/// of the line's primary pools. `None` when every pool is exhausted.
pub fn allocate_primary(
    conn: &Connection,
    line_guid: &str,
    guid: &str,
    now: i64,
) -> rusqlite::Result<Option<IpRow>> {
    let found = find_singles(conn, line_guid, PoolKind::Primary, 1)?;
    let Some((pool, addr)) = found.and_then(|(pool, addrs)| Some((pool, *addrs.first()?))) else {
        return Ok(None);
    };
    let gateway = pool.gateway.map(|g| g.to_string()).unwrap_or_default();
    insert_ip(
        conn,
        &NewIp {
            instance_guid: guid,
            pool_id: pool.id,
            addr,
            mask: &pool.mask(),
            gateway: &gateway,
            net_type: "ip",
            is_default: true,
            create_time: now,
            upgrade_id: None,
        },
    )
    .map(Some)
}

/// The pool of a line (any kind) that contains `addr`.
fn pool_containing(
    conn: &Connection,
    line_guid: &str,
    kind: PoolKind,
    addr: Ipv4Addr,
) -> rusqlite::Result<Option<Pool>> {
    Ok(pools(conn, line_guid, kind)?
        .into_iter()
        .find(|p| p.net.contains(&addr)))
}

pub fn assign_seeded_ip(
    conn: &Connection,
    line_guid: &str,
    guid: &str,
    ip: &str,
    now: i64,
) -> rusqlite::Result<()> {
    let Ok(addr) = ip.parse::<Ipv4Addr>() else {
        return Ok(());
    };
    if let Some(pool) = pool_containing(conn, line_guid, PoolKind::Primary, addr)? {
        let gateway = pool.gateway.map(|g| g.to_string()).unwrap_or_default();
        insert_ip(
            conn,
            &NewIp {
                instance_guid: guid,
                pool_id: pool.id,
                addr,
                mask: &pool.mask(),
                gateway: &gateway,
                net_type: "ip",
                is_default: true,
                create_time: now,
                upgrade_id: None,
            },
        )?;
    }
    Ok(())
}

/// Records a seeded subnet upgrade's addresses; returns (mask, gateway) of the block.
pub fn assign_seeded_block(
    conn: &Connection,
    line_guid: &str,
    guid: &str,
    upgrade: &SeedUpgrade,
    upgrade_id: i64,
    now: i64,
) -> rusqlite::Result<Option<(String, String)>> {
    let Some(block) = upgrade
        .subnet
        .as_deref()
        .and_then(|s| s.parse::<Ipv4Net>().ok())
    else {
        return Ok(None);
    };
    let Some(pool) = pool_containing(conn, line_guid, PoolKind::Subnet, block.network())? else {
        return Ok(None);
    };
    insert_block(conn, guid, pool.id, block, now, upgrade_id)?;
    let mask = block.netmask().to_string();
    let gateway = ipalloc::block_gateway(block).to_string();
    Ok(Some((mask, gateway)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seed::Seed;
    use crate::store::{self, Store};

    const LINE: &str = "1665907446560259";

    #[test]
    fn a_failing_pool_search_is_an_error_not_exhaustion() {
        let store = Store::open(None).unwrap_or_else(|e| panic!("open: {e}"));
        let seed = Seed::default_set().unwrap_or_else(|e| panic!("seed: {e}"));
        let zone = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| panic!("zone"));
        store
            .write(|tx| store::load_seed(tx, &seed, 1_700_000_000, zone))
            .unwrap_or_else(|e| panic!("load: {e}"));
        let conn = store.lock();
        // Every search works on the seed: a block, singles, a primary.
        assert!(matches!(find_block(&conn, LINE, 8), Ok(Some(_))));
        assert!(matches!(
            find_singles(&conn, LINE, PoolKind::Single, 2),
            Ok(Some(_))
        ));
        // Without the table `taken` reads, every search must fail loudly.
        conn.execute_batch("DROP TABLE ip_low")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(find_block(&conn, LINE, 8).is_err());
        assert!(find_singles(&conn, LINE, PoolKind::Single, 2).is_err());
        assert!(allocate_primary(&conn, LINE, "17", 1_700_000_000).is_err());
    }
}
