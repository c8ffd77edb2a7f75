//! The `/_mock` control API over HTTP: health, reset, the clock, the
//! timeline, the callback log, the request journal, snapshots, forced state,
//! the access guard, and bad input to the control API itself.

use std::time::Duration;

use apayun_mock::client::Client;
use apayun_mock::MockEngine;
use serde_json::{json, Value};

use crate::common::raw::Raw;
use crate::helpers::{fmt, keys, parse_time, text, Receiver, TestApp, EXAMPLE_GUID};

/// The keys of every journal entry (docs/contract.md, "Control API
/// payloads"), in order.
const ENTRY_KEYS: [&str; 15] = [
    "id",
    "time",
    "action",
    "userid",
    "guid",
    "guids",
    "params",
    "code",
    "reason",
    "latency_ms",
    "fault",
    "applied",
    "response",
    "effects",
    "client_gone",
];

/// Asserts a control-API error: the status and `{"error":reason,"message":…}`.
fn check_error(what: &str, status: u16, body: &Value, want_status: u16, want_reason: &str) {
    assert_eq!(status, want_status, "{what}: {body}");
    assert_eq!(body["error"], want_reason, "{what}: {body}");
    assert!(
        body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: no message in {body}"
    );
    assert_eq!(keys(body), ["error", "message"], "{what}: {body}");
}

