//! Control input read one way on every call (issue 18, items 4, 6 and 8's
//! "loose control input"): `[]` is `{}`, whole numbers in every form PHP
//! sends, fault effects that refuse a field they do not have, empty query
//! filters, `format=`, two `Authorization` headers, an invalid-UTF-8
//! namespace on every route, and the small truths (a refund's
//! `run_status`, an empty callback URL, the catalog's records).

use apayun_mock::MockEngine;
use serde_json::{json, Value};

use crate::helpers::*;

/// Sends `body` as JSON to a control call; returns the status and the
/// answer as JSON (a string when it is not JSON).
async fn send(app: &TestApp, method: &str, path: &str, body: &str) -> (u16, Value) {
    let got = app.control_raw(method, path, body.to_string()).await;
    (got.status, got.body)
}

/// A control error: the status, the reason, and a message naming `words`.
#[track_caller]
fn refused(what: &str, (status, body): &(u16, Value), want: (u16, &str), words: &[&str]) {
    assert_eq!(
        (*status, body["error"].as_str()),
        (want.0, Some(want.1)),
        "{what}: {body}"
    );
    let message = body["message"].as_str().unwrap_or_default();
    for w in words {
        assert!(message.contains(w), "{what}: {message:?} should name {w:?}");
    }
}

async fn faults(app: &TestApp) -> Value {
    app.control_ok("GET", "/_mock/faults", None).await["faults"].clone()
}

// ------------------------------------------------------------ [] is {}

#[tokio::test]
async fn an_empty_json_array_is_an_empty_object_on_every_object_body() {
    let app = TestApp::spawn().await;
    let example = format!("/_mock/baremetal/{EXAMPLE_GUID}");
    // Calls whose every field is optional take `[]` as they take `{}`.
    for (method, path, status) in [
        ("PATCH", example.as_str(), 200),
        ("PUT", "/_mock/users/1/callback", 200),
        ("POST", "/_mock/namespaces", 201),
        ("PUT", "/_mock/namespaces/from-an-empty-array", 201),
    ] {
        let (got, body) = send(&app, method, path, "[]").await;
        assert_eq!(got, status, "{method} {path} []: {body}");
        let (again, body) = send(&app, method, path, " [ ] ").await;
        assert!(
            again < 300 || path.contains("from-an"),
            "{method} {path}: {body}"
        );
    }
    // Calls with a required field miss it, as `{}` does: the array was read
    // as an empty object, not refused as an array.
    for (method, path, field) in [
        ("POST", "/_mock/clock/advance", "seconds"),
        ("POST", "/_mock/clock/set", "now"),
        ("POST", "/_mock/snapshots", "name"),
        ("POST", "/_mock/faults", "effect"),
        ("POST", "/_mock/call", "userid"),
    ] {
        let empty_object = send(&app, method, path, "{}").await;
        let empty_array = send(&app, method, path, "[]").await;
        assert_eq!(empty_array, empty_object, "{method} {path}");
        refused(path, &empty_array, (400, "bad_json"), &[field]);
    }
    // A non-empty array stays refused, on every kind of call.
    for (method, path) in [
        ("POST", "/_mock/clock/advance"),
        ("POST", "/_mock/faults"),
        ("POST", "/_mock/call"),
        ("PATCH", example.as_str()),
        ("PUT", "/_mock/users/1/callback"),
        ("POST", "/_mock/namespaces"),
    ] {
        for body in ["[86400]", r#"["1","create",{}]"#, "[[]]"] {
            let answer = send(&app, method, path, body).await;
            refused(
                &format!("{method} {path} {body}"),
                &answer,
                (400, "bad_json"),
                &["an array"],
            );
        }
    }
}

// ------------------------------------------------------------ fault effects

