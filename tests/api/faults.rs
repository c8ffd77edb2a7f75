//! Fault injection over HTTP: each effect (error, http, delay, drop, stall),
//! matching by action and member, `after`/`times`, seeded probability, the
//! journal's `fault` mark, and listing and removing rules.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use apayun_mock::client::Answer;
use apayun_mock::MockEngine;
use serde_json::{json, Value};

use crate::helpers::{TestApp, EXAMPLE_GUID};

/// Adds a rule; returns its id.
async fn add_fault(app: &TestApp, rule: Value) -> i64 {
    let (status, body) = app
        .control("POST", "/_mock/faults", Some(rule.clone()))
        .await;
    assert_eq!(status, 201, "{rule}: {body}");
    body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no id in {body}"))
}

async fn newest_entry(app: &TestApp) -> Value {
    let (status, body) = app.control("GET", "/_mock/requests?limit=1", None).await;
    assert_eq!(status, 200, "{body}");
    body["requests"][0].clone()
}

async fn faults(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.control("GET", "/_mock/faults", None).await;
    assert_eq!(status, 200, "{body}");
    body["faults"].as_array().cloned().unwrap_or_default()
}

/// Instance GUIDs of userid 1 that sync lists.
async fn instance_count(app: &TestApp) -> String {
    app.ok("sync_baremetal", json!({"page": "1", "number": "1000"}))
        .await["total_number"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

/// Whether a call was answered by a fault rule (the journal says so).
async fn fired(app: &TestApp, answer: &Answer) -> bool {
    let entry = newest_entry(app).await;
    let marked = !entry["fault"].is_null();
    assert_eq!(marked, answer.code() != 0, "{entry} vs {}", answer.text);
    marked
}

#[tokio::test]
async fn a_rule_is_stored_with_its_id_and_defaults() {
    let app = TestApp::spawn().await;
    let (status, rule) = app
        .control(
            "POST",
            "/_mock/faults",
            Some(json!({"action": "create", "times": 2, "effect": {"kind": "error"}})),
        )
        .await;
    assert_eq!(status, 201);
    assert_eq!(
        rule,
        json!({
            "id": 1,
            "action": "create",
            "after": 0,
            "times": 2,
            "probability": 1.0,
            "effect": {"kind": "error", "code": 1, "message": "模拟故障", "reason": "injected_fault", "applied": false},
            "matched": 0,
            "fired": 0,
        })
    );
    let answer = app.call("create", TestApp::create_request(1)).await;
    assert_eq!(answer.code(), 1);
    assert_eq!(answer.reason.as_deref(), Some("injected_fault"));
    assert_eq!(answer.json()["message"], "模拟故障");
    let listed = faults(&app).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(
        (&listed[0]["matched"], &listed[0]["fired"]),
        (&json!(1), &json!(1))
    );
}

#[tokio::test]
async fn error_answers_in_the_envelope_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let before = instance_count(&app).await;
    let rule = add_fault(
        &app,
        json!({"action": "create", "effect": {
            "kind": "error", "code": 7, "message": "库存不足", "reason": "out_of_stock"
        }}),
    )
    .await;

    // Ten of the eleven free units of the product, refused by the fault.
    let answer = app.call("create", TestApp::create_request(10)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.reason.as_deref(), Some("out_of_stock"));
    assert_eq!(
        answer.json(),
        json!({"code": 7, "message": "库存不足", "data": {}})
    );
    let entry = newest_entry(&app).await;
    assert_eq!(entry["fault"], rule);
    assert_eq!(entry["code"], 7);
    assert_eq!(entry["reason"], "out_of_stock");
    assert_eq!(entry["effects"], json!([]));
    assert_eq!(instance_count(&app).await, before);

    // Nothing was allocated: all eleven units are still there, and no more.
    let (status, _) = app
        .control("DELETE", &format!("/_mock/faults/{rule}"), None)
        .await;
    assert_eq!(status, 200);
    let made = app.ok("create", TestApp::create_request(10)).await;
    assert_eq!(made.as_array().map(Vec::len), Some(10));
    app.ok("create", TestApp::create_request(1)).await;
    app.fails("create", TestApp::create_request(1), "out_of_stock")
        .await;
}

#[tokio::test]
async fn http_answers_with_the_status_and_body_given() {
    let app = TestApp::spawn().await;
    let before = instance_count(&app).await;
    // (status, body)
    let cases = [
        (503, ""),
        (503, "<html><body>Service Unavailable</body></html>"),
        (502, "{\"code\":"),
        (429, "slow down"),
    ];
    for (status, body) in cases {
        let rule = add_fault(
            &app,
            json!({"action": "create", "effect": {"kind": "http", "status": status, "body": body}}),
        )
        .await;
        let answer = app.call("create", TestApp::create_request(1)).await;
        assert_eq!(answer.status, status, "{body}");
        assert_eq!(answer.text, body);
        assert_eq!(answer.json(), Value::Null, "not an envelope: {body}");
        let entry = newest_entry(&app).await;
        assert_eq!(entry["fault"], rule);
        assert_eq!(entry["reason"], format!("http_{status}"));
        assert_eq!(entry["effects"], json!([]));
        let (code, _) = app.control("DELETE", "/_mock/faults", None).await;
        assert_eq!(code, 200);
    }
    assert_eq!(instance_count(&app).await, before);
    // Without a body field, the body is empty.
    add_fault(&app, json!({"effect": {"kind": "http", "status": 503}})).await;
    let answer = app.call("getzones", json!({})).await;
    assert_eq!((answer.status, answer.text.as_str()), (503, ""));
}

#[tokio::test]
async fn delay_waits_then_the_call_proceeds() {
    let app = TestApp::spawn().await;
    // (effect, least latency in ms)
    let cases = [
        (json!({"kind": "delay", "ms": 300}), 300.0),
        (
            json!({"kind": "delay", "min_ms": 100, "max_ms": 250}),
            100.0,
        ),
    ];
    for (effect, least) in cases {
        let rule = add_fault(&app, json!({"action": "create", "effect": effect})).await;
        for _ in 0..2 {
            let started = Instant::now();
            let data = app.ok("create", TestApp::create_request(1)).await;
            let elapsed = started.elapsed();
            assert!(
                elapsed >= Duration::from_millis(least as u64),
                "{effect}: answered after {elapsed:?}"
            );
            let entry = newest_entry(&app).await;
            assert_eq!(entry["fault"], rule, "{effect}");
            assert_eq!(entry["code"], 0);
            let latency = entry["latency_ms"].as_f64().expect("latency");
            assert!(
                (least..least + 5000.0).contains(&latency),
                "{effect}: {latency}"
            );
            // The delayed create really created.
            assert_eq!(data[0]["order_status"], "0");
        }
        let (code, _) = app.control("DELETE", "/_mock/faults", None).await;
        assert_eq!(code, 200);
    }
}

/// Sends one signed request over a bare TCP socket and reads until the
/// server closes: returns the read result and every byte received.
async fn raw_exchange(app: &TestApp, action: &str) -> (std::io::Result<usize>, Vec<u8>) {
    let pairs = app.client().signed_pairs(action, &json!({}));
    let body = serde_urlencoded::to_string(&pairs).expect("form");
    let request = format!(
        "POST /api HTTP/1.1\r\nHost: mock\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let addr = app.url().trim_start_matches("http://").to_string();
    tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(addr).expect("connect");
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        socket.write_all(request.as_bytes()).expect("write");
        let mut received = Vec::new();
        let result = socket.read_to_end(&mut received);
        (result, received)
    })
    .await
    .expect("socket thread")
}