async fn journal(app: &TestApp, query: &str) -> Vec<Value> {
    let path = if query.is_empty() {
        "/_mock/requests".to_string()
    } else {
        format!("/_mock/requests?{query}")
    };
    app.control_ok("GET", &path, None).await["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

/// Every instance GUID of userid 1 that sync lists.
async fn listed_guids(app: &TestApp) -> Vec<String> {
    app.ok("sync_baremetal", json!({"page": "1", "number": "1000"}))
        .await["baremetal"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|i| i["guid"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[tokio::test]
async fn health_answers_ok() {
    let app = TestApp::spawn().await;
    let Raw {
        status,
        content_type,
        body,
        ..
    } = app.control_raw("GET", "/_mock/health", "").await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("application/json"),
        "{content_type}"
    );
    assert_eq!(
        body,
        json!({"status": "ok", "version": env!("CARGO_PKG_VERSION")})
    );
}

/// Every answer names the server's version in `X-Apayun-Mock-Version`:
/// `/api` (success and refusal), control calls and their errors, a
/// namespace's calls, the dashboard and the fallback 404. A client library
/// checks its minimum on whichever answer it sees first.
#[tokio::test]
async fn every_answer_carries_the_version_header() {
    let app = TestApp::spawn().await;
    let want = env!("CARGO_PKG_VERSION");
    let cases: [(&str, &str, &str, u16); 9] = [
        ("GET", "/_mock/health", "", 200),
        ("GET", "/_mock/clock", "", 200),
        ("POST", "/_mock/clock/advance", r#"{"seconds":"x"}"#, 400),
        ("GET", "/_mock/no-such-call", "", 404),
        ("GET", "/ns/versioned/_mock/clock", "", 200),
        ("POST", "/api", "module=baremetal", 200),
        ("GET", "/api", "", 405),
        ("GET", "/no/such/path", "", 404),
        ("GET", "/_mock/ui", "", 200),
    ];
    for (method, path, body, status) in cases {
        let resp = app
            .http
            .request(
                reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
                format!("{}{path}", app.url()),
            )
            .header(
                "content-type",
                if path.ends_with("/api") {
                    "application/x-www-form-urlencoded"
                } else {
                    "application/json"
                },
            )
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(resp.status().as_u16(), status, "{method} {path}");
        let got = resp
            .headers()
            .get("x-apayun-mock-version")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        assert_eq!(got.as_deref(), Some(want), "{method} {path}");
    }
}

#[tokio::test]
async fn reset_goes_back_to_the_seed() {
    let app = TestApp::spawn().await;
    let seeded = listed_guids(&app).await;
    let seeded_timeline: Vec<(Value, Value)> = app.control_ok("GET", "/_mock/timeline", None).await
        ["pending"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| (t["guid"].clone(), t["kind"].clone()))
        .collect();

    let guid = app.create_running().await;
    app.advance(7200).await;
    app.control_ok("POST", "/_mock/clock/freeze", None).await;
    app.control_ok(
        "POST",
        "/_mock/faults",
        Some(json!({"action": "stop", "effect": {"kind": "drop"}})),
    )
    .await;
    assert!(!journal(&app, "").await.is_empty());

    let answer = app.control_ok("POST", "/_mock/reset", None).await;
    assert_eq!(answer["status"], "reset");
    assert_eq!(answer["clock"]["offset_seconds"], 0, "{answer}");
    assert_eq!(answer["clock"]["frozen"], false, "{answer}");

    // Read the tester state before any /api call writes to the journal again.
    assert_eq!(journal(&app, "").await, Vec::<Value>::new());
    assert_eq!(
        app.control_ok("GET", "/_mock/faults", None).await,
        json!({"faults": []})
    );
    let now = app.clock().await;
    assert_eq!(now["offset_seconds"], 0, "{now}");
    assert_eq!(now["frozen"], false, "{now}");
    let timeline: Vec<(Value, Value)> = app.control_ok("GET", "/_mock/timeline", None).await
        ["pending"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|t| (t["guid"].clone(), t["kind"].clone()))
        .collect();
    assert_eq!(timeline, seeded_timeline);

    assert_eq!(listed_guids(&app).await, seeded);
    app.fails("sync_baremetal", json!({"guid": guid}), "not_found")
        .await;
    // The fault on stop is gone with the reset.
    app.ok("stop", json!({"guid": EXAMPLE_GUID})).await;
}

#[tokio::test]
async fn clock_get_advance_and_set() {
    let app = TestApp::spawn().await;
    let start = app.clock().await;
    assert_eq!(keys(&start), ["now", "offset_seconds", "frozen"]);
    assert_eq!(start["offset_seconds"], 0);
    assert_eq!(start["frozen"], false);
    parse_time(&text(&start["now"]));

    // Freeze first, so that every expected `now` is exact.
    let frozen = app.control_ok("POST", "/_mock/clock/freeze", None).await;
    assert_eq!(frozen["frozen"], true);
    let t0 = parse_time(&text(&frozen["now"]));

    let advanced = app
        .control_ok(
            "POST",
            "/_mock/clock/advance",
            Some(json!({"seconds": 3600})),
        )
        .await;
    assert_eq!(advanced["now"], fmt(t0 + chrono::Duration::seconds(3600)));
    assert_eq!(advanced["frozen"], true);
    // A numeric string is accepted too.
    let advanced = app
        .control_ok(
            "POST",
            "/_mock/clock/advance",
            Some(json!({"seconds": "60"})),
        )
        .await;
    assert_eq!(advanced["now"], fmt(t0 + chrono::Duration::seconds(3660)));

    let target = fmt(t0 + chrono::Duration::days(2));
    let set = app
        .control_ok("POST", "/_mock/clock/set", Some(json!({"now": target})))
        .await;
    assert_eq!(set["now"], target);
    assert_eq!(app.clock().await["now"], target);

    let (status, body) = app
        .control("POST", "/_mock/clock/set", Some(json!({"now": fmt(t0)})))
        .await;
    check_error("set backwards", status, &body, 409, "clock_backwards");
    assert_eq!(app.clock().await["now"], target);

    // Resumed, the clock keeps the offset it reached (two days ahead).
    let resumed = app.control_ok("POST", "/_mock/clock/resume", None).await;
    assert_eq!(resumed["frozen"], false);
    let offset = resumed["offset_seconds"].as_i64().expect("offset");
    assert!(
        (2 * 86400 - 5..=2 * 86400 + 5).contains(&offset),
        "{resumed}"
    );
}

#[tokio::test]
async fn advancing_runs_what_fell_due() {
    let app = TestApp::spawn().await;
    // Frozen, so that real time passing cannot make the provisioning due.
    app.control_ok("POST", "/_mock/clock/freeze", None).await;
    let guid = app.ok("create", TestApp::create_request(1)).await[0]["guid"]
        .as_str()
        .expect("guid")
        .to_string();
    assert_eq!(app.instance(&guid).await["order_status"], "0");
    app.advance(29).await;
    assert_eq!(app.instance(&guid).await["order_status"], "0");
    app.advance(2).await;
    assert_eq!(app.instance(&guid).await["order_status"], "1");
}

#[tokio::test]
async fn a_frozen_clock_stands_still_and_resume_ticks_again() {
    let app = TestApp::spawn().await;
    let frozen = app.control_ok("POST", "/_mock/clock/freeze", None).await;
    // Freezing twice changes nothing.
    assert_eq!(
        app.control_ok("POST", "/_mock/clock/freeze", None).await["now"],
        frozen["now"]
    );
    // The one place a real sleep is right: the clock's own ticking is the subject.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let still = app.clock().await;
    assert_eq!(still["now"], frozen["now"], "a frozen clock ticked");
    assert_eq!(still["frozen"], true);

    let resumed = app.control_ok("POST", "/_mock/clock/resume", None).await;
    assert_eq!(resumed["frozen"], false);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let later = app.clock().await;
    let ticked = parse_time(&text(&later["now"])) - parse_time(&text(&resumed["now"]));
    assert!(
        ticked >= chrono::Duration::seconds(1),
        "resumed clock did not tick: {resumed} then {later}"
    );
}

#[tokio::test]
async fn timeline_lists_pending_transitions_soonest_first() {
    let app = TestApp::spawn().await;
    app.control_ok("POST", "/_mock/clock/freeze", None).await;
    let mut params = TestApp::create_request(1);
    params["taskid"] = json!("task-77");
    let data = app.ok("create", params).await;
    let guid = data[0]["guid"].as_str().expect("guid").to_string();
    let end_time = data[0]["end_time"].clone();
    let start = parse_time(&text(&data[0]["start_time"]));

    let timeline = app.control_ok("GET", "/_mock/timeline", None).await;
    assert_eq!(keys(&timeline), ["pending"]);
    let pending = timeline["pending"].as_array().expect("pending").clone();
    let dues: Vec<_> = pending
        .iter()
        .map(|t| parse_time(&text(&t["due"])))
        .collect();
    let mut sorted = dues.clone();
    sorted.sort();
    assert_eq!(dues, sorted, "not soonest first: {timeline}");

    let mine: Vec<&Value> = pending.iter().filter(|t| t["guid"] == guid).collect();
    assert_eq!(mine.len(), 2, "{timeline}");
    for t in &mine {
        for key in ["guid", "kind", "due", "taskid"] {
            assert!(t.get(key).is_some(), "{key} missing in {t}");
        }
        assert_eq!(t["taskid"], "task-77");
    }
    assert_eq!(mine[0]["kind"], "provisioned");
    assert_eq!(mine[0]["due"], fmt(start + chrono::Duration::seconds(30)));
    assert_eq!(mine[1]["kind"], "expired");
    assert_eq!(mine[1]["due"], end_time);

    app.advance(60).await;
    let after = app.control_ok("GET", "/_mock/timeline", None).await;
    let kinds: Vec<&Value> = after["pending"]
        .as_array()
        .expect("pending")
        .iter()
        .filter(|t| t["guid"] == guid)
        .map(|t| &t["kind"])
        .collect();
    assert_eq!(kinds, [&json!("expired")]);
}

#[tokio::test]
async fn callback_url_and_callback_log_shape() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(&[]).await;
    let url = receiver.url.clone();
    let set = app
        .control_ok("PUT", "/_mock/users/1/callback", Some(json!({"url": url})))
        .await;
    assert_eq!(set, json!({"userid": "1", "url": url}));
    assert_eq!(
        app.control_ok("GET", "/_mock/callbacks", None).await,
        json!({"callbacks": []})
    );

    let mut params = TestApp::create_request(1);
    params["taskid"] = json!("cb-task");
    let guid = app.ok("create", params).await[0]["guid"]
        .as_str()
        .expect("guid")
        .to_string();
    app.advance(60).await;

    // The notice reaches the receiver (real network I/O, bounded wait).
    let posts = receiver.wait_for_posts(1).await;
    assert_eq!(posts[0].form.get("guid"), Some(&guid), "{posts:?}");

    // The attempt is logged once the receiver's answer is read.
    let mut log = Value::Null;
    for _ in 0..200 {
        log = app.control_ok("GET", "/_mock/callbacks", None).await;
        if log["callbacks"][0]["delivered"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(keys(&log), ["callbacks"]);
    let records = log["callbacks"].as_array().expect("callbacks");
    assert_eq!(records.len(), 1, "{log}");
    let record = &records[0];
    assert_eq!(
        keys(record),
        ["id", "url", "event", "params", "attempts", "delivered"]
    );
    assert_eq!(record["url"], url);
    assert_eq!(record["event"], "provisioned");
    assert_eq!(record["delivered"], true, "{record}");
    let mut param_keys = keys(&record["params"]);
    param_keys.sort();
    let mut want = vec![
        "module",
        "action",
        "event",
        "taskid",
        "guid",
        "userid",
        "order_status",
        "run_status",
        "act_status",
        "time",
        "sign",
    ];
    want.sort();
    assert_eq!(param_keys, want);
    assert_eq!(record["params"]["taskid"], "cb-task");
    assert_eq!(record["params"]["order_status"], "1");
    let attempt = &record["attempts"][0];
    assert_eq!(keys(attempt), ["at", "status", "error"]);
    assert_eq!(attempt["status"], 200);
    assert_eq!(attempt["error"], Value::Null);
    assert!(
        attempt["at"].as_str().is_some_and(|a| !a.is_empty()),
        "{attempt}"
    );

    // Clearing the URL stops further notices.
    let cleared = app
        .control_ok("PUT", "/_mock/users/1/callback", Some(json!({"url": null})))
        .await;
    assert_eq!(cleared, json!({"userid": "1", "url": null}));
    app.ok("stop", json!({"guid": guid})).await;
    app.advance(60).await;
    let log = app.control_ok("GET", "/_mock/callbacks", None).await;
    assert_eq!(log["callbacks"].as_array().map(Vec::len), Some(1), "{log}");
}

#[tokio::test]
async fn journal_entries_are_newest_first_and_masked() {
    let app = TestApp::spawn().await;
    app.ok("getzones", json!({})).await;
    let data = app.ok("create", TestApp::create_request(1)).await;
    let guid = data[0]["guid"].as_str().expect("guid").to_string();

    let entries = journal(&app, "").await;
    assert_eq!(entries.len(), 2);
    for e in &entries {
        assert_eq!(keys(e), ENTRY_KEYS, "{e}");
    }
    let ids: Vec<i64> = entries
        .iter()
        .map(|e| e["id"].as_i64().expect("id"))
        .collect();
    assert!(ids[0] > ids[1], "not newest first: {ids:?}");

    let create = &entries[0];
    assert_eq!(create["action"], "create");
    assert_eq!(create["userid"], "1");
    assert_eq!(create["code"], 0);
    assert_eq!(create["reason"], Value::Null);
    assert_eq!(create["fault"], Value::Null);
    assert!(create["latency_ms"].as_f64().is_some_and(|l| l >= 0.0));
    parse_time(&text(&create["time"]));
    assert_eq!(create["params"]["loginPassword"], "***");
    assert_eq!(create["params"]["lineGuid"], crate::helpers::LINE);
    assert_eq!(create["response"]["code"], 0);
    assert_eq!(create["response"]["data"][0]["guid"], guid.as_str());
    let scheduled: Vec<&Value> = create["effects"]
        .as_array()
        .expect("effects")
        .iter()
        .filter(|e| e["guid"] == guid.as_str())
        .filter_map(|e| e.get("scheduled"))
        .collect();
    assert_eq!(scheduled, [&json!("provisioned"), &json!("expired")]);
    // The password is masked everywhere, not just in params.
    let text = serde_json::to_string(&entries).expect("json");
    assert!(!text.contains("QWE1MzUwMjkyNzkh"), "{text}");

    let zones = &entries[1];
    assert_eq!(zones["action"], "getzones");
    assert_eq!(zones["guid"], Value::Null);
    assert_eq!(zones["effects"], json!([]));
}

#[tokio::test]
async fn journal_filters() {
    let app = TestApp::spawn().await;
    let guid = app.create_running().await; // create + sync_baremetal
    app.ok("getzones", json!({})).await;
    app.fails("stop", json!({"guid": "1999999999999999"}), "not_found")
        .await;
    app.ok("stop", json!({"guid": guid})).await;
    let answer = app
        .user2()
        .call("getzones", json!({}))
        .await
        .expect("user 2");
    assert_eq!(answer.code(), 0, "{}", answer.text);

    let all = journal(&app, "").await;
    let actions: Vec<&str> = all
        .iter()
        .map(|e| e["action"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        actions,
        [
            "getzones",
            "stop",
            "stop",
            "getzones",
            "sync_baremetal",
            "create"
        ]
    );
    let id_at = |i: usize| all[i]["id"].as_i64().expect("id");

    let cases: Vec<(String, Vec<usize>)> = vec![
        ("action=create".into(), vec![5]),
        ("action=getzones".into(), vec![0, 3]),
        ("action=nothing".into(), vec![]),
        ("userid=2".into(), vec![0]),
        ("userid=1".into(), vec![1, 2, 3, 4, 5]),
        // The create that made the instance, too.
        (format!("guid={guid}"), vec![1, 4, 5]),
        ("guid=1999999999999999".into(), vec![2]),
        ("code=1".into(), vec![2]),
        ("code=0".into(), vec![0, 1, 3, 4, 5]),
        (format!("since={}", id_at(3)), vec![0, 1, 2]),
        (format!("since={}", id_at(0)), vec![]),
        ("limit=2".into(), vec![0, 1]),
        ("limit=0".into(), vec![]),
        ("action=stop&code=0".into(), vec![1]),
        ("action=getzones&limit=1".into(), vec![0]),
        (format!("userid=1&since={}&limit=1", id_at(5)), vec![1]),
    ];
    for (query, want) in cases {
        let got: Vec<i64> = journal(&app, &query)
            .await
            .iter()
            .map(|e| e["id"].as_i64().expect("id"))
            .collect();
        let want: Vec<i64> = want.into_iter().map(id_at).collect();
        assert_eq!(got, want, "?{query}");
    }
}

#[tokio::test]
async fn journal_exports_jsonl_and_clears() {
    let app = TestApp::spawn().await;
    app.ok("getzones", json!({})).await;
    app.ok("create", TestApp::create_request(2)).await;
    app.ok("sync_line", json!({})).await;

    for query in ["", "action=create"] {
        let listed = journal(&app, query).await;
        let resp = app
            .http
            .get(format!("{}/_mock/requests?format=jsonl&{query}", app.url()))
            .send()
            .await
            .expect("jsonl");
        assert_eq!(resp.status().as_u16(), 200);
        assert_eq!(
            resp.headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok()),
            Some("application/x-ndjson")
        );
        let text = resp.text().await.expect("text");
        assert!(text.ends_with('\n'), "{text}");
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        assert!(lines.iter().all(Value::is_object));
        assert_eq!(lines, listed, "?{query}");
    }

    let cleared = app.control_ok("DELETE", "/_mock/requests", None).await;
    assert_eq!(cleared, json!({"requests": []}));
    assert_eq!(journal(&app, "").await, Vec::<Value>::new());
    let resp = app
        .http
        .get(format!("{}/_mock/requests?format=jsonl", app.url()))
        .send()
        .await
        .expect("jsonl");
    assert_eq!(resp.text().await.expect("text"), "");
    // New calls are journaled again after a clear.
    app.ok("getzones", json!({})).await;
    assert_eq!(journal(&app, "").await.len(), 1);
}

#[tokio::test]
async fn a_bad_sign_shows_the_masked_canonical_string_and_never_the_key() {
    let app = TestApp::spawn().await;
    // (client, expected reason): a key nobody has, and another member's key.
    let cases = [
        (
            Client::new(&app.url(), "1", "not-the-right-key"),
            "sign_invalid",
        ),
        (
            Client::new(&app.url(), "1", "mock-api-key-2"),
            "key_mismatch",
        ),
    ];
    for (client, reason) in &cases {
        let pairs = client.signed_pairs("getzones", &json!({}));
        let time = pairs
            .iter()
            .find(|(k, _)| k == "time")
            .map(|(_, v)| v.clone())
            .expect("time");
        let answer = client.post_form(&pairs).await.expect("answer");
        assert_eq!(answer.reason.as_deref(), Some(*reason), "{}", answer.text);
        let canonical = format!("baremetalzkeys.api@2019getzones1***{time}");

        let entry = journal(&app, "limit=1").await.remove(0);
        assert_eq!(entry["reason"], *reason);
        assert_eq!(entry["code"], 1);
        assert_eq!(entry["sign_input"], canonical, "{entry}");
        let mut want: Vec<&str> = ENTRY_KEYS.to_vec();
        want.push("sign_input");
        assert_eq!(keys(&entry), want);
    }
    // The header carries the same string.
    let client = &cases[0].0;
    let pairs = client.signed_pairs("sync_line", &json!({}));
    let time = pairs
        .iter()
        .find(|(k, _)| k == "time")
        .map(|(_, v)| v.clone())
        .expect("time");
    let resp = app
        .http
        .post(format!("{}/api", app.url()))
        .form(&pairs)
        .send()
        .await
        .expect("post");
    assert_eq!(
        resp.headers()
            .get("x-mock-sign-input")
            .and_then(|v| v.to_str().ok()),
        Some(format!("baremetalzkeys.api@2019sync_line1***{time}").as_str())
    );

    for query in ["", "?format=jsonl"] {
        let text = app
            .http
            .get(format!("{}/_mock/requests{query}", app.url()))
            .send()
            .await
            .expect("journal")
            .text()
            .await
            .expect("text");
        for secret in ["mock-api-key", "not-the-right-key"] {
            assert!(!text.contains(secret), "{secret} in the journal: {text}");
        }
    }
}

/// Everything sync shows, plus the timeline, for a set of instances.
async fn state_views(app: &TestApp, guids: &[String]) -> Value {
    let list = app
        .ok("sync_baremetal", json!({"page": "1", "number": "1000"}))
        .await;
    let mut singles = Vec::new();
    let mut degrades = Vec::new();
    for guid in guids {
        singles.push(app.instance(guid).await);
        degrades.push(app.ok("degrade_ip_list", json!({"guid": guid})).await);
    }
    let timeline = app.control_ok("GET", "/_mock/timeline", None).await;
    json!({"list": list, "singles": singles, "degrade_ip_list": degrades, "timeline": timeline})
}

#[tokio::test]
async fn snapshot_restore_round_trips_every_view() {
    // Ticking, the offset must come back exactly and `now` has moved on by
    // the real time spent; frozen, `now` must come back exactly.
    for frozen in [false, true] {
        let app = TestApp::spawn().await;
        let running = app.create_running().await;
        app.ok("create", TestApp::create_request(1)).await; // still provisioning
        if frozen {
            app.control_ok("POST", "/_mock/clock/freeze", None).await;
        }
        let guids = listed_guids(&app).await;
        assert_eq!(guids.len(), 3);
        let before = state_views(&app, &guids).await;
        let clock_before = app.clock().await;

        let taken = app
            .control("POST", "/_mock/snapshots", Some(json!({"name": "base"})))
            .await;
        assert_eq!(taken.0, 201, "{}", taken.1);
        assert_eq!(keys(&taken.1), ["name", "taken_at"]);
        assert_eq!(taken.1["name"], "base");

        // Mutate: a new instance, a stop, an hour of simulated time.
        let extra = app.ok("create", TestApp::create_request(1)).await[0]["guid"]
            .as_str()
            .expect("guid")
            .to_string();
        app.ok("stop", json!({"guid": running})).await;
        app.ok("stop", json!({"guid": EXAMPLE_GUID})).await;
        app.advance(3600).await;
        assert_ne!(state_views(&app, &guids).await, before);

        let restored = app
            .control_ok("POST", "/_mock/snapshots/base/restore", None)
            .await;
        assert_eq!(restored["restored"], "base");
        let after = state_views(&app, &guids).await;
        assert_eq!(
            serde_json::to_string(&after).expect("json"),
            serde_json::to_string(&before).expect("json"),
            "frozen={frozen}"
        );
        app.fails("sync_baremetal", json!({"guid": extra}), "not_found")
            .await;

        let clock_after = app.clock().await;
        assert_eq!(clock_after["frozen"], clock_before["frozen"]);
        if frozen {
            assert_eq!(clock_after["now"], clock_before["now"]);
        } else {
            assert_eq!(
                clock_after["offset_seconds"], clock_before["offset_seconds"],
                "{clock_before} vs {clock_after}"
            );
            let moved =
                parse_time(&text(&clock_after["now"])) - parse_time(&text(&clock_before["now"]));
            assert!(
                (0..=5).contains(&moved.num_seconds()),
                "{clock_before} vs {clock_after}"
            );
        }

        let listed = app.control_ok("GET", "/_mock/snapshots", None).await;
        assert_eq!(keys(&listed), ["snapshots"]);
        assert_eq!(listed["snapshots"], json!([taken.1]));
    }
}

#[tokio::test]
async fn snapshots_list_delete_and_unknown_names() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.control_ok("GET", "/_mock/snapshots", None).await,
        json!({"snapshots": []})
    );
    for name in ["b-2", "a_1"] {
        let (status, _) = app
            .control("POST", "/_mock/snapshots", Some(json!({"name": name})))
            .await;
        assert_eq!(status, 201);
    }
    let listed = app.control_ok("GET", "/_mock/snapshots", None).await;
    let names: Vec<&Value> = listed["snapshots"]
        .as_array()
        .expect("snapshots")
        .iter()
        .map(|s| &s["name"])
        .collect();
    assert_eq!(names, [&json!("a_1"), &json!("b-2")]);

    let (status, body) = app
        .control("POST", "/_mock/snapshots/nope/restore", None)
        .await;
    check_error("restore unknown", status, &body, 404, "unknown_snapshot");

    assert_eq!(
        app.control_ok("DELETE", "/_mock/snapshots/a_1", None).await,
        json!({"deleted": "a_1"})
    );
    let (status, body) = app
        .control("POST", "/_mock/snapshots/a_1/restore", None)
        .await;
    check_error("restore deleted", status, &body, 404, "unknown_snapshot");
    let (status, body) = app.control("DELETE", "/_mock/snapshots/a_1", None).await;
    check_error("delete twice", status, &body, 404, "unknown_snapshot");

    // Snapshots survive a reset.
    app.control_ok("POST", "/_mock/reset", None).await;
    app.control_ok("POST", "/_mock/snapshots/b-2/restore", None)
        .await;
}

#[tokio::test]
async fn patch_forces_each_state_field() {
    let app = TestApp::spawn().await;
    let path = format!("/_mock/baremetal/{EXAMPLE_GUID}");
    let stop = ("stop", json!({"guid": EXAMPLE_GUID}));
    let upgrade = ("upgrade", json!({"guid": EXAMPLE_GUID, "bandwidth": "1"}));
    // (patch, fields sync then shows, a probe call, the reason it fails with
    // or None when it succeeds). push_status and lock_status are not in the
    // document's sync view, so the gate shows them.
    let cases = [
        (
            json!({"run_status": -1}),
            vec![("run_status", "-1")],
            &stop,
            Some("run_status_forbids"),
        ),
        (
            json!({"run_status": "-2"}),
            vec![("run_status", "-2")],
            &stop,
            Some("run_status_forbids"),
        ),
        (
            json!({"act_status": 6}),
            vec![("act_status", "6")],
            &stop,
            Some("act_status_forbids"),
        ),
        (
            json!({"act_status": "0"}),
            vec![("act_status", "0")],
            &stop,
            None,
        ),
        (
            json!({"lock_status": 1}),
            vec![],
            &stop,
            Some("lock_status_forbids"),
        ),
        (json!({"lock_status": 0}), vec![], &stop, None),
        (
            json!({"push_status": 1}),
            vec![],
            &upgrade,
            Some("push_status_forbids"),
        ),
        (json!({"push_status": "0"}), vec![], &upgrade, None),
        (
            json!({"order_status": 3}),
            vec![("order_status", "3")],
            &stop,
            Some("order_status_forbids"),
        ),
        (
            json!({"order_status": -2}),
            vec![("order_status", "-2")],
            &stop,
            Some("order_status_forbids"),
        ),
        (
            json!({"order_status": 0}),
            vec![("order_status", "0")],
            &stop,
            Some("order_status_forbids"),
        ),
        (
            json!({"run_status": -1, "act_status": 0, "lock_status": 0}),
            vec![("run_status", "-1"), ("act_status", "0")],
            &("start", json!({"guid": EXAMPLE_GUID})),
            None,
        ),
    ];
    for (patch, shown, (action, params), refusal) in cases {
        app.control_ok("POST", "/_mock/reset", None).await;
        let answer = app.control_ok("PATCH", &path, Some(patch.clone())).await;
        let view = app.instance(EXAMPLE_GUID).await;
        for (field, value) in shown {
            assert_eq!(answer["baremetal"][field], value, "{patch}: {field}");
            assert_eq!(view[field], value, "{patch}: {field}");
        }
        let reply = app.call(action, params.clone()).await;
        match refusal {
            Some(reason) => assert_eq!(
                reply.reason.as_deref(),
                Some(reason),
                "{patch}: {}",
                reply.text
            ),
            None => assert_eq!(reply.code(), 0, "{patch}: {}", reply.text),
        }
    }
}

#[tokio::test]
async fn patch_rejects_bad_values_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let before = app.instance(EXAMPLE_GUID).await;
    let path = format!("/_mock/baremetal/{EXAMPLE_GUID}");
    // (body, expected status, expected reason)
    let cases = [
        (json!({"run_status": 0}), 400, "bad_value"),
        (json!({"run_status": 2}), 400, "bad_value"),
        (json!({"run_status": "running"}), 400, "bad_value"),
        (json!({"run_status": null}), 400, "bad_value"),
        (json!({"run_status": [1]}), 400, "bad_value"),
        (json!({"act_status": 7}), 400, "bad_value"),
        (json!({"act_status": -1}), 400, "bad_value"),
        (json!({"push_status": 2}), 400, "bad_value"),
        (json!({"lock_status": -1}), 400, "bad_value"),
        (json!({"order_status": 2}), 400, "bad_value"),
        (json!({"order_status": 1.5}), 400, "bad_value"),
        (json!({"end_time": "next week"}), 400, "bad_value"),
        (json!({"end_time": "2027-02-30 00:00:00"}), 400, "bad_value"),
        (json!({"end_time": 1800000000}), 400, "bad_value"),
        // A valid field with an invalid one: nothing is written.
        (
            json!({"run_status": -1, "act_status": 99}),
            400,
            "bad_value",
        ),
        (json!({"cpu": "8"}), 400, "unknown_field"),
        (json!({"run_status": -1, "guid": "1"}), 400, "unknown_field"),
        (json!([1, 2]), 400, "bad_json"),
        (json!("run_status"), 400, "bad_json"),
    ];
    for (body, want_status, want_reason) in cases {
        let (status, answer) = app.control("PATCH", &path, Some(body.clone())).await;
        check_error(
            &format!("PATCH {body}"),
            status,
            &answer,
            want_status,
            want_reason,
        );
    }
    assert_eq!(app.instance(EXAMPLE_GUID).await, before);

    let (status, answer) = app
        .control(
            "PATCH",
            "/_mock/baremetal/1999999999999999",
            Some(json!({"run_status": -1})),
        )
        .await;
    check_error("unknown guid", status, &answer, 404, "unknown_instance");
}

#[tokio::test]
async fn patch_end_time_moves_the_expiry() {
    let app = TestApp::spawn().await;
    let guid = app.create_running().await;
    app.control_ok("POST", "/_mock/clock/freeze", None).await;
    let now = parse_time(&text(&app.clock().await["now"]));
    let end = fmt(now + chrono::Duration::hours(1));

    let answer = app
        .control_ok(
            "PATCH",
            &format!("/_mock/baremetal/{guid}"),
            Some(json!({"end_time": end})),
        )
        .await;
    assert_eq!(answer["baremetal"]["end_time"], end);
    let expiries: Vec<Value> = app.control_ok("GET", "/_mock/timeline", None).await["pending"]
        .as_array()
        .expect("pending")
        .iter()
        .filter(|t| t["guid"] == guid.as_str() && t["kind"] == "expired")
        .map(|t| t["due"].clone())
        .collect();
    assert_eq!(expiries, [json!(end)]);

    app.advance(3599).await;
    let inst = app.instance(&guid).await;
    assert_eq!(inst["order_status"], "1");
    assert_eq!(inst["end_time"], end);
    app.advance(1).await;
    let inst = app.instance(&guid).await;
    assert_eq!(inst["order_status"], "3");
    assert_eq!(inst["run_status"], "-2");
}

/// A control call that must be refused with a JSON 4xx: what it is, the
/// request, and the refusal.
struct Case {
    name: &'static str,
    /// `METHOD path`; `{guid}` in the path stands for the example instance.
    request: &'static str,
    body: &'static str,
    status: u16,
    reason: &'static str,
}

/// A [`Case`] on one line: name, request line, raw body, status, reason.
const fn case(
    name: &'static str,
    request: &'static str,
    body: &'static str,
    status: u16,
    reason: &'static str,
) -> Case {
    Case {
        name,
        request,
        body,
        status,
        reason,
    }
}

/// Bad control input, sent in this order to one engine: each must be a
/// JSON 4xx with its reason, never a 500, and change nothing.
#[rustfmt::skip]
const BAD_CONTROL_INPUT: &[Case] = &[
    // The clock: only a whole number of seconds ≥ 0 moves it forward.
    case("advance: JSON cut off", "POST /_mock/clock/advance", r#"{"seconds":"#, 400, "bad_json"),
    case("advance: a form, not JSON", "POST /_mock/clock/advance", "seconds=5", 400, "bad_json"),
    case("advance: no seconds", "POST /_mock/clock/advance", "{}", 400, "bad_json"),
    case("advance: no body", "POST /_mock/clock/advance", "", 400, "bad_json"),
    case("advance: an unknown field", "POST /_mock/clock/advance", r#"{"seconds":5,"x":1}"#, 400, "bad_json"),
    case("advance: negative seconds", "POST /_mock/clock/advance", r#"{"seconds":-5}"#, 400, "bad_seconds"),
    case("advance: negative seconds as text", "POST /_mock/clock/advance", r#"{"seconds":"-5"}"#, 400, "bad_seconds"),
    case("advance: seconds as a word", "POST /_mock/clock/advance", r#"{"seconds":"soon"}"#, 400, "bad_seconds"),
    case("advance: fractional seconds", "POST /_mock/clock/advance", r#"{"seconds":1.5}"#, 400, "bad_seconds"),
    case("advance: seconds as a boolean", "POST /_mock/clock/advance", r#"{"seconds":true}"#, 400, "bad_seconds"),
    case("advance: null seconds", "POST /_mock/clock/advance", r#"{"seconds":null}"#, 400, "bad_seconds"),
    case("advance: seconds in an array", "POST /_mock/clock/advance", r#"{"seconds":[60]}"#, 400, "bad_seconds"),
    case("advance: seconds too large (1e30)", "POST /_mock/clock/advance", r#"{"seconds":1e30}"#, 400, "bad_seconds"),
    case("advance: seconds past the clock's range", "POST /_mock/clock/advance", r#"{"seconds":9223372036854775807}"#, 400, "bad_seconds"),
    case("set: now as a word", "POST /_mock/clock/set", r#"{"now":"tomorrow"}"#, 400, "bad_time"),
    case("set: month 13", "POST /_mock/clock/set", r#"{"now":"2030-13-01 00:00:00"}"#, 400, "bad_time"),
    case("set: now as a number", "POST /_mock/clock/set", r#"{"now":1800000000}"#, 400, "bad_json"),
    case("set: no now", "POST /_mock/clock/set", "{}", 400, "bad_json"),
    case("set: backwards", "POST /_mock/clock/set", r#"{"now":"2001-01-01 00:00:00"}"#, 409, "clock_backwards"),
    // Fault rules.
    case("fault: JSON cut off", "POST /_mock/faults", "{", 400, "bad_json"),
    case("fault: no effect", "POST /_mock/faults", "{}", 400, "bad_json"),
    case("fault: unknown effect kind", "POST /_mock/faults", r#"{"effect":{"kind":"explode"}}"#, 400, "bad_json"),
    case("fault: effect without kind", "POST /_mock/faults", r#"{"effect":{}}"#, 400, "bad_json"),
    case("fault: effect as a string", "POST /_mock/faults", r#"{"effect":"drop"}"#, 400, "bad_json"),
    case("fault: error code as a word", "POST /_mock/faults", r#"{"effect":{"kind":"error","code":"one"}}"#, 400, "bad_json"),
    case("fault: http without status", "POST /_mock/faults", r#"{"effect":{"kind":"http"}}"#, 400, "bad_json"),
    case("fault: http status 42", "POST /_mock/faults", r#"{"effect":{"kind":"http","status":42}}"#, 400, "bad_fault"),
    case("fault: delay without ms", "POST /_mock/faults", r#"{"effect":{"kind":"delay"}}"#, 400, "bad_fault"),
    case("fault: negative delay", "POST /_mock/faults", r#"{"effect":{"kind":"delay","ms":-1}}"#, 400, "bad_json"),
    case("fault: delay range past 60 s", "POST /_mock/faults", r#"{"effect":{"kind":"delay","min_ms":9,"max_ms":60001}}"#, 400, "bad_fault"),
    case("fault: negative after", "POST /_mock/faults", r#"{"after":-1,"effect":{"kind":"drop"}}"#, 400, "bad_json"),
    case("fault: times as text", "POST /_mock/faults", r#"{"times":"2x","effect":{"kind":"drop"}}"#, 400, "bad_json"),
    case("fault: probability above 1", "POST /_mock/faults", r#"{"probability":1.5,"effect":{"kind":"drop"}}"#, 400, "bad_fault"),
    case("fault: probability below 0", "POST /_mock/faults", r#"{"probability":-0.1,"effect":{"kind":"drop"}}"#, 400, "bad_fault"),
    case("fault: an unknown field", "POST /_mock/faults", r#"{"colour":"red","effect":{"kind":"drop"}}"#, 400, "bad_json"),
    case("fault delete: unknown id", "DELETE /_mock/faults/99", "", 404, "unknown_fault"),
    case("fault delete: id not a number", "DELETE /_mock/faults/abc", "", 404, "unknown_fault"),
    // Snapshots.
    case("snapshot: no name", "POST /_mock/snapshots", "{}", 400, "bad_json"),
    case("snapshot: name a number", "POST /_mock/snapshots", r#"{"name":7}"#, 400, "bad_json"),
    case("snapshot: empty name", "POST /_mock/snapshots", r#"{"name":""}"#, 400, "bad_snapshot_name"),
    case("snapshot: name with a space", "POST /_mock/snapshots", r#"{"name":"a b"}"#, 400, "bad_snapshot_name"),
    case("snapshot restore: unknown name", "POST /_mock/snapshots/none/restore", "", 404, "unknown_snapshot"),
    // Callback URLs.
    case("callback: ftp URL", "PUT /_mock/users/1/callback", r#"{"url":"ftp://example.com/"}"#, 400, "bad_url"),
    case("callback: not a URL", "PUT /_mock/users/1/callback", r#"{"url":"not a url"}"#, 400, "bad_url"),
    case("callback: URL a number", "PUT /_mock/users/1/callback", r#"{"url":5}"#, 400, "bad_json"),
    case("callback: an unknown field", "PUT /_mock/users/1/callback", r#"{"link":"http://x/"}"#, 400, "bad_json"),
    case("callback: unknown user", "PUT /_mock/users/999/callback", r#"{"url":"http://127.0.0.1:9/"}"#, 404, "unknown_user"),
    // Journal filters.
    case("journal: limit a word", "GET /_mock/requests?limit=lots", "", 400, "bad_query"),
    case("journal: negative limit", "GET /_mock/requests?limit=-1", "", 400, "bad_query"),
    case("journal: since a word", "GET /_mock/requests?since=yesterday", "", 400, "bad_query"),
    case("journal: code a word", "GET /_mock/requests?code=x", "", 400, "bad_query"),
    case("journal: an unknown filter", "GET /_mock/requests?colour=red", "", 400, "bad_query"),
    // Paths and methods.
    case("patch: JSON cut off", "PATCH /_mock/baremetal/{guid}", r#"{"run_status":"#, 400, "bad_json"),
    case("unknown call", "GET /_mock/nope", "", 404, "unknown_control_call"),
    case("unknown clock call", "POST /_mock/clock/backwards", "{}", 404, "unknown_control_call"),
    case("reset: GET", "GET /_mock/reset", "", 405, "method_not_allowed"),
    case("health: POST", "POST /_mock/health", "", 405, "method_not_allowed"),
    case("clock: DELETE", "DELETE /_mock/clock", "", 405, "method_not_allowed"),
    case("instance: GET", "GET /_mock/baremetal/{guid}", "", 405, "method_not_allowed"),
    case("namespaces: PATCH", "PATCH /_mock/namespaces", "", 405, "method_not_allowed"),
    case("namespaces: an array", "POST /_mock/namespaces", "[1]", 400, "bad_json"),
    case("namespaces: a misspelt field", "POST /_mock/namespaces", r#"{"nmae":"typo"}"#, 400, "bad_json"),
];

#[tokio::test]
async fn bad_control_input_is_a_json_4xx_never_a_500() {
    let app = TestApp::spawn().await;
    for case in BAD_CONTROL_INPUT {
        let request = case.request.replace("{guid}", EXAMPLE_GUID);
        let (method, path) = request
            .split_once(' ')
            .unwrap_or_else(|| panic!("{}: no method in {request:?}", case.name));
        let got = app.control_raw(method, path, case.body).await;
        let what = format!("{} ({request} {})", case.name, case.body);
        assert!(
            got.content_type.starts_with("application/json"),
            "{what}: content-type {:?}, body {}",
            got.content_type,
            got.body
        );
        check_error(&what, got.status, &got.body, case.status, case.reason);
    }
    // None of that moved the clock or left a rule behind.
    let now = app.clock().await;
    assert!(
        now["offset_seconds"].as_i64().is_some_and(|o| o.abs() <= 1),
        "{now}"
    );
    assert_eq!(
        app.control_ok("GET", "/_mock/faults", None).await,
        json!({"faults": []})
    );
    app.ok("getzones", json!({})).await;
}

#[tokio::test]
async fn an_admin_token_is_required_when_configured() {
    let app = TestApp::with(MockEngine::builder().rng_seed(42).admin_token("s3cret")).await;
    // (method, path, Authorization header, expected status)
    let cases = [
        // Health answers every client: it reveals nothing.
        ("GET", "/_mock/health", None, 200),
        ("GET", "/_mock/health", Some("Bearer nope"), 200),
        ("GET", "/_mock/clock", None, 401),
        ("GET", "/_mock/clock", Some("Bearer s3cret"), 200),
        ("GET", "/_mock/clock", Some("Bearer nope"), 401),
        ("GET", "/_mock/clock", Some("s3cret"), 401),
        ("GET", "/_mock/clock", Some("Basic czNjcmV0"), 401),
        ("POST", "/_mock/reset", None, 401),
        ("POST", "/_mock/reset", Some("Bearer s3cret"), 200),
        ("GET", "/_mock/requests", None, 401),
        ("GET", "/_mock/requests", Some("Bearer s3cret"), 200),
        ("GET", "/_mock/namespaces", None, 401),
        ("GET", "/_mock/namespaces", Some("Bearer s3cret"), 200),
        ("DELETE", "/_mock/namespaces/guarded", None, 401),
        ("GET", "/ns/guarded/_mock/clock", None, 401),
    ];
    for (method, path, auth, want) in cases {
        let mut req = app.http.request(
            reqwest::Method::from_bytes(method.as_bytes()).expect("method"),
            format!("{}{path}", app.url()),
        );
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        let resp = req.send().await.expect("send");
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.expect("json body");
        assert_eq!(status, want, "{method} {path} {auth:?}: {body}");
        if want == 401 {
            check_error(path, status, &body, 401, "admin_token_required");
        }
    }
    // A refused call did not create the namespace it addressed.
    let listed: Value = app
        .http
        .get(format!("{}/_mock/namespaces", app.url()))
        .header("authorization", "Bearer s3cret")
        .send()
        .await
        .expect("send")
        .json()
        .await
        .expect("json");
    assert_eq!(listed["namespaces"][0]["name"], "default");
    assert_eq!(listed["namespaces"].as_array().map(Vec::len), Some(1));
    // The engine API itself needs no token.
    app.ok("getzones", json!({})).await;
}

#[tokio::test]
async fn the_journal_reports_its_ring_and_channel_losses() {
    let app = TestApp::with(
        MockEngine::builder()
            .rng_seed(42)
            .config(|c| c.journal_size = 2),
    )
    .await;
    for _ in 0..5 {
        app.ok("getzones", json!({})).await;
    }
    // Read at once: every answered call is filed, the ring kept the newest two.
    let all = app.control_ok("GET", "/_mock/requests", None).await;
    let ids: Vec<i64> = all["requests"]
        .as_array()
        .map(|a| a.iter().filter_map(|e| e["id"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(ids, vec![5, 4]);
    assert_eq!(all["dropped"], 3);
    assert_eq!(all["overflowed"], 0);
}