#[tokio::test]
async fn every_fault_effect_refuses_a_field_it_does_not_have() {
    let app = TestApp::spawn().await;
    for effect in [
        json!({"kind": "drop", "times": 1}),
        json!({"kind": "stall", "times": 1}),
        json!({"kind": "http", "status": 503, "times": 1}),
        json!({"kind": "error", "times": 1}),
        json!({"kind": "delay", "ms": 5, "times": 1}),
    ] {
        let answer = send(
            &app,
            "POST",
            "/_mock/faults",
            &json!({"effect": effect}).to_string(),
        )
        .await;
        refused(
            &effect.to_string(),
            &answer,
            (400, "bad_json"),
            &["effect", "times"],
        );
    }
    assert_eq!(faults(&app).await, json!([]), "a refused rule was kept");
    // The rule's own `times` is where it belongs.
    let (status, rule) = send(
        &app,
        "POST",
        "/_mock/faults",
        r#"{"times":1,"effect":{"kind":"drop"}}"#,
    )
    .await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!(rule["effect"], json!({"kind": "drop", "applied": false}));
}

#[tokio::test]
async fn a_delay_takes_ms_or_a_range_never_both() {
    let app = TestApp::spawn().await;
    for effect in [
        json!({"kind": "delay", "ms": 200, "min_ms": 50, "max_ms": 500}),
        json!({"kind": "delay", "ms": 200, "min_ms": 50}),
        json!({"kind": "delay", "ms": 200, "max_ms": 500}),
    ] {
        let answer = send(
            &app,
            "POST",
            "/_mock/faults",
            &json!({"effect": effect}).to_string(),
        )
        .await;
        refused(
            &effect.to_string(),
            &answer,
            (400, "bad_fault"),
            &["ms", "not both"],
        );
    }
    assert_eq!(faults(&app).await, json!([]));
}

// ------------------------------------------------------------ numbers

#[tokio::test]
async fn every_integer_field_takes_a_whole_number_in_every_form_php_sends() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    for seconds in [json!(30), json!(30.0), json!("30")] {
        let before = app.now().await;
        let (status, body) = send(
            &app,
            "POST",
            "/_mock/clock/advance",
            &json!({"seconds": seconds}).to_string(),
        )
        .await;
        assert_eq!(status, 200, "{seconds}: {body}");
        assert_eq!(
            app.now().await - before,
            chrono::Duration::seconds(30),
            "{seconds}"
        );
    }
    // Every integer of a fault rule, as a float and as a string.
    let (status, rule) = send(
        &app,
        "POST",
        "/_mock/faults",
        r#"{"action":"getzones","after":"1","times":2.0,"effect":{"kind":"delay","min_ms":"1","max_ms":2.0}}"#,
    )
    .await;
    assert_eq!(status, 201, "{rule}");
    assert_eq!(
        (&rule["after"], &rule["times"]),
        (&json!(1), &json!(2)),
        "{rule}"
    );
    assert_eq!(
        rule["effect"],
        json!({"kind": "delay", "min_ms": 1, "max_ms": 2})
    );
    for effect in [
        json!({"kind": "error", "code": "2"}),
        json!({"kind": "error", "code": 2.0}),
        json!({"kind": "http", "status": "503"}),
        json!({"kind": "http", "status": 503.0}),
        json!({"kind": "delay", "ms": "5"}),
    ] {
        let (status, body) = send(
            &app,
            "POST",
            "/_mock/faults",
            &json!({"action": "stop", "effect": effect}).to_string(),
        )
        .await;
        assert_eq!(status, 201, "{effect}: {body}");
    }
    // A forced state, and a query's numbers.
    let example = format!("/_mock/baremetal/{EXAMPLE_GUID}");
    for run_status in [json!(-1), json!(-1.0), json!("-1")] {
        let (status, body) = send(
            &app,
            "PATCH",
            &example,
            &json!({"run_status": run_status}).to_string(),
        )
        .await;
        assert_eq!(
            (status, &body["baremetal"]["run_status"]),
            (200, &json!("-1")),
            "{run_status}: {body}"
        );
    }
    let (status, body) = send(&app, "GET", "/_mock/instances?run_status=-1&limit=1", "").await;
    assert_eq!((status, body["total"].as_i64()), (200, Some(1)), "{body}");
}