#[tokio::test]
async fn drop_closes_the_connection_without_an_answer() {
    let app = TestApp::spawn().await;
    let before = instance_count(&app).await;
    let rule = add_fault(
        &app,
        json!({"action": "create", "effect": {"kind": "drop"}}),
    )
    .await;

    // The signed client: the request fails, there is no answer to read.
    let err = app
        .client()
        .call("create", TestApp::create_request(1))
        .await
        .expect_err("a dropped connection must not give an answer");
    assert!(err.is_request(), "{err:?}");
    let entry = newest_entry(&app).await;
    assert_eq!(entry["fault"], rule);
    assert_eq!(entry["reason"], "dropped");
    assert_eq!(entry["response"], Value::Null);
    assert_eq!(instance_count(&app).await, before);

    // Plain reqwest: `send` itself fails (hyper: IncompleteMessage); no
    // status line ever arrives.
    let pairs = app
        .client()
        .signed_pairs("create", &TestApp::create_request(1));
    let sent = app
        .http
        .post(format!("{}/api", app.url()))
        .form(&pairs)
        .send()
        .await;
    match sent {
        Err(e) => assert!(e.is_request(), "{e:?}"),
        Ok(resp) => {
            let status = resp.status();
            let body = resp.text().await;
            assert!(
                body.is_err() || status != 200,
                "a dropped call answered {status}: {body:?}"
            );
        }
    }

    // On the wire: the server closes the socket having sent nothing at all.
    add_fault(
        &app,
        json!({"action": "getzones", "effect": {"kind": "drop"}}),
    )
    .await;
    let (result, received) = raw_exchange(&app, "getzones").await;
    assert!(
        !received.starts_with(b"HTTP/"),
        "a status line was sent: {:?}",
        String::from_utf8_lossy(&received)
    );
    assert!(
        matches!(result, Ok(0) | Err(_)),
        "{result:?}: {:?}",
        String::from_utf8_lossy(&received)
    );
    // The same exchange without a fault is a complete answer.
    app.control("DELETE", "/_mock/faults", None).await;
    let (result, received) = raw_exchange(&app, "getzones").await;
    assert!(result.is_ok());
    assert!(
        received.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        String::from_utf8_lossy(&received)
    );
}

