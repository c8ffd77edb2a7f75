//! The load generator: a fixed number of connections (one reqwest client
//! and one task each, requests back to back), a warm-up that is not
//! counted, then a measured window bounded in time and, optionally, in
//! request count. Latencies are kept per request (bounded), so p50 and p99
//! are exact.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One request to send: a path on the server and a form body.
pub struct Req {
    pub path: &'static str,
    pub body: String,
}

/// Builds the `seq`-th request of worker `worker`.
pub type MakeReq = Arc<dyn Fn(usize, u64) -> Req + Send + Sync>;

#[derive(Clone)]
pub struct Spec {
    pub base_url: String,
    pub connections: usize,
    pub warmup: Duration,
    /// The measured window (a hard cap when `max_requests` is set).
    pub duration: Duration,
    /// Stop after this many measured requests (all workers together).
    pub max_requests: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    pub p50_us: u32,
    pub p99_us: u32,
    pub first_error: Option<String>,
    /// Server CPU time (user + system) per successful request, in µs.
    pub server_cpu_us: Option<f64>,
}

impl Stats {
    pub fn rps(&self) -> f64 {
        if self.elapsed.is_zero() {
            0.0
        } else {
            self.ok as f64 / self.elapsed.as_secs_f64()
        }
    }
}

/// Most latencies kept per worker (memory bound: 4 bytes each).
const MAX_SAMPLES_PER_WORKER: usize = 2_000_000;

struct WorkerOut {
    ok: u64,
    errors: u64,
    samples: Vec<u32>,
    last_done: Option<Instant>,
    first_error: Option<String>,
}

fn is_success(status: u16, body: &[u8]) -> bool {
    status == 200 && body.starts_with(br#"{"code":0"#)
}

/// Like [`run`], also measuring the server's CPU time over the window.
pub async fn run_measured(spec: &Spec, make: MakeReq, pid: u32) -> Stats {
    let cpu = || crate::servers::cpu_time(pid);
    let warm = Spec {
        duration: Duration::ZERO,
        ..spec.clone()
    };
    // Warm up on its own, so the CPU window holds only measured requests.
    if !spec.warmup.is_zero() {
        let _ = run(&warm, make.clone()).await;
    }
    let measured = Spec {
        warmup: Duration::ZERO,
        ..spec.clone()
    };
    let before = cpu();
    let mut stats = run(&measured, make).await;
    if let (Some(a), Some(b)) = (before, cpu()) {
        if stats.ok > 0 {
            stats.server_cpu_us = Some((b - a).as_secs_f64() * 1e6 / stats.ok as f64);
        }
    }
    stats
}

pub async fn run(spec: &Spec, make: MakeReq) -> Stats {
    let start = Instant::now();
    let measure_from = start + spec.warmup;
    let deadline = measure_from + spec.duration;
    let issued = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(spec.connections);
    for w in 0..spec.connections {
        let make = make.clone();
        let issued = issued.clone();
        let base = spec.base_url.clone();
        let max = spec.max_requests;
        tasks.push(tokio::spawn(async move {
            // A benchmark run without an HTTP client cannot measure anything.
            #[allow(clippy::expect_used)]
            let client = reqwest::Client::builder()
                .no_proxy()
                .pool_max_idle_per_host(1)
                .timeout(Duration::from_secs(30))
                .build()
                .expect("reqwest client");
            let mut out = WorkerOut {
                ok: 0,
                errors: 0,
                samples: Vec::with_capacity(65_536),
                last_done: None,
                first_error: None,
            };
            let mut seq = 0u64;
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                let measured = now >= measure_from;
                if measured {
                    if let Some(max) = max {
                        if issued.fetch_add(1, Ordering::Relaxed) >= max {
                            break;
                        }
                    }
                }
                let req = make(w, seq);
                seq += 1;
                let t0 = Instant::now();
                let result = client
                    .post(format!("{base}{}", req.path))
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(req.body)
                    .send()
                    .await;
                let good = match result {
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        match resp.bytes().await {
                            Ok(b) if is_success(status, &b) => Ok(()),
                            Ok(b) => Err(format!(
                                "HTTP {status}: {}",
                                String::from_utf8_lossy(&b[..b.len().min(300)])
                            )),
                            Err(e) => Err(e.to_string()),
                        }
                    }
                    Err(e) => Err(e.to_string()),
                };
                let done = Instant::now();
                if !measured {
                    continue;
                }
                match good {
                    Ok(()) => {
                        out.ok += 1;
                        if out.samples.len() < MAX_SAMPLES_PER_WORKER {
                            out.samples
                                .push((done - t0).as_micros().min(u32::MAX as u128) as u32);
                        }
                    }
                    Err(e) => {
                        out.errors += 1;
                        if out.first_error.is_none() {
                            out.first_error = Some(e);
                        }
                        // A refused connection must not turn into a busy loop.
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
                out.last_done = Some(done);
            }
            out
        }));
    }
    let mut stats = Stats::default();
    let mut all: Vec<u32> = Vec::new();
    let mut last = measure_from;
    for t in tasks {
        if let Ok(out) = t.await {
            stats.ok += out.ok;
            stats.errors += out.errors;
            all.extend_from_slice(&out.samples);
            if let Some(d) = out.last_done {
                last = last.max(d);
            }
            if stats.first_error.is_none() {
                stats.first_error = out.first_error;
            }
        }
    }
    stats.elapsed = last.saturating_duration_since(measure_from);
    all.sort_unstable();
    let pct = |p: f64| -> u32 {
        if all.is_empty() {
            0
        } else {
            all[((all.len() - 1) as f64 * p).round() as usize]
        }
    };
    stats.p50_us = pct(0.50);
    stats.p99_us = pct(0.99);
    stats
}
