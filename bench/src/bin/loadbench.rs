//! `loadbench`: measures apayun-mock against a bare-axum baseline, side by
//! side, in one run on this machine, and prints one table with every figure
//! as a ratio to its baseline.
//!
//! ```text
//! cargo run --release -p apayun-mock-bench --bin loadbench -- [--quick]
//! ```
//!
//! It builds `target/release/apayun-mock` and `baseline` first (cargo), then
//! runs every server as a child process on 127.0.0.1 (port 0) while this
//! process drives a fixed number of connections with signed requests.
//! Every loop is bounded in count and time. See docs/performance.md.

#[path = "../loadbench/data.rs"]
mod data;
#[path = "../loadbench/inproc.rs"]
mod inproc;
#[path = "../loadbench/journal.rs"]
mod journal;
#[path = "../loadbench/load.rs"]
mod load;
#[path = "../loadbench/namespaces.rs"]
mod namespaces;
#[path = "../loadbench/servers.rs"]
mod servers;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use apayun_mock::test_support::fixtures;
use apayun_mock::test_support::protocol::sign;
use clap::Parser;
use load::{MakeReq, Req, Spec, Stats};
use servers::Server;

const USERID: &str = "1";
const KEY: &str = "mock-api-key";

#[derive(Parser, Debug)]
#[command(about = "Load benchmark: apayun-mock against a bare axum baseline")]
struct Args {
    /// Short runs (2 s windows, 100,000-request RSS run, 5 start-ups).
    #[arg(long)]
    quick: bool,
    /// Measured seconds per throughput scenario (default 5; quick 2).
    #[arg(long)]
    duration: Option<f64>,
    /// Unmeasured warm-up seconds before each window (default 1; quick 0.5).
    #[arg(long)]
    warmup: Option<f64>,
    /// Concurrent connections, one request in flight on each.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// Requests of the journal/RSS run (default 1,000,000; quick 100,000).
    #[arg(long)]
    rss_requests: Option<u64>,
    /// Start-ups to time (default 20; quick 5).
    #[arg(long)]
    starts: Option<usize>,
    /// Instances of the large `--db` for the sync_baremetal scale check.
    #[arg(long, default_value_t = 100_000)]
    instances: usize,
    /// Extra stock units in the bench seed (create-heavy runs).
    #[arg(long)]
    stock: Option<usize>,
    /// Sections to run (comma list of baseline, catalog, sync, create,
    /// upgrade, mix, startup, rss, journal, scale, inproc); default all of those.
    /// `namespaces` (what a namespace costs) runs only when named alone.
    #[arg(long)]
    only: Option<String>,
    /// Do not run `cargo build` for the server binaries first.
    #[arg(long)]
    no_build: bool,
    /// Extra environment for every apayun-mock child, `KEY=VALUE` (repeatable),
    /// e.g. `--mock-env RUST_LOG=warn`.
    #[arg(long)]
    mock_env: Vec<String>,
    /// Only this in-process case (e.g. `create`), for profiling.
    #[arg(long)]
    inproc_case: Option<String>,
    /// Another apayun-mock binary to measure (default: target/release/apayun-mock).
    #[arg(long)]
    mock_bin: Option<PathBuf>,
}

/// Seconds since the epoch, and `YYYYMMDD` (UTC) for `vtime`.
fn now_parts() -> (String, String) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = secs.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (secs.to_string(), format!("{y:04}{m:02}{d:02}"))
}

/// A signed form body as a reseller system sends it (10+ fields).
pub(crate) fn signed(action: &str, extra: &[(&str, &str)]) -> String {
    let module = if action == "refund" {
        "common"
    } else {
        "baremetal"
    };
    let (time, vtime) = now_parts();
    let sign = sign::sign(module, action, USERID, KEY, &time);
    let mut pairs: Vec<(&str, &str)> = vec![
        ("module", module),
        ("action", action),
        ("userid", USERID),
        ("time", &time),
        ("sign", &sign),
        ("version", "9.9.9"),
        ("system_type", "zkeys_web"),
        ("vtime", &vtime),
        ("dataType", "json"),
        ("taskid", ""),
    ];
    pairs.extend_from_slice(extra);
    serde_urlencoded::to_string(&pairs).unwrap_or_default()
}

