//! In-process costs, without HTTP or a client competing for the CPU: one
//! thread calls `Engine::execute` (the SQLite part) and `api::handle` (the
//! whole `/api` pipeline: decode, sign, blocking hop, render, journal) back
//! to back, and reports CPU µs per call (this process's user + system time,
//! so waiting for a busy machine does not count). Less noisy than the HTTP
//! runs, so it is what the optimisation notes in docs/performance.md quote.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use apayun_mock::config::ServeConfig;
use apayun_mock::test_support::actions::ActionName;
use apayun_mock::test_support::api::decode::decode_form;
use apayun_mock::test_support::engine::{Call, Engine, Settings};
use apayun_mock::test_support::protocol::Limits;
use apayun_mock::test_support::seed::Seed;
use axum::body::Body;
use axum::http::Request;

pub struct Cost {
    pub name: String,
    pub execute_us: f64,
    pub handle_us: f64,
}

fn engine(seed_dir: &Path, timings: &str) -> Result<Arc<Engine>, String> {
    let seed = Seed::from_dir(seed_dir).map_err(|e| e.to_string())?;
    let config = ServeConfig {
        seed_data: Some(seed_dir.to_path_buf()),
        timings: timings.to_string(),
        ..ServeConfig::default()
    };
    let settings = Arc::new(Settings::from_config(&config, &seed).map_err(|e| e.to_string())?);
    let engine = Engine::open("default", settings, Arc::new(seed), None);
    Ok(Arc::new(engine.map_err(|e| e.to_string())?))
}

fn call(body: &str) -> Result<Call, String> {
    let params = decode_form(body.as_bytes(), Limits::default()).map_err(|e| e.message)?;
    let s = |k: &str| params.str(k).unwrap_or_default();
    let action = s("action");
    let action = ActionName::parse(&action).ok_or_else(|| format!("unknown action {action}"))?;
    Ok(Call {
        action,
        userid: s("userid"),
        taskid: None,
        params,
    })
}

/// Runs `make(i)` for `budget` (at most `max` times); µs per call.
fn time_execute(
    engine: &Engine,
    budget: Duration,
    max: u64,
    make: &dyn Fn(u64) -> String,
) -> Result<f64, String> {
    let mut n = 0u64;
    let t0 = Instant::now();
    let cpu0 = self_cpu();
    while n < max && t0.elapsed() < budget {
        let c = call(&make(n))?;
        let out = engine.execute(&c, None);
        if let Err(e) = out.result {
            return Err(format!("{}: {}", c.action.wire(), e.message));
        }
        n += 1;
    }
    Ok(per_call(cpu0, n))
}

fn self_cpu() -> Option<Duration> {
    crate::servers::cpu_time(std::process::id())
}

fn per_call(cpu0: Option<Duration>, n: u64) -> f64 {
    match (cpu0, self_cpu()) {
        (Some(a), Some(b)) => (b - a).as_secs_f64() * 1e6 / n.max(1) as f64,
        _ => f64::NAN,
    }
}

async fn time_handle(
    engine: &Arc<Engine>,
    budget: Duration,
    max: u64,
    make: &dyn Fn(u64) -> String,
) -> Result<f64, String> {
    let mut n = 0u64;
    let t0 = Instant::now();
    let cpu0 = self_cpu();
    while n < max && t0.elapsed() < budget {
        let req = Request::post("/api")
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Body::from(make(n)))
            .map_err(|e| e.to_string())?;
        let resp = apayun_mock::test_support::api::handle(engine.clone(), req).await;
        let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
            .await
            .map_err(|e| e.to_string())?;
        if !body.starts_with(br#"{"code":0"#) {
            return Err(String::from_utf8_lossy(&body[..body.len().min(300)]).into_owned());
        }
        n += 1;
    }
    Ok(per_call(cpu0, n))
}

type Make = Box<dyn Fn(u64) -> String + Send + Sync>;

/// Costs of the main calls on fresh engines (bench seed, in memory), and of
/// `create` once the engine already holds `grown` instances (a write must
/// not get dearer as the database grows).
pub async fn costs(
    seed_dir: &Path,
    budget: Duration,
    only: Option<&str>,
    grown: u64,
) -> Result<Vec<Cost>, String> {
    let cases: Vec<(&str, &str, Make)> = vec![
        (
            "getzones",
            "default",
            Box::new(|_| crate::signed("getzones", &[])),
        ),
        (
            "sync_product",
            "default",
            Box::new(|_| crate::signed("sync_product", &[])),
        ),
        (
            "sync_baremetal single",
            "default",
            Box::new(|_| crate::single_req(crate::data::SEEDED_INSTANCE).body),
        ),
        (
            "sync_baremetal list",
            "default",
            Box::new(|_| crate::list_req().body),
        ),
        (
            "create",
            "default",
            Box::new(|i| crate::create_req("ip", 0, i).body),
        ),
    ];
    let mut out = Vec::new();
    for (name, timings, make) in cases {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let e = engine(seed_dir, timings)?;
        let execute_us = tokio::task::block_in_place(|| time_execute(&e, budget, 200_000, &make))?;
        let e = engine(seed_dir, timings)?;
        let handle_us = time_handle(&e, budget, 200_000, &make).await?;
        out.push(Cost {
            name: name.to_string(),
            execute_us,
            handle_us,
        });
    }
    let name = format!("create @{grown} instances");
    if only.is_none_or(|o| o == name || o == "create") {
        // Fill one engine, then measure both paths on it, orders tagged apart.
        let e = engine(seed_dir, "default")?;
        let fill: Make = Box::new(|i| crate::create_req("fill", 0, i).body);
        tokio::task::block_in_place(|| time_execute(&e, Duration::from_secs(3600), grown, &fill))?;
        let make: Make = Box::new(|i| crate::create_req("grown", 0, i).body);
        let execute_us = tokio::task::block_in_place(|| time_execute(&e, budget, 200_000, &make))?;
        let make: Make = Box::new(|i| crate::create_req("grown-h", 0, i).body);
        let handle_us = time_handle(&e, budget, 200_000, &make).await?;
        out.push(Cost {
            name,
            execute_us,
            handle_us,
        });
    }
    Ok(out)
}
