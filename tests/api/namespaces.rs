//! Namespaces (`/ns/{name}/api`, `/ns/{name}/_mock/…`): isolated engines in
//! one process — same GUID space, own clock, journal, faults and resets —
//! created on first use, listed, deleted, validated and bounded; and
//! determinism under `--rng-seed`.

use apayun_mock::client::{Answer, Client};
use apayun_mock::MockEngine;
use serde_json::{json, Value};

use crate::helpers::{TestApp, EXAMPLE_GUID};

/// The signed userid-1 client of a namespace.
fn ns_client(app: &TestApp, name: &str) -> Client {
    Client::new(&format!("{}/ns/{name}", app.url()), "1", "mock-api-key")
}

async fn ns_call(app: &TestApp, name: &str, action: &str, params: Value) -> Answer {
    ns_client(app, name)
        .call(action, params)
        .await
        .unwrap_or_else(|e| panic!("{name} {action}: {e}"))
}

/// A call in a namespace that must succeed; returns `data`.
async fn ns_ok(app: &TestApp, name: &str, action: &str, params: Value) -> Value {
    let answer = ns_call(app, name, action, params).await;
    assert_eq!(answer.code(), 0, "{name} {action}: {}", answer.text);
    answer.data()
}

/// A control call in a namespace (`default` is the plain `/_mock`).
async fn ns_control(
    app: &TestApp,
    name: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let prefix = if name == "default" {
        String::new()
    } else {
        format!("/ns/{name}")
    };
    app.control(method, &format!("{prefix}/_mock{path}"), body)
        .await
}