fn api(body: String) -> Req {
    Req { path: "/api", body }
}

pub(crate) fn create_req(tag: &str, w: usize, seq: u64) -> Req {
    let order = format!("{tag}-{w}-{seq}");
    let mut fields: Vec<(&str, &str)> = fixtures::required_create_fields().collect();
    fields.push(("agent_order_no", &order));
    api(signed("create", &fields))
}

pub(crate) fn list_req() -> Req {
    api(signed("sync_baremetal", &[("page", "1"), ("number", "10")]))
}

pub(crate) fn single_req(guid: &str) -> Req {
    api(signed("sync_baremetal", &[("guid", guid)]))
}

/// A cheap deterministic spread over `0..n`.
fn spread(w: usize, seq: u64, n: usize) -> usize {
    let mut x = (w as u64) << 40 ^ seq ^ 0x9E37_79B9_7F4A_7C15;
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    (x % n.max(1) as u64) as usize
}

struct Row {
    name: String,
    stats: Option<Stats>,
    /// A plain figure instead of throughput (start-up ms, RSS MiB…).
    figure: Option<(f64, &'static str)>,
    baseline: String,
    ratio: Option<f64>,
    target: String,
    met: Option<bool>,
    note: String,
}

impl Row {
    fn throughput(name: &str, stats: Stats) -> Row {
        Row {
            name: name.into(),
            stats: Some(stats),
            figure: None,
            baseline: "-".into(),
            ratio: None,
            target: "-".into(),
            met: None,
            note: String::new(),
        }
    }

    fn figure(name: &str, value: f64, unit: &'static str) -> Row {
        Row {
            name: name.into(),
            stats: None,
            figure: Some((value, unit)),
            baseline: "-".into(),
            ratio: None,
            target: "-".into(),
            met: None,
            note: String::new(),
        }
    }

    fn against(mut self, baseline: &str, base: Option<&Stats>, min: Option<f64>) -> Row {
        self.baseline = baseline.into();
        if let (Some(s), Some(b)) = (&self.stats, base) {
            let r = s.rps() / b.rps().max(1e-9);
            self.ratio = Some(r);
            if let Some(min) = min {
                self.target = format!(">= {min:.2}x");
                self.met = Some(r >= min);
            }
        }
        self
    }
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<34} {:>10} {:>8} {:>8} {:>7} {:>6} {:>15} {:>7} {:>9} {:>4}",
        "scenario",
        "req/s",
        "p50 ms",
        "p99 ms",
        "cpu µs",
        "errs",
        "vs baseline",
        "ratio",
        "target",
        "met"
    );
    println!("{}", "-".repeat(116));
    for r in rows {
        let (a, b, c, cpu, e) = match (&r.stats, r.figure) {
            (Some(s), _) => (
                format!("{:.0}", s.rps()),
                format!("{:.3}", s.p50_us as f64 / 1000.0),
                format!("{:.3}", s.p99_us as f64 / 1000.0),
                s.server_cpu_us
                    .map(|c| format!("{c:.0}"))
                    .unwrap_or_default(),
                s.errors.to_string(),
            ),
            (None, Some((v, unit))) => (
                format!("{v:.1} {unit}"),
                "".into(),
                "".into(),
                "".into(),
                "".into(),
            ),
            _ => ("-".into(), "".into(), "".into(), "".into(), "".into()),
        };
        let ratio = r
            .ratio
            .map(|x| format!("{x:.2}x"))
            .unwrap_or_else(|| "-".into());
        let met = match r.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "",
        };
        println!(
            "{:<34} {:>10} {:>8} {:>8} {:>7} {:>6} {:>15} {:>7} {:>9} {:>4}{}",
            r.name,
            a,
            b,
            c,
            cpu,
            e,
            r.baseline,
            ratio,
            r.target,
            met,
            if r.note.is_empty() {
                String::new()
            } else {
                format!("  {}", r.note)
            }
        );
    }
    for r in rows {
        if let Some(s) = &r.stats {
            if let Some(e) = &s.first_error {
                println!("first error of {}: {e}", r.name);
            }
        }
    }
}

