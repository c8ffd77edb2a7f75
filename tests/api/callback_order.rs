//! Callback notices arrive in order per instance (issue 10, A4): one big
//! clock move over many instances queues provisioned, expired and released
//! for each at once; a receiver that applies them as they arrive must see
//! them in that order, whether it fails the first attempts or not.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;
use serde_json::json;

use crate::helpers::{serve_on_loopback, TestApp};

const INSTANCES: usize = 10;
/// The longest the test waits for every notice to be settled.
const WAIT: Duration = Duration::from_secs(30);

/// How the receiver answers.
#[derive(Clone, Copy, PartialEq)]
enum Mood {
    /// 200 at once, except `provisioned`, answered after 150 ms: a slow
    /// first notice is what lets a later one overtake it.
    Slow,
    /// 500 to the first attempt of every notice, then 200.
    FailsFirst,
}

#[derive(Default)]
struct Inbox {
    /// Every post, in the order handled: (guid, event, answered with 200).
    posts: Mutex<Vec<(String, String, bool)>>,
    /// (guid, event) pairs already seen once.
    seen: Mutex<HashSet<(String, String)>>,
}

async fn receive(State((inbox, mood)): State<(Arc<Inbox>, Mood)>, body: Bytes) -> StatusCode {
    let form: BTreeMap<String, String> =
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .unwrap_or_default()
            .into_iter()
            .collect();
    let guid = form.get("guid").cloned().unwrap_or_default();
    let event = form.get("event").cloned().unwrap_or_default();
    let first = inbox
        .seen
        .lock()
        .map(|mut s| s.insert((guid.clone(), event.clone())))
        .unwrap_or(false);
    let ok = !(mood == Mood::FailsFirst && first);
    if mood == Mood::Slow && event == "provisioned" {
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    // Recorded when handled, as a receiver applies a notice once it has
    // done its work on it.
    if let Ok(mut posts) = inbox.posts.lock() {
        posts.push((guid, event, ok));
    }
    if ok {
        StatusCode::OK
    } else {
        StatusCode::INTERNAL_SERVER_ERROR
    }
}

async fn start_receiver(mood: Mood) -> (String, Arc<Inbox>) {
    let inbox = Arc::new(Inbox::default());
    let app = Router::new()
        .route("/hook", post(receive))
        .with_state((inbox.clone(), mood));
    (format!("{}/hook", serve_on_loopback(app).await), inbox)
}

/// Per GUID, the events of `posts` in arrival order (keeping those `keep` selects).
fn by_guid(
    posts: &[(String, String, bool)],
    keep: impl Fn(bool) -> bool,
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (guid, event, ok) in posts {
        if keep(*ok) {
            out.entry(guid.clone()).or_default().push(event.clone());
        }
    }
    out
}

async fn check_order(mood: Mood) {
    let app = TestApp::spawn().await;
    let (url, inbox) = start_receiver(mood).await;
    let (status, body) = app
        .control(
            "PUT",
            "/_mock/users/1/callback",
            Some(json!({ "url": url })),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut guids = Vec::new();
    for _ in 0..INSTANCES {
        let data = app.ok("create", TestApp::create_request(1)).await;
        guids.push(data[0]["guid"].as_str().unwrap_or_default().to_string());
    }
    // One move: provisioning, expiry at one month and release all fall due.
    app.advance(45 * 86_400).await;

    let deadline = tokio::time::Instant::now() + WAIT;
    let log = loop {
        let (_, v) = app.control("GET", "/_mock/callbacks", None).await;
        let log = v["callbacks"].as_array().cloned().unwrap_or_default();
        let settled =
            log.len() >= 3 * INSTANCES && log.iter().all(|c| c["delivered"] == json!(true));
        if settled {
            break log;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "notices not delivered in {WAIT:?}: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // The engine's own order, per instance, is the order of its log.
    let mut expected: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for c in &log {
        let guid = c["params"]["guid"].as_str().unwrap_or_default().to_string();
        let event = c["event"].as_str().unwrap_or_default().to_string();
        expected.entry(guid).or_default().push(event);
    }
    for guid in &guids {
        assert_eq!(
            expected.get(guid).map(|e| &e[..3]),
            Some(
                &[
                    "provisioned".to_string(),
                    "expired".into(),
                    "released".into()
                ][..]
            ),
            "{guid}: {expected:?}"
        );
    }
    let posts = inbox.posts.lock().map(|p| p.clone()).unwrap_or_default();
    // What the receiver applied, and every attempt (a retry never lets a
    // later notice of the same instance in before it).
    assert_eq!(by_guid(&posts, |ok| ok), expected, "mood {:?}", posts);
    let mut attempts = by_guid(&posts, |_| true);
    for events in attempts.values_mut() {
        events.dedup();
    }
    assert_eq!(attempts, expected, "attempts: {posts:?}");
    if mood == Mood::FailsFirst {
        let failed = posts.iter().filter(|p| !p.2).count();
        assert_eq!(failed, expected.values().map(Vec::len).sum::<usize>());
    }
}

#[tokio::test]
async fn notices_arrive_in_order_per_instance() {
    check_order(Mood::Slow).await;
}

#[tokio::test]
async fn notices_arrive_in_order_per_instance_through_retries() {
    check_order(Mood::FailsFirst).await;
}