async fn ns_control_ok(
    app: &TestApp,
    name: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Value {
    let (status, value) = ns_control(app, name, method, path, body).await;
    assert!(
        (200..300).contains(&status),
        "{name} {method} {path}: {status} {value}"
    );
    value
}

/// The names `GET /_mock/namespaces` lists, in order.
async fn namespaces(app: &TestApp) -> Value {
    let (status, body) = app.control("GET", "/_mock/namespaces", None).await;
    assert_eq!(status, 200, "{body}");
    let names: Vec<Value> = body["namespaces"]
        .as_array()
        .map(|list| list.iter().map(|n| n["name"].clone()).collect())
        .unwrap_or_default();
    Value::Array(names)
}

async fn journal_len(app: &TestApp, name: &str) -> usize {
    ns_control_ok(app, name, "GET", "/requests", None).await["requests"]
        .as_array()
        .map(Vec::len)
        .unwrap_or(0)
}

async fn offset(app: &TestApp, name: &str) -> i64 {
    ns_control_ok(app, name, "GET", "/clock", None).await["offset_seconds"]
        .as_i64()
        .expect("offset_seconds")
}

fn guid_of(data: &Value) -> String {
    data[0]["guid"].as_str().expect("guid").to_string()
}

#[tokio::test]
async fn namespaces_share_the_guid_space_but_not_state() {
    let app = TestApp::spawn().await;
    // The seeded example instance exists in each.
    for name in ["default", "a", "b"] {
        let data = ns_ok(&app, name, "sync_baremetal", json!({"guid": EXAMPLE_GUID})).await;
        assert_eq!(data["baremetal"]["guid"], EXAMPLE_GUID, "{name}");
    }
    // An instance created in one namespace is unknown to the others.
    let in_a = guid_of(&ns_ok(&app, "a", "create", TestApp::create_request(1)).await);
    ns_ok(&app, "a", "sync_baremetal", json!({"guid": in_a})).await;
    for name in ["default", "b"] {
        let answer = ns_call(&app, name, "sync_baremetal", json!({"guid": in_a})).await;
        assert_eq!(
            answer.reason.as_deref(),
            Some("not_found"),
            "{name}: {}",
            answer.text
        );
    }
    // A state change in one is not seen in another.
    ns_ok(&app, "b", "stop", json!({"guid": EXAMPLE_GUID})).await;
    for (name, act_status) in [("b", "6"), ("a", "0"), ("default", "0")] {
        let data = ns_ok(&app, name, "sync_baremetal", json!({"guid": EXAMPLE_GUID})).await;
        assert_eq!(data["baremetal"]["act_status"], act_status, "{name}");
    }
}

#[tokio::test]
async fn clocks_are_independent() {
    let app = TestApp::spawn().await;
    ns_control_ok(
        &app,
        "a",
        "POST",
        "/clock/advance",
        Some(json!({"seconds": 86400})),
    )
    .await;
    ns_control_ok(&app, "b", "POST", "/clock/freeze", None).await;
    assert_eq!(offset(&app, "a").await, 86400);
    assert!(offset(&app, "default").await.abs() <= 1);
    assert!(offset(&app, "b").await.abs() <= 1);
    let frozen = |v: Value| v["frozen"].clone();
    assert_eq!(
        frozen(ns_control_ok(&app, "b", "GET", "/clock", None).await),
        true
    );
    assert_eq!(
        frozen(ns_control_ok(&app, "a", "GET", "/clock", None).await),
        false
    );
    assert_eq!(
        frozen(ns_control_ok(&app, "default", "GET", "/clock", None).await),
        false
    );

    // Transitions follow their own namespace's clock.
    let in_a = guid_of(&ns_ok(&app, "a", "create", TestApp::create_request(1)).await);
    let in_default = guid_of(&app.ok("create", TestApp::create_request(1)).await);
    ns_control_ok(
        &app,
        "a",
        "POST",
        "/clock/advance",
        Some(json!({"seconds": 60})),
    )
    .await;
    let a_view = ns_ok(&app, "a", "sync_baremetal", json!({"guid": in_a})).await;
    assert_eq!(a_view["baremetal"]["order_status"], "1");
    assert_eq!(app.instance(&in_default).await["order_status"], "0");
}

#[tokio::test]
async fn journals_faults_and_resets_are_independent() {
    let app = TestApp::spawn().await;
    ns_ok(&app, "a", "getzones", json!({})).await;
    ns_ok(&app, "a", "sync_line", json!({})).await;
    app.ok("getzones", json!({})).await;
    assert_eq!(journal_len(&app, "a").await, 2);
    assert_eq!(journal_len(&app, "default").await, 1);
    assert_eq!(journal_len(&app, "b").await, 0);

    // A fault in one namespace fires only there.
    let (status, rule) = ns_control(
        &app,
        "a",
        "POST",
        "/faults",
        Some(json!({"action": "getzones", "effect": {"kind": "error", "reason": "ns_fault"}})),
    )
    .await;
    assert_eq!(status, 201, "{rule}");
    let answer = ns_call(&app, "a", "getzones", json!({})).await;
    assert_eq!(answer.reason.as_deref(), Some("ns_fault"));
    ns_ok(&app, "b", "getzones", json!({})).await;
    app.ok("getzones", json!({})).await;
    assert_eq!(
        ns_control_ok(&app, "default", "GET", "/faults", None).await,
        json!({"faults": []})
    );

    // Resetting one leaves the others as they are.
    let in_a = guid_of(&ns_ok(&app, "a", "create", TestApp::create_request(1)).await);
    let in_default = guid_of(&app.ok("create", TestApp::create_request(1)).await);
    ns_control_ok(
        &app,
        "a",
        "POST",
        "/clock/advance",
        Some(json!({"seconds": 600})),
    )
    .await;
    ns_control_ok(&app, "a", "POST", "/reset", None).await;
    assert_eq!(journal_len(&app, "a").await, 0);
    assert_eq!(
        ns_control_ok(&app, "a", "GET", "/faults", None).await,
        json!({"faults": []})
    );
    assert!(offset(&app, "a").await.abs() <= 1);
    let answer = ns_call(&app, "a", "sync_baremetal", json!({"guid": in_a})).await;
    assert_eq!(answer.reason.as_deref(), Some("not_found"));
    app.instance(&in_default).await;
    assert_eq!(journal_len(&app, "b").await, 1);

    ns_control_ok(&app, "default", "POST", "/reset", None).await;
    app.fails("sync_baremetal", json!({"guid": in_default}), "not_found")
        .await;
    assert_eq!(journal_len(&app, "b").await, 1);
}

#[tokio::test]
async fn created_on_first_use_listed_and_deleted() {
    let app = TestApp::spawn().await;
    assert_eq!(namespaces(&app).await, json!(["default"]));
    let (_, listed) = app.control("GET", "/_mock/namespaces", None).await;
    assert_eq!(listed["max"], 10_000);

    // First use through /api, then through the control API.
    ns_ok(&app, "suite-a", "getzones", json!({})).await;
    // (Any control call but health, which answers without creating one.)
    ns_control_ok(&app, "suite.b_2", "GET", "/clock", None).await;
    assert_eq!(
        namespaces(&app).await,
        json!(["default", "suite-a", "suite.b_2"])
    );

    // Deleting drops its state; a later call recreates it fresh.
    let made = guid_of(&ns_ok(&app, "suite-a", "create", TestApp::create_request(1)).await);
    ns_control_ok(
        &app,
        "suite-a",
        "POST",
        "/clock/advance",
        Some(json!({"seconds": 3600})),
    )
    .await;
    let (status, body) = app
        .control("DELETE", "/_mock/namespaces/suite-a", None)
        .await;
    assert_eq!((status, body), (200, json!({"deleted": "suite-a"})));
    assert_eq!(namespaces(&app).await, json!(["default", "suite.b_2"]));
    let answer = ns_call(&app, "suite-a", "sync_baremetal", json!({"guid": made})).await;
    assert_eq!(
        answer.reason.as_deref(),
        Some("not_found"),
        "{}",
        answer.text
    );
    assert_eq!(journal_len(&app, "suite-a").await, 1);
    assert!(offset(&app, "suite-a").await.abs() <= 1);
    assert_eq!(
        namespaces(&app).await,
        json!(["default", "suite-a", "suite.b_2"])
    );

    // (name, status, reason)
    for (name, want_status, want_reason) in [
        ("default", 409, "default_namespace"),
        ("never-made", 404, "unknown_namespace"),
    ] {
        let (status, body) = app
            .control("DELETE", &format!("/_mock/namespaces/{name}"), None)
            .await;
        assert_eq!(status, want_status, "{name}: {body}");
        assert_eq!(body["error"], want_reason, "{name}: {body}");
        assert!(body["message"].is_string(), "{body}");
    }
    // default is still there and still works.
    app.ok("getzones", json!({})).await;
    assert_eq!(
        namespaces(&app).await,
        json!(["default", "suite-a", "suite.b_2"])
    );
}

#[tokio::test]
async fn invalid_names_are_refused() {
    let app = TestApp::spawn().await;
    let long = "n".repeat(65);
    // Path segments as sent (percent-encoded where needed).
    let names = [
        "a%20b",
        "a*b",
        "caf%C3%A9",
        "a%2Fb",
        "x:y",
        ".hidden",
        "..x",
        "-x",
        long.as_str(),
    ];
    for name in names {
        let answer = ns_call(&app, name, "getzones", json!({})).await;
        assert_eq!(answer.status, 400, "{name}: {}", answer.text);
        assert_eq!(answer.reason.as_deref(), Some("bad_namespace"), "{name}");
        assert_eq!(answer.code(), 1, "{name}: {}", answer.text);

        let (status, body) = app
            .control("GET", &format!("/ns/{name}/_mock/clock"), None)
            .await;
        assert_eq!(status, 400, "{name}: {body}");
        assert_eq!(body["error"], "bad_namespace", "{name}: {body}");
        assert!(body["message"].is_string(), "{body}");
    }
    // The longest valid name is fine.
    let longest = "n".repeat(64);
    ns_ok(&app, &longest, "getzones", json!({})).await;
    assert_eq!(namespaces(&app).await, json!(["default", longest]));
}

#[tokio::test]
async fn the_number_of_namespaces_is_bounded() {
    let app = TestApp::with(
        MockEngine::builder()
            .rng_seed(42)
            .config(|c| c.max_namespaces = 3),
    )
    .await;
    ns_ok(&app, "one", "getzones", json!({})).await;
    ns_control_ok(&app, "two", "GET", "/clock", None).await;
    assert_eq!(namespaces(&app).await, json!(["default", "one", "two"]));

    // The third extra namespace is refused, on /api and on /_mock alike.
    let answer = ns_call(&app, "three", "getzones", json!({})).await;
    assert_eq!(answer.status, 429, "{}", answer.text);
    assert_eq!(answer.reason.as_deref(), Some("namespace_limit"));
    assert_eq!(answer.code(), 1);
    let (status, body) = ns_control(&app, "three", "GET", "/clock", None).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"], "namespace_limit", "{body}");
    assert_eq!(namespaces(&app).await, json!(["default", "one", "two"]));

    // Existing ones still work.
    for name in ["default", "one", "two"] {
        ns_ok(&app, name, "getzones", json!({})).await;
        ns_control_ok(&app, name, "GET", "/clock", None).await;
    }
    // Deleting one makes room.
    let (status, _) = app.control("DELETE", "/_mock/namespaces/one", None).await;
    assert_eq!(status, 200);
    ns_ok(&app, "three", "getzones", json!({})).await;
    assert_eq!(namespaces(&app).await, json!(["default", "three", "two"]));
}

/// Removes every `*_time` field, recursively: times follow the real clock,
/// which two engines never share to the second.
fn without_times(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !k.ends_with("_time"))
                .map(|(k, v)| (k.clone(), without_times(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_times).collect()),
        other => other.clone(),
    }
}

