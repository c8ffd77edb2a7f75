//! Soak test: the real server under 64 concurrent connections of mixed
//! writes, with random faults injected, then invariant checks on the
//! database file it leaves behind.
//!
//! ```text
//! cargo run --release -p apayun-mock-bench --bin soak -- [--seconds N]
//! ```
//!
//! It builds and starts `target/release/apayun-mock serve --port 0 --db FILE`
//! on loopback with a copy of `seed-data/` that has thousands of stock
//! units, large IP pools and one-second transition delays; adds fault rules
//! (business errors, HTTP 503, delays, dropped connections, each with a
//! probability) through `POST /_mock/faults`; runs create / upgrade /
//! degrade / degrade_cancel / stop / start / restart / setpass / renew /
//! refund / sync_baremetal from 64 workers while a chaos task moves the
//! simulated clock a day forward every few seconds; reads the journal as it
//! goes; stops the server with SIGTERM; then opens the database read-only
//! and checks:
//!
//! - no address and no stock unit is held twice; every live instance holds
//!   its stock unit and primary IP; deleted instances hold nothing;
//! - every acknowledged create/upgrade/renew left its effects (instance,
//!   stock, IPs, upgrade records, idempotency record);
//! - every refused one left none (no instance, no order record), and every
//!   request refused by an injected fault has no effects in the journal;
//! - no 5xx but the injected ones, no dropped connection but the injected
//!   ones, no `internal_error`, no panic in the server's stderr.
//!
//! It prints a summary and exits 1 on any violation. Every loop is bounded
//! by the deadline (at most 100 s of load) and a request budget.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use apayun_mock::client::Client;
use apayun_mock::test_support::fixtures::{self, LINE, PRODUCT};
use clap::Parser;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rusqlite::{Connection, OpenFlags, OptionalExtension};
use serde_json::{json, Value};

const USERS: &[(&str, &str)] = &[("1", "mock-api-key"), ("2", "mock-api-key-2")];
const INJECTED_REASON: &str = "soak_injected";
const INJECTED_BODY: &str = "soak-injected-503";
/// The longest load phase, so that a whole run stays under two minutes.
const MAX_SECONDS: u64 = 100;

#[derive(Parser, Debug)]
#[command(about = "Soak test of apayun-mock: concurrent writes, injected faults, invariants")]
struct Args {
    /// Seconds of load (at most 100).
    #[arg(long, default_value_t = 60)]
    seconds: u64,
    /// Concurrent connections (workers).
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Most requests sent in all.
    #[arg(long, default_value_t = 400_000)]
    max_requests: u64,
    /// RNG seed of the workers and the server (random when absent).
    #[arg(long)]
    seed: Option<u64>,
    /// Server binary; default: build and use target/release/apayun-mock.
    #[arg(long)]
    bin: Option<PathBuf>,
    /// Keep the temporary folder (database, seed, server log) for inspection.
    #[arg(long)]
    keep: bool,
}

/// What one request came back with.
#[derive(Debug, Clone)]
enum Outcome {
    /// An HTTP 200 envelope.
    Envelope {
        code: i64,
        reason: Option<String>,
        data: Value,
    },
    /// Any other status.
    Status { status: u16, body: String },
    /// The connection failed (refused, reset, body cut short).
    Transport(String),
}

#[derive(Debug, Clone)]
struct SentCall {
    taskid: String,
    action: &'static str,
    userid: &'static str,
    guid: Option<String>,
    agent_order_no: Option<String>,
    outcome: Outcome,
}

impl SentCall {
    fn ok_data(&self) -> Option<&Value> {
        match &self.outcome {
            Outcome::Envelope { code: 0, data, .. } => Some(data),
            _ => None,
        }
    }
}

/// What the journal said about one request.
#[derive(Debug, Clone)]
struct Journaled {
    code: i64,
    reason: Option<String>,
    fault: Option<i64>,
    effects: usize,
}

/// Instances and pending degrades the workers know about, per member.
#[derive(Default)]
struct Known {
    guids: Vec<String>,
    degrades: Vec<(String, String)>,
}