#[tokio::test]
async fn anything_else_is_refused_naming_the_field() {
    let app = TestApp::spawn().await;
    let example = format!("/_mock/baremetal/{EXAMPLE_GUID}");
    for seconds in [
        json!(1.5),
        json!("1.5"),
        json!("30.0"),
        json!(""),
        json!(true),
        json!([30]),
    ] {
        let answer = send(
            &app,
            "POST",
            "/_mock/clock/advance",
            &json!({"seconds": seconds}).to_string(),
        )
        .await;
        refused(
            &seconds.to_string(),
            &answer,
            (400, "bad_seconds"),
            &["seconds", "whole number"],
        );
    }
    for (rule, field) in [
        (json!({"after": 1.5, "effect": {"kind": "drop"}}), "after"),
        (
            json!({"times": "twice", "effect": {"kind": "drop"}}),
            "times",
        ),
        (json!({"times": -1, "effect": {"kind": "drop"}}), "times"),
        (json!({"effect": {"kind": "error", "code": true}}), "code"),
        (
            json!({"effect": {"kind": "http", "status": "5xx"}}),
            "status",
        ),
        (
            json!({"effect": {"kind": "http", "status": 70000}}),
            "status",
        ),
        (json!({"effect": {"kind": "delay", "ms": 0.5}}), "ms"),
        (
            json!({"effect": {"kind": "delay", "min_ms": "", "max_ms": 9}}),
            "min_ms",
        ),
    ] {
        let answer = send(&app, "POST", "/_mock/faults", &rule.to_string()).await;
        refused(
            &rule.to_string(),
            &answer,
            (400, "bad_json"),
            &[field, "whole number"],
        );
    }
    assert_eq!(faults(&app).await, json!([]));
    for value in [json!(true), json!(1.5), json!("1.0")] {
        let answer = send(
            &app,
            "PATCH",
            &example,
            &json!({"run_status": value}).to_string(),
        )
        .await;
        refused(
            &value.to_string(),
            &answer,
            (400, "bad_value"),
            &["run_status"],
        );
    }
    for (query, field) in [
        ("/_mock/instances?limit=5.0", "limit"),
        ("/_mock/instances?order_status=active", "order_status"),
        ("/_mock/requests?code=x", "code"),
        ("/_mock/requests?since=-1", "since"),
    ] {
        let answer = send(&app, "GET", query, "").await;
        refused(query, &answer, (400, "bad_query"), &[field]);
    }
}