#[tokio::test]
async fn stall_holds_the_transition_until_the_rule_is_removed() {
    let app = TestApp::spawn().await;
    let rule = add_fault(
        &app,
        json!({"action": "create", "effect": {"kind": "stall"}}),
    )
    .await;
    let data = app.ok("create", TestApp::create_request(1)).await;
    let guid = data[0]["guid"].as_str().expect("guid").to_string();
    assert_eq!(newest_entry(&app).await["fault"], rule);

    app.advance(3600).await;
    assert_eq!(app.instance(&guid).await["order_status"], "0");
    let (_, timeline) = app.control("GET", "/_mock/timeline", None).await;
    let provisioning: Vec<&Value> = timeline["pending"]
        .as_array()
        .expect("pending")
        .iter()
        .filter(|t| t["guid"] == guid.as_str() && t["kind"] == "provisioned")
        .collect();
    assert_eq!(provisioning.len(), 1, "{timeline}");
    assert_eq!(provisioning[0]["stalled_by"], rule);

    // Other instances' transitions are not held back.
    app.ok("stop", json!({"guid": EXAMPLE_GUID})).await;
    app.advance(60).await;
    assert_eq!(app.instance(EXAMPLE_GUID).await["run_status"], "-1");
    assert_eq!(app.instance(&guid).await["order_status"], "0");

    let (status, body) = app
        .control("DELETE", &format!("/_mock/faults/{rule}"), None)
        .await;
    assert_eq!((status, &body), (200, &json!({"removed": rule})));
    // Removing the rule runs what it held back, with no clock move.
    assert_eq!(app.instance(&guid).await["order_status"], "1");
}

#[tokio::test]
async fn rules_match_by_action_and_by_member() {
    // (rule, [(action, userid, fires)])
    let cases = [
        (
            json!({"action": "getzones"}),
            vec![
                ("getzones", "1", true),
                ("getzones", "2", true),
                ("sync_line", "1", false),
            ],
        ),
        (
            json!({"userid": "2"}),
            vec![
                ("getzones", "1", false),
                ("getzones", "2", true),
                ("sync_line", "2", true),
            ],
        ),
        (
            json!({"action": "getzones", "userid": "2"}),
            vec![
                ("getzones", "1", false),
                ("sync_line", "2", false),
                ("getzones", "2", true),
            ],
        ),
        (
            json!({}),
            vec![("getzones", "1", true), ("sync_product", "2", true)],
        ),
    ];
    for (mut rule, calls) in cases {
        let app = TestApp::spawn().await;
        rule["effect"] = json!({"kind": "error", "reason": "matched"});
        let id = add_fault(&app, rule.clone()).await;
        for (action, userid, fires) in calls {
            let answer = if userid == "1" {
                app.call(action, json!({})).await
            } else {
                app.user2().call(action, json!({})).await.expect("user 2")
            };
            let entry = newest_entry(&app).await;
            assert_eq!(
                answer.reason.as_deref() == Some("matched"),
                fires,
                "{rule} {action} as {userid}: {}",
                answer.text
            );
            let want = if fires { json!(id) } else { Value::Null };
            assert_eq!(entry["fault"], want, "{rule} {action} as {userid}");
        }
    }
}

