//! Crash safety with `--db` (issue 6): the real binary under concurrent
//! creates is killed with SIGKILL mid-load, restarted on the same file, and
//! must come back whole — the database opens and passes SQLite's integrity
//! check, no address or stock unit is held twice, every create that was
//! acknowledged (code 0 received before the kill) is there through
//! `sync_baremetal`, and the transitions that were pending still fire when
//! the clock moves.

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apayun_mock::client::Client;
use apayun_mock::test_support::fixtures::{required_create_params, LINE, PRODUCT};
use apayun_mock::test_support::store::network::double_held;
use rusqlite::{Connection, OpenFlags};
use serde_json::{json, Value};

mod common;

/// The default seed with 3000 more stock units of the example product, a
/// primary pool large enough for them (seed data only: nothing is sent
/// there), and a `crash` timing profile.
fn roomy_seed(dir: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("seed-data");
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    for entry in std::fs::read_dir(&src).unwrap_or_else(|e| panic!("{e}")) {
        let entry = entry.unwrap_or_else(|e| panic!("{e}"));
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap_or_else(|e| panic!("{e}"));
    }
    let edit = |name: &str, f: &dyn Fn(&mut Vec<Value>)| {
        let path = dir.join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let mut list: Vec<Value> = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        f(&mut list);
        std::fs::write(&path, serde_json::to_vec(&list).unwrap_or_default())
            .unwrap_or_else(|e| panic!("{e}"));
    };
    edit("stock.json", &|units| {
        for i in 0..3000 {
            units.push(json!({"id": format!("crash-{i}"), "product_guid": PRODUCT,
                "cabinet_sn": format!("crash_{i}")}));
        }
    });
    edit("ip-pools.json", &|pools| {
        pools.push(
            json!({"line_guid": LINE, "kind": "primary", "cidr": "100.64.0.0/20",
            "gateway": "100.64.0.1", "reserved": []}),
        );
    });
    // Provisioning takes an hour of simulated time, so nothing completes on
    // its own while the test runs, however slow the machine.
    let path = dir.join("timings.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let mut timings: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    timings["crash"] = json!({"provision": 3600, "stop": 10, "start": 10, "restart": 20,
        "setpass": 15, "install": 300, "upgrade": 20});
    std::fs::write(&path, timings.to_string()).unwrap_or_else(|e| panic!("{e}"));
}

/// Starts `apayun-mock serve` on a free loopback port with `--db`.
fn serve(db: &Path, seed: &Path) -> common::Server {
    let (db, seed) = (db.to_string_lossy(), seed.to_string_lossy());
    let server = common::Server::start(
        &[
            "--port",
            "0",
            "--bind",
            "127.0.0.1",
            "--timings",
            "crash",
            "--db",
            &db,
            "--seed-data",
            &seed,
        ],
        &[],
    );
    assert!(
        server.url.starts_with("http://127.0.0.1:"),
        "{}",
        server.url
    );
    server
}

/// Invariants read straight from the file, as another process would.
fn check_file(db: &Path) -> (i64, i64) {
    let conn = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap_or_else(|e| panic!("the database does not open: {e}"));
    let integrity: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(integrity, "ok");
    assert_eq!(
        double_held(&conn).unwrap_or(-1),
        0,
        "an address is held twice"
    );
    let count = |sql: &str| -> i64 {
        conn.query_row(sql, [], |r| r.get(0))
            .unwrap_or_else(|e| panic!("{sql}: {e}"))
    };
    assert_eq!(
        count(
            "SELECT count(*) FROM (SELECT stock_id FROM instances WHERE stock_id IS NOT NULL \
             AND order_status != -2 GROUP BY stock_id HAVING count(*) > 1)"
        ),
        0,
        "a stock unit is held by two instances"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM instances i WHERE i.stock_id IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM stock s WHERE s.id = i.stock_id AND s.instance_guid = i.guid)"
        ),
        0,
        "an instance lost its stock unit"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM instances i WHERE NOT EXISTS (SELECT 1 FROM ips p \
             WHERE p.instance_guid = i.guid AND p.is_default = 1 AND p.status = 1)"
        ),
        0,
        "an instance lost its primary IP"
    );
    (
        count("SELECT count(*) FROM instances"),
        count("SELECT count(*) FROM instances WHERE order_status = 0"),
    )
}

type Acked = Vec<(String, String, String)>;

