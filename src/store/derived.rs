//! Derived bookkeeping that keeps hot queries independent of how many rows
//! the engine holds:
//!
//! - `visible_counts`: a member's visible instances, for `sync_baremetal`
//!   totals without `count(*)` over every row;
//! - `ip_low`: per IP pool, an address below which nothing is free, so an
//!   allocation reads only the live addresses above it. Pools are only
//!   ever written by a seed load, after a reset has emptied `ip_low` with
//!   every other table, so only the release of an address moves a mark.
//!
//! Both are ordinary tables of the database, kept exact by triggers inside
//! every transaction (a rollback rolls them back too). Being part of the
//! database, they travel with it: a namespace made from the seed's image, a
//! fork, a snapshot and its restore, and a `--db` file all carry them as
//! they were, so opening or restoring an engine rebuilds nothing. (They
//! were TEMP tables once; building them cost every new namespace about a
//! millisecond and 40 KiB.)

/// The migration that adds the tables and their triggers and fills them
/// from the data already there.
pub const MIGRATION: &str = r#"
CREATE TABLE visible_counts (userid TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;
CREATE TRIGGER visible_insert AFTER INSERT ON instances WHEN NEW.hidden = 0
BEGIN
    INSERT INTO visible_counts (userid, n) VALUES (NEW.userid, 1)
        ON CONFLICT (userid) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER visible_delete AFTER DELETE ON instances WHEN OLD.hidden = 0
BEGIN
    UPDATE visible_counts SET n = n - 1 WHERE userid = OLD.userid;
END;
CREATE TRIGGER visible_update AFTER UPDATE OF hidden, userid ON instances
BEGIN
    UPDATE visible_counts SET n = n - 1 WHERE userid = OLD.userid AND OLD.hidden = 0;
    INSERT INTO visible_counts (userid, n) SELECT NEW.userid, 1 WHERE NEW.hidden = 0
        ON CONFLICT (userid) DO UPDATE SET n = n + 1;
END;
INSERT INTO visible_counts (userid, n)
    SELECT userid, count(*) FROM instances WHERE hidden = 0 GROUP BY userid;

CREATE TABLE ip_low (pool_id INTEGER PRIMARY KEY, low INTEGER NOT NULL);
CREATE TRIGGER ip_low_release AFTER UPDATE OF status, pool_id, ip_int ON ips
    WHEN OLD.status = 1
BEGIN
    UPDATE ip_low SET low = min(low, OLD.ip_int) WHERE pool_id = OLD.pool_id;
END;
CREATE TRIGGER ip_low_delete AFTER DELETE ON ips WHEN OLD.status = 1
BEGIN
    UPDATE ip_low SET low = min(low, OLD.ip_int) WHERE pool_id = OLD.pool_id;
END;
"#;

#[cfg(test)]
mod tests {
    use crate::domain::ipalloc::{self, Range};
    use crate::seed::{PoolKind, Seed};
    use crate::store::{self, instances, network, Store};
    use rusqlite::Connection;

    const LINE: &str = "1665907446560259";
    const SEEDED: &str = "1708330228791024";

    fn seeded() -> Store {
        let store = Store::open(None).unwrap_or_else(|e| panic!("open: {e}"));
        let seed = Seed::default_set().unwrap_or_else(|e| panic!("seed: {e}"));
        let zone = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| panic!("zone"));
        store
            .write(|tx| store::load_seed(tx, &seed, 1_700_000_000, zone))
            .unwrap_or_else(|e| panic!("load: {e}"));
        store
    }

    fn total(conn: &Connection) -> i64 {
        instances::page(conn, "1", 0, 10)
            .unwrap_or_else(|e| panic!("page: {e}"))
            .1
    }

    /// Reserved ranges, gateway and every live address, read the slow way.
    fn full_taken(conn: &Connection, pool: &network::Pool) -> Vec<Range> {
        let mut ranges: Vec<Range> = pool
            .reserved
            .iter()
            .map(|n| (u32::from(n.network()), u32::from(n.broadcast())))
            .collect();
        if let Some(gw) = pool.gateway {
            ranges.push((u32::from(gw), u32::from(gw)));
        }
        let mut stmt = conn
            .prepare("SELECT ip_int FROM ips WHERE pool_id = ?1 AND status = 1")
            .unwrap_or_else(|e| panic!("{e}"));
        let ips = stmt
            .query_map([pool.id], |r| r.get::<_, i64>(0))
            .unwrap_or_else(|e| panic!("{e}"));
        for ip in ips.flatten() {
            ranges.push((ip as u32, ip as u32));
        }
        ipalloc::normalise(ranges)
    }

    #[test]
    fn visible_counts_follow_inserts_hides_and_rollbacks() {
        let store = seeded();
        let conn = store.lock();
        assert_eq!(total(&conn), 1);
        let mut copy = instances::get(&conn, SEEDED)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("seeded instance"));
        copy.id = 0;
        copy.guid = "1700000000000001".into();
        instances::insert(&conn, &copy).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(total(&conn), 2);
        instances::hide(&conn, &copy.guid).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(total(&conn), 1);
        drop(conn);
        // A rolled-back insert leaves no count behind.
        let refused: rusqlite::Result<()> = store.write(|tx| {
            copy.guid = "1700000000000002".into();
            instances::insert(tx, &copy)?;
            Err(rusqlite::Error::QueryReturnedNoRows)
        });
        assert!(refused.is_err());
        let conn = store.lock();
        assert_eq!(total(&conn), 1);
        let recount: i64 = conn
            .query_row(
                "SELECT count(*) FROM instances WHERE userid = '1' AND hidden = 0",
                [],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(recount, 1);
    }

    #[test]
    fn low_water_mark_never_changes_what_is_taken() {
        let store = seeded();
        let conn = store.lock();
        let pool = network::pools(&conn, LINE, PoolKind::Primary)
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("primary pool"));
        let mut guids = Vec::new();
        for round in 0..60u32 {
            let guid = format!("17000000000{round:05}");
            let got = network::allocate_primary(&conn, LINE, &guid, 1_700_000_000)
                .unwrap_or_else(|e| panic!("{e}"));
            if got.is_some() {
                guids.push(guid);
            }
            // Release every third holder: the mark must come back down.
            if round % 3 == 2 {
                let victim = guids.remove((round as usize * 7) % guids.len());
                network::release_instance_ips(&conn, &victim).unwrap_or_else(|e| panic!("{e}"));
            }
            let fast = network::taken(&conn, &pool).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(fast, full_taken(&conn, &pool), "round {round}");
        }
        // Forgetting every mark (as a restore of an older image could)
        // still agrees.
        conn.execute("DELETE FROM ip_low", [])
            .unwrap_or_else(|e| panic!("{e}"));
        let fast = network::taken(&conn, &pool).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(fast, full_taken(&conn, &pool));
    }
}