#[tokio::test]
async fn fail_twice_then_succeed_under_a_retry_loop() {
    let app = TestApp::spawn().await;
    add_fault(
        &app,
        json!({"action": "getzones", "times": 2, "effect": {
            "kind": "error", "message": "系统繁忙", "reason": "busy"
        }}),
    )
    .await;
    let mut attempts = 0;
    let answer = loop {
        attempts += 1;
        let answer = app.call("getzones", json!({})).await;
        if answer.code() == 0 || attempts == 10 {
            break answer;
        }
        assert_eq!(answer.reason.as_deref(), Some("busy"));
    };
    assert_eq!(answer.code(), 0, "{}", answer.text);
    assert_eq!(attempts, 3);
    let rule = &faults(&app).await[0];
    assert_eq!((&rule["matched"], &rule["fired"]), (&json!(3), &json!(2)));
}

#[tokio::test]
async fn after_and_times_shape_the_fire_pattern() {
    // (after, times, pattern of six calls: true = fired)
    let cases: [(u64, Option<u64>, [bool; 6]); 5] = [
        (2, None, [false, false, true, true, true, true]),
        (0, Some(2), [true, true, false, false, false, false]),
        (1, Some(2), [false, true, true, false, false, false]),
        (0, Some(0), [false; 6]),
        (0, None, [true; 6]),
    ];
    for (after, times, want) in cases {
        let app = TestApp::spawn().await;
        let mut rule = json!({"action": "getzones", "after": after, "effect": {"kind": "error"}});
        if let Some(t) = times {
            rule["times"] = json!(t);
        }
        add_fault(&app, rule.clone()).await;
        let mut got = Vec::new();
        for _ in 0..6 {
            let answer = app.call("getzones", json!({})).await;
            got.push(fired(&app, &answer).await);
        }
        assert_eq!(got, want, "{rule}");
        // Other actions do not count against the rule.
        app.ok("sync_line", json!({})).await;
        assert_eq!(faults(&app).await[0]["matched"], 6, "{rule}");
    }
}