fn build_servers() -> Result<(), String> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    eprintln!("building target/release/apayun-mock and baseline …");
    let status = std::process::Command::new(cargo)
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "--quiet",
            "-p",
            "apayun-mock",
            "--bin",
            "apayun-mock",
            "-p",
            "apayun-mock-bench",
            "--bin",
            "baseline",
        ])
        .status()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("cargo build failed: {status}"))
    }
}

struct Ctx {
    args: Args,
    mock: PathBuf,
    baseline: PathBuf,
    tmp: tempfile::TempDir,
    spec: Spec,
}

impl Ctx {
    fn want(&self, section: &str) -> bool {
        self.args
            .only
            .as_deref()
            .is_none_or(|o| o.split(',').any(|s| s.trim() == section))
    }

    async fn mock(&self, extra: &[&str]) -> Result<Server, String> {
        let mut args: Vec<String> = vec!["serve".into(), "--port".into(), "0".into()];
        args.extend(extra.iter().map(|s| s.to_string()));
        let env: Vec<(&str, &str)> = self
            .args
            .mock_env
            .iter()
            .filter_map(|kv| kv.split_once('='))
            .collect();
        Server::spawn(&self.mock, &args, &env, Duration::from_secs(60)).await
    }

    async fn baseline_server(&self) -> Result<Server, String> {
        let db = self
            .tmp
            .path()
            .join(format!("baseline-{}.db", rand::random::<u32>()));
        let args = vec![
            "--port".into(),
            "0".into(),
            "--db".into(),
            db.display().to_string(),
        ];
        Server::spawn(&self.baseline, &args, &[], Duration::from_secs(10)).await
    }

    async fn run(&self, label: &str, server: &Server, make: MakeReq) -> Stats {
        let spec = Spec {
            base_url: server.base_url.clone(),
            ..self.spec.clone()
        };
        eprintln!("  {label} …");
        let s = load::run_measured(&spec, make, server.pid).await;
        eprintln!(
            "    {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, {} errors, server {:.0} µs CPU/req",
            s.rps(),
            s.p50_us as f64 / 1000.0,
            s.p99_us as f64 / 1000.0,
            s.errors,
            s.server_cpu_us.unwrap_or(0.0)
        );
        if server.exited() {
            eprintln!("    the server has exited (see the status when it is stopped)");
        }
        s
    }
}

/// The baseline request kinds.
#[derive(Clone, Copy)]
enum Base {
    Read,
    Write,
    Mix,
}

impl Base {
    fn label(self) -> &'static str {
        match self {
            Base::Read => "baseline read",
            Base::Write => "baseline write",
            Base::Mix => "baseline mix",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Base::Read => "baseline (form+md5+2 rows)",
            Base::Write => "baseline-write (+1 WAL INSERT)",
            Base::Mix => "baseline-mix 90/10",
        }
    }

    fn short(self) -> &'static str {
        match self {
            Base::Read => "base",
            Base::Write => "write",
            Base::Mix => "mix",
        }
    }

    fn make(self) -> MakeReq {
        match self {
            Base::Read => Arc::new(|_, _| Req {
                path: "/read",
                body: signed("getzones", &[]),
            }),
            Base::Write => Arc::new(|_, _| Req {
                path: "/write",
                body: signed("create", &[]),
            }),
            Base::Mix => Arc::new(|_, seq| Req {
                path: if seq % 10 == 9 { "/write" } else { "/read" },
                body: signed("getzones", &[]),
            }),
        }
    }
}

impl Ctx {
    /// A baseline window of `kind` right before the mock window; the row's
    /// ratio is mock throughput over that adjacent baseline throughput.
    async fn pair(
        &self,
        base: &Server,
        kind: Base,
        name: &str,
        server: &Server,
        make: MakeReq,
        min: Option<f64>,
    ) -> Row {
        let b = self.run(kind.label(), base, kind.make()).await;
        let m = self.run(name, server, make).await;
        let label = format!("{} {:.0}/s", kind.short(), b.rps());
        Row::throughput(name, m).against(&label, Some(&b), min)
    }
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v.get(v.len() / 2).copied().unwrap_or_default()
}

