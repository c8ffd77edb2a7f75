//! `loadbench --only namespaces`: what a namespace costs, in one run on one
//! fresh process per figure. RSS per live namespace, the first call of a
//! new namespace, memory given back after churn, idle CPU, the default cap,
//! and the p99 of `getzones` in `default` while other namespaces are made.

use std::time::{Duration, Instant};

use crate::servers::{cpu_time, rss_kib, Server};

/// Namespaces for the RSS, first-call and idle-CPU figures.
const LIVE: usize = 1_000;
/// Churn: rounds of "create this many namespaces, delete them".
const CHURN_ROUNDS: usize = 10;
const CHURN_SIZE: usize = 200;
/// `getzones` calls measured idle and again during the creation storm.
const PROBE_CALLS: usize = 2_000;
/// Namespaces the storm creates (four at a time).
const STORM: usize = 2_000;
/// Forks timed, after the live namespaces.
const FORKS: usize = 200;
/// How long the idle-CPU window lasts.
const IDLE_WINDOW: Duration = Duration::from_secs(5);

pub struct Figures {
    pub rows: Vec<(String, String)>,
}

fn percentile(mut v: Vec<Duration>, p: f64) -> Duration {
    v.sort();
    if v.is_empty() {
        return Duration::ZERO;
    }
    let i = ((v.len() as f64 - 1.0) * p).round() as usize;
    v[i.min(v.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1000.0)
}

async fn call(client: &reqwest::Client, base: &str, path: &str) -> Result<Duration, String> {
    let body = crate::signed("getzones", &[]);
    let t = Instant::now();
    let resp = client
        .post(format!("{base}{path}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| format!("{path}: {e}"))?;
    let status = resp.status();
    let text = resp.text().await.map_err(|e| e.to_string())?;
    let took = t.elapsed();
    if !status.is_success() || !text.starts_with(r#"{"code":0"#) {
        return Err(format!(
            "{path}: {status} {}",
            text.chars().take(200).collect::<String>()
        ));
    }
    Ok(took)
}

async fn delete(client: &reqwest::Client, base: &str, name: &str) -> Result<(), String> {
    let resp = client
        .delete(format!("{base}/_mock/namespaces/{name}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if resp.status().is_success() {
        Ok(())
    } else {
        Err(format!("delete {name}: {}", resp.status()))
    }
}

fn rss(pid: u32) -> u64 {
    rss_kib(pid).map(|(rss, _)| rss).unwrap_or(0)
}

/// Runs every figure. `start` starts a fresh mock with extra arguments.
pub async fn run<F, Fut>(start: F) -> Result<Figures, String>
where
    F: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<Server, String>>,
{
    let client = reqwest::Client::new();
    let mut rows = Vec::new();
    let cap = vec!["--max-namespaces".to_string(), "100000".to_string()];

    // Live namespaces: RSS, first call, idle CPU.
    eprintln!("  {LIVE} namespaces, one call each …");
    let server = start(cap.clone()).await?;
    let base = server.base_url.clone();
    call(&client, &base, "/api").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let before = rss(server.pid);
    let mut firsts = Vec::with_capacity(LIVE);
    for i in 0..LIVE {
        firsts.push(call(&client, &base, &format!("/ns/live-{i}/api")).await?);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let after = rss(server.pid);
    let per = (after.saturating_sub(before)) as f64 / LIVE as f64;
    rows.push((
        format!("RSS per live namespace ({LIVE}, one call each)"),
        format!(
            "{per:.0} KiB ({:.1} → {:.1} MiB)",
            before as f64 / 1024.0,
            after as f64 / 1024.0
        ),
    ));
    rows.push((
        "first call of a new namespace".to_string(),
        format!(
            "p50 {}, p99 {}",
            ms(percentile(firsts.clone(), 0.5)),
            ms(percentile(firsts, 0.99))
        ),
    ));
    // Forks of `default` (the seed plus one call), then of a snapshot.
    let mut forks = Vec::with_capacity(FORKS);
    client
        .post(format!("{base}/_mock/snapshots"))
        .json(&serde_json::json!({"name": "fixture"}))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    for i in 0..FORKS {
        let body = if i % 2 == 0 {
            serde_json::json!({"name": format!("fork-{i}"), "from": "default"})
        } else {
            serde_json::json!({"name": format!("fork-{i}"), "from_snapshot": "fixture"})
        };
        let t = Instant::now();
        let resp = client
            .post(format!("{base}/_mock/namespaces"))
            .json(&body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let _ = resp.bytes().await;
        forks.push(t.elapsed());
        if status.as_u16() != 201 {
            return Err(format!("fork {i}: {status}"));
        }
    }
    rows.push((
        format!("fork (POST /_mock/namespaces, {FORKS}, half from a snapshot)"),
        format!(
            "p50 {}, p99 {}",
            ms(percentile(forks.clone(), 0.5)),
            ms(percentile(forks, 0.99))
        ),
    ));
    let c0 = cpu_time(server.pid).unwrap_or_default();
    tokio::time::sleep(IDLE_WINDOW).await;
    let c1 = cpu_time(server.pid).unwrap_or_default();
    let share = c1.saturating_sub(c0).as_secs_f64() / IDLE_WINDOW.as_secs_f64() * 100.0;
    rows.push((
        format!("idle CPU with {LIVE} namespaces"),
        format!("{share:.2} % of a core ({:?} window)", IDLE_WINDOW),
    ));
    server.stop().await;

    // Churn from a fresh process.
    eprintln!("  {CHURN_ROUNDS} rounds of {CHURN_SIZE} namespaces made and deleted …");
    let server = start(cap.clone()).await?;
    let base = server.base_url.clone();
    call(&client, &base, "/api").await?;
    let fresh = rss(server.pid);
    let mut per_round = Vec::new();
    for round in 0..CHURN_ROUNDS {
        for i in 0..CHURN_SIZE {
            call(&client, &base, &format!("/ns/churn-{round}-{i}/api")).await?;
        }
        for i in 0..CHURN_SIZE {
            delete(&client, &base, &format!("churn-{round}-{i}")).await?;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        per_round.push(rss(server.pid));
    }
    let first = per_round.first().copied().unwrap_or(0);
    let last = per_round.last().copied().unwrap_or(0);
    rows.push((
        format!("RSS after {CHURN_ROUNDS} rounds of {CHURN_SIZE} made + deleted"),
        format!(
            "fresh {:.1}, round 1 {:.1}, round {CHURN_ROUNDS} {:.1} MiB (round {CHURN_ROUNDS} − round 1: {:+.1} MiB)",
            fresh as f64 / 1024.0,
            first as f64 / 1024.0,
            last as f64 / 1024.0,
            (last as f64 - first as f64) / 1024.0
        ),
    ));
    server.stop().await;

    // The default cap and the storm, on a server with its defaults.
    eprintln!("  getzones p99, idle and during a storm of {STORM} new namespaces …");
    let server = start(Vec::new()).await?;
    let base = server.base_url.clone();
    let max = client
        .get(format!("{base}/_mock/namespaces"))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json::<serde_json::Value>()
        .await
        .map_err(|e| e.to_string())?["max"]
        .clone();
    rows.push(("default --max-namespaces".to_string(), max.to_string()));
    server.stop().await;

    let server = start(cap).await?;
    let base = server.base_url.clone();
    let mut idle = Vec::with_capacity(PROBE_CALLS);
    for _ in 0..PROBE_CALLS {
        idle.push(call(&client, &base, "/api").await?);
    }
    let storm_base = base.clone();
    let storm = tokio::spawn(async move {
        let client = reqwest::Client::new();
        let mut lanes = Vec::new();
        for lane in 0..4 {
            let (client, base) = (client.clone(), storm_base.clone());
            lanes.push(tokio::spawn(async move {
                let mut made = 0usize;
                for i in (lane..STORM).step_by(4) {
                    if call(&client, &base, &format!("/ns/storm-{i}/api"))
                        .await
                        .is_ok()
                    {
                        made += 1;
                    }
                }
                made
            }));
        }
        let mut made = 0;
        for l in lanes {
            made += l.await.unwrap_or(0);
        }
        made
    });
    let mut busy = Vec::with_capacity(PROBE_CALLS);
    let storm_started = Instant::now();
    while busy.len() < PROBE_CALLS && !storm.is_finished() {
        busy.push(call(&client, &base, "/api").await?);
    }
    let made = storm.await.map_err(|e| e.to_string())?;
    let storm_took = storm_started.elapsed();
    rows.push((
        "getzones in default, idle".to_string(),
        format!(
            "p50 {}, p99 {}",
            ms(percentile(idle.clone(), 0.5)),
            ms(percentile(idle, 0.99))
        ),
    ));
    rows.push((
        format!(
            "getzones in default, during the storm ({} calls)",
            busy.len()
        ),
        format!(
            "p50 {}, p99 {} ({made} namespaces made in {:.1} s)",
            ms(percentile(busy.clone(), 0.5)),
            ms(percentile(busy, 0.99)),
            storm_took.as_secs_f64()
        ),
    ));
    server.stop().await;
    Ok(Figures { rows })
}
