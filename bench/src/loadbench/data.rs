//! Bench data: a seed set for create-heavy runs (the repository's seed with
//! many stock units, big primary and subnet pools, and no IP/bandwidth caps
//! on the main line), and `--db` files populated with N instances directly
//! through the library (one transaction, no HTTP).

use std::path::Path;
use std::sync::Arc;

use apayun_mock::config::ServeConfig;
use apayun_mock::test_support::domain::state::InstanceState;
use apayun_mock::test_support::engine::{Engine, Settings};
use apayun_mock::test_support::seed::{PoolKind, Seed};
use apayun_mock::test_support::store::instances::{self, Instance};
use apayun_mock::test_support::store::network;
use serde_json::{json, Value};

/// The example line, product and OS image, and the seeded instance of
/// userid 1, as every test crate names them.
pub use apayun_mock::test_support::fixtures::{
    EXAMPLE_GUID as SEEDED_INSTANCE, LINE, PRODUCT, SYSTEM,
};

fn read_json(dir: &Path, file: &str) -> Result<Value, String> {
    let text = std::fs::read_to_string(dir.join(file)).map_err(|e| format!("{file}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{file}: {e}"))
}

fn write_json(dir: &Path, file: &str, value: &Value) -> Result<(), String> {
    let text = serde_json::to_string_pretty(value).map_err(|e| e.to_string())?;
    std::fs::write(dir.join(file), text).map_err(|e| format!("{file}: {e}"))
}

/// The repository's `seed-data/`.
pub fn repo_seed_dir() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../seed-data")
}

/// Writes the bench seed set into `dir`: `stock_units` extra units of the
/// main product, primary pool 10.0.0.0/10 and subnet pool 172.16.0.0/12 for
/// the main line, and its IP, bandwidth and ratio caps lifted.
pub fn write_bench_seed(dir: &Path, stock_units: usize) -> Result<(), String> {
    let src = repo_seed_dir();
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    for entry in std::fs::read_dir(&src).map_err(|e| format!("{}: {e}", src.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name();
        if name.to_string_lossy().ends_with(".json") {
            std::fs::copy(entry.path(), dir.join(&name)).map_err(|e| e.to_string())?;
        }
    }
    let mut lines = read_json(dir, "lines.json")?;
    for line in lines.as_array_mut().into_iter().flatten() {
        if line["guid"] == LINE {
            line["ip_max_size"] = json!("100000000");
            line["bandwidth_max_size"] = json!("100000000");
            line["defense_max_size"] = json!("100000000");
            line["ip_bandwidth_rate"] = json!("0");
        }
    }
    write_json(dir, "lines.json", &lines)?;
    let mut pools = read_json(dir, "ip-pools.json")?;
    for pool in pools.as_array_mut().into_iter().flatten() {
        if pool["line_guid"] == LINE && pool["kind"] == "primary" {
            pool["cidr"] = json!("10.0.0.0/10");
            pool["gateway"] = json!("10.0.0.1");
            pool["reserved"] = json!([]);
        }
        if pool["line_guid"] == LINE && pool["kind"] == "subnet" {
            pool["cidr"] = json!("172.16.0.0/12");
            pool["reserved"] = json!(["172.16.0.0/28"]);
        }
    }
    write_json(dir, "ip-pools.json", &pools)?;
    let mut insts = read_json(dir, "instances.json")?;
    for inst in insts.as_array_mut().into_iter().flatten() {
        inst["primary_ip"] = json!("10.0.0.48");
        for up in inst["upgrades"].as_array_mut().into_iter().flatten() {
            if up.get("subnet").is_some() {
                up["subnet"] = json!("172.16.0.16/29");
            }
        }
    }
    write_json(dir, "instances.json", &insts)?;
    let mut stock = read_json(dir, "stock.json")?;
    if let Some(list) = stock.as_array_mut() {
        for i in 0..stock_units {
            list.push(json!({"id": format!("b{i}"), "product_guid": PRODUCT, "cabinet_sn": format!("bench_{i}")}));
        }
    }
    write_json(dir, "stock.json", &stock)?;
    Seed::from_dir(dir).map_err(|e| format!("bench seed invalid: {e}"))?;
    Ok(())
}

/// Creates `db` from the seed in `seed_dir` and adds `n` running instances
/// of the default member, each with one primary IP. Returns their GUIDs.
pub fn populate_db(db: &Path, seed_dir: &Path, n: usize) -> Result<Vec<String>, String> {
    let seed = Seed::from_dir(seed_dir).map_err(|e| e.to_string())?;
    let config = ServeConfig {
        db: Some(db.to_path_buf()),
        seed_data: Some(seed_dir.to_path_buf()),
        ..ServeConfig::default()
    };
    let settings = Arc::new(Settings::from_config(&config, &seed).map_err(|e| e.to_string())?);
    let engine =
        Engine::open("default", settings, Arc::new(seed), Some(db)).map_err(|e| e.to_string())?;
    let now = engine.clock().now();
    let guids = engine
        .store()
        .write(|tx| -> rusqlite::Result<Vec<String>> {
            let pool = network::pools(tx, LINE, PoolKind::Primary)?
                .into_iter()
                .next()
                .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
            let mask = pool.mask();
            let gateway = pool.gateway.map(|g| g.to_string()).unwrap_or_default();
            let base = u32::from(pool.net.network()) + 1024;
            let mut guids = Vec::with_capacity(n);
            for i in 0..n {
                let guid = format!("18{i:014}");
                let inst = Instance {
                    id: 0,
                    guid: guid.clone(),
                    userid: "1".into(),
                    product_guid: PRODUCT.into(),
                    line_guid: LINE.into(),
                    system_guid: SYSTEM.into(),
                    stock_id: None,
                    cabinet_sn: format!("pop_{i}"),
                    name: "API bench".into(),
                    client_user_id: "1601638".into(),
                    client_order_no: String::new(),
                    agent_order_no: format!("pop-{i}"),
                    login_name: "root".into(),
                    login_password: "QWE1MzUwMjkyNzkh".into(),
                    system_partition_size: "-1".into(),
                    buy_remarks: String::new(),
                    bandwidth: 10,
                    defense: 10,
                    ipnum: 1,
                    buy_time: now - 86_400,
                    start_time: now - 86_400,
                    end_time: now + 30 * 86_400,
                    order_status: InstanceState::RUNNING.order_status,
                    run_status: InstanceState::RUNNING.run_status,
                    act_status: InstanceState::RUNNING.act_status,
                    push_status: InstanceState::RUNNING.push_status,
                    lock_status: InstanceState::RUNNING.lock_status,
                    install_mode: "1".into(),
                    deleted_at: None,
                };
                instances::insert(tx, &inst)?;
                let addr = std::net::Ipv4Addr::from(base + i as u32);
                network::insert_ip(
                    tx,
                    &network::NewIp {
                        instance_guid: &guid,
                        pool_id: pool.id,
                        addr,
                        mask: &mask,
                        gateway: &gateway,
                        net_type: "ip",
                        is_default: true,
                        create_time: now - 86_400,
                        upgrade_id: None,
                    },
                )?;
                guids.push(guid);
            }
            Ok(guids)
        })
        .map_err(|e| e.to_string())?;
    {
        let conn = engine.store().lock();
        let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE);");
    }
    Ok(guids)
}