async fn post_ok(client: &reqwest::Client, url: String, body: String) -> Option<String> {
    let resp = client
        .post(url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()?;
    if resp.status().as_u16() != 200 {
        return None;
    }
    let text = resp.text().await.ok()?;
    text.starts_with(r#"{"code":0"#).then_some(text)
}

fn load_avg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::process::ExitCode {
    match real_main().await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadbench: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn real_main() -> Result<(), String> {
    let args = Args::parse();
    if !args.no_build {
        build_servers()?;
    }
    let dir = servers::target_dir();
    let quick = args.quick;
    let secs = |v: Option<f64>, full: f64, q: f64| {
        Duration::from_secs_f64(v.unwrap_or(if quick { q } else { full }))
    };
    let spec = Spec {
        base_url: String::new(),
        connections: args.connections,
        warmup: secs(args.warmup, 1.0, 0.5),
        duration: secs(args.duration, 5.0, 2.0),
        max_requests: None,
    };
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    // Run private copies: a build started elsewhere during the run (the
    // workspace's target dir is shared) must not swap a binary mid-run.
    let private = |from: PathBuf, name: &str| -> Result<PathBuf, String> {
        if !from.exists() {
            return Err(format!(
                "{} is missing (build it or drop --no-build)",
                from.display()
            ));
        }
        let to = tmp.path().join(name);
        std::fs::copy(&from, &to).map_err(|e| format!("copy {}: {e}", from.display()))?;
        Ok(to)
    };
    let mock = private(
        args.mock_bin
            .clone()
            .unwrap_or_else(|| dir.join("apayun-mock")),
        "apayun-mock",
    )?;
    let baseline = private(dir.join("baseline"), "baseline")?;
    let ctx = Ctx {
        mock,
        baseline,
        tmp,
        spec,
        args,
    };
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    eprintln!(
        "loadbench: {} connections, {:?} windows after {:?} warm-up, {cores} cores, load {}",
        ctx.spec.connections,
        ctx.spec.duration,
        ctx.spec.warmup,
        load_avg()
    );
    if ctx.args.only.as_deref().map(str::trim) == Some("namespaces") {
        let c = &ctx;
        let figures = namespaces::run(move |extra| async move {
            let extra: Vec<&str> = extra.iter().map(String::as_str).collect();
            c.mock(&extra).await
        })
        .await?;
        println!("\n| namespaces | figure |\n| --- | --- |");
        for (name, value) in figures.rows {
            println!("| {name} | {value} |");
        }
        return Ok(());
    }
    let stock = ctx
        .args
        .stock
        .unwrap_or(if quick { 60_000 } else { 200_000 });
    let bench_seed = ctx.tmp.path().join("bench-seed");
    data::write_bench_seed(&bench_seed, stock)?;
    let bench_seed_arg = bench_seed.display().to_string();

    let mut rows: Vec<Row> = Vec::new();

    // The baseline server lives for the whole run: every mock window is
    // preceded by a baseline window of its kind, and its ratio uses that
    // adjacent window, so a machine whose load drifts compares like with like.
    eprintln!("baseline");
    let base = ctx.baseline_server().await?;
    let throughput = ["baseline", "catalog", "sync", "create", "upgrade", "mix"]
        .iter()
        .any(|s| ctx.want(s));
    if throughput {
        for kind in [Base::Read, Base::Write, Base::Mix] {
            let s = ctx.run(kind.label(), &base, kind.make()).await;
            rows.push(Row::throughput(kind.title(), s));
        }
    }
    let base_rss = base.rss_kib();

    // Catalog and sync reads on the default seed, in memory.
    if ctx.want("catalog") || ctx.want("sync") {
        eprintln!("apayun-mock, default seed, in memory");
        let server = ctx.mock(&[]).await?;
        if ctx.want("catalog") {
            for action in ["getzones", "sync_product", "getsystems"] {
                let make: MakeReq = Arc::new(move |_, _| api(signed(action, &[])));
                let row = ctx
                    .pair(
                        &base,
                        Base::Read,
                        &format!("mock {action}"),
                        &server,
                        make,
                        Some(0.7),
                    )
                    .await;
                rows.push(row);
            }
        }
        if ctx.want("sync") {
            let row = ctx
                .pair(
                    &base,
                    Base::Read,
                    "mock sync_baremetal list",
                    &server,
                    Arc::new(|_, _| list_req()),
                    None,
                )
                .await;
            rows.push(row);
            let row = ctx
                .pair(
                    &base,
                    Base::Read,
                    "mock sync_baremetal single",
                    &server,
                    Arc::new(|_, _| single_req(data::SEEDED_INSTANCE)),
                    None,
                )
                .await;
            rows.push(row);
        }
        if let Some((rss, hwm)) = server.rss_kib() {
            let mut r = Row::figure("mock RSS after these reads", mib(rss), "MiB");
            r.note = format!("peak {:.1} MiB", mib(hwm));
            rows.push(r);
        }
        server.stop().await;
    }

    // Create, in memory and on a --db file.
    if ctx.want("create") {
        eprintln!("apayun-mock, bench seed ({stock} extra stock units)");
        let server = ctx.mock(&["--seed-data", &bench_seed_arg]).await?;
        let row = ctx
            .pair(
                &base,
                Base::Write,
                "mock create (memory)",
                &server,
                Arc::new(|w, seq| create_req("mem", w, seq)),
                Some(0.35),
            )
            .await;
        rows.push(row);
        server.stop().await;
        let db = ctx.tmp.path().join("create.db");
        let db_arg = db.display().to_string();
        let server = ctx
            .mock(&["--seed-data", &bench_seed_arg, "--db", &db_arg])
            .await?;
        let row = ctx
            .pair(
                &base,
                Base::Write,
                "mock create (--db file)",
                &server,
                Arc::new(|w, seq| create_req("db", w, seq)),
                Some(0.25),
            )
            .await;
        rows.push(row);
        server.stop().await;
    }

    // Upgrade with a subnet: each connection upgrades its own two instances
    // (fast timings, so each upgrade completes before the next).
    if ctx.want("upgrade") {
        eprintln!("apayun-mock, bench seed, fast timings: upgrade with a subnet");
        let server = ctx
            .mock(&["--seed-data", &bench_seed_arg, "--timings", "fast"])
            .await?;
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let url = format!("{}/api", server.base_url);
        let mut guids = Vec::new();
        for i in 0..ctx.spec.connections * 2 {
            let body = create_req("prep", 0, i as u64).body;
            let text = post_ok(&client, url.clone(), body)
                .await
                .ok_or("preparing instances for upgrade failed")?;
            let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            let guid = v["data"][0]["guid"]
                .as_str()
                .ok_or("create answered no guid")?;
            guids.push(guid.to_string());
        }
        let guids = Arc::new(guids);
        let g = guids.clone();
        let row = ctx
            .pair(
                &base,
                Base::Write,
                "mock upgrade (subnet /29)",
                &server,
                Arc::new(move |w, seq| {
                    let guid = &g[w * 2 + (seq % 2) as usize];
                    api(signed(
                        "upgrade",
                        &[("guid", guid), ("ipnum", "8"), ("ip_type", "2")],
                    ))
                }),
                None,
            )
            .await;
        rows.push(row);
        server.stop().await;
    }

    // 90/10 read/write mix.
    if ctx.want("mix") {
        eprintln!("apayun-mock, bench seed: 90/10 mix");
        let server = ctx.mock(&["--seed-data", &bench_seed_arg]).await?;
        let row = ctx
            .pair(
                &base,
                Base::Mix,
                "mock mix 90/10 (reads/create)",
                &server,
                Arc::new(|w, seq| match seq % 10 {
                    9 => create_req("mix", w, seq),
                    0 | 3 | 6 => api(signed("getzones", &[])),
                    1 | 4 | 7 => list_req(),
                    _ => single_req(data::SEEDED_INSTANCE),
                }),
                None,
            )
            .await;
        rows.push(row);
        server.stop().await;
    }
    base.stop().await;

    // Start-up to the first successful /api answer.
    if ctx.want("startup") {
        let n = ctx.args.starts.unwrap_or(if quick { 5 } else { 20 });
        eprintln!("start-up x{n}");
        let client = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?;
        let c = client.clone();
        let mock_times = servers::startup_times(
            &ctx.mock,
            &["serve".into(), "--port".into(), "0".into()],
            n,
            move |base| {
                let c = c.clone();
                async move {
                    post_ok(&c, format!("{base}/api"), signed("getzones", &[]))
                        .await
                        .is_some()
                }
            },
        )
        .await?;
        let db = ctx.tmp.path().join("baseline-start.db");
        let c = client.clone();
        let base_times = servers::startup_times(
            &ctx.baseline,
            &[
                "--port".into(),
                "0".into(),
                "--db".into(),
                db.display().to_string(),
            ],
            n,
            move |base| {
                let c = c.clone();
                async move {
                    post_ok(&c, format!("{base}/read"), signed("getzones", &[]))
                        .await
                        .is_some()
                }
            },
        )
        .await?;
        let (m, b) = (median(mock_times.clone()), median(base_times));
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let mut r = Row::figure(&format!("mock start-up median of {n}"), ms(m), "ms");
        r.baseline = format!("{:.1} ms", ms(b));
        r.ratio = Some(ms(m) / ms(b).max(1e-9));
        r.target = "<= 20 ms".into();
        r.met = Some(ms(m) <= 20.0);
        let max = mock_times.iter().max().copied().unwrap_or_default();
        r.note = format!("max {:.1} ms", ms(max));
        rows.push(r);
    }

    // One long run with the journal on, then RSS.
    if ctx.want("rss") {
        let n = ctx
            .args
            .rss_requests
            .unwrap_or(if quick { 100_000 } else { 1_000_000 });
        eprintln!("apayun-mock, default seed, journal on: {n} requests");
        let server = ctx.mock(&[]).await?;
        let spec = Spec {
            base_url: server.base_url.clone(),
            warmup: Duration::ZERO,
            duration: Duration::from_secs(1800),
            max_requests: Some(n),
            ..ctx.spec.clone()
        };
        let s = load::run(
            &spec,
            Arc::new(|_, seq| match seq % 6 {
                0 => api(signed("getzones", &[])),
                1 => api(signed("sync_line", &[])),
                2 => api(signed("getsystems", &[])),
                3 => api(signed("sync_product", &[])),
                4 => list_req(),
                _ => single_req(data::SEEDED_INSTANCE),
            }),
        )
        .await;
        eprintln!(
            "    {:.0} req/s, {} ok, {} errors in {:.1} s",
            s.rps(),
            s.ok,
            s.errors,
            s.elapsed.as_secs_f64()
        );
        let journal = reqwest::Client::builder()
            .no_proxy()
            .build()
            .map_err(|e| e.to_string())?
            .get(format!("{}/_mock/requests?limit=1", server.base_url))
            .send()
            .await
            .map_err(|e| e.to_string())?
            .json::<serde_json::Value>()
            .await
            .map_err(|e| e.to_string())?;
        let rss = server.rss_kib().unwrap_or_default();
        server.stop().await;
        let mut r = Row::figure(&format!("mock RSS after {n} req"), mib(rss.0), "MiB");
        if let Some((b, _)) = base_rss {
            r.baseline = format!("{:.1} MiB", mib(b));
            r.ratio = Some(rss.0 as f64 / b.max(1) as f64);
        }
        r.target = "<= 40 MiB".into();
        r.met = Some(mib(rss.0) <= 40.0);
        r.note = format!(
            "peak {:.1} MiB, {:.0} req/s, journal: newest id {}, ring-dropped {}",
            mib(rss.1),
            s.rps(),
            journal["requests"][0]["id"],
            journal["dropped"]
        );
        rows.push(r);
    }

    // Reading a full journal at each documented --journal-size.
    if ctx.want("journal") {
        for size in [10_000usize, 100_000] {
            eprintln!(
                "apayun-mock, --journal-size {size}: fill with sync_product, read it all, clear"
            );
            let size_arg = size.to_string();
            let server = ctx.mock(&["--journal-size", &size_arg]).await?;
            let f = journal::measure(
                &server,
                size,
                &ctx.spec,
                Arc::new(|_, _| api(signed("sync_product", &[]))),
            )
            .await;
            server.stop().await;
            let f = f?;
            let mut r = Row::figure(
                &format!("mock journal {size}: RSS reading all"),
                mib(f.during),
                "MiB",
            );
            r.baseline = format!("{:.1} MiB", mib(f.before));
            r.ratio = Some(f.during as f64 / f.before.max(1) as f64);
            r.target = "<= +16 MiB".into();
            r.met = Some(mib(f.during.saturating_sub(f.before)) <= 16.0);
            r.note = format!(
                "before {:.1}, after {:.1}, after DELETE {:.1}, refilled {:.1} MiB; {} entries, {:.1} MiB in {:.2} s; fill {:.0} req/s",
                mib(f.before),
                mib(f.after),
                mib(f.cleared),
                mib(f.refilled),
                f.entries,
                f.body_bytes as f64 / (1024.0 * 1024.0),
                f.read.as_secs_f64(),
                f.fill_rps,
            );
            rows.push(r);
        }
    }

    // sync_baremetal at 100 and at N instances (--db files populated
    // directly): both servers run side by side and their windows alternate.
    if ctx.want("scale") {
        let sizes = [100usize, ctx.args.instances];
        let mut servers = Vec::new();
        for n in sizes {
            eprintln!("populating a --db with {n} instances …");
            let db = ctx.tmp.path().join(format!("scale-{n}.db"));
            let (db2, seed2) = (db.clone(), bench_seed.clone());
            let t0 = std::time::Instant::now();
            let guids = tokio::task::spawn_blocking(move || data::populate_db(&db2, &seed2, n))
                .await
                .map_err(|e| e.to_string())??;
            eprintln!("  done in {:.1} s", t0.elapsed().as_secs_f64());
            let server = ctx
                .mock(&[
                    "--seed-data",
                    &bench_seed_arg,
                    "--db",
                    &db.display().to_string(),
                ])
                .await?;
            servers.push((n, server, Arc::new(guids)));
        }
        for what in ["list", "single"] {
            let mut got = Vec::new();
            for (n, server, guids) in &servers {
                let g = guids.clone();
                let make: MakeReq = if what == "list" {
                    Arc::new(|_, _| list_req())
                } else {
                    Arc::new(move |w, seq| single_req(&g[spread(w, seq, g.len())]))
                };
                let s = ctx.run(&format!("{what} @{n}"), server, make).await;
                got.push((*n, s));
            }
            if let [(small, a), (large, b)] = &got[..] {
                rows.push(Row::throughput(
                    &format!("mock sync {what} @{small}"),
                    a.clone(),
                ));
                let mut r = Row::throughput(&format!("mock sync {what} @{large}"), b.clone());
                // Slow-down: throughput at the small size over at the large one.
                let slow = a.rps() / b.rps().max(1e-9);
                r.baseline = format!("@{small}");
                r.ratio = Some(slow);
                r.target = "<= 1.50x".into();
                r.met = Some(slow <= 1.5);
                r.note = format!(
                    "slow-down; p50 {:.2}x",
                    b.p50_us as f64 / (a.p50_us.max(1)) as f64
                );
                rows.push(r);
            }
        }
        for (_, server, _) in servers {
            server.stop().await;
        }
    }

    // In-process costs (no HTTP, no competing client): what the notes quote.
    let mut costs = Vec::new();
    if ctx.want("inproc") {
        eprintln!("in-process costs");
        let budget = if quick {
            Duration::from_millis(700)
        } else {
            Duration::from_secs(2)
        };
        let grown = if quick { 10_000 } else { 50_000 };
        costs = inproc::costs(&bench_seed, budget, ctx.args.inproc_case.as_deref(), grown).await?;
    }

    print_table(&rows);
    if !costs.is_empty() {
        println!("\nin process, one call at a time, CPU µs per call (bench seed, in memory):");
        println!(
            "{:<24} {:>16} {:>22}",
            "call", "Engine::execute", "api::handle (no HTTP)"
        );
        for c in &costs {
            println!(
                "{:<24} {:>16.1} {:>22.1}",
                c.name, c.execute_us, c.handle_us
            );
        }
    }
    println!(
        "\nratios: throughput / baseline throughput (scale rows: throughput at the small size / at the large, i.e. slow-down); load average now {}",
        load_avg()
    );
    Ok(())
}