/// The same requests, in order, against the namespace `name` of `app`:
/// two creates, then an upgrade of bandwidth and IPs.
async fn generated(app: &TestApp, name: &str) -> Vec<Value> {
    let mut first = TestApp::create_request(2);
    first["agent_order_no"] = json!("det-1");
    let mut second = TestApp::create_request(1);
    second["agent_order_no"] = json!("det-2");
    let created = ns_ok(app, name, "create", first).await;
    let more = ns_ok(app, name, "create", second).await;
    ns_control_ok(
        app,
        name,
        "POST",
        "/clock/advance",
        Some(json!({"seconds": 60})),
    )
    .await;
    let upgrade = ns_ok(
        app,
        name,
        "upgrade",
        json!({"guid": created[0]["guid"], "bandwidth": "2", "ipnum": "1", "ip_type": "1", "agent_order_no": "det-3"}),
    )
    .await;
    let view = ns_ok(
        app,
        name,
        "sync_baremetal",
        json!({"guid": created[0]["guid"]}),
    )
    .await;
    vec![
        without_times(&created),
        without_times(&more),
        without_times(&upgrade),
        without_times(&view),
    ]
}

#[tokio::test]
async fn the_same_rng_seed_gives_the_same_guids_and_order_numbers() {
    let one = TestApp::with(MockEngine::builder().rng_seed(7)).await;
    let two = TestApp::with(MockEngine::builder().rng_seed(7)).await;
    let a = generated(&one, "default").await;
    let b = generated(&two, "default").await;
    assert_eq!(a, b);
    let guids: Vec<&Value> = a[0]
        .as_array()
        .expect("created")
        .iter()
        .chain(a[1].as_array().expect("created"))
        .map(|i| &i["guid"])
        .collect();
    assert_eq!(guids.len(), 3);
    assert!(
        guids
            .iter()
            .all(|g| g.as_str().is_some_and(|g| g.len() == 16)),
        "{guids:?}"
    );
    let order_no = &a[2]["order_no_api"];
    assert!(order_no.as_str().is_some_and(|o| o.len() == 18), "{}", a[2]);

    // Every namespace of a seeded engine starts from the same seed.
    assert_eq!(generated(&one, "other").await, a);
    // Another seed gives other values.
    let three = TestApp::with(MockEngine::builder().rng_seed(8)).await;
    let c = generated(&three, "default").await;
    assert_ne!(c[0][0]["guid"], a[0][0]["guid"]);
    assert_ne!(c[2]["order_no_api"], a[2]["order_no_api"]);
}

