//! What reading the journal costs in memory: the server's RSS before,
//! during and after one `GET /_mock/requests?limit=N` of a full journal of
//! `sync_product` calls (the largest answers the seed gives), and after
//! `DELETE /_mock/requests`. Run at each `--journal-size` the docs name.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::load::{self, MakeReq, Spec};
use crate::servers::{rss_kib, Server};

/// The figures of one journal size, RSS in KiB.
#[derive(Debug, Clone)]
pub struct JournalFigures {
    pub fill_rps: f64,
    /// After filling, before the read.
    pub before: u64,
    /// The highest RSS sampled (every 2 ms) while the answer was read.
    pub during: u64,
    /// Right after the last byte.
    pub after: u64,
    /// After `DELETE /_mock/requests`.
    pub cleared: u64,
    /// After filling the emptied journal again: what `DELETE` freed is
    /// reused, whether or not the allocator gave it back to the system.
    pub refilled: u64,
    pub body_bytes: u64,
    pub entries: u64,
    pub read: Duration,
}

/// Fills `server`'s journal with `size` calls made by `fill`, then reads it
/// whole once and empties it, sampling its RSS throughout.
pub async fn measure(
    server: &Server,
    size: usize,
    spec: &Spec,
    fill: MakeReq,
) -> Result<JournalFigures, String> {
    let spec = Spec {
        base_url: server.base_url.clone(),
        warmup: Duration::ZERO,
        duration: Duration::from_secs(600),
        max_requests: Some(size as u64),
        ..spec.clone()
    };
    let stats = load::run(&spec, fill.clone()).await;
    if stats.errors > 0 {
        return Err(format!("{} errors while filling the journal", stats.errors));
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let before = rss_kib(server.pid).map_or(0, |r| r.0);

    let peak = Arc::new(AtomicU64::new(before));
    let reading = Arc::new(AtomicBool::new(true));
    let sampler = {
        let (peak, reading, pid) = (peak.clone(), reading.clone(), server.pid);
        tokio::spawn(async move {
            // Bounded: the read itself is bounded by its timeout below.
            while reading.load(Ordering::Relaxed) {
                if let Some((rss, _)) = rss_kib(pid) {
                    peak.fetch_max(rss, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let started = Instant::now();
    let url = format!("{}/_mock/requests?limit={size}", server.base_url);
    let read = tokio::time::timeout(Duration::from_secs(600), async {
        let mut resp = client.get(url).send().await.map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("the read answered {}", resp.status()));
        }
        // Read as it comes and thrown away: the client holds no copy.
        let mut bytes = 0u64;
        while let Some(chunk) = resp.chunk().await.map_err(|e| e.to_string())? {
            bytes += chunk.len() as u64;
        }
        Ok::<u64, String>(bytes)
    })
    .await
    .map_err(|_| "the read took over 600 s".to_string())??;
    let took = started.elapsed();
    reading.store(false, Ordering::Relaxed);
    let _ = sampler.await;
    let after = rss_kib(server.pid).map_or(0, |r| r.0);

    let count = client
        .get(format!("{}/_mock/requests?limit=1", server.base_url))
        .send()
        .await
        .map_err(|e| e.to_string())?
        .json::<serde_json::Value>()
        .await
        .map_err(|e| e.to_string())?;
    let newest = count["requests"][0]["id"].as_u64().unwrap_or_default();

    client
        .delete(format!("{}/_mock/requests", server.base_url))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let cleared = rss_kib(server.pid).map_or(0, |r| r.0);
    let again = load::run(&spec, fill).await;
    if again.errors > 0 {
        return Err(format!(
            "{} errors while filling the journal again",
            again.errors
        ));
    }
    let refilled = rss_kib(server.pid).map_or(0, |r| r.0);
    Ok(JournalFigures {
        refilled,
        fill_rps: stats.rps(),
        before,
        during: peak.load(Ordering::Relaxed).max(after),
        after,
        cleared,
        body_bytes: read,
        entries: newest.min(size as u64),
        read: took,
    })
}
