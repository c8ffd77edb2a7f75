//! The control-API calls behind the dashboard, over plain HTTP: instances
//! of every member, one instance in detail, the catalog, members, signed
//! calls on a member's behalf, the event stream, and the page's own
//! serving and guard.

use std::time::{Duration, Instant};

use apayun_mock::MockEngine;
use serde_json::{json, Value};

use crate::helpers::{TestApp, EXAMPLE_GUID, LINE, PRODUCT, SYSTEM};

async fn get(app: &TestApp, path: &str) -> (u16, Value) {
    app.control("GET", path, None).await
}

#[tokio::test]
async fn instances_lists_every_member_with_words_for_each_state() {
    let app = TestApp::spawn().await;
    let mine = app.create_running().await;
    let theirs = app
        .user2()
        .call("create", TestApp::create_request(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(theirs.code(), 0, "{}", theirs.text);
    let (status, all) = get(&app, "/_mock/instances").await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["total"], 3);
    let list = all["instances"].as_array().cloned().unwrap_or_default();
    // Newest first, whoever owns them.
    assert_eq!(list[0]["userid"], "2");
    assert_eq!(list[1]["guid"], mine.as_str());
    assert_eq!(list[2]["guid"], EXAMPLE_GUID);
    let example = &list[2];
    assert_eq!(example["zone"]["name"], "深圳一区");
    assert_eq!(example["line"]["guid"], LINE);
    assert_eq!(example["product"]["name"], "zhzy4.0");
    assert_eq!(example["primary_ip"], "192.168.12.48");
    assert_eq!(example["ip_count"], 9);
    assert_eq!(example["subnet_count"], 1);
    assert_eq!(example["order_status"], "1");
    assert_eq!(
        example["labels"],
        json!({"order_status": {"zh": "正常", "en": "active"},
               "run_status": {"zh": "运行中", "en": "running"},
               "act_status": {"zh": "无操作", "en": "idle"}})
    );
    // Seeded a day before start with twelve months to run.
    let days = example["days_left"].as_i64().unwrap_or_default();
    assert!((360..=366).contains(&days), "{days}");
    assert_eq!(list[0]["labels"]["order_status"]["en"], "provisioning");

    let (_, member2) = get(&app, "/_mock/instances?userid=2").await;
    assert_eq!(member2["total"], 1);
    let (_, provisioning) = get(&app, "/_mock/instances?order_status=0").await;
    assert_eq!(provisioning["instances"][0]["userid"], "2");
    assert_eq!(provisioning["total"], 1);
    let (_, paged) = get(&app, "/_mock/instances?limit=1&offset=1").await;
    assert_eq!(paged["instances"][0]["guid"], mine.as_str());
    assert_eq!(paged["total"], 3);

    for bad in [
        "limit=0",
        "limit=5001",
        "offset=-1",
        "order_status=x",
        "colour=red",
    ] {
        let (status, body) = get(&app, &format!("/_mock/instances?{bad}")).await;
        assert_eq!(status, 400, "{bad}: {body}");
        assert_eq!(body["error"], "bad_query", "{bad}");
    }
}

#[tokio::test]
async fn one_instance_shows_its_subnets_records_and_pending_transitions() {
    let app = TestApp::spawn().await;
    let (status, d) = get(&app, &format!("/_mock/instances/{EXAMPLE_GUID}")).await;
    assert_eq!(status, 200, "{d}");
    assert_eq!(d["instance"]["guid"], EXAMPLE_GUID);
    assert_eq!(
        d["subnets"],
        json!([{"cidr": "114.114.8.16/29", "network": "114.114.8.16", "gateway": "114.114.8.17",
                "broadcast": "114.114.8.23", "mask": "255.255.255.248", "size": 8, "status": "1",
                "value": "114.114.8.16-23", "order_no_api": "160682598814128134"}])
    );
    // The document's single view, as sync_baremetal shows it.
    let view = app.instance(EXAMPLE_GUID).await;
    assert_eq!(d["baremetal"], view);
    assert_eq!(d["pending"][0]["kind"], "expired");

    let guid = app.ok("create", TestApp::create_request(1)).await[0]["guid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (_, fresh) = get(&app, &format!("/_mock/instances/{guid}")).await;
    assert_eq!(fresh["pending"][0]["kind"], "provisioned");
    let due_in = fresh["pending"][0]["due_in_seconds"].as_i64().unwrap_or(-1);
    assert!((28..=30).contains(&due_in), "{due_in}");
    assert_eq!(fresh["subnets"], json!([]));
    // Another member's instance is visible here: this is the tester's view.
    assert_eq!(fresh["instance"]["userid"], "1");

    let (status, missing) = get(&app, "/_mock/instances/1700000000000000").await;
    assert_eq!(status, 404);
    assert_eq!(missing["error"], "unknown_instance");
}

#[tokio::test]
async fn catalog_and_users_never_show_keys() {
    let app = TestApp::spawn().await;
    let (status, catalog) = get(&app, "/_mock/catalog").await;
    assert_eq!(status, 200);
    assert_eq!(catalog["zones"].as_array().map(Vec::len), Some(3));
    assert_eq!(catalog["lines"].as_array().map(Vec::len), Some(4));
    let line = &catalog["lines"][0];
    assert_eq!(line["guid"], LINE);
    assert_eq!(line["months"], "1,2,3,4,5,6,12,24,36");
    let product = catalog["products"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["guid"] == PRODUCT))
        .cloned()
        .unwrap_or_default();
    assert_eq!(product["line_guid"], LINE);
    assert!(product["stock_free"].as_i64().unwrap_or(0) > 0, "{product}");
    let system = catalog["systems"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["guid"] == SYSTEM))
        .cloned()
        .unwrap_or_default();
    assert_eq!(system["type"], "create,install");

    let (status, users) = get(&app, "/_mock/users").await;
    assert_eq!(status, 200);
    assert_eq!(
        users,
        json!({"users": [{"userid": "1", "callback_url": null}, {"userid": "2", "callback_url": null}]})
    );
    for body in [catalog.to_string(), users.to_string()] {
        assert!(!body.contains("mock-api-key"), "a key leaked: {body}");
        assert!(!body.contains("api_key"), "a key field leaked: {body}");
    }
}