#[tokio::test]
async fn one_advance_is_at_most_about_a_hundred_years() {
    let app = TestApp::spawn().await;
    const MAX: i64 = 100 * 366 * 86_400;
    let answer = send(
        &app,
        "POST",
        "/_mock/clock/advance",
        &json!({"seconds": MAX + 1}).to_string(),
    )
    .await;
    refused(
        "past the cap",
        &answer,
        (400, "bad_seconds"),
        &[&MAX.to_string(), "100 years"],
    );
    let (status, body) = send(
        &app,
        "POST",
        "/_mock/clock/advance",
        &json!({"seconds": MAX}).to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

// ------------------------------------------------------------ query strings

#[tokio::test]
async fn an_empty_query_filter_is_no_filter() {
    let app = TestApp::spawn().await;
    app.create_running().await;
    let (_, all) = send(&app, "GET", "/_mock/instances", "").await;
    assert_eq!(all["total"], 2, "{all}");
    let template = "/_mock/instances?userid=&order_status=&run_status=&act_status=&limit=&offset=";
    let (status, filtered) = send(&app, "GET", template, "").await;
    assert_eq!(
        (status, &filtered["instances"]),
        (200, &all["instances"]),
        "{filtered}"
    );

    let (_, journal) = send(&app, "GET", "/_mock/requests", "").await;
    assert!(
        !journal["requests"].as_array().is_none_or(Vec::is_empty),
        "{journal}"
    );
    let template = "/_mock/requests?action=&userid=&guid=&code=&since=&limit=&format=";
    let (status, filtered) = send(&app, "GET", template, "").await;
    assert_eq!(
        (status, &filtered["requests"]),
        (200, &journal["requests"]),
        "{filtered}"
    );

    // Still refused: an unknown parameter, even empty, and one given twice.
    for query in [
        "/_mock/instances?colour=",
        "/_mock/requests?colour=",
        "/_mock/instances?limit=1&limit=2",
        "/_mock/requests?action=create&action=stop",
    ] {
        let answer = send(&app, "GET", query, "").await;
        refused(query, &answer, (400, "bad_query"), &[]);
    }
}

#[tokio::test]
async fn the_journal_format_is_json_or_jsonl_and_nothing_else() {
    let app = TestApp::spawn().await;
    app.ok("getzones", json!({})).await;
    let (status, json_answer) = send(&app, "GET", "/_mock/requests?format=json", "").await;
    assert_eq!(status, 200);
    assert_eq!(
        json_answer["requests"].as_array().map(Vec::len),
        Some(1),
        "{json_answer}"
    );
    let (status, lines) = send(&app, "GET", "/_mock/requests?format=jsonl", "").await;
    assert_eq!(status, 200);
    assert!(
        lines.is_object() || lines.is_string(),
        "one JSON line: {lines}"
    );
    for format in ["json1", "JSONL", "xml", "csv"] {
        let path = format!("/_mock/requests?format={format}");
        let answer = send(&app, "GET", &path, "").await;
        refused(&path, &answer, (400, "bad_query"), &["format", "json"]);
    }
}

// ------------------------------------------------------------ Authorization

/// `GET path` with each of `tokens` as its own `Authorization` header.
async fn with_authorization(app: &TestApp, path: &str, tokens: &[&str]) -> (u16, Value) {
    let mut request = app.http.get(format!("{}{path}", app.url()));
    for token in tokens {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let resp = request.send().await.expect("send");
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn two_authorization_headers_are_refused_as_ambiguous() {
    let app = TestApp::with(MockEngine::builder().rng_seed(42).admin_token("s3cret")).await;
    let (status, _) = with_authorization(&app, "/_mock/clock", &["s3cret"]).await;
    assert_eq!(status, 200);
    for tokens in [
        ["s3cret", "s3cret"],
        ["wrong", "s3cret"],
        ["s3cret", "wrong"],
    ] {
        let answer = with_authorization(&app, "/_mock/clock", &tokens).await;
        refused(
            &format!("{tokens:?}"),
            &answer,
            (400, "ambiguous_authorization"),
            &["2 Authorization"],
        );
    }
    // Without a token the header decides nothing, but two stay ambiguous.
    let open = TestApp::spawn().await;
    let answer = with_authorization(&open, "/_mock/clock", &["a", "b"]).await;
    refused(
        "no token configured",
        &answer,
        (400, "ambiguous_authorization"),
        &[],
    );
    // `/api` authenticates by its sign and reads no Authorization header.
    let pairs = open.client().signed_pairs("getzones", &json!({}));
    let resp = open
        .http
        .post(format!("{}/api", open.url()))
        .header("authorization", "Bearer a")
        .header("authorization", "Bearer b")
        .form(&pairs)
        .send()
        .await
        .expect("send");
    let answer: Value = resp.json().await.expect("json");
    assert_eq!(answer["code"], 0, "{answer}");
}

// ------------------------------------------------------------ namespaces

#[tokio::test]
async fn an_invalid_utf8_namespace_is_a_json_bad_namespace_on_every_route() {
    let app = TestApp::spawn().await;
    let ns = "/ns/%FF%FE";
    let mut routes: Vec<(&str, String)> = [
        ("GET", "health"),
        ("POST", "reset"),
        ("GET", "clock"),
        ("POST", "clock/advance"),
        ("POST", "clock/set"),
        ("POST", "clock/freeze"),
        ("POST", "clock/resume"),
        ("GET", "timeline"),
        ("GET", "callbacks"),
        ("PUT", "users/1/callback"),
        ("POST", "faults"),
        ("GET", "faults"),
        ("DELETE", "faults"),
        ("DELETE", "faults/1"),
        ("GET", "requests"),
        ("DELETE", "requests"),
        ("POST", "snapshots"),
        ("GET", "snapshots"),
        ("POST", "snapshots/s/restore"),
        ("DELETE", "snapshots/s"),
        ("PATCH", "baremetal/1708330228791024"),
        ("GET", "instances"),
        ("GET", "instances/1708330228791024"),
        ("GET", "catalog"),
        ("GET", "users"),
        ("POST", "call"),
        ("GET", "events"),
    ]
    .iter()
    .map(|(m, p)| (*m, format!("{ns}/_mock/{p}")))
    .collect();
    routes.push(("POST", format!("{ns}/api")));
    for (method, path) in &routes {
        let (status, body) = send(&app, method, path, "{}").await;
        assert_eq!(
            (
                status,
                body["error"]
                    .as_str()
                    .or(body["code"].as_i64().map(|_| "envelope"))
            ),
            (
                400,
                Some(if path.ends_with("/api") {
                    "envelope"
                } else {
                    "bad_namespace"
                })
            ),
            "{method} {path}: {body}"
        );
        let message = body["message"].as_str().unwrap_or_default();
        assert!(
            message.contains('\u{fffd}'),
            "{method} {path} names the name: {message:?}"
        );
    }
}

// ------------------------------------------------------------ small truths

#[tokio::test]
async fn a_refunded_instance_is_powered_off_and_leaves_a_purge_pending() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    let guid = app.create_running().await;
    assert_eq!(app.instance(&guid).await["run_status"], "1");
    app.ok(
        "refund",
        json!({"module": "common", "guid": guid, "productType": "baremetal"}),
    )
    .await;
    let inst = app.instance(&guid).await;
    assert_eq!(
        (
            text(&inst["order_status"]),
            text(&inst["run_status"]),
            text(&inst["act_status"])
        ),
        ("-2".into(), "-1".into(), "0".into())
    );
    let kinds: Vec<Value> = app
        .pending()
        .await
        .into_iter()
        .filter(|t| t["guid"] == guid.as_str())
        .map(|t| t["kind"].clone())
        .collect();
    assert_eq!(kinds, [json!("purged")]);
}

#[tokio::test]
async fn an_empty_callback_url_answers_what_it_stored() {
    let app = TestApp::spawn().await;
    let (status, set) = send(
        &app,
        "PUT",
        "/_mock/users/1/callback",
        r#"{"url":"http://127.0.0.1:9/hook"}"#,
    )
    .await;
    assert_eq!(
        (status, &set["url"]),
        (200, &json!("http://127.0.0.1:9/hook"))
    );
    for body in [r#"{"url":""}"#, r#"{"url":null}"#, "{}"] {
        let (status, answer) = send(&app, "PUT", "/_mock/users/1/callback", body).await;
        assert_eq!(
            answer,
            json!({"userid": "1", "url": null}),
            "{body}: {status}"
        );
        let users = app.control_ok("GET", "/_mock/users", None).await;
        assert_eq!(
            users["users"][0],
            json!({"userid": "1", "callback_url": null}),
            "{body}"
        );
    }
}

#[tokio::test]
async fn the_catalog_carries_the_engines_own_records() {
    let app = TestApp::spawn().await;
    let catalog = app.control_ok("GET", "/_mock/catalog", None).await;
    assert_eq!(
        catalog["zones"],
        app.ok("getzones", json!({})).await["zones"]
    );
    assert_eq!(catalog["lines"], app.ok("sync_line", json!({})).await);
    let systems = app.ok("getsystems", json!({"page_length": "1000"})).await;
    assert_eq!(catalog["systems"], systems["systems"]);
    // Products: the sync_product record, plus the mock's stock counters.
    let products = app.ok("sync_product", json!({})).await;
    let listed = catalog["products"].as_array().cloned().unwrap_or_default();
    assert_eq!(listed.len(), products.as_array().map_or(0, Vec::len));
    for (mine, theirs) in listed.iter().zip(products.as_array().into_iter().flatten()) {
        let mut record = mine.clone();
        let stock = record
            .as_object_mut()
            .map(|r| (r.remove("stock_total"), r.remove("stock_free")));
        assert_eq!(&record, theirs);
        let Some((Some(total), Some(free))) = stock else {
            panic!("no stock counters in {mine}");
        };
        assert!(total.is_u64() && free.as_u64() <= total.as_u64(), "{mine}");
    }
    // Every rule field an order form needs, in the engine's types.
    let line = &catalog["lines"][0];
    for field in [
        "months",
        "buy_order_max_num",
        "ip_num_list",
        "ip_max_size",
        "ip_upgrade_type",
        "bandwidth_max_size",
        "defense_max_size",
        "defense_step",
        "ip_bandwidth_rate",
        "buy_status",
        "renew_status",
        "upgrade_status",
        "defense_status",
        "reservation_degrade_status",
        "reservation_degrade_valid_limit",
    ] {
        assert!(line[field].is_string(), "{field}: {}", line[field]);
    }
}
