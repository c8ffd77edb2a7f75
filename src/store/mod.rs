//! The only place with SQL. One SQLite connection per engine (in memory by
//! default, a WAL-mode file with `--db`), versioned migrations embedded in
//! the binary, seed loading, and the typed queries the actions use.
//!
//! Architecture invariant: callers run these functions on a blocking thread
//! (never on an async worker) and inside one transaction per request, so a
//! refused request leaves no trace and allocations are serialised.

pub mod catalog;
pub mod changes;
pub mod derived;
mod error;
pub mod instances;
pub mod network;
pub mod test_support;
pub mod transitions;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use crate::clock::ClockState;
use crate::config::DbSync;
use crate::seed::Seed;

/// Schema versions, applied in order; `PRAGMA user_version` records how far.
const MIGRATIONS: &[&str] = &[
    // 1: everything the engine keeps.
    r#"
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE users (userid TEXT PRIMARY KEY, api_key TEXT NOT NULL, callback_url TEXT);
    CREATE TABLE catalog (
        kind TEXT NOT NULL, guid TEXT NOT NULL, seq INTEGER NOT NULL, doc TEXT NOT NULL,
        PRIMARY KEY (kind, guid)
    );
    CREATE INDEX catalog_kind_seq ON catalog (kind, seq);
    CREATE TABLE stock (
        id TEXT PRIMARY KEY, product_guid TEXT NOT NULL, cabinet_sn TEXT NOT NULL,
        seq INTEGER NOT NULL, instance_guid TEXT
    );
    CREATE INDEX stock_free ON stock (product_guid, instance_guid, seq);
    CREATE UNIQUE INDEX stock_holder ON stock (instance_guid) WHERE instance_guid IS NOT NULL;
    CREATE TABLE ip_pools (
        id INTEGER PRIMARY KEY, line_guid TEXT NOT NULL, kind TEXT NOT NULL, cidr TEXT NOT NULL,
        gateway TEXT, reserved TEXT NOT NULL
    );
    CREATE INDEX ip_pools_line ON ip_pools (line_guid, kind);
    CREATE TABLE instances (
        id INTEGER PRIMARY KEY, guid TEXT NOT NULL UNIQUE, userid TEXT NOT NULL,
        product_guid TEXT NOT NULL, line_guid TEXT NOT NULL, system_guid TEXT NOT NULL,
        stock_id TEXT, cabinet_sn TEXT NOT NULL, name TEXT NOT NULL,
        client_user_id TEXT NOT NULL, client_order_no TEXT NOT NULL, agent_order_no TEXT NOT NULL,
        login_name TEXT NOT NULL, login_password TEXT NOT NULL, system_partition_size TEXT NOT NULL,
        buy_remarks TEXT NOT NULL, bandwidth INTEGER NOT NULL, defense INTEGER NOT NULL,
        ipnum INTEGER NOT NULL, buy_time INTEGER NOT NULL, start_time INTEGER NOT NULL,
        end_time INTEGER NOT NULL, order_status INTEGER NOT NULL, run_status INTEGER NOT NULL,
        act_status INTEGER NOT NULL, push_status INTEGER NOT NULL, lock_status INTEGER NOT NULL,
        install_mode TEXT NOT NULL, deleted_at INTEGER, hidden INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX instances_user ON instances (userid, hidden, id);
    CREATE TABLE ips (
        id INTEGER PRIMARY KEY, instance_guid TEXT NOT NULL, pool_id INTEGER NOT NULL,
        ip TEXT NOT NULL, ip_int INTEGER NOT NULL, mask TEXT NOT NULL, gateway TEXT NOT NULL,
        net_type TEXT NOT NULL, is_default INTEGER NOT NULL, ip_num INTEGER NOT NULL,
        status INTEGER NOT NULL, create_time INTEGER NOT NULL, upgrade_id INTEGER
    );
    CREATE UNIQUE INDEX ips_live ON ips (ip_int) WHERE status = 1;
    CREATE INDEX ips_instance ON ips (instance_guid, id);
    CREATE INDEX ips_pool ON ips (pool_id, status, ip_int);
    CREATE INDEX ips_upgrade ON ips (upgrade_id);
    CREATE TABLE upgrades (
        id INTEGER PRIMARY KEY, instance_guid TEXT NOT NULL, type TEXT NOT NULL, nums INTEGER NOT NULL,
        value TEXT NOT NULL, status INTEGER NOT NULL, order_no_api TEXT NOT NULL,
        create_time INTEGER NOT NULL, degrade_guid TEXT, remaining INTEGER NOT NULL,
        mask TEXT, gateway TEXT
    );
    CREATE INDEX upgrades_instance ON upgrades (instance_guid, id);
    CREATE TABLE degrades (
        id INTEGER PRIMARY KEY, guid TEXT NOT NULL UNIQUE, baremetal_guid TEXT NOT NULL,
        item TEXT NOT NULL, status INTEGER NOT NULL, reason TEXT NOT NULL, apply_time INTEGER NOT NULL,
        create_time INTEGER NOT NULL, finish_time INTEGER, value TEXT NOT NULL,
        new_value TEXT NOT NULL, old_value TEXT NOT NULL, amount INTEGER NOT NULL,
        upgrade_ids TEXT NOT NULL
    );
    CREATE INDEX degrades_instance ON degrades (baremetal_guid, id);
    CREATE TABLE transitions (
        id INTEGER PRIMARY KEY, guid TEXT NOT NULL, kind TEXT NOT NULL, due INTEGER NOT NULL,
        taskid TEXT, action TEXT NOT NULL, userid TEXT NOT NULL, ref TEXT, stalled_by INTEGER
    );
    CREATE INDEX transitions_due ON transitions (due, id);
    CREATE INDEX transitions_guid ON transitions (guid);
    CREATE TABLE orders (
        userid TEXT NOT NULL, action TEXT NOT NULL, agent_order_no TEXT NOT NULL, response TEXT NOT NULL,
        PRIMARY KEY (userid, action, agent_order_no)
    );
    "#,
    // 2: an index for cancelling a degrade's transitions by reference
    // (`transitions::cancel_reference` scanned every pending transition).
    "CREATE INDEX transitions_ref ON transitions (ref) WHERE ref IS NOT NULL;",
    // 3: fewer pages written per `create` (21 → 19 WAL frames): free stock
    // and upgrade IPs indexed only where those lookups look. (`orders` stays
    // a rowid table: WITHOUT ROWID saves a page, but its kilobyte-sized rows
    // made every replay lookup dear — 5 % of the server under create load.)
    r#"
    DROP INDEX stock_free;
    CREATE INDEX stock_free ON stock (product_guid, seq) WHERE instance_guid IS NULL;
    CREATE INDEX stock_product ON stock (product_guid);
    DROP INDEX ips_upgrade;
    CREATE INDEX ips_upgrade ON ips (upgrade_id) WHERE upgrade_id IS NOT NULL;
    "#,
    // 4: the derived counts and low-water marks as tables of the database
    // (they were TEMP tables rebuilt at every open).
    derived::MIGRATION,
];

/// Tables emptied by a reset, children first.
const TABLES: &[&str] = &[
    "visible_counts",
    "ip_low",
    "orders",
    "transitions",
    "degrades",
    "upgrades",
    "ips",
    "instances",
    "ip_pools",
    "stock",
    "catalog",
    "users",
    "meta",
];

/// A cheap-to-clone handle on one engine's database.
#[derive(Clone)]
pub struct Store {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

impl Store {
    /// Opens (and migrates) an in-memory database or a WAL-mode file
    /// flushed as `--db-sync` says by default (`off`).
    pub fn open(path: Option<&Path>) -> rusqlite::Result<Store> {
        Store::open_with(path, DbSync::default())
    }

    /// Opens (and migrates) an in-memory database or a WAL-mode file
    /// flushed as `sync` says.
    pub fn open_with(path: Option<&Path>, sync: DbSync) -> rusqlite::Result<Store> {
        let conn = match path {
            Some(p) => {
                let c = Connection::open(p)?;
                c.pragma_update(None, "journal_mode", "WAL")?;
                // `off`: a commit is in the operating system's hands when the
                // answer goes out, so a killed server loses nothing it
                // acknowledged; checkpoints skip their fsync.
                c.pragma_update(None, "synchronous", sync.pragma())?;
                // Read pages straight from the mapped file: a lookup in a big
                // database (100,000 instances) no longer preads every page
                // that fell out of the 2 MiB page cache.
                c.pragma_update(None, "mmap_size", 256i64 * 1024 * 1024)?;
                c.busy_timeout(std::time::Duration::from_secs(5))?;
                c
            }
            None => open_memory()?,
        };
        Store::configure(conn)
    }

    /// A private in-memory database holding a copy of `image` (a whole
    /// database, as [`Store::image`] or [`Template`] made it).
    pub fn from_image(image: &[u8]) -> rusqlite::Result<Store> {
        let mut conn = memdb_connection()?;
        conn.deserialize_read_exact(rusqlite::MAIN_DB, image, image.len(), false)?;
        // `memdb` serves only the database itself: the rollback journal
        // stays in memory too, never a file in the working directory.
        conn.pragma_update(None, "journal_mode", "MEMORY")?;
        Store::configure(conn)
    }

    /// The whole database as bytes, for a copy in another engine.
    pub fn image(&self) -> rusqlite::Result<Vec<u8>> {
        Ok(self.lock().serialize(rusqlite::MAIN_DB)?.to_vec())
    }

    /// The size of the database in bytes.
    pub fn size(&self) -> rusqlite::Result<u64> {
        let conn = self.lock();
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        let size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        Ok((pages * size).max(0) as u64)
    }

    fn configure(conn: Connection) -> rusqlite::Result<Store> {
        conn.pragma_update(None, "foreign_keys", "OFF")?;
        conn.set_prepared_statement_cache_capacity(128);
        // Plans never depend on bound values (no ANALYZE data anyway): with
        // the bundled STAT4 build a cached statement was otherwise
        // re-prepared on every rebind (e.g. `free_stock`, each `create`).
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        migrate(&conn)?;
        Ok(Store {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// The connection, for one unit of work. Never hold it across `.await`.
    pub fn lock(&self) -> MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs `f` in one transaction: committed when it returns `Ok`, rolled back otherwise.
    pub fn write<T, E: From<rusqlite::Error>>(
        &self,
        f: impl FnOnce(&Transaction) -> Result<T, E>,
    ) -> Result<T, E> {
        let mut conn = self.lock();
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// The seed loaded once, as a database image: every new namespace starts
/// as a copy of it instead of re-reading and re-loading the seed. Seeded
/// instances are anchored to the time a namespace is made, as a fresh load
/// would anchor them ([`instances::reanchor_seeded`]).
///
/// A few copies are kept opened ahead of need ([`Template::refill`], run
/// off the request path), so the first call of a new namespace takes one
/// instead of paying for the copy and for SQLite's reading of the schema.
/// The refill moves the image itself to the current second first, so a
/// copy is a plain memory copy; one that waited past its second is moved
/// to the time it is taken, so it always equals a fresh load then.
pub struct Template {
    /// The image and the time its seeded instances are anchored at; its
    /// clock is saved as a fresh clock's.
    image: Mutex<Arc<Image>>,
    zone: chrono::FixedOffset,
    /// Copies opened ahead, each with the time it is anchored at.
    ready: Mutex<Vec<(Store, i64)>>,
    /// Set while a [`Template::refill`] runs.
    refilling: AtomicBool,
}

struct Image {
    bytes: Vec<u8>,
    anchored_at: i64,
}

/// How many copies [`Template::refill`] keeps ready (about 130 KiB each).
const READY_COPIES: usize = 4;

impl Template {
    /// Loads `seed` into a scratch database anchored at `now`.
    pub fn build(seed: &Seed, now: i64, zone: chrono::FixedOffset) -> rusqlite::Result<Template> {
        let store = Store::open(None)?;
        store.write(|tx| {
            load_seed(tx, seed, now, zone)?;
            save_clock(tx, ClockState::default())
        })?;
        Ok(Template {
            image: Mutex::new(Arc::new(Image {
                bytes: store.image()?,
                anchored_at: now,
            })),
            zone,
            ready: Mutex::new(Vec::new()),
            refilling: AtomicBool::new(false),
        })
    }

    /// A new store holding the seed as if it had been loaded at `now`, with
    /// `clock` saved: a copy opened ahead when there is one, else a copy
    /// made now.
    pub fn open(&self, seed: &Seed, now: i64, clock: ClockState) -> rusqlite::Result<Store> {
        let ready = self.ready().pop();
        let (store, anchored) = match ready {
            Some(copy) => copy,
            None => {
                let image = self.image();
                (Store::from_image(&image.bytes)?, image.anchored_at)
            }
        };
        self.settle(&store, seed, anchored, now, clock)?;
        Ok(store)
    }

    /// A copy opened ahead that is already anchored at `now`, as a fresh
    /// clock's store: one that needs no write at all.
    pub fn take_ready(&self, now: i64) -> Option<Store> {
        let mut ready = self.ready();
        let at = ready.iter().rposition(|(_, anchored)| *anchored == now)?;
        Some(ready.swap_remove(at).0)
    }

    /// Moves a copy anchored at `anchored` to `now` and saves `clock`, in
    /// one transaction when there is anything to write.
    fn settle(
        &self,
        store: &Store,
        seed: &Seed,
        anchored: i64,
        now: i64,
        clock: ClockState,
    ) -> rusqlite::Result<()> {
        if anchored == now && clock == ClockState::default() {
            return Ok(());
        }
        store.write(|tx| {
            if anchored != now {
                instances::reanchor_seeded(tx, seed, now, now - anchored, self.zone)?;
            }
            save_clock(tx, clock)
        })
    }

    /// Opens copies until [`READY_COPIES`] wait, each anchored at `now()`
    /// as it is made. A call while another runs returns at once.
    pub fn refill(&self, seed: &Seed, now: impl Fn() -> i64) -> rusqlite::Result<()> {
        if self.refilling.swap(true, Ordering::AcqRel) {
            return Ok(());
        }
        let result = self.fill(seed, now);
        self.refilling.store(false, Ordering::Release);
        result
    }

    fn fill(&self, seed: &Seed, now: impl Fn() -> i64) -> rusqlite::Result<()> {
        while self.ready().len() < READY_COPIES {
            let at = now();
            let mut image = self.image();
            if image.anchored_at != at {
                // Once a second at most: the image itself moves on.
                let moved = Store::from_image(&image.bytes)?;
                self.settle(&moved, seed, image.anchored_at, at, ClockState::default())?;
                image = Arc::new(Image {
                    bytes: moved.image()?,
                    anchored_at: at,
                });
                *self.image.lock().unwrap_or_else(|p| p.into_inner()) = image.clone();
            }
            let store = Store::from_image(&image.bytes)?;
            warm(&store.lock())?;
            self.ready().push((store, at));
        }
        Ok(())
    }

    /// Whether fewer than [`READY_COPIES`] wait and no refill runs.
    pub fn wants_refill(&self) -> bool {
        !self.refilling.load(Ordering::Acquire) && self.ready().len() < READY_COPIES
    }

    fn ready(&self) -> MutexGuard<'_, Vec<(Store, i64)>> {
        self.ready.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn image(&self) -> Arc<Image> {
        self.image.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
}

/// Runs, on a copy opened ahead, the reads every new engine makes first, so
/// that SQLite has read the schema (on a connection's first statement) and
/// the connection's statement cache holds them: the engine's start asks
/// when it is next due, and a call's first read is mostly the catalog.
fn warm(conn: &Connection) -> rusqlite::Result<()> {
    transitions::next_wake(conn, &[])?;
    transitions::any_due(conn, 0)?;
    catalog::list(conn, catalog::CatalogKind::Zone)?;
    Ok(())
}

/// The page size of an in-memory database, in bytes.
const MEMORY_PAGE_SIZE: i64 = 1024;

/// A private in-memory database on SQLite's `memdb` VFS rather than
/// `:memory:`. A `:memory:` database keeps every page in its page cache,
/// and a commit after a b-tree rebalance walks that cache's whole hash
/// table (`pcache1Truncate`: the rebalance parks a page at the lock-byte
/// page number), so each write cost more as the database grew — 120 µs per
/// `create` at first, 300 µs after 50,000. On `memdb` the pages live in the
/// VFS and the page cache stays at its normal, bounded size.
///
/// The price: `memdb` holds at most 1 GiB (about 170,000 created
/// instances with their IPs and transitions); past that a write answers
/// `storage_full` and changes nothing. A private temporary file would have
/// no cap but cost 20–50 % more per write (measured); `--db` has none either.
fn open_memory() -> rusqlite::Result<Connection> {
    let conn = memdb_connection()?;
    // Small pages: the seed spreads over some 35 tables and indexes that
    // each fill a page of their own whatever its size, so an idle
    // namespace's database is 60 KiB at 1 KiB a page rather than 160 KiB
    // at SQLite's default 4 KiB. (A `--db` file keeps the default; a copy of
    // an image keeps the image's page size.)
    conn.pragma_update(None, "page_size", MEMORY_PAGE_SIZE)?;
    // `memdb` serves only the database itself: keep the rollback journal in
    // memory too, never as a file in the working directory.
    conn.pragma_update(None, "journal_mode", "MEMORY")?;
    Ok(conn)
}

/// A connection to a new, empty private `memdb` database, as it comes
/// (a copy of an image brings its own page size).
fn memdb_connection() -> rusqlite::Result<Connection> {
    use rusqlite::OpenFlags;
    // No leading `/` in the name: the database is private to this connection.
    Connection::open_with_flags(
        "file:apayun-mock?vfs=memdb",
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
}

/// Applies the migrations a database lacks, each in its own transaction
/// with its version bump (a killed server leaves none half done).
fn migrate(conn: &Connection) -> rusqlite::Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version.max(0) as usize) {
        conn.execute_batch(&format!(
            "BEGIN IMMEDIATE; {sql}; PRAGMA user_version = {}; COMMIT;",
            i + 1
        ))
        .inspect_err(|_| {
            let _ = conn.execute_batch("ROLLBACK");
        })?;
    }
    Ok(())
}

/// Whether this database already holds a seeded engine (a `--db` file being reopened).
pub fn is_seeded(conn: &Connection) -> rusqlite::Result<bool> {
    Ok(meta_get(conn, "seeded")?.is_some())
}

pub fn meta_get(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()
}

pub fn meta_set(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}

pub fn save_clock(conn: &Connection, state: ClockState) -> rusqlite::Result<()> {
    meta_set(conn, "clock_offset_ms", &state.offset_ms.to_string())?;
    meta_set(
        conn,
        "clock_frozen_at_ms",
        &state
            .frozen_at_ms
            .map(|v| v.to_string())
            .unwrap_or_default(),
    )
}

pub fn load_clock(conn: &Connection) -> rusqlite::Result<ClockState> {
    let offset_ms = meta_get(conn, "clock_offset_ms")?
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let frozen_at_ms = meta_get(conn, "clock_frozen_at_ms")?.and_then(|v| v.parse().ok());
    Ok(ClockState {
        offset_ms,
        frozen_at_ms,
    })
}

/// How many generated identifiers the database holds (instance and degrade
/// GUIDs, upgrade order numbers).
pub fn generated_count(conn: &Connection) -> rusqlite::Result<u64> {
    conn.query_row(
        "SELECT (SELECT count(*) FROM instances) + (SELECT count(*) FROM degrades) \
         + (SELECT count(*) FROM upgrades)",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| n as u64)
}

/// Empties every table and loads `seed`; `now` anchors seeded instances.
pub fn load_seed(
    tx: &Transaction,
    seed: &Seed,
    now: i64,
    zone: chrono::FixedOffset,
) -> rusqlite::Result<()> {
    for table in TABLES {
        tx.execute(&format!("DELETE FROM {table}"), [])?;
    }
    for user in &seed.users {
        tx.execute(
            "INSERT INTO users (userid, api_key, callback_url) VALUES (?1, ?2, ?3)",
            params![user.userid, user.api_key, user.callback_url],
        )?;
    }
    for (kind, docs) in [
        (catalog::CatalogKind::Zone, &seed.zones),
        (catalog::CatalogKind::Line, &seed.lines),
        (catalog::CatalogKind::System, &seed.systems),
        (catalog::CatalogKind::Harddisk, &seed.harddisks),
        (catalog::CatalogKind::Product, &seed.products),
    ] {
        for (seq, doc) in docs.iter().enumerate() {
            catalog::insert(tx, kind, seq as i64, doc)?;
        }
    }
    for (seq, unit) in seed.stock.iter().enumerate() {
        tx.execute(
            "INSERT INTO stock (id, product_guid, cabinet_sn, seq) VALUES (?1, ?2, ?3, ?4)",
            params![unit.id, unit.product_guid, unit.cabinet_sn, seq as i64],
        )?;
    }
    for pool in &seed.ip_pools {
        tx.execute(
            "INSERT INTO ip_pools (line_guid, kind, cidr, gateway, reserved) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![pool.line_guid, pool.kind.as_str(), pool.cidr, pool.gateway, pool.reserved.join(",")],
        )?;
    }
    for inst in &seed.instances {
        instances::insert_seeded(tx, inst, now, zone)?;
    }
    meta_set(tx, "seeded", "1")?;
    Ok(())
}

/// A member's callback URL (`None` when unset or unknown).
pub fn callback_url(conn: &Connection, userid: &str) -> rusqlite::Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT callback_url FROM users WHERE userid = ?1",
            [userid],
            |r| r.get::<_, Option<String>>(0),
        )
        .optional()?
        .flatten()
        .filter(|u| !u.is_empty()))
}

/// Sets (or clears) a member's callback URL; `false` when there is no such member.
pub fn set_callback_url(
    conn: &Connection,
    userid: &str,
    url: Option<&str>,
) -> rusqlite::Result<bool> {
    Ok(conn.execute(
        "UPDATE users SET callback_url = ?2 WHERE userid = ?1",
        params![userid, url],
    )? == 1)
}

/// Whether an instance or a degrade already uses `guid`.
pub fn guid_taken(conn: &Connection, guid: &str) -> rusqlite::Result<bool> {
    conn.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM instances WHERE guid = ?1) OR EXISTS (SELECT 1 FROM degrades WHERE guid = ?1)",
    )?
    .query_row([guid], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::{Reason, Refusal};

    fn open() -> Store {
        Store::open(None).unwrap_or_else(|e| panic!("open: {e}"))
    }

    #[test]
    fn in_memory_stores_are_private_and_keep_their_journal_in_memory() {
        let (a, b) = (open(), open());
        a.write(|tx| meta_set(tx, "who", "a"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            meta_get(&a.lock(), "who").ok().flatten().as_deref(),
            Some("a")
        );
        assert_eq!(meta_get(&b.lock(), "who").ok().flatten(), None);
        let mode: String = a
            .lock()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap_or_default();
        assert_eq!(mode, "memory");
        let vfs_file = std::path::Path::new("apayun-mock-journal");
        assert!(!vfs_file.exists(), "a rollback journal was written to disk");
    }

    /// The plan of `sql`, one detail line per step.
    fn plan(store: &Store, sql: &str) -> String {
        let conn = store.lock();
        let mut stmt = conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        let count = stmt.parameter_count();
        let args: Vec<String> = (0..count).map(|i| i.to_string()).collect();
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, String>(3))
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
        rows.flatten().collect::<Vec<_>>().join("; ")
    }

    #[test]
    fn the_write_path_lookups_use_their_indexes() {
        let store = open();
        for (sql, index) in [
            (
                "SELECT id, cabinet_sn FROM stock WHERE product_guid = ?1 AND instance_guid IS NULL ORDER BY seq LIMIT ?2",
                "stock_free",
            ),
            ("SELECT id FROM ips WHERE upgrade_id = ?1 ORDER BY id", "ips_upgrade"),
            (
                "SELECT response FROM orders WHERE userid = ?1 AND action = ?2 AND agent_order_no = ?3",
                "sqlite_autoindex_orders_1",
            ),
            ("SELECT count(*) FROM stock WHERE product_guid = ?1", "stock_product"),
        ] {
            let plan = plan(&store, sql);
            assert!(plan.contains(index), "{sql}\n  uses {plan}");
            assert!(!plan.contains("SCAN"), "{sql}\n  scans: {plan}");
        }
    }

    #[test]
    fn a_version_2_file_migrates_with_its_orders() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("v2.db");
        {
            let conn = Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
            for sql in &MIGRATIONS[..2] {
                conn.execute_batch(sql).unwrap_or_else(|e| panic!("{e}"));
            }
            conn.execute_batch(
                "PRAGMA user_version = 2;
                 INSERT INTO orders VALUES ('1', 'create', 'o-1', '{\"guid\":\"g\"}');
                 INSERT INTO stock VALUES ('s1', 'p', 'c1', 1, NULL), ('s2', 'p', 'c2', 2, 'g');",
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        let store = Store::open(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
        let conn = store.lock();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap_or_default();
        assert_eq!(version, MIGRATIONS.len() as i64);
        assert_eq!(
            instances::order_response(&conn, "1", "create", "o-1")
                .ok()
                .flatten()
                .as_deref(),
            Some(r#"{"guid":"g"}"#)
        );
        let free = instances::free_stock(&conn, "p", 5).unwrap_or_default();
        assert_eq!(free.len(), 1);
        assert_eq!(instances::stock_counts(&conn, "p").ok(), Some((2, 1)));
    }

    #[test]
    fn a_version_3_file_gains_the_derived_tables_filled_from_its_rows() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("v3.db");
        let seed = Seed::default_set().unwrap_or_else(|e| panic!("{e}"));
        let zone = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| panic!("zone"));
        {
            let store = Store::open(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
            store
                .write(|tx| load_seed(tx, &seed, 1_700_000_000, zone))
                .unwrap_or_else(|e| panic!("{e}"));
            // What a file written before migration 4 holds: no derived
            // tables, no triggers.
            store
                .lock()
                .execute_batch(
                    "DROP TRIGGER visible_insert; DROP TRIGGER visible_delete;
                     DROP TRIGGER visible_update; DROP TRIGGER ip_low_release;
                     DROP TRIGGER ip_low_delete;
                     DROP TABLE visible_counts; DROP TABLE ip_low;
                     PRAGMA user_version = 3;",
                )
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let store = Store::open(Some(&path)).unwrap_or_else(|e| panic!("{e}"));
        let conn = store.lock();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap_or_default();
        assert_eq!(version, MIGRATIONS.len() as i64);
        let visible: i64 = conn
            .query_row(
                "SELECT count(*) FROM instances WHERE userid = '1' AND hidden = 0",
                [],
                |r| r.get(0),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(visible > 0);
        let (_, total) = instances::page(&conn, "1", 0, 10).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(total, visible);
    }

    /// Every row of every table, in a stable order, as text.
    fn dump(store: &Store) -> Vec<String> {
        let conn = store.lock();
        let mut out = Vec::new();
        for table in TABLES {
            let mut stmt = conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY 1, 2"))
                .unwrap_or_else(|e| panic!("{table}: {e}"));
            let n = stmt.column_count();
            let rows = stmt
                .query_map([], |r| {
                    let mut cells = Vec::new();
                    for i in 0..n {
                        cells.push(format!("{:?}", r.get::<_, rusqlite::types::Value>(i)?));
                    }
                    Ok(format!("{table}: {}", cells.join(" | ")))
                })
                .unwrap_or_else(|e| panic!("{table}: {e}"));
            out.extend(rows.flatten());
        }
        out
    }

    #[test]
    fn a_template_copy_equals_a_fresh_load_at_the_same_time() {
        let seed = Seed::default_set().unwrap_or_else(|e| panic!("{e}"));
        let zone = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| panic!("zone"));
        // Built on 30 January; copied at the end of February and in a leap
        // year, where a calendar month is not a fixed number of seconds.
        let built = 1_738_195_200; // 2025-01-30 00:00 UTC
        let template = Template::build(&seed, built, zone).unwrap_or_else(|e| panic!("{e}"));
        for now in [
            built,
            built + 29 * 86_400 + 7,
            1_706_659_200, /* 2024-01-31 */
        ] {
            let clock = ClockState {
                offset_ms: 1_000,
                frozen_at_ms: None,
            };
            let copy = template
                .open(&seed, now, clock)
                .unwrap_or_else(|e| panic!("{e}"));
            // A copy opened ahead at another time, then taken at `now`.
            template
                .refill(&seed, || built + 3_600)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(!template.wants_refill());
            // Taken as it is only at the second it is anchored at.
            assert!(template.take_ready(built + 3_601).is_none());
            let taken = template
                .take_ready(built + 3_600)
                .unwrap_or_else(|| panic!("a ready copy"));
            assert!(template.wants_refill());
            drop(taken);
            template
                .refill(&seed, || built + 3_600)
                .unwrap_or_else(|e| panic!("{e}"));
            let ahead = template
                .open(&seed, now, clock)
                .unwrap_or_else(|e| panic!("{e}"));
            assert!(template.wants_refill());
            let fresh = open();
            fresh
                .write(|tx| {
                    load_seed(tx, &seed, now, zone)?;
                    save_clock(tx, clock)
                })
                .unwrap_or_else(|e| panic!("{e}"));
            let (a, b) = (dump(&copy), dump(&fresh));
            assert_eq!(dump(&ahead), a, "a copy opened ahead, at {now}");
            assert!(a.len() > 50, "too few rows: {}", a.len());
            for (x, y) in a.iter().zip(&b) {
                assert_eq!(x, y, "at {now}");
            }
            assert_eq!(a.len(), b.len());
        }
    }

    #[test]
    fn a_copied_image_is_a_private_writable_database() {
        let store = open();
        store
            .write(|tx| meta_set(tx, "who", "original"))
            .unwrap_or_else(|e| panic!("{e}"));
        let image = store.image().unwrap_or_else(|e| panic!("{e}"));
        let copy = Store::from_image(&image).unwrap_or_else(|e| panic!("{e}"));
        copy.write(|tx| meta_set(tx, "who", "copy"))
            .unwrap_or_else(|e| panic!("{e}"));
        // Grows past the image it was made from.
        copy.write(|tx| {
            tx.execute_batch(
                "CREATE TABLE big (b BLOB); INSERT INTO big VALUES (zeroblob(1000000));",
            )
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            meta_get(&store.lock(), "who").ok().flatten().as_deref(),
            Some("original")
        );
        assert_eq!(
            meta_get(&copy.lock(), "who").ok().flatten().as_deref(),
            Some("copy")
        );
        let mode: String = copy
            .lock()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap_or_default();
        assert_eq!(mode, "memory");
    }

    #[test]
    fn a_write_rolls_back_on_error() {
        let store = open();
        let out: Result<(), rusqlite::Error> = store.write(|tx| {
            meta_set(tx, "k", "v")?;
            Err(rusqlite::Error::QueryReturnedNoRows)
        });
        assert!(out.is_err());
        assert_eq!(meta_get(&store.lock(), "k").ok().flatten(), None);
    }

    #[test]
    fn a_full_database_is_named_not_an_internal_error() {
        let conn = rusqlite::Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}"));
        conn.execute_batch("CREATE TABLE t (b BLOB); PRAGMA max_page_count = 2;")
            .unwrap_or_else(|e| panic!("{e}"));
        let err = conn
            .execute("INSERT INTO t VALUES (zeroblob(100000))", [])
            .expect_err("the database is capped at two pages");
        let refusal = Refusal::from(err);
        assert_eq!(refusal.reason, Reason::StorageFull);
        assert!(
            refusal.message.contains("/_mock/reset"),
            "{}",
            refusal.message
        );
        let other = Refusal::from(rusqlite::Error::QueryReturnedNoRows);
        assert_eq!(other.reason, Reason::InternalError);
    }
}
