//! Errors stay in their contract: the control API answers 4xx JSON
//! `{"error","message"}`, `/api` the envelope with `X-Mock-Error` — for
//! oversized bodies, bodies that are not objects, unknown fields, names
//! that are not UTF-8, bad fault rules; and the journal, the admin token's
//! scheme and the `vtime` check say what they do.

use apayun_mock::MockEngine;
use serde_json::{json, Value};

use crate::common::raw::Raw;
use crate::helpers::{keys, TestApp, EXAMPLE_GUID};

/// A control-API refusal: status, JSON, exactly `error` and `message`.
fn control_error(what: &str, got: &Raw, status: u16, reason: &str) {
    assert_eq!(got.status, status, "{what}: {}", got.body);
    assert!(
        got.content_type.starts_with("application/json"),
        "{what}: content type {:?}, body {}",
        got.content_type,
        got.body
    );
    assert_eq!(got.body["error"], reason, "{what}: {}", got.body);
    assert!(
        got.body["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{what}: {}",
        got.body
    );
    assert_eq!(
        keys(&got.body),
        ["error", "message"],
        "{what}: {}",
        got.body
    );
}

/// An `/api` refusal: status, the envelope with code 1, and `X-Mock-Error`.
fn api_error(what: &str, got: &Raw, status: u16, reason: &str) {
    assert_eq!(got.status, status, "{what}: {}", got.body);
    assert_eq!(got.reason.as_deref(), Some(reason), "{what}: {}", got.body);
    assert_eq!(got.body["code"], 1, "{what}: {}", got.body);
    assert!(got.body["message"].is_string(), "{what}: {}", got.body);
}

async fn offset(app: &TestApp) -> i64 {
    let clock = app.control_ok("GET", "/_mock/clock", json!(null)).await;
    clock["offset_seconds"].as_i64().unwrap_or(i64::MAX)
}

#[tokio::test]
async fn a_large_body_is_refused_in_each_surface_s_own_contract() {
    let app = TestApp::spawn().await;
    // Over axum's 2 MiB default, which answered the control API in plain text.
    let big = format!(r#"{{"seconds":1,"pad":"{}"}}"#, "x".repeat(3 << 20));
    for path in [
        "/_mock/clock/advance",
        "/_mock/faults",
        "/_mock/snapshots",
        "/ns/big/_mock/clock/set",
    ] {
        let got = app.control_raw("POST", path, big.clone()).await;
        control_error(path, &got, 413, "body_too_large");
    }
    for path in ["/api", "/ns/big/api"] {
        let got = app.control_raw("POST", path, big.clone()).await;
        api_error(path, &got, 413, "body_too_large");
    }
    assert!(offset(&app).await.abs() <= 1);
}

/// `/api` reads its body under `--max-body` alone: axum's 2 MiB default
/// (which the control API's 413 replaced) never cuts a larger setting short.
#[tokio::test]
async fn api_bodies_follow_max_body_past_two_mebibytes() {
    let app = TestApp::with(
        MockEngine::builder()
            .rng_seed(42)
            .config(|c| c.max_body = 4 << 20),
    )
    .await;
    let body = format!(
        "module=baremetal&action=getzones&pad={}",
        "x".repeat(3 << 20)
    );
    let resp = app
        .post_raw("application/x-www-form-urlencoded", body)
        .await;
    let status = resp.status().as_u16();
    let reason = crate::helpers::reason_of(&resp);
    // Read, decoded, and refused for what it holds, not for its size.
    assert_eq!((status, reason.as_deref()), (200, Some("value_too_long")));
}

#[tokio::test]
async fn control_bodies_are_objects_with_exactly_the_documented_fields() {
    let app = TestApp::spawn().await;
    // (path, body, a word the message must hold)
    let cases = [
        ("/_mock/clock/advance", "[86400]", "array"),
        ("/_mock/clock/advance", "86400", "number"),
        ("/_mock/clock/advance", r#""86400""#, "string"),
        // `null` is no body, read as `{}`: the missing field is named.
        ("/_mock/clock/advance", "null", "seconds"),
        ("/_mock/clock/advance", r#"{"secnods":86400}"#, "secnods"),
        (
            "/_mock/clock/advance",
            r#"{"seconds":86400,"also":1}"#,
            "also",
        ),
        ("/_mock/clock/set", r#"["2099-01-01 00:00:00"]"#, "array"),
        (
            "/_mock/clock/set",
            r#"{"time":"2099-01-01 00:00:00"}"#,
            "time",
        ),
        ("/_mock/faults", r#"["create",{"kind":"drop"}]"#, "array"),
        (
            "/_mock/faults",
            r#"[null,null,0,1,1.0,{"kind":"drop"}]"#,
            "array",
        ),
        (
            "/_mock/faults",
            r#"{"action":"create","time":2,"effect":{"kind":"drop"}}"#,
            "time",
        ),
        (
            "/_mock/faults",
            r#"{"action":"create","effect":{"kind":"http","status":503,"bdy":""}}"#,
            "bdy",
        ),
        ("/_mock/snapshots", r#"["base"]"#, "array"),
        ("/_mock/snapshots", r#"{"nmae":"base"}"#, "nmae"),
        (
            "/_mock/users/1/callback",
            r#"["http://127.0.0.1:9/"]"#,
            "array",
        ),
        (
            "/_mock/users/1/callback",
            r#"{"uri":"http://127.0.0.1:9/"}"#,
            "uri",
        ),
    ];
    for (path, body, word) in cases {
        let method = if path.contains("callback") {
            "PUT"
        } else {
            "POST"
        };
        let got = app.control_raw(method, path, body).await;
        let what = format!("{method} {path} {body}");
        control_error(&what, &got, 400, "bad_json");
        let message = got.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(word), "{what}: {message}");
    }
    // Nothing of it was taken.
    assert!(offset(&app).await.abs() <= 1, "the clock moved");
    let faults = app.control_ok("GET", "/_mock/faults", json!(null)).await;
    assert_eq!(faults, json!({"faults": []}));
    let snapshots = app.control_ok("GET", "/_mock/snapshots", json!(null)).await;
    assert_eq!(snapshots, json!({"snapshots": []}));

    // Every documented body still works.
    app.control_ok("POST", "/_mock/clock/advance", json!({"seconds": 60}))
        .await;
    app.control_ok("POST", "/_mock/clock/advance", json!({"seconds": "60"}))
        .await;
    assert!((offset(&app).await - 120).abs() <= 1);
    app.control_ok(
        "POST",
        "/_mock/clock/set",
        json!({"now": "2099-01-01 00:00:00"}),
    )
    .await;
    app.control_ok("POST", "/_mock/clock/freeze", json!({}))
        .await;
    app.control_ok("POST", "/_mock/clock/resume", json!({}))
        .await;
    let rule = json!({"action":"create","userid":"1","after":0,"times":2,"probability":1.0,
        "effect":{"kind":"error","code":1,"message":"库存不足","reason":"out_of_stock"}});
    app.control_ok("POST", "/_mock/faults", rule).await;
    for effect in [
        json!({"kind":"http","status":503,"body":""}),
        json!({"kind":"delay","ms":200}),
        json!({"kind":"delay","min_ms":50,"max_ms":500}),
        json!({"kind":"drop"}),
        json!({"kind":"stall"}),
    ] {
        app.control_ok(
            "POST",
            "/_mock/faults",
            json!({"action":"stop","effect":effect}),
        )
        .await;
    }
    app.control_ok("DELETE", "/_mock/faults", json!(null)).await;
    app.control_ok("POST", "/_mock/snapshots", json!({"name": "base"}))
        .await;
    app.control_ok(
        "PUT",
        "/_mock/users/1/callback",
        json!({"url": "http://127.0.0.1:9/"}),
    )
    .await;
    app.control_ok("PUT", "/_mock/users/1/callback", json!({"url": null}))
        .await;
    app.control_ok(
        "PATCH",
        &format!("/_mock/baremetal/{EXAMPLE_GUID}"),
        json!({"lock_status": 0}),
    )
    .await;
}

#[tokio::test]
async fn names_that_are_not_utf8_are_bad_names_like_any_other() {
    let app = TestApp::spawn().await;
    let got = app.control_raw("POST", "/ns/%FF%FE/api", "{}").await;
    api_error("POST /ns/%FF%FE/api", &got, 400, "bad_namespace");
    for (method, path) in [
        ("GET", "/ns/%FF%FE/_mock/clock"),
        ("POST", "/ns/%FF%FE/_mock/clock/advance"),
        ("DELETE", "/_mock/namespaces/%FF%FE"),
        ("DELETE", "/_mock/namespaces/a%20b"),
    ] {
        let got = app.control_raw(method, path, r#"{"seconds":1}"#).await;
        control_error(&format!("{method} {path}"), &got, 400, "bad_namespace");
    }
    // Another parameter that is not UTF-8 is a bad path, still in JSON.
    let got = app
        .control_raw("PATCH", "/_mock/baremetal/%FF", r#"{"lock_status":0}"#)
        .await;
    control_error("PATCH /_mock/baremetal/%FF", &got, 400, "bad_path");
    let names = app
        .control_ok("GET", "/_mock/namespaces", json!(null))
        .await;
    assert_eq!(names["namespaces"][0]["name"], "default", "{names}");
    assert_eq!(
        names["namespaces"].as_array().map(Vec::len),
        Some(1),
        "{names}"
    );
}

#[tokio::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = TestApp::with(MockEngine::builder().rng_seed(42).admin_token("s3cret")).await;
    for (header, want) in [
        ("Bearer s3cret", 200),
        ("bearer s3cret", 200),
        ("BEARER s3cret", 200),
        ("bEaReR   s3cret", 200),
        ("Bearer S3CRET", 401),
        ("Bearers3cret", 401),
        ("Basic s3cret", 401),
    ] {
        let resp = app
            .http
            .get(format!("{}/_mock/clock", app.url()))
            .header("authorization", header)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status().as_u16(), want, "{header}");
    }
}

#[tokio::test]
async fn fault_rules_for_unknown_actions_or_a_success_code_are_refused() {
    let app = TestApp::spawn().await;
    for (body, word) in [
        (json!({"action":"crate","effect":{"kind":"drop"}}), "crate"),
        (
            json!({"action":"Create","effect":{"kind":"drop"}}),
            "Create",
        ),
        (
            json!({"action":"create","effect":{"kind":"error","code":0}}),
            "code",
        ),
    ] {
        let got = app
            .control_raw("POST", "/_mock/faults", body.to_string())
            .await;
        control_error(&body.to_string(), &got, 400, "bad_fault");
        let message = got.body["message"].as_str().unwrap_or_default();
        assert!(message.contains(word), "{body}: {message}");
    }
    let faults = app.control_ok("GET", "/_mock/faults", json!(null)).await;
    assert_eq!(faults, json!({"faults": []}));
    // Every known action, `refund` (module common) included, takes a rule.
    for action in ["getzones", "create", "degrade_cancel", "refund"] {
        app.control_ok(
            "POST",
            "/_mock/faults",
            json!({"action":action,"effect":{"kind":"error","code":2}}),
        )
        .await;
    }
}

async fn journal(app: &TestApp, query: &str) -> Value {
    app.control_ok("GET", &format!("/_mock/requests?{query}"), json!(null))
        .await
}

#[tokio::test]
async fn the_journal_forgets_its_losses_when_emptied() {
    let app = TestApp::with(
        MockEngine::builder()
            .rng_seed(42)
            .config(|c| c.journal_size = 3),
    )
    .await;
    for clear in [("DELETE", "/_mock/requests"), ("POST", "/_mock/reset")] {
        for _ in 0..5 {
            app.ok("getzones", json!({})).await;
        }
        let before = journal(&app, "").await;
        assert_eq!(before["dropped"], 2, "{before}");
        app.control_ok(clear.0, clear.1, json!(null)).await;
        let after = journal(&app, "").await;
        assert_eq!(after["requests"], json!([]), "{clear:?}");
        assert_eq!(after["dropped"], 0, "{clear:?}: {after}");
        assert_eq!(after["overflowed"], 0, "{clear:?}: {after}");
    }
}

#[tokio::test]
async fn the_journal_finds_a_call_by_every_guid_it_created_or_touched() {
    let app = TestApp::spawn().await;
    let created = app.ok("create", TestApp::create_request(2)).await;
    let guids: Vec<String> = created
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|i| i["guid"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(guids.len(), 2, "{created}");
    for guid in &guids {
        let found = journal(&app, &format!("guid={guid}")).await;
        let entries = found["requests"].as_array().cloned().unwrap_or_default();
        assert_eq!(entries.len(), 1, "{guid}: {found}");
        assert_eq!(entries[0]["action"], "create");
        assert_eq!(entries[0]["guid"], guids[0].as_str());
        assert_eq!(entries[0]["guids"], json!(guids));
    }
    // A call that names its instance keeps that as `guid`.
    app.ok("stop", json!({"guid": EXAMPLE_GUID})).await;
    let found = journal(&app, &format!("guid={EXAMPLE_GUID}")).await;
    let entries = found["requests"].as_array().cloned().unwrap_or_default();
    assert_eq!(entries.len(), 1, "{found}");
    assert_eq!(entries[0]["guid"], EXAMPLE_GUID);
    assert_eq!(entries[0]["guids"], json!([EXAMPLE_GUID]));
    // A refused create made nothing: no GUID to find it by.
    app.fails("create", json!({"lineGuid": "1"}), "missing_param")
        .await;
    let last = journal(&app, "limit=1").await;
    assert_eq!(last["requests"][0]["guids"], json!([]), "{last}");
    assert_eq!(last["requests"][0]["guid"], Value::Null, "{last}");
}

#[tokio::test]
async fn vtime_is_checked_for_its_form_only_and_says_so() {
    let app = TestApp::spawn().await;
    let with_vtime = |vtime: &str| {
        let mut pairs = app.client().signed_pairs("getzones", &json!({}));
        for (k, v) in pairs.iter_mut() {
            if k == "vtime" {
                *v = vtime.to_string();
            }
        }
        pairs
    };
    // A month-old date, as the document's degrade example sends, is fine.
    let old = app.post_form(&with_vtime("20210801")).await;
    assert_eq!(old.code(), 0, "{}", old.text);
    for bad in ["2021-08-01", "20211301", "today"] {
        let answer = app.post_form(&with_vtime(bad)).await;
        assert_eq!(answer.code(), 1, "{bad}: {}", answer.text);
        let message = answer.json()["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(message.contains("YYYYMMDD"), "{bad}: {message}");
        assert!(
            !message.contains("当天"),
            "{bad}: the message claims a check that is not made: {message}"
        );
    }
}
