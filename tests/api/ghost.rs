//! Ghost orders over HTTP: the upstream did the call but its answer never
//! reached the caller. A client that leaves mid-call cancels nothing
//! (`client_gone` in the journal); `error`, `http` and `drop` faults with
//! `"applied": true` let the call take effect before replacing its answer;
//! a replayed `create` names the instances it answered with, so
//! `?guid=` finds the retry.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::{TestApp, PRODUCT};

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

/// Journal entries for a query, newest first.
async fn entries(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app
        .control("GET", &format!("/_mock/requests?{query}"), None)
        .await;
    assert_eq!(status, 200, "{body}");
    body["requests"].as_array().cloned().unwrap_or_default()
}

async fn newest_entry(app: &TestApp) -> Value {
    entries(app, "limit=1").await.remove(0)
}

/// Instances of userid 1 that `sync_baremetal` lists.
async fn instance_count(app: &TestApp) -> u64 {
    let data = app
        .ok("sync_baremetal", json!({"page": "1", "number": "1000"}))
        .await;
    data["total_number"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no total_number in {data}"))
}

/// Free stock units of the test product.
async fn stock_free(app: &TestApp) -> i64 {
    let (status, catalog) = app.control("GET", "/_mock/catalog", None).await;
    assert_eq!(status, 200, "{catalog}");
    let products = catalog["products"].as_array().cloned().unwrap_or_default();
    products
        .iter()
        .find(|p| p["guid"] == PRODUCT)
        .and_then(|p| p["stock_free"].as_i64())
        .unwrap_or_else(|| panic!("no stock_free for {PRODUCT} in {catalog}"))
}

/// Sends a signed request over a bare socket, waits `patience` for an
/// answer and then closes the socket: the client has given up.
async fn give_up_after(app: &TestApp, action: &str, params: &Value, patience: Duration) {
    let pairs = app.client().signed_pairs(action, params);
    let body = serde_urlencoded::to_string(&pairs).expect("form");
    let request = format!(
        "POST /api HTTP/1.1\r\nHost: mock\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let addr = app.url().trim_start_matches("http://").to_string();
    let received = tokio::task::spawn_blocking(move || {
        let mut socket = std::net::TcpStream::connect(addr).expect("connect");
        socket.set_read_timeout(Some(patience)).expect("timeout");
        socket.write_all(request.as_bytes()).expect("write");
        let mut buf = [0u8; 256];
        let read = socket.read(&mut buf);
        // Dropping the socket closes it: the client is gone.
        read.map(|n| buf[..n].to_vec())
    })
    .await
    .expect("socket thread");
    let timed_out = matches!(&received, Err(e) if matches!(e.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut));
    assert!(timed_out, "the client should time out, got {received:?}");
}

/// Waits until the journal holds an entry matching `query`: the call runs
/// on in real time (a `delay` fault) after its client left.
async fn wait_for_entry(app: &TestApp, query: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(entry) = entries(app, query).await.into_iter().next() {
            return entry;
        }
        assert!(
            Instant::now() < deadline,
            "no journal entry for {query}: the call was lost with its client"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_create_whose_client_timed_out_during_a_delay_still_creates() {
    let app = TestApp::spawn().await;
    let (before, free) = (instance_count(&app).await, stock_free(&app).await);
    let rule = add_fault(
        &app,
        json!({"action": "create", "times": 1, "effect": {"kind": "delay", "ms": 1500}}),
    )
    .await;
    let params = TestApp::create_request(1);
    give_up_after(&app, "create", &params, Duration::from_millis(300)).await;

    let entry = wait_for_entry(&app, "action=create").await;
    assert_eq!(entry["client_gone"], true, "{entry}");
    assert_eq!((&entry["code"], &entry["fault"]), (&json!(0), &json!(rule)));
    let guid = entry["guid"]
        .as_str()
        .expect("the create's guid")
        .to_string();
    // The instance exists, and its stock unit is taken.
    assert_eq!(app.instance(&guid).await["guid"], guid.as_str());
    assert_eq!(instance_count(&app).await, before + 1);
    assert_eq!(stock_free(&app).await, free - 1);
    // The retry finds it: same guid, nothing created twice.
    let data = app.ok("create", params).await;
    assert_eq!(data[0]["guid"], guid.as_str());
    assert_eq!(instance_count(&app).await, before + 1);
    let retry = newest_entry(&app).await;
    assert_eq!(retry["client_gone"], false, "{retry}");
}

#[tokio::test]
async fn a_call_whose_client_stays_is_journaled_with_client_gone_false() {
    let app = TestApp::spawn().await;
    app.ok("getzones", json!({})).await;
    app.fails("stop", json!({"guid": "nope"}), "not_found")
        .await;
    for entry in entries(&app, "").await {
        assert_eq!(entry["client_gone"], false, "{entry}");
    }
}

#[tokio::test]
async fn a_create_dropped_after_it_applied_leaves_an_instance_the_retry_replays() {
    let app = TestApp::spawn().await;
    let (before, free) = (instance_count(&app).await, stock_free(&app).await);
    let rule = add_fault(
        &app,
        json!({"action": "create", "times": 1, "effect": {"kind": "drop", "applied": true}}),
    )
    .await;
    let params = TestApp::create_request(1);
    let err = app
        .client()
        .call("create", params.clone())
        .await
        .expect_err("a dropped answer");
    assert!(err.is_request(), "{err:?}");

    // The journal: the fault's answer, the engine's outcome, the effects.
    let entry = newest_entry(&app).await;
    assert_eq!(entry["fault"], rule, "{entry}");
    assert_eq!(
        (&entry["code"], &entry["reason"]),
        (&json!(1), &json!("dropped"))
    );
    assert_eq!(entry["response"], Value::Null);
    assert_eq!(entry["applied"], json!({"code": 0, "reason": null}));
    let guid = entry["guid"]
        .as_str()
        .expect("the created guid")
        .to_string();
    assert_eq!(entry["guids"], json!([guid]));
    assert!(
        entry["effects"]
            .as_array()
            .is_some_and(|e| e.iter().any(|e| e["created"] == guid.as_str())),
        "{entry}"
    );
    // The instance is there for reconciliation.
    assert_eq!(instance_count(&app).await, before + 1);
    assert_eq!(app.instance(&guid).await["order_status"], "0");
    assert_eq!(stock_free(&app).await, free - 1);

    // The retry with the same agent_order_no replays: the same instance.
    let data = app.ok("create", params).await;
    let retry = newest_entry(&app).await;
    assert_eq!(data.as_array().map(Vec::len), Some(1), "{data}");
    assert_eq!(data[0]["guid"], guid.as_str());
    assert_eq!(instance_count(&app).await, before + 1);
    assert_eq!(stock_free(&app).await, free - 1);
    assert_eq!(
        (&retry["fault"], &retry["applied"]),
        (&Value::Null, &Value::Null)
    );
    let found = entries(&app, &format!("action=create&guid={guid}")).await;
    let ids: Vec<&Value> = found.iter().map(|e| &e["id"]).collect();
    assert_eq!(ids, [&retry["id"], &entry["id"]]);
}

#[tokio::test]
async fn error_and_http_faults_applied_answer_theirs_after_the_call_took_effect() {
    let app = TestApp::spawn().await;
    let cases = [
        (
            json!({"kind": "error", "code": 5, "message": "超时", "reason": "gateway_timeout", "applied": true}),
            200,
            Some("gateway_timeout"),
        ),
        (
            json!({"kind": "http", "status": 502, "body": "Bad Gateway", "applied": true}),
            502,
            None,
        ),
    ];
    for (effect, status, reason) in cases {
        let before = instance_count(&app).await;
        let rule = add_fault(
            &app,
            json!({"action": "create", "times": 1, "effect": effect}),
        )
        .await;
        let answer = app.call("create", TestApp::create_request(1)).await;
        assert_eq!(answer.status, status, "{effect}: {}", answer.text);
        assert_eq!(answer.reason.as_deref(), reason, "{effect}");
        assert_ne!(answer.code(), 0, "{effect}: {}", answer.text);
        let entry = newest_entry(&app).await;
        assert_eq!(entry["fault"], rule, "{effect}");
        assert_eq!(
            entry["applied"],
            json!({"code": 0, "reason": null}),
            "{effect}"
        );
        assert!(entry["guid"].is_string(), "{effect}: {entry}");
        assert_eq!(instance_count(&app).await, before + 1, "{effect}");
    }
    // Without `applied`, as before: the answer replaces a call never run.
    let before = instance_count(&app).await;
    add_fault(
        &app,
        json!({"action": "create", "times": 1, "effect": {"kind": "http", "status": 502}}),
    )
    .await;
    assert_eq!(
        app.call("create", TestApp::create_request(1)).await.status,
        502
    );
    let entry = newest_entry(&app).await;
    assert_eq!(
        (&entry["applied"], &entry["effects"]),
        (&Value::Null, &json!([]))
    );
    assert_eq!(instance_count(&app).await, before);
}

#[tokio::test]
async fn an_applied_fault_on_a_call_the_engine_refuses_journals_the_refusal() {
    let app = TestApp::spawn().await;
    add_fault(
        &app,
        json!({"action": "create", "effect": {"kind": "drop", "applied": true}}),
    )
    .await;
    let mut params = TestApp::create_request(1);
    params["lineGuid"] = json!("1");
    assert!(app.client().call("create", params).await.is_err());
    let entry = newest_entry(&app).await;
    assert_eq!(entry["reason"], "dropped");
    assert_eq!(
        entry["applied"],
        json!({"code": 1, "reason": "line_not_found"})
    );
    assert_eq!(
        (&entry["guid"], &entry["guids"]),
        (&Value::Null, &json!([]))
    );
}

#[tokio::test]
async fn applied_is_refused_on_delay_and_stall() {
    let app = TestApp::spawn().await;
    for effect in [
        json!({"kind": "delay", "ms": 10, "applied": true}),
        json!({"kind": "stall", "applied": true}),
    ] {
        let (status, body) = app
            .control("POST", "/_mock/faults", Some(json!({"effect": effect})))
            .await;
        assert_eq!(
            (status, &body["error"]),
            (400, &json!("bad_json")),
            "{effect}: {body}"
        );
        let message = body["message"].as_str().unwrap_or_default();
        assert!(message.contains("applied"), "{effect}: {message}");
    }
    let (_, listed) = app.control("GET", "/_mock/faults", None).await;
    assert_eq!(listed["faults"], json!([]));
}

#[tokio::test]
async fn a_replayed_create_is_journaled_with_the_instances_it_answered_with() {
    let app = TestApp::spawn().await;
    let params = TestApp::create_request(2);
    let first = app.ok("create", params.clone()).await;
    let guids: Vec<&str> = (0..2)
        .map(|i| first[i]["guid"].as_str().expect("guid"))
        .collect();
    let again = app.ok("create", params).await;
    assert_eq!(again, first);
    let replay = newest_entry(&app).await;
    assert_eq!(replay["guid"], guids[0], "{replay}");
    assert_eq!(replay["guids"], json!(guids), "{replay}");
    // `?guid=` of either instance finds the create and its retry.
    for guid in &guids {
        let found = entries(&app, &format!("guid={guid}")).await;
        assert_eq!(found.len(), 2, "{guid}: {found:?}");
        assert_eq!(found[0]["id"], replay["id"]);
    }

    // A replayed renew names the instance it renewed, as its first call did.
    let guid = app.create_running().await;
    let renew = json!({"guid": guid, "months": "1", "agent_order_no": "renew-ghost-1"});
    let end = app.ok("renew", renew.clone()).await;
    assert_eq!(app.ok("renew", renew).await, end);
    let renews = entries(&app, &format!("action=renew&guid={guid}")).await;
    assert_eq!(renews.len(), 2, "{renews:?}");
    assert!(renews[0]["effects"][0]["replayed_agent_order_no"] == "renew-ghost-1");
}