#[tokio::test]
async fn call_signs_for_the_member_and_goes_through_the_api_pipeline() {
    let app = TestApp::spawn().await;
    let (status, r) = app
        .control(
            "POST",
            "/_mock/call",
            Some(json!({"userid": "2", "action": "create", "params": TestApp::create_request(1)})),
        )
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(r["status"], 200);
    assert_eq!(r["answer"]["code"], 0, "{r}");
    let guid = r["answer"]["data"][0]["guid"].as_str().unwrap_or_default();
    // The instance is member 2's: member 2 sees it, member 1 does not.
    let theirs = app
        .user2()
        .call("sync_baremetal", json!({"guid": guid}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(theirs.code(), 0);
    app.fails("sync_baremetal", json!({"guid": guid}), "not_found")
        .await;
    // It is in the journal like any client's call, password masked.
    let journal = app
        .engine
        .requests("action=create")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0]["userid"], "2");
    assert_eq!(journal[0]["params"]["loginPassword"], "***");

    // Business errors come back as the engine answered them.
    let (_, refused) = app
        .control(
            "POST",
            "/_mock/call",
            Some(json!({"userid": "1", "action": "stop", "params": {"guid": "1700000000000000"}})),
        )
        .await;
    assert_eq!(refused["answer"]["code"], 1);
    assert_eq!(refused["reason"], "not_found");

    // Faults apply, a dropped connection included.
    app.engine
        .add_fault(json!({"action": "getzones", "times": 1, "effect": {"kind": "drop"}}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let (status, dropped) = app
        .control(
            "POST",
            "/_mock/call",
            Some(json!({"userid": "1", "action": "getzones"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(dropped["reason"], "dropped");
    assert!(dropped["transport_error"].is_string(), "{dropped}");

    for (body, status, reason) in [
        (
            json!({"userid": "9", "action": "getzones"}),
            404,
            "unknown_user",
        ),
        (json!({"userid": "1", "action": " "}), 400, "bad_action"),
        (json!({"userid": "1"}), 400, "bad_json"),
        (
            json!({"userid": "1", "action": "getzones", "key": "x"}),
            400,
            "bad_json",
        ),
        (
            json!({"userid": "1", "action": "getzones", "params": [1]}),
            400,
            "bad_json",
        ),
    ] {
        let (got, answer) = app.control("POST", "/_mock/call", Some(body.clone())).await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(answer["error"], reason, "{body}");
    }
}

/// Reads a server-sent event stream until `want` event names were seen (or
/// the deadline passes); returns the names seen.
async fn read_events(resp: &mut reqwest::Response, want: &[&str], limit: Duration) -> Vec<String> {
    let started = Instant::now();
    let mut text = String::new();
    let mut names = Vec::new();
    while started.elapsed() < limit && !want.iter().all(|w| names.iter().any(|n| n == w)) {
        let left = limit.saturating_sub(started.elapsed());
        match tokio::time::timeout(left, resp.chunk()).await {
            Ok(Ok(Some(chunk))) => text.push_str(&String::from_utf8_lossy(&chunk)),
            _ => break,
        }
        names = text
            .lines()
            .filter_map(|l| {
                l.strip_prefix("event: ")
                    .or_else(|| l.strip_prefix("event:"))
            })
            .map(|n| n.trim().to_string())
            .collect();
    }
    names
}

#[tokio::test]
async fn events_name_what_changed_and_stay_in_their_namespace() {
    let app = TestApp::spawn().await;
    let mut resp = app
        .http
        .get(format!("{}/_mock/events", app.url()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("text/event-stream")
    );
    assert_eq!(
        read_events(&mut resp, &["ready"], Duration::from_secs(5)).await,
        ["ready"]
    );
    // Another namespace's traffic says nothing here.
    let other = apayun_mock::client::Client::new(
        &format!("{}/ns/elsewhere", app.url()),
        "1",
        "mock-api-key",
    );
    let answer = other
        .call("create", TestApp::create_request(1))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.code(), 0);
    let quiet = read_events(&mut resp, &["journal"], Duration::from_millis(600)).await;
    assert!(quiet.is_empty(), "events from another namespace: {quiet:?}");

    app.ok("create", TestApp::create_request(1)).await;
    let seen = read_events(&mut resp, &["journal", "instances"], Duration::from_secs(5)).await;
    assert!(
        seen.contains(&"journal".to_string()) && seen.contains(&"instances".to_string()),
        "{seen:?}"
    );
    app.advance(60).await;
    let seen = read_events(&mut resp, &["clock"], Duration::from_secs(5)).await;
    assert!(seen.contains(&"clock".to_string()), "{seen:?}");
}

#[tokio::test]
async fn an_open_event_stream_does_not_hold_up_shutdown() {
    let engine = MockEngine::start().await.unwrap_or_else(|e| panic!("{e}"));
    let mut resp = reqwest::get(format!("{}/_mock/events", engine.base_url()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        read_events(&mut resp, &["ready"], Duration::from_secs(5)).await,
        ["ready"]
    );
    let stopped = tokio::time::timeout(Duration::from_secs(5), engine.stop()).await;
    assert!(stopped.is_ok(), "the server waited for the event stream");
    // The stream ended rather than hanging.
    let end = tokio::time::timeout(Duration::from_secs(5), resp.chunk()).await;
    assert!(matches!(end, Ok(Ok(None)) | Ok(Err(_))), "{end:?}");
}

#[tokio::test]
async fn the_page_is_served_from_the_binary_with_a_strict_policy() {
    let app = TestApp::spawn().await;
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let root = no_redirect
        .get(format!("{}/", app.url()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(root.status(), 303);
    assert_eq!(
        root.headers().get("location").and_then(|v| v.to_str().ok()),
        Some("/_mock/ui")
    );
    let post = app
        .http
        .post(format!("{}/_mock/ui", app.url()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(post.status(), 405);
    let body: Value = post.json().await.unwrap_or_default();
    assert_eq!(body["error"], "method_not_allowed");
    for (path, kind) in [
        ("/_mock/ui", "text/html"),
        ("/_mock/ui/app.js", "text/javascript"),
        ("/_mock/ui/style.css", "text/css"),
    ] {
        let resp = app
            .http
            .get(format!("{}{path}", app.url()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status(), 200, "{path}");
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_string()
        };
        assert!(header("content-type").starts_with(kind), "{path}");
        let csp = header("content-security-policy");
        assert!(
            csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
            "{csp}"
        );
        let body = resp.text().await.unwrap_or_default();
        // Offline: nothing is fetched from anywhere else.
        assert!(
            !body.contains("https://") && !body.contains("http://cdn"),
            "{path} links out"
        );
    }
}

#[tokio::test]
async fn with_a_token_the_page_loads_but_every_call_and_the_stream_need_it() {
    let app = TestApp::with(MockEngine::builder().admin_token("tok-14")).await;
    let page = app
        .http
        .get(format!("{}/_mock/ui", app.url()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(page.status(), 200, "the page asks for the token itself");
    for path in [
        "/_mock/instances",
        "/_mock/catalog",
        "/_mock/events",
        "/_mock/users",
    ] {
        let resp = app
            .http
            .get(format!("{}{path}", app.url()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(resp.status(), 401, "{path}");
        let ok = app
            .http
            .get(format!("{}{path}", app.url()))
            .bearer_auth("tok-14")
            .send()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.status(), 200, "{path}");
    }
    let call = app
        .http
        .post(format!("{}/_mock/call", app.url()))
        .json(&json!({"userid": "1", "action": "getzones"}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(call.status(), 401);
}
