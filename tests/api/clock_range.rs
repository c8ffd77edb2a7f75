//! The clock's range (issue 10, A6): every time on the wire is
//! `YYYY-MM-DD HH:MM:SS` with a four-digit year. A clock move, an
//! `end_time` or a create/renew that would pass `9999-12-31 23:59:59` is
//! refused with a clear error, and nothing changes.

use apayun_mock::test_support::protocol::Reason;
use serde_json::{json, Value};

use crate::helpers::TestApp;

const LAST: &str = "9999-12-31 23:59:59";

/// `YYYY-MM-DD HH:MM:SS`, four-digit year.
fn is_wire_time(text: &str) -> bool {
    text.len() == 19
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            10 => b == b' ',
            13 | 16 => b == b':',
            _ => b.is_ascii_digit(),
        })
}

/// Every string in `value` under a key ending in `time` or named `due`/`now`
/// (not in a journal entry's `params`, where `time` is the client's UNIX time).
fn times(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter().filter(|(k, _)| *k != "params") {
                match v.as_str() {
                    Some(t) if k.ends_with("time") || k == "due" || k == "now" => {
                        out.push(t.to_string())
                    }
                    _ => times(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| times(v, out)),
        _ => {}
    }
}

fn assert_wire_times(what: &str, value: &Value) {
    let mut found = Vec::new();
    times(value, &mut found);
    for t in &found {
        assert!(
            t.is_empty() || is_wire_time(t),
            "{what}: {t:?} is not YYYY-MM-DD HH:MM:SS"
        );
    }
}

async fn clock_now(app: &TestApp) -> String {
    let (_, clock) = app.control("GET", "/_mock/clock", None).await;
    clock["now"].as_str().unwrap_or_default().to_string()
}

async fn set_clock(app: &TestApp, now: &str) -> (u16, Value) {
    app.control("POST", "/_mock/clock/set", Some(json!({ "now": now })))
        .await
}

async fn advance(app: &TestApp, seconds: i64) -> (u16, Value) {
    app.control(
        "POST",
        "/_mock/clock/advance",
        Some(json!({ "seconds": seconds })),
    )
    .await
}

#[tokio::test]
async fn the_clock_stops_at_the_last_second_of_year_9999() {
    let app = TestApp::spawn().await;
    app.control("POST", "/_mock/clock/freeze", None).await;
    assert_eq!(set_clock(&app, "9999-12-31 23:59:00").await.0, 200);
    let (status, body) = advance(&app, 120).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "clock_out_of_range", "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains(LAST) && message.contains("120"),
        "{message}"
    );
    assert_eq!(
        clock_now(&app).await,
        "9999-12-31 23:59:00",
        "a refused move moved"
    );
    let (status, body) = advance(&app, 59).await;
    assert_eq!((status, body["now"].as_str()), (200, Some(LAST)), "{body}");
    assert_eq!(advance(&app, 1).await.0, 409);
    assert_eq!(advance(&app, 0).await.0, 200);
    // A time the engine cannot write is not a time.
    for bad in [
        "+10000-01-01 00:00:00",
        "10000-01-01 00:00:00",
        "99999-01-01 00:00:00",
    ] {
        let (status, body) = set_clock(&app, bad).await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("bad_time")),
            "{bad}: {body}"
        );
    }
    assert_eq!(clock_now(&app).await, LAST);
    // The API still answers with well-formed times at the end of time.
    let answer = app.ok("sync_baremetal", json!({})).await;
    assert_wire_times("sync_baremetal", &answer);
}

#[tokio::test]
async fn create_and_renew_refuse_an_end_time_past_year_9999() {
    let app = TestApp::spawn().await;
    app.control("POST", "/_mock/clock/freeze", None).await;
    assert_eq!(set_clock(&app, "9999-11-15 00:00:00").await.0, 200);
    let before = app.ok("sync_baremetal", json!({})).await["total_number"].clone();
    let mut params = TestApp::create_request(1);
    params["months"] = json!("3");
    let message = app
        .fails("create", params, Reason::TimeOutOfRange.as_str())
        .await;
    assert!(message.contains(LAST), "{message}");
    let after = app.ok("sync_baremetal", json!({})).await["total_number"].clone();
    assert_eq!(before, after, "a refused create made an instance");

    let data = app.ok("create", TestApp::create_request(1)).await;
    assert_eq!(data[0]["end_time"], "9999-12-15 00:00:00");
    assert_wire_times("create", &data);
    let guid = data[0]["guid"].as_str().unwrap_or_default().to_string();
    app.advance(60).await;
    let renew = json!({"guid": guid, "months": "1"});
    let message = app
        .fails("renew", renew, Reason::TimeOutOfRange.as_str())
        .await;
    assert!(message.contains(LAST), "{message}");
    assert_eq!(app.instance(&guid).await["end_time"], "9999-12-15 00:00:00");
}

#[tokio::test]
async fn a_forced_end_time_stays_in_range_and_what_follows_it_runs_at_the_end() {
    let app = TestApp::spawn().await;
    let guid = app.create_running().await;
    let path = format!("/_mock/baremetal/{guid}");
    for bad in ["+10000-01-01 00:00:00", "10000-01-01 00:00:00"] {
        let (status, body) = app
            .control("PATCH", &path, Some(json!({ "end_time": bad })))
            .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("bad_value")),
            "{body}"
        );
    }
    let (status, body) = app
        .control("PATCH", &path, Some(json!({ "end_time": LAST })))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["baremetal"]["end_time"], LAST);
    // At the last second the instance expires; its release and purge, due
    // after year 9999, run then too instead of never. Before that, the
    // timeline shows the expiry at the last second.
    let (_, timeline) = app.control("GET", "/_mock/timeline", None).await;
    assert_eq!(timeline["pending"][1]["due"], LAST, "{timeline}");
    app.control("POST", "/_mock/clock/freeze", None).await;
    assert_eq!(set_clock(&app, LAST).await.0, 200);
    let (_, timeline) = app.control("GET", "/_mock/timeline", None).await;
    assert_wire_times("timeline", &timeline);
    assert_eq!(timeline["pending"], json!([]), "{timeline}");
    // Expired, released and (24 hours "later") gone.
    app.fails(
        "sync_baremetal",
        json!({"guid": guid}),
        Reason::NotFound.as_str(),
    )
    .await;
    let (_, requests) = app.control("GET", "/_mock/requests", None).await;
    assert_wire_times("journal", &requests);
}