/// A namespace made by `POST /_mock/namespaces`; returns its name.
async fn make(app: &TestApp, body: Value) -> String {
    let (status, made) = app.control("POST", "/_mock/namespaces", Some(body)).await;
    assert_eq!(status, 201, "{made}");
    made["name"]
        .as_str()
        .unwrap_or_else(|| panic!("no name in {made}"))
        .to_string()
}

fn pending_guids(timeline: &Value) -> Vec<(String, String)> {
    timeline["pending"]
        .as_array()
        .map(|list| {
            list.iter()
                .map(|t| {
                    (
                        t["guid"].as_str().unwrap_or_default().to_string(),
                        t["kind"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_fork_copies_state_clock_and_pending_transitions_then_lives_apart() {
    let app = TestApp::spawn().await;
    ns_control_ok(&app, "default", "POST", "/clock/freeze", None).await;
    let guid = guid_of(&app.ok("create", TestApp::create_request(1)).await);
    ns_control_ok(
        &app,
        "default",
        "POST",
        "/clock/advance",
        Some(json!({"seconds": 10})),
    )
    .await;
    let source_clock = ns_control_ok(&app, "default", "GET", "/clock", None).await;
    let source_timeline = ns_control_ok(&app, "default", "GET", "/timeline", None).await;
    assert!(pending_guids(&source_timeline).contains(&(guid.clone(), "provisioned".into())));

    let fork = make(&app, json!({"name": "t42", "from": "default"})).await;
    assert_eq!(fork, "t42");
    // The clock (frozen, moved) and the pending provisioning came along.
    assert_eq!(
        ns_control_ok(&app, "t42", "GET", "/clock", None).await,
        source_clock
    );
    assert_eq!(
        ns_control_ok(&app, "t42", "GET", "/timeline", None).await,
        source_timeline
    );
    assert_eq!(
        ns_ok(&app, "t42", "sync_baremetal", json!({"guid": guid})).await["baremetal"]
            ["order_status"],
        "0"
    );

    // From here on they are two engines.
    ns_control_ok(
        &app,
        "t42",
        "POST",
        "/clock/advance",
        Some(json!({"seconds": 60})),
    )
    .await;
    let forked = ns_ok(&app, "t42", "sync_baremetal", json!({"guid": guid})).await;
    assert_eq!(forked["baremetal"]["order_status"], "1", "{forked}");
    assert_eq!(app.instance(&guid).await["order_status"], "0");
    let only_in_fork = guid_of(&ns_ok(&app, "t42", "create", TestApp::create_request(1)).await);
    app.fails("sync_baremetal", json!({"guid": only_in_fork}), "not_found")
        .await;
    // The journal is not copied: the fork's holds only its own calls.
    assert_eq!(journal_len(&app, "t42").await, 3);
}

#[tokio::test]
async fn a_fork_of_a_snapshot_takes_the_state_it_was_taken_in() {
    let app = TestApp::spawn().await;
    let before = guid_of(&app.ok("create", TestApp::create_request(1)).await);
    ns_control_ok(
        &app,
        "default",
        "POST",
        "/snapshots",
        Some(json!({"name": "fixture"})),
    )
    .await;
    let after = guid_of(&app.ok("create", TestApp::create_request(1)).await);

    let fork = make(
        &app,
        json!({"name": "from-fixture", "from_snapshot": "fixture"}),
    )
    .await;
    ns_ok(&app, &fork, "sync_baremetal", json!({"guid": before})).await;
    let answer = ns_call(&app, &fork, "sync_baremetal", json!({"guid": after})).await;
    assert_eq!(
        answer.reason.as_deref(),
        Some("not_found"),
        "{}",
        answer.text
    );

    // A snapshot of another namespace, through the library API.
    use apayun_mock::mock::Fork;
    ns_control_ok(
        &app,
        &fork,
        "POST",
        "/snapshots",
        Some(json!({"name": "mine"})),
    )
    .await;
    let second = app
        .engine
        .fork(Fork::snapshot("mine").of(&fork).named("second"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(second, "second");
    let client = app.engine.namespace_client("second");
    let seen = client
        .call("sync_baremetal", json!({"guid": before}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seen.code(), 0, "{}", seen.text);
    let copy = app
        .engine
        .fork(Fork::namespace(&fork))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(copy.starts_with("ns-"), "{copy}");
}

#[tokio::test]
async fn new_namespaces_fresh_unnamed_and_refused() {
    let app = TestApp::spawn().await;
    let mine = guid_of(&app.ok("create", TestApp::create_request(1)).await);
    // A name alone: a fresh seed engine, without default's instance.
    assert_eq!(make(&app, json!({"name": "fresh"})).await, "fresh");
    ns_ok(
        &app,
        "fresh",
        "sync_baremetal",
        json!({"guid": EXAMPLE_GUID}),
    )
    .await;
    let answer = ns_call(&app, "fresh", "sync_baremetal", json!({"guid": mine})).await;
    assert_eq!(answer.reason.as_deref(), Some("not_found"));
    // No name: the server picks a unique one.
    let a = make(&app, json!({})).await;
    let b = make(&app, json!({"from": "default"})).await;
    assert_ne!(a, b);
    let listed = namespaces(&app).await;
    for name in ["default", "fresh", a.as_str(), b.as_str()] {
        assert!(
            listed.as_array().is_some_and(|l| l.contains(&json!(name))),
            "{name}: {listed}"
        );
    }
    // PUT names it in the path (the form a proxy can route by name).
    let (status, put) = app
        .control(
            "PUT",
            "/_mock/namespaces/by-path",
            Some(json!({"from": "default"})),
        )
        .await;
    assert_eq!(status, 201, "{put}");
    ns_ok(&app, "by-path", "sync_baremetal", json!({"guid": mine})).await;

    for (body, status, reason) in [
        (json!({"name": "fresh"}), 409, "namespace_exists"),
        (
            json!({"name": "x", "from": "nope"}),
            404,
            "unknown_namespace",
        ),
        (
            json!({"name": "x", "from_snapshot": "nope"}),
            404,
            "unknown_snapshot",
        ),
        (json!({"name": "bad name"}), 400, "bad_namespace"),
        (json!({"name": "x", "form": "default"}), 400, "bad_json"),
    ] {
        let (got, answer) = app
            .control("POST", "/_mock/namespaces", Some(body.clone()))
            .await;
        assert_eq!(got, status, "{body}: {answer}");
        assert_eq!(answer["error"], reason, "{body}: {answer}");
    }
    assert!(!namespaces(&app)
        .await
        .as_array()
        .is_some_and(|l| l.contains(&json!("x"))));
}

#[tokio::test]
async fn the_listing_shows_times_instances_and_size() {
    let app = TestApp::spawn().await;
    app.ok("create", TestApp::create_request(2)).await;
    ns_ok(&app, "other", "getzones", json!({})).await;
    let (_, listed) = app.control("GET", "/_mock/namespaces", None).await;
    assert_eq!(listed["idle_ttl_seconds"], 86_400, "{listed}");
    let list = listed["namespaces"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 2, "{listed}");
    let (default, other) = (&list[0], &list[1]);
    assert_eq!(
        (default["name"].as_str(), other["name"].as_str()),
        (Some("default"), Some("other"))
    );
    // The seed's one instance, plus the two created in default.
    assert_eq!(default["instances"], 3, "{default}");
    assert_eq!(other["instances"], 1, "{other}");
    for ns in [default, other] {
        assert!(ns["bytes"].as_u64().is_some_and(|b| b > 50_000), "{ns}");
        for field in ["created", "last_used"] {
            let text = ns[field].as_str().unwrap_or_default();
            assert_eq!(text.len(), 19, "{field}: {ns}");
        }
        assert!(
            ns["idle_seconds"]
                .as_i64()
                .is_some_and(|s| (0..5).contains(&s)),
            "{ns}"
        );
    }
}

#[tokio::test]
async fn idle_namespaces_are_deleted_and_used_ones_kept() {
    let app = TestApp::with(
        MockEngine::builder()
            .config(|c| c.namespace_idle_ttl = std::time::Duration::from_millis(700)),
    )
    .await;
    ns_ok(&app, "idle", "getzones", json!({})).await;
    ns_ok(&app, "busy", "getzones", json!({})).await;
    let started = std::time::Instant::now();
    // "busy" is called every 200 ms; "idle" never again.
    while started.elapsed() < std::time::Duration::from_millis(2_000) {
        ns_ok(&app, "busy", "getzones", json!({})).await;
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let listed = namespaces(&app).await;
    assert_eq!(listed, json!(["busy", "default"]), "{listed}");
    // A deleted namespace comes back fresh on its next call.
    ns_ok(&app, "idle", "getzones", json!({})).await;
}

#[tokio::test]
async fn a_zero_ttl_keeps_namespaces() {
    let app = TestApp::with(
        MockEngine::builder().config(|c| c.namespace_idle_ttl = std::time::Duration::ZERO),
    )
    .await;
    ns_ok(&app, "kept", "getzones", json!({})).await;
    let (_, listed) = app.control("GET", "/_mock/namespaces", None).await;
    assert_eq!(listed["idle_ttl_seconds"], 0);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(namespaces(&app).await, json!(["default", "kept"]));
}

async fn order_status(app: &TestApp, name: &str, guid: &str) -> Value {
    ns_ok(app, name, "sync_baremetal", json!({"guid": guid})).await["baremetal"]["order_status"]
        .clone()
}

/// The one scheduler runs a transition when it falls due on a running
/// clock, with no tick: the clock is moved to one or two seconds before the
/// due time (the due time is whole seconds), and the instance must come up
/// then, not before.
#[tokio::test]
async fn transitions_complete_on_time_under_a_running_clock() {
    let app = TestApp::spawn().await;
    for name in ["default", "other"] {
        let guid = guid_of(&ns_ok(&app, name, "create", TestApp::create_request(1)).await);
        // Provisioning takes 30 s (the default timings); 28 of them pass now.
        ns_control_ok(
            &app,
            name,
            "POST",
            "/clock/advance",
            Some(json!({"seconds": 28})),
        )
        .await;
        let moved = std::time::Instant::now();
        assert_eq!(
            order_status(&app, name, &guid).await,
            "0",
            "{name}: provisioned early"
        );
        let mut done = None;
        while moved.elapsed() < std::time::Duration::from_secs(4) {
            if order_status(&app, name, &guid).await == "1" {
                done = Some(moved.elapsed());
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let took = done.unwrap_or_else(|| panic!("{name}: not provisioned within 4 s"));
        // Due 1–2 s after the move; the old tick allowed 100 ms more.
        assert!(
            took >= std::time::Duration::from_millis(500)
                && took <= std::time::Duration::from_millis(2_300),
            "{name}: provisioned {took:?} after the move"
        );
    }
}