struct Shared {
    base: String,
    known: Vec<Mutex<Known>>,
    sent: AtomicU64,
    max_requests: u64,
    deadline: Instant,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("soak: cannot start a runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(args)) {
        Ok(0) => ExitCode::SUCCESS,
        Ok(_) => ExitCode::from(1),
        Err(e) => {
            eprintln!("soak: {e}");
            ExitCode::from(2)
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

fn server_binary(args: &Args) -> Result<PathBuf, String> {
    if let Some(bin) = &args.bin {
        return Ok(bin.clone());
    }
    let root = workspace_root();
    eprintln!("soak: cargo build --release -p apayun-mock --bin apayun-mock");
    let status = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args([
            "build",
            "--release",
            "-p",
            "apayun-mock",
            "--bin",
            "apayun-mock",
        ])
        .current_dir(&root)
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !status.success() {
        return Err(format!("building the server failed: {status}"));
    }
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root.join("target"));
    Ok(target.join("release").join("apayun-mock"))
}

/// Copies `seed-data/` and makes it roomy: 50 000 more stock units of the
/// example product, large primary/single/subnet pools on the example line
/// (addresses in the seed only; nothing is ever sent to them), and a `soak`
/// timing profile of one-second delays.
fn make_seed(dir: &Path) -> Result<(), String> {
    let src = workspace_root().join("seed-data");
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let read = |name: &str| -> Result<Value, String> {
        let text = std::fs::read_to_string(src.join(name)).map_err(|e| format!("{name}: {e}"))?;
        serde_json::from_str(&text).map_err(|e| format!("{name}: {e}"))
    };
    let write = |name: &str, v: &Value| -> Result<(), String> {
        std::fs::write(
            dir.join(name),
            serde_json::to_vec_pretty(v).unwrap_or_default(),
        )
        .map_err(|e| format!("{name}: {e}"))
    };
    for entry in std::fs::read_dir(&src).map_err(|e| format!("{}: {e}", src.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name().to_string_lossy().to_string();
        if name.ends_with(".json") {
            std::fs::copy(entry.path(), dir.join(&name)).map_err(|e| format!("{name}: {e}"))?;
        }
    }
    let mut stock = read("stock.json")?;
    if let Value::Array(units) = &mut stock {
        for i in 0..50_000 {
            units.push(json!({"id": format!("soak-{i}"), "product_guid": PRODUCT,
                "cabinet_sn": format!("soak_{}-{}", i / 40, i % 40)}));
        }
    }
    write("stock.json", &stock)?;
    let mut pools = read("ip-pools.json")?;
    if let Value::Array(list) = &mut pools {
        list.push(
            json!({"line_guid": LINE, "kind": "primary", "cidr": "100.64.0.0/16",
            "gateway": "100.64.0.1", "reserved": []}),
        );
        list.push(
            json!({"line_guid": LINE, "kind": "single", "cidr": "100.65.0.0/16",
            "gateway": "100.65.0.1", "reserved": []}),
        );
        list.push(
            json!({"line_guid": LINE, "kind": "subnet", "cidr": "100.66.0.0/15",
            "reserved": []}),
        );
    }
    write("ip-pools.json", &pools)?;
    let mut timings = read("timings.json")?;
    if let Value::Object(map) = &mut timings {
        map.insert(
            "soak".into(),
            json!({"provision": 1, "stop": 1, "start": 1, "restart": 1, "setpass": 1,
                "install": 2, "upgrade": 1}),
        );
    }
    write("timings.json", &timings)
}

/// The server process and where its stderr goes.
struct Server {
    child: Child,
    base: String,
    stderr: Arc<Mutex<String>>,
}

fn start_server(bin: &Path, dir: &Path, seed: u64) -> Result<Server, String> {
    let db = dir.join("soak.db");
    let mut child = Command::new(bin)
        .arg("serve")
        .args(["--port", "0", "--bind", "127.0.0.1", "--timings", "soak"])
        .arg("--db")
        .arg(&db)
        .arg("--seed-data")
        .arg(dir.join("seed"))
        .args(["--journal-size", "100000", "--rng-seed", &seed.to_string()])
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    let stderr = Arc::new(Mutex::new(String::new()));
    if let Some(mut err) = child.stderr.take() {
        let sink = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // Bounded by the pipe: it ends when the server exits.
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                let mut s = sink.lock().unwrap_or_else(|p| p.into_inner());
                if s.len() < 4 << 20 {
                    s.push_str(&String::from_utf8_lossy(&buf[..n]));
                }
            }
        });
    }
    let Some(out) = child.stdout.take() else {
        let _ = child.kill();
        return Err("no stdout".into());
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(out).lines();
        if let Some(Ok(first)) = lines.next() {
            let _ = tx.send(first);
        }
        for _ in lines {}
    });
    let first = match rx.recv_timeout(Duration::from_secs(30)) {
        Ok(line) => line,
        Err(_) => {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "the server did not say where it listens: {}",
                stderr.lock().unwrap_or_else(|p| p.into_inner())
            ));
        }
    };
    let base = first
        .strip_prefix("listening on ")
        .ok_or_else(|| format!("unexpected first line {first:?}"))?
        .trim()
        .to_string();
    if !base.starts_with("http://127.0.0.1:") {
        let _ = child.kill();
        return Err(format!("not on loopback: {base}"));
    }
    Ok(Server {
        child,
        base,
        stderr,
    })
}

