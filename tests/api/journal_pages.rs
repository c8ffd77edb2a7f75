//! Reading the journal by page: 100 entries unless a `limit` says
//! otherwise, `before=` as the cursor, `next_before` naming the next page
//! (null on the last), the same in JSON lines, and the answer streamed.

use serde_json::{json, Value};

use crate::helpers::TestApp;

/// `n` journaled calls; the actions alternate getzones / getsystems.
async fn calls(app: &TestApp, n: usize) {
    for i in 0..n {
        let action = if i % 2 == 0 { "getzones" } else { "getsystems" };
        app.ok(action, json!({})).await;
    }
}

fn ids(page: &Value) -> Vec<u64> {
    page["requests"]
        .as_array()
        .unwrap_or_else(|| panic!("no requests list: {page}"))
        .iter()
        .map(|e| e["id"].as_u64().unwrap_or_default())
        .collect()
}

#[tokio::test]
async fn a_read_answers_a_page_of_100_and_names_the_next() {
    let app = TestApp::spawn().await;
    calls(&app, 130).await;
    let first = app.control_ok("GET", "/_mock/requests", None).await;
    assert_eq!(ids(&first), (31..=130).rev().collect::<Vec<_>>());
    assert_eq!(first["next_before"], 31);
    assert_eq!(first["dropped"], 0);
    assert_eq!(first["overflowed"], 0);
    let second = app
        .control_ok("GET", "/_mock/requests?before=31", None)
        .await;
    assert_eq!(ids(&second), (1..=30).rev().collect::<Vec<_>>());
    assert_eq!(second["next_before"], Value::Null);
    // A limit of its own; a page that ends exactly at the oldest entry is
    // the last.
    let all = app
        .control_ok("GET", "/_mock/requests?limit=130", None)
        .await;
    assert_eq!(ids(&all).len(), 130);
    assert_eq!(all["next_before"], Value::Null);
    let small = app
        .control_ok("GET", "/_mock/requests?limit=7&before=20", None)
        .await;
    assert_eq!(ids(&small), (13..=19).rev().collect::<Vec<_>>());
    assert_eq!(small["next_before"], 13);
}

#[tokio::test]
async fn pages_follow_the_filters() {
    let app = TestApp::spawn().await;
    calls(&app, 30).await;
    // getsystems are the even ids; since= and before= bound both ends.
    let path = "/_mock/requests?action=getsystems&limit=5&since=4";
    let page = app.control_ok("GET", path, None).await;
    assert_eq!(ids(&page), [30, 28, 26, 24, 22]);
    assert_eq!(page["next_before"], 22);
    let path = "/_mock/requests?action=getsystems&limit=5&since=4&before=22";
    let page = app.control_ok("GET", path, None).await;
    assert_eq!(ids(&page), [20, 18, 16, 14, 12]);
    let path = "/_mock/requests?action=getsystems&limit=5&since=4&before=12";
    let page = app.control_ok("GET", path, None).await;
    assert_eq!(ids(&page), [10, 8, 6]);
    assert_eq!(page["next_before"], Value::Null);
    // A full page with nothing older that matches is the last one too.
    let path = "/_mock/requests?action=getsystems&limit=3&since=24";
    let page = app.control_ok("GET", path, None).await;
    assert_eq!(ids(&page), [30, 28, 26]);
    assert_eq!(page["next_before"], Value::Null);
    // The library follows the pages when its query names no limit.
    assert_eq!(app.engine.requests("").await.expect("journal").len(), 30);
    let systems = app
        .engine
        .requests("action=getsystems")
        .await
        .expect("journal");
    assert_eq!(systems.len(), 15);
    let five = app.engine.requests("limit=5").await.expect("journal");
    assert_eq!(five.len(), 5);
}

#[tokio::test]
async fn the_answer_is_streamed_and_json_lines_page_the_same_way() {
    let app = TestApp::spawn().await;
    calls(&app, 120).await;
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{}/_mock/requests?limit=1000", app.url()))
        .send()
        .await
        .expect("read");
    assert_eq!(resp.status(), 200);
    // No length up front: the body is written as the entries are read.
    assert!(resp.headers().get("content-length").is_none());
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body: Value = resp.json().await.expect("json");
    assert_eq!(ids(&body).len(), 120);
    let keys: Vec<&String> = body
        .as_object()
        .map(|m| m.keys().collect())
        .unwrap_or_default();
    assert_eq!(keys, ["requests", "dropped", "overflowed", "next_before"]);

    let text = http
        .get(format!("{}/_mock/requests?format=jsonl", app.url()))
        .send()
        .await
        .expect("read")
        .text()
        .await
        .expect("text");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines.len(), 100);
    assert_eq!(lines[0]["id"], 120);
    assert_eq!(lines[99]["id"], 21);
    let text = http
        .get(format!(
            "{}/_mock/requests?format=jsonl&before=21",
            app.url()
        ))
        .send()
        .await
        .expect("read")
        .text()
        .await
        .expect("text");
    assert_eq!(text.lines().count(), 20);
}

#[tokio::test]
async fn a_bad_cursor_is_refused_and_a_cleared_journal_reads_empty() {
    let app = TestApp::spawn().await;
    calls(&app, 3).await;
    let (status, body) = app.control("GET", "/_mock/requests?before=x", None).await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"], "bad_query");
    app.control_ok("DELETE", "/_mock/requests", None).await;
    let page = app.control_ok("GET", "/_mock/requests", None).await;
    assert_eq!(page["requests"], json!([]));
    assert_eq!(page["next_before"], Value::Null);
}