/// Starts the server on `db`, runs creates from 16 connections, and kills
/// it with SIGKILL once `target` creates were acknowledged (4 s at most).
/// Returns the acknowledged (agent_order_no, guid, primary IP).
async fn load_then_kill(db: &Path, seed: &Path, round: usize, target: usize) -> Acked {
    let server = serve(db, seed);
    let acked: Arc<Mutex<Acked>> = Arc::default();
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..16)
        .map(|w| {
            let (client, acked, stop) = (
                Client::new(&server.url, "1", "mock-api-key"),
                acked.clone(),
                stop.clone(),
            );
            tokio::spawn(async move {
                for n in 0..2000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    let no = format!("crash-{round}-{w}-{n}");
                    // After the kill every call fails: that ends the loop.
                    let Ok(answer) = client.call("create", required_create_params(&no)).await
                    else {
                        break;
                    };
                    if answer.code() == 0 {
                        let data = answer.data();
                        let guid = data[0]["guid"].as_str().unwrap_or_default().to_string();
                        let ip = data[0]["ip"][0]["ip"]
                            .as_str()
                            .unwrap_or_default()
                            .to_string();
                        acked
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .push((no, guid, ip));
                    }
                }
            })
        })
        .collect();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(4)
        && acked.lock().unwrap_or_else(|p| p.into_inner()).len() < target
    {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let pid = server.pid().to_string();
    let killed = Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(killed.success());
    drop(server); // reaps the killed process
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        let _ = w.await;
    }
    let acked = acked.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let wal = db.with_extension("db-wal");
    eprintln!(
        "round {round}: killed after {:.2} s with {} creates acknowledged; WAL {} bytes",
        started.elapsed().as_secs_f64(),
        acked.len(),
        std::fs::metadata(&wal).map_or(0, |m| m.len())
    );
    assert!(
        acked.len() >= 20,
        "too little load before the kill: {}",
        acked.len()
    );
    assert!(
        wal.exists(),
        "expected a WAL file left by the killed server"
    );
    acked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_mid_load_loses_nothing_acknowledged() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let seed = tmp.path().join("seed");
    roomy_seed(&seed);
    let db = tmp.path().join("crash.db");

    // 1. Write load, killed mid-way, three times on the same file (each
    //    restart recovers what the previous kill left).
    let mut acked = Acked::new();
    for (round, target) in [(0, 150), (1, 250), (2, 400)] {
        acked.extend(load_then_kill(&db, &seed, round, target).await);
        check_file(&db);
    }

    // 2. The file as the killed server left it.
    let (instances, provisioning) = check_file(&db);
    assert!(
        instances as usize > acked.len(),
        "{instances} instances (the seeded one included) for {} acknowledged creates",
        acked.len()
    );
    assert!(provisioning > 0, "expected creates still provisioning");

    // 3. Restart on the same file: every acknowledged create is there.
    let server = serve(&db, &seed);
    let client = Client::new(&server.url, "1", "mock-api-key");
    for chunk in acked.chunks(64) {
        let calls = chunk.iter().map(|(no, guid, ip)| {
            let client = client.clone();
            async move {
                let a = client
                    .call("sync_baremetal", json!({ "guid": guid }))
                    .await
                    .unwrap_or_else(|e| panic!("sync {guid}: {e}"));
                assert_eq!(
                    a.code(),
                    0,
                    "acknowledged {no} ({guid}) is gone: {}",
                    a.text
                );
                let b = &a.data()["baremetal"];
                assert_eq!(b["guid"], json!(guid));
                assert_eq!(b["order_status"], json!("0"), "{b}");
                let ips = b["ip"].to_string();
                assert!(ips.contains(ip.as_str()), "{guid} lost {ip}: {ips}");
            }
        });
        futures_util::future::join_all(calls).await;
    }
    // Idempotency survived too: a repeated order answers with the same instance.
    let (no, guid, _) = &acked[acked.len() / 2];
    let again = client
        .call("create", required_create_params(no))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again.data()[0]["guid"], json!(guid), "{}", again.text);

    // 4. The pending transitions still fire.
    let advanced = reqwest::Client::new()
        .post(format!("{}/_mock/clock/advance", server.url))
        .json(&json!({"seconds": 3700}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(advanced.status().as_u16(), 200);
    for (no, guid, _) in acked.iter().step_by((acked.len() / 40).max(1)) {
        let a = client
            .call("sync_baremetal", json!({ "guid": guid }))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            a.data()["baremetal"]["order_status"],
            json!("1"),
            "{no} ({guid}) was not provisioned after the restart: {}",
            a.text
        );
    }
    let (_, provisioning) = check_file(&db);
    assert_eq!(
        provisioning, 0,
        "instances still provisioning after the clock moved"
    );
    // New writes still work on the recovered file.
    let fresh = client
        .call("create", required_create_params("crash-after-restart"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(fresh.code(), 0, "{}", fresh.text);
    drop(server);
    check_file(&db);
}