/// The fire pattern of 40 getzones calls under a 50% rule, on a fresh engine.
async fn probability_pattern(seed: u64) -> Vec<bool> {
    let app = TestApp::with(MockEngine::builder().rng_seed(seed)).await;
    let rule = add_fault(
        &app,
        json!({"action": "getzones", "probability": 0.5, "effect": {"kind": "error"}}),
    )
    .await;
    let mut pattern = Vec::new();
    for _ in 0..40 {
        pattern.push(app.call("getzones", json!({})).await.code() != 0);
    }
    // The journal marks exactly the calls that fired (oldest first here).
    let (_, body) = app.control("GET", "/_mock/requests", None).await;
    let marks: Vec<bool> = body["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .rev()
        .map(|e| {
            assert!(e["fault"].is_null() || e["fault"] == rule, "{e}");
            !e["fault"].is_null()
        })
        .collect();
    assert_eq!(marks, pattern);
    let stored = &faults(&app).await[0];
    let count = pattern.iter().filter(|f| **f).count();
    assert_eq!(stored["fired"], count);
    assert_eq!(stored["matched"], 40);
    pattern
}

#[tokio::test]
async fn probability_repeats_with_the_same_rng_seed() {
    let first = probability_pattern(7).await;
    let second = probability_pattern(7).await;
    assert_eq!(first, second, "the same --rng-seed must repeat the pattern");
    let fired = first.iter().filter(|f| **f).count();
    assert!(
        (5..=35).contains(&fired),
        "50% fired {fired} of 40: {first:?}"
    );
    assert_ne!(
        probability_pattern(8).await,
        first,
        "another seed, another pattern"
    );
}

#[tokio::test]
async fn list_and_remove_rules() {
    let app = TestApp::spawn().await;
    assert_eq!(faults(&app).await, Vec::<Value>::new());
    let a = add_fault(&app, json!({"action": "stop", "effect": {"kind": "drop"}})).await;
    let b = add_fault(
        &app,
        json!({"userid": "2", "probability": 0.25, "effect": {"kind": "delay", "ms": 5}}),
    )
    .await;
    let c = add_fault(&app, json!({"effect": {"kind": "stall"}})).await;
    assert_eq!((a, b, c), (1, 2, 3));
    let ids: Vec<Value> = faults(&app).await.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, [json!(1), json!(2), json!(3)]);
    assert_eq!(
        faults(&app).await[1]["effect"],
        json!({"kind": "delay", "ms": 5})
    );

    let (status, body) = app.control("DELETE", "/_mock/faults/2", None).await;
    assert_eq!((status, body), (200, json!({"removed": 2})));
    let ids: Vec<Value> = faults(&app).await.iter().map(|r| r["id"].clone()).collect();
    assert_eq!(ids, [json!(1), json!(3)]);

    // (path, why) — each a 404 with the control API's JSON error.
    for (path, why) in [
        ("/_mock/faults/2", "already removed"),
        ("/_mock/faults/99", "never existed"),
        ("/_mock/faults/x", "not a number"),
    ] {
        let (status, body) = app.control("DELETE", path, None).await;
        assert_eq!(status, 404, "{why}: {body}");
        assert_eq!(body["error"], "unknown_fault", "{why}");
    }

    let (status, body) = app.control("DELETE", "/_mock/faults", None).await;
    assert_eq!((status, body), (200, json!({"faults": []})));
    assert_eq!(faults(&app).await, Vec::<Value>::new());
    // Ids are not reused after a clear.
    assert_eq!(
        add_fault(&app, json!({"effect": {"kind": "drop"}})).await,
        4
    );
    // And no rule is left to fire after clearing.
    app.control("DELETE", "/_mock/faults", None).await;
    app.ok("stop", json!({"guid": EXAMPLE_GUID})).await;
}

/// A rule's action is parsed when the rule is added: an unknown one is
/// refused as every other bad fault field is (400, `bad_fault`, the same
/// envelope), naming the actions there are; nothing is stored.
#[tokio::test]
async fn an_unknown_action_is_refused_when_the_rule_is_added() {
    let app = TestApp::spawn().await;
    let bad_probability = json!({"probability": 2, "effect": {"kind": "drop"}});
    let (status, other) = app
        .control("POST", "/_mock/faults", Some(bad_probability))
        .await;
    assert_eq!(
        (status, &other["error"]),
        (400, &json!("bad_fault")),
        "{other}"
    );
    for action in ["reboot", "Create", "create ", ""] {
        let rule = json!({"action": action, "effect": {"kind": "drop"}});
        let (status, body) = app.control("POST", "/_mock/faults", Some(rule)).await;
        assert_eq!(status, 400, "{action:?}: {body}");
        assert_eq!(body["error"], "bad_fault", "{action:?}: {body}");
        let keys = |v: &Value| v.as_object().map(|o| o.keys().cloned().collect::<Vec<_>>());
        assert_eq!(keys(&body), keys(&other), "{action:?}: {body} vs {other}");
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.starts_with(&format!("unknown action {action:?}; known: getzones, ")),
            "{message}"
        );
        for known in ["sync_baremetal", "degrade_cancel", "install", "refund"] {
            assert!(message.contains(known), "{message} lacks {known}");
        }
    }
    assert_eq!(faults(&app).await, Vec::<Value>::new());
    // A known action is stored and listed by its wire name, and fires for it alone.
    let id = add_fault(
        &app,
        json!({"action": "refund", "effect": {"kind": "error", "reason": "matched"}}),
    )
    .await;
    assert_eq!(faults(&app).await[0]["action"], "refund");
    let answer = app.call("getzones", json!({})).await;
    assert_eq!(answer.code(), 0, "{}", answer.text);
    let answer = app.call("refund", json!({"guid": EXAMPLE_GUID})).await;
    assert_eq!(answer.reason.as_deref(), Some("matched"), "{}", answer.text);
    assert_eq!(newest_entry(&app).await["fault"], json!(id));
}