/// SIGTERM, then up to 15 s for a graceful exit, then SIGKILL.
fn stop_server(server: &mut Server) -> Result<std::process::ExitStatus, String> {
    let pid = server.child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let until = Instant::now() + Duration::from_secs(15);
    while Instant::now() < until {
        if let Ok(Some(status)) = server.child.try_wait() {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = server.child.kill();
    let _ = server.child.wait();
    Err("the server did not stop within 15 s of SIGTERM".into())
}

async fn control(
    http: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> Result<Value, String> {
    let mut req = http.request(method, format!("{base}{path}"));
    if let Some(b) = body {
        req = req
            .header("content-type", "application/json")
            .body(b.to_string());
    }
    let resp = req.send().await.map_err(|e| format!("{path}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| format!("{path}: {e}"))?;
    if !status.is_success() {
        return Err(format!("{path}: {status}: {text}"));
    }
    Ok(serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

fn fault_rules() -> Vec<Value> {
    vec![
        json!({"action": "create", "probability": 0.08,
            "effect": {"kind": "error", "message": "soak 注入的错误", "reason": INJECTED_REASON}}),
        json!({"action": "upgrade", "probability": 0.05,
            "effect": {"kind": "error", "message": "soak 注入的错误", "reason": INJECTED_REASON}}),
        json!({"probability": 0.03, "effect": {"kind": "error", "code": 1,
            "message": "soak 注入的错误", "reason": INJECTED_REASON}}),
        json!({"probability": 0.03, "effect": {"kind": "http", "status": 503, "body": INJECTED_BODY}}),
        json!({"probability": 0.02, "effect": {"kind": "drop"}}),
        json!({"probability": 0.10, "effect": {"kind": "delay", "min_ms": 1, "max_ms": 40}}),
    ]
}

async fn send(http: &reqwest::Client, base: &str, pairs: &[(String, String)]) -> Outcome {
    let resp = match http.post(format!("{base}/api")).form(pairs).send().await {
        Ok(r) => r,
        Err(e) => return Outcome::Transport(e.to_string()),
    };
    let status = resp.status().as_u16();
    let reason = resp
        .headers()
        .get("x-mock-error")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = match resp.text().await {
        Ok(t) => t,
        Err(e) => return Outcome::Transport(e.to_string()),
    };
    if status != 200 {
        return Outcome::Status { status, body: text };
    }
    match serde_json::from_str::<Value>(&text) {
        Ok(v) => Outcome::Envelope {
            code: v.get("code").and_then(Value::as_i64).unwrap_or(-1),
            reason,
            data: v.get("data").cloned().unwrap_or(Value::Null),
        },
        Err(_) => Outcome::Status { status, body: text },
    }
}

const OPS: &[(&str, u32)] = &[
    ("create", 18),
    ("upgrade", 12),
    ("degrade", 10),
    ("degrade_cancel", 6),
    ("stop", 8),
    ("start", 8),
    ("restart", 8),
    ("setpass", 8),
    ("renew", 8),
    ("refund", 3),
    ("sync_baremetal", 5),
];

fn pick_op(rng: &mut StdRng) -> &'static str {
    let total: u32 = OPS.iter().map(|(_, w)| w).sum();
    let mut n = rng.random_range(0..total);
    for (op, w) in OPS {
        if n < *w {
            return op;
        }
        n -= w;
    }
    "create"
}

async fn worker(id: usize, shared: Arc<Shared>, seed: u64) -> Vec<SentCall> {
    let mut rng = StdRng::seed_from_u64(seed ^ (id as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let http = match reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_max_idle_per_host(1)
        .build()
    {
        Ok(h) => h,
        Err(_) => return Vec::new(),
    };
    let clients: Vec<Client> = USERS
        .iter()
        .map(|(u, k)| Client::new(&shared.base, u, k))
        .collect();
    let mut out = Vec::new();
    while Instant::now() < shared.deadline {
        let n = shared.sent.fetch_add(1, Ordering::Relaxed);
        if n >= shared.max_requests {
            break;
        }
        let u = rng.random_range(0..USERS.len());
        let userid = USERS[u].0;
        let mut op = pick_op(&mut rng);
        let guid = {
            let known = shared.known[u].lock().unwrap_or_else(|p| p.into_inner());
            if known.guids.is_empty() {
                None
            } else {
                Some(known.guids[rng.random_range(0..known.guids.len())].clone())
            }
        };
        if guid.is_none() && op != "create" {
            op = "create";
        }
        let taskid = format!("soak-{id}-{n}");
        let mut agent_order_no = None;
        let g = guid.clone().unwrap_or_default();
        let params = match op {
            "create" => {
                let no = format!("soak-c-{id}-{n}");
                agent_order_no = Some(no.clone());
                fixtures::overlay(
                    fixtures::required_create_params(&no),
                    json!({"loginPassword": "U29hazEyMyE=",
                        "months": rng.random_range(1..=2).to_string(),
                        "num": rng.random_range(1..=3).to_string()}),
                )
            }
            "upgrade" => {
                let no = format!("soak-u-{id}-{n}");
                agent_order_no = Some(no.clone());
                let (ipnum, ip_type) = match rng.random_range(0..3) {
                    0 => (0, 1),
                    1 => (1, 1),
                    _ => (8, 2),
                };
                json!({"guid": g, "bandwidth": "5", "ipnum": ipnum.to_string(),
                    "ip_type": ip_type.to_string(),
                    "defense": if rng.random_bool(0.3) { "5" } else { "0" },
                    "agent_order_no": no})
            }
            "degrade" => {
                // Degrade an upgraded IP range when there is one, else bandwidth.
                let pairs = clients[u].signed_pairs("degrade_ip_list", &json!({"guid": g}));
                let listed = send(&http, &shared.base, &pairs).await;
                let ip = match &listed {
                    Outcome::Envelope { code: 0, data, .. } => data
                        .as_array()
                        .and_then(|l| l.first())
                        .and_then(|e| e.get("ip"))
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    _ => None,
                };
                match ip {
                    Some(ip) if rng.random_bool(0.6) => {
                        json!({"guid": g, "param": [{"item": "ip", "value": [ip]}]})
                    }
                    _ => json!({"guid": g, "param": [{"item": "bandwidth", "value": "5"}]}),
                }
            }
            "degrade_cancel" => {
                let pending = {
                    let mut known = shared.known[u].lock().unwrap_or_else(|p| p.into_inner());
                    if known.degrades.is_empty() {
                        None
                    } else {
                        let i = rng.random_range(0..known.degrades.len());
                        Some(known.degrades.swap_remove(i))
                    }
                };
                match pending {
                    Some((inst, d)) => json!({"guid": inst, "degrade_guid": d}),
                    None => json!({"guid": g, "degrade_guid": "1700000000000000"}),
                }
            }
            "setpass" => json!({"guid": g, "loginPassword": "TmV3UGFzczEyMyE="}),
            "renew" => {
                let no = format!("soak-r-{id}-{n}");
                agent_order_no = Some(no.clone());
                json!({"guid": g, "months": "1", "agent_order_no": no})
            }
            "refund" => json!({"guid": g, "productType": "baremetal"}),
            _ => json!({"guid": g}),
        };
        let mut params = params;
        if let Value::Object(m) = &mut params {
            m.insert("taskid".into(), Value::String(taskid.clone()));
        }
        let pairs = clients[u].signed_pairs(op, &params);
        let outcome = send(&http, &shared.base, &pairs).await;
        if let Outcome::Envelope { code: 0, data, .. } = &outcome {
            let mut known = shared.known[u].lock().unwrap_or_else(|p| p.into_inner());
            match op {
                "create" => {
                    for inst in data.as_array().into_iter().flatten() {
                        if let Some(g) = inst.get("guid").and_then(Value::as_str) {
                            known.guids.push(g.to_string());
                        }
                    }
                }
                "degrade" => {
                    // `{"result":true,"text":"success","data":{"bandwidth":"<degrade guid>"}}`
                    for d in data
                        .get("data")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flat_map(|m| m.values())
                    {
                        if let Some(d) = d.as_str() {
                            known.degrades.push((g.clone(), d.to_string()));
                        }
                    }
                }
                _ => {}
            }
        }
        let guid = match op {
            "create" => None,
            "degrade_cancel" => params
                .get("guid")
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => guid,
        };
        out.push(SentCall {
            taskid,
            action: op,
            userid,
            guid,
            agent_order_no,
            outcome,
        });
    }
    out
}

/// Reads journal entries after the highest id below which all were seen.
struct JournalReader {
    seen: BTreeSet<u64>,
    watermark: u64,
    by_taskid: HashMap<String, Journaled>,
    internal: Vec<String>,
    total: u64,
}

impl JournalReader {
    fn new() -> JournalReader {
        JournalReader {
            seen: BTreeSet::new(),
            watermark: 0,
            by_taskid: HashMap::new(),
            internal: Vec::new(),
            total: 0,
        }
    }

    async fn drain(&mut self, http: &reqwest::Client, base: &str) -> Result<(), String> {
        // Every entry after the watermark, not a page of the newest 100:
        // the answer is streamed, so a large limit costs the server nothing.
        let url = format!(
            "{base}/_mock/requests?since={}&limit=100000000&format=jsonl",
            self.watermark
        );
        let text = http
            .get(url)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .text()
            .await
            .map_err(|e| e.to_string())?;
        for line in text.lines() {
            let Ok(e) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let id = e.get("id").and_then(Value::as_u64).unwrap_or(0);
            if !self.seen.insert(id) {
                continue;
            }
            self.total += 1;
            let reason = e.get("reason").and_then(Value::as_str).map(str::to_string);
            if reason.as_deref() == Some("internal_error") {
                self.internal.push(line.chars().take(400).collect());
            }
            if let Some(t) = e.pointer("/params/taskid").and_then(Value::as_str) {
                self.by_taskid.insert(
                    t.to_string(),
                    Journaled {
                        code: e.get("code").and_then(Value::as_i64).unwrap_or(-1),
                        reason,
                        fault: e.get("fault").and_then(Value::as_i64),
                        effects: e
                            .get("effects")
                            .and_then(Value::as_array)
                            .map_or(0, Vec::len),
                    },
                );
            }
        }
        while self.seen.remove(&(self.watermark + 1)) {
            self.watermark += 1;
        }
        Ok(())
    }
}

/// Violations, by kind, with a few examples each.
#[derive(Default)]
struct Violations(BTreeMap<&'static str, (u64, Vec<String>)>);

impl Violations {
    fn add(&mut self, kind: &'static str, example: impl Into<String>) {
        let e = self.0.entry(kind).or_default();
        e.0 += 1;
        if e.1.len() < 3 {
            e.1.push(example.into());
        }
    }

    fn total(&self) -> u64 {
        self.0.values().map(|(n, _)| n).sum()
    }
}

async fn run(args: Args) -> Result<u64, String> {
    let seconds = args.seconds.clamp(1, MAX_SECONDS);
    let seed = args.seed.unwrap_or_else(rand::random);
    let bin = server_binary(&args)?;
    let tmp = tempfile::Builder::new()
        .prefix("apayun-soak-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let dir = tmp.path().to_path_buf();
    let began = Instant::now();
    make_seed(&dir.join("seed"))?;
    let mut server = start_server(&bin, &dir, seed)?;
    eprintln!(
        "soak: server {} (db {}), seed {seed}, {} connections, {seconds} s",
        server.base,
        dir.join("soak.db").display(),
        args.connections
    );
    let result = load_and_check(&args, seconds, seed, &mut server, &dir).await;
    eprintln!(
        "soak: seed, server start, load, stop and checks took {:.1} s",
        began.elapsed().as_secs_f64()
    );
    if args.keep {
        eprintln!("soak: kept {}", tmp.keep().display());
    }
    result
}

async fn load_and_check(
    args: &Args,
    seconds: u64,
    seed: u64,
    server: &mut Server,
    dir: &Path,
) -> Result<u64, String> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .map_err(|e| e.to_string())?;
    let base = server.base.clone();
    for rule in fault_rules() {
        control(
            &http,
            &base,
            reqwest::Method::POST,
            "/_mock/faults",
            Some(rule),
        )
        .await?;
    }
    let started = Instant::now();
    let shared = Arc::new(Shared {
        base: base.clone(),
        known: USERS.iter().map(|_| Mutex::new(Known::default())).collect(),
        sent: AtomicU64::new(0),
        max_requests: args.max_requests,
        deadline: started + Duration::from_secs(seconds),
    });
    let done = Arc::new(AtomicBool::new(false));
    // Chaos: a simulated day every 3 s, so degrades apply and instances expire.
    let chaos = {
        let (http, base, done) = (http.clone(), base.clone(), done.clone());
        tokio::spawn(async move {
            let mut days = 0u32;
            for _ in 0..MAX_SECONDS {
                tokio::time::sleep(Duration::from_secs(3)).await;
                if done.load(Ordering::Relaxed) {
                    break;
                }
                if control(
                    &http,
                    &base,
                    reqwest::Method::POST,
                    "/_mock/clock/advance",
                    Some(json!({"seconds": 86_400})),
                )
                .await
                .is_ok()
                {
                    days += 1;
                }
            }
            days
        })
    };
    let reader = {
        let (http, base, done) = (http.clone(), base.clone(), done.clone());
        tokio::spawn(async move {
            let mut reader = JournalReader::new();
            for _ in 0..(MAX_SECONDS * 4 + 40) {
                if done.load(Ordering::Relaxed) {
                    break;
                }
                if let Err(e) = reader.drain(&http, &base).await {
                    eprintln!("soak: journal read failed: {e}");
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            reader
        })
    };
    let workers: Vec<_> = (0..args.connections.max(1))
        .map(|i| tokio::spawn(worker(i, shared.clone(), seed)))
        .collect();
    let mut records = Vec::new();
    for w in workers {
        records.extend(w.await.unwrap_or_default());
    }
    let elapsed = started.elapsed();
    done.store(true, Ordering::Relaxed);
    let days = chaos.await.unwrap_or(0);
    let mut reader = reader.await.map_err(|e| e.to_string())?;
    reader.drain(&http, &base).await?;
    // The transitions still pending are the server's business; let the
    // last one-second ones run before stopping.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = stop_server(server)?;
    let stderr = server
        .stderr
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone();

    let mut v = Violations::default();
    if !status.success() {
        v.add("server_exit", format!("{status}"));
    }
    for line in stderr.lines() {
        if line.contains("panicked") || line.contains("ERROR") {
            v.add(
                "server_log_error",
                line.chars().take(300).collect::<String>(),
            );
        }
    }
    for line in &reader.internal {
        v.add("internal_error", line.clone());
    }
    let db = Connection::open_with_flags(dir.join("soak.db"), OpenFlags::SQLITE_OPEN_READ_ONLY)
        .map_err(|e| format!("cannot open the database: {e}"))?;
    check_records(&records, &reader, &db, &mut v).map_err(|e| e.to_string())?;
    check_database(&db, &mut v).map_err(|e| e.to_string())?;
    print_summary(&records, &reader, &v, elapsed, days, seed);
    Ok(v.total())
}

fn journaled<'a>(reader: &'a JournalReader, r: &SentCall) -> Option<&'a Journaled> {
    reader.by_taskid.get(&r.taskid)
}

fn injected(j: &Journaled) -> bool {
    j.fault.is_some()
        && matches!(
            j.reason.as_deref(),
            Some(INJECTED_REASON) | Some("http_503") | Some("dropped")
        )
}

/// userid, agent_order_no, order_status, stock_id.
type InstanceRow = (String, String, i64, Option<String>);

fn check_records(
    records: &[SentCall],
    reader: &JournalReader,
    db: &Connection,
    v: &mut Violations,
) -> rusqlite::Result<()> {
    let instance_by_guid = |guid: &str| -> rusqlite::Result<Option<InstanceRow>> {
        db.query_row(
            "SELECT userid, agent_order_no, order_status, stock_id FROM instances WHERE guid = ?1",
            [guid],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
        )
        .optional()
    };
    let count = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> rusqlite::Result<i64> {
        db.query_row(sql, p, |r| r.get(0))
    };
    // Instances per agent_order_no (the column has no index: read it once).
    let mut by_order: HashMap<String, i64> = HashMap::new();
    {
        let mut stmt = db.prepare("SELECT agent_order_no, count(*) FROM instances GROUP BY 1")?;
        let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
        for row in rows {
            let (no, n) = row?;
            by_order.insert(no, n);
        }
    }
    for r in records {
        let j = journaled(reader, r);
        // Transport and status outcomes must be injected ones.
        match &r.outcome {
            Outcome::Transport(err) => match j {
                Some(j) if j.reason.as_deref() == Some("dropped") && j.fault.is_some() => {}
                Some(j) => v.add(
                    "dropped_connection_not_injected",
                    format!("{} {}: {err} (journal {:?})", r.action, r.taskid, j.reason),
                ),
                None => v.add(
                    "dropped_connection_not_injected",
                    format!("{} {}: {err} (not in the journal)", r.action, r.taskid),
                ),
            },
            Outcome::Status { status, body } => {
                let ok = *status == 503
                    && body == INJECTED_BODY
                    && j.is_some_and(|j| j.reason.as_deref() == Some("http_503"));
                if !ok {
                    v.add(
                        if *status >= 500 {
                            "5xx_not_injected"
                        } else {
                            "unexpected_status"
                        },
                        format!(
                            "{} {}: {status} {}",
                            r.action,
                            r.taskid,
                            body.chars().take(200).collect::<String>()
                        ),
                    );
                }
            }
            Outcome::Envelope { code, reason, .. } => {
                if reason.as_deref() == Some("internal_error") {
                    v.add("internal_error", format!("{} {}", r.action, r.taskid));
                }
                if let Some(j) = j {
                    if j.code != *code {
                        v.add(
                            "journal_disagrees",
                            format!(
                                "{} {}: answered {code}, journal {}",
                                r.action, r.taskid, j.code
                            ),
                        );
                    }
                }
            }
        }
        if let Some(j) = j {
            if injected(j) && j.effects > 0 {
                v.add(
                    "injected_refusal_had_effects",
                    format!("{} {}", r.action, r.taskid),
                );
            }
        }
        let user = r.userid;
        match (r.action, r.ok_data(), r.agent_order_no.as_deref()) {
            ("create", Some(data), Some(no)) => {
                let list = data.as_array().cloned().unwrap_or_default();
                if list.is_empty() {
                    v.add("create_ack_without_instances", r.taskid.clone());
                }
                for inst in list {
                    let guid = inst.get("guid").and_then(Value::as_str).unwrap_or("");
                    match instance_by_guid(guid)? {
                        None => v.add("acked_create_missing", format!("{} {guid}", r.taskid)),
                        Some((uid, order_no, status, stock)) => {
                            if uid != user || order_no != no {
                                v.add(
                                    "acked_create_wrong_owner",
                                    format!("{guid}: {uid} {order_no}"),
                                );
                            }
                            let want_stock = inst.get("stock_id").and_then(Value::as_str);
                            if stock.as_deref() != want_stock {
                                v.add(
                                    "acked_create_wrong_stock",
                                    format!("{guid}: {stock:?} vs {want_stock:?}"),
                                );
                            }
                            if status != -2 {
                                let held = count(
                                    "SELECT count(*) FROM stock WHERE id = ?1 AND instance_guid = ?2",
                                    &[&stock, &guid],
                                )?;
                                if held != 1 {
                                    v.add("acked_create_stock_not_held", guid.to_string());
                                }
                                let primary = inst
                                    .pointer("/ip/0/ip")
                                    .and_then(Value::as_str)
                                    .unwrap_or("");
                                let live = count(
                                    "SELECT count(*) FROM ips WHERE instance_guid = ?1 AND ip = ?2 AND status = 1",
                                    &[&guid, &primary],
                                )?;
                                if live != 1 {
                                    v.add("acked_create_ip_not_held", format!("{guid} {primary}"));
                                }
                            }
                        }
                    }
                }
            }
            ("create", None, Some(no)) => {
                let n = by_order.get(no).copied().unwrap_or(0);
                if n != 0 {
                    v.add(
                        "refused_create_has_instances",
                        format!("{} {no}: {n}", r.taskid),
                    );
                }
            }
            (action @ ("upgrade" | "renew"), ok, Some(no)) => {
                let stored = count(
                    "SELECT count(*) FROM orders WHERE userid = ?1 AND action = ?2 AND agent_order_no = ?3",
                    &[&user, &action, &no],
                )?;
                match ok {
                    Some(data) => {
                        if stored != 1 {
                            v.add("acked_order_not_recorded", format!("{action} {no}"));
                        }
                        if action == "upgrade" {
                            let guid = r.guid.as_deref().unwrap_or("");
                            let order = data
                                .get("order_no_api")
                                .and_then(Value::as_str)
                                .unwrap_or("");
                            let recs = count(
                                "SELECT count(*) FROM upgrades WHERE instance_guid = ?1 AND order_no_api = ?2",
                                &[&guid, &order],
                            )?;
                            if recs == 0 {
                                v.add("acked_upgrade_missing", format!("{guid} {order}"));
                            }
                            for ip in data
                                .get("ip")
                                .and_then(Value::as_array)
                                .into_iter()
                                .flatten()
                            {
                                let addr = ip.get("ip").and_then(Value::as_str).unwrap_or("");
                                let n = count(
                                    "SELECT count(*) FROM ips WHERE instance_guid = ?1 AND ip = ?2",
                                    &[&guid, &addr],
                                )?;
                                if n == 0 {
                                    v.add("acked_upgrade_ip_missing", format!("{guid} {addr}"));
                                }
                            }
                        }
                    }
                    None => {
                        if stored != 0 {
                            v.add("refused_order_recorded", format!("{action} {no}"));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(())
}

fn check_database(db: &Connection, v: &mut Violations) -> rusqlite::Result<()> {
    let count = |sql: &str| -> rusqlite::Result<i64> { db.query_row(sql, [], |r| r.get(0)) };
    let double_ips = apayun_mock::test_support::store::network::double_held(db)?;
    if double_ips != 0 {
        v.add("ip_held_twice", format!("{double_ips} addresses"));
    }
    let checks: &[(&'static str, &str)] = &[
        (
            "stock_held_twice",
            "SELECT count(*) FROM (SELECT stock_id FROM instances WHERE stock_id IS NOT NULL \
             AND order_status != -2 GROUP BY stock_id HAVING count(*) > 1)",
        ),
        (
            "live_instance_without_stock",
            "SELECT count(*) FROM instances i WHERE i.order_status != -2 AND i.stock_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM stock s WHERE s.id = i.stock_id AND s.instance_guid = i.guid)",
        ),
        (
            "live_instance_without_primary_ip",
            "SELECT count(*) FROM instances i WHERE i.order_status != -2 AND NOT EXISTS \
             (SELECT 1 FROM ips p WHERE p.instance_guid = i.guid AND p.is_default = 1 AND p.status = 1)",
        ),
        (
            "deleted_instance_holds_ip",
            "SELECT count(*) FROM ips p JOIN instances i ON i.guid = p.instance_guid \
             WHERE p.status = 1 AND i.order_status = -2",
        ),
        (
            "deleted_instance_holds_stock",
            "SELECT count(*) FROM stock s JOIN instances i ON i.guid = s.instance_guid \
             WHERE i.order_status = -2",
        ),
        (
            "stock_held_by_unknown_instance",
            "SELECT count(*) FROM stock s WHERE s.instance_guid IS NOT NULL AND NOT EXISTS \
             (SELECT 1 FROM instances i WHERE i.guid = s.instance_guid)",
        ),
        (
            "ip_held_by_unknown_instance",
            "SELECT count(*) FROM ips p WHERE p.status = 1 AND NOT EXISTS \
             (SELECT 1 FROM instances i WHERE i.guid = p.instance_guid)",
        ),
        (
            "negative_totals",
            "SELECT count(*) FROM instances WHERE bandwidth < 0 OR ipnum < 0 OR defense < 0",
        ),
    ];
    for (kind, sql) in checks {
        let n = count(sql)?;
        if n != 0 {
            v.add(kind, format!("{n} rows"));
        }
    }
    let integrity: String = db.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if integrity != "ok" {
        v.add("integrity_check", integrity);
    }
    Ok(())
}

fn print_summary(
    records: &[SentCall],
    reader: &JournalReader,
    v: &Violations,
    elapsed: Duration,
    days: u32,
    seed: u64,
) {
    let mut table: BTreeMap<&str, [u64; 6]> = BTreeMap::new();
    for r in records {
        let j = journaled(reader, r);
        let col = match &r.outcome {
            Outcome::Envelope { code: 0, .. } => 0,
            Outcome::Envelope { reason, .. } if reason.as_deref() == Some(INJECTED_REASON) => 2,
            Outcome::Envelope { .. } => 1,
            Outcome::Status { .. } => 3,
            Outcome::Transport(_) => 4,
        };
        let row = table.entry(r.action).or_default();
        row[col] += 1;
        if j.is_some_and(|j| j.fault.is_some() && !injected(j)) {
            row[5] += 1;
        }
    }
    println!(
        "soak: seed {seed}, {} requests in {:.1} s ({:.0}/s), {days} simulated days",
        records.len(),
        elapsed.as_secs_f64(),
        records.len() as f64 / elapsed.as_secs_f64().max(0.001)
    );
    println!(
        "{:<16} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8}",
        "action", "ok", "refused", "inj.err", "inj.503", "inj.drop", "delayed"
    );
    for (action, row) in &table {
        println!(
            "{:<16} {:>8} {:>9} {:>9} {:>8} {:>8} {:>8}",
            action, row[0], row[1], row[2], row[3], row[4], row[5]
        );
    }
    let mut reasons: BTreeMap<&str, BTreeMap<String, u64>> = BTreeMap::new();
    for r in records {
        if let Outcome::Envelope {
            code,
            reason: Some(why),
            ..
        } = &r.outcome
        {
            if *code != 0 && why != INJECTED_REASON {
                *reasons
                    .entry(r.action)
                    .or_default()
                    .entry(why.clone())
                    .or_default() += 1;
            }
        }
    }
    println!("refusal reasons (business rules, not faults):");
    for (action, by) in &reasons {
        let mut top: Vec<_> = by.iter().collect();
        top.sort_by(|a, b| b.1.cmp(a.1));
        let text: Vec<String> = top
            .iter()
            .take(4)
            .map(|(k, n)| format!("{k} {n}"))
            .collect();
        println!("  {action:<16} {}", text.join(", "));
    }
    let unjournaled = records
        .iter()
        .filter(|r| journaled(reader, r).is_none())
        .count();
    println!(
        "journal: {} entries read as they came, {} requests not found in it",
        reader.total, unjournaled
    );
    if v.total() == 0 {
        println!("invariants: all hold (0 violations)");
    } else {
        println!("VIOLATIONS: {}", v.total());
        for (kind, (n, examples)) in &v.0 {
            println!("  {kind}: {n}");
            for e in examples {
                println!("    e.g. {e}");
            }
        }
    }
}
