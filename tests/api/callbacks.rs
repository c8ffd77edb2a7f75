//! Callback notices (docs/contract.md, "Callbacks"): a local receiver records the signed
//! form posts; delivery retries with backoff, is logged attempt by attempt,
//! and never slows `/api`. Tests move the simulated clock to make
//! transitions fall due, then poll the callback log (real HTTP) with a
//! bounded wait.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{fmt, md5_hex, text, wall_seconds, Receiver, TestApp, EXAMPLE_GUID};

/// The longest a test waits for deliveries (default policy: 5 attempts,
/// 200 ms doubling, so about 3 s in the worst case).
const WAIT: Duration = Duration::from_secs(15);

async fn set_callback(app: &TestApp, userid: &str, url: Value) -> (u16, Value) {
    app.control(
        "PUT",
        &format!("/_mock/users/{userid}/callback"),
        Some(json!({ "url": url })),
    )
    .await
}

async fn callback_log(app: &TestApp) -> Vec<Value> {
    let (status, v) = app.control("GET", "/_mock/callbacks", None).await;
    assert_eq!(status, 200, "{v}");
    v["callbacks"].as_array().cloned().unwrap_or_default()
}

/// Polls the callback log until `done` holds, or fails after [`WAIT`].
async fn wait_for_log(app: &TestApp, what: &str, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let log = callback_log(app).await;
        if done(&log) {
            return log;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting for {what}; callback log: {}",
            Value::Array(log)
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Every record has finished: delivered, or out of attempts.
fn settled(log: &[Value], attempts: usize) -> bool {
    log.iter()
        .all(|r| r["delivered"] == true || r["attempts"].as_array().map_or(0, Vec::len) >= attempts)
}

/// The documented request sign, computed here independently of the mock.
fn expected_sign(form: &BTreeMap<String, String>, key: &str) -> String {
    let get = |k: &str| form.get(k).cloned().unwrap_or_default();
    md5_hex(&format!(
        "{}zkeys.api@2019{}{}{}{}",
        get("module"),
        get("action"),
        get("userid"),
        key,
        get("time")
    ))
}

#[tokio::test]
async fn a_provisioned_notice_is_signed_and_carries_the_taskid() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(&[]).await;
    let (status, body) = set_callback(&app, "1", json!(receiver.url)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, json!({"userid": "1", "url": receiver.url}));
    app.freeze().await;
    let mut params = TestApp::create_request(1);
    params["taskid"] = json!("12");
    let data = app.ok("create", params).await;
    let guid = data[0]["guid"].as_str().unwrap_or_default().to_string();

    app.advance(29).await;
    assert!(callback_log(&app).await.is_empty(), "nothing is due yet");
    app.advance(1).await;
    let log = wait_for_log(&app, "the provisioned notice", |l| {
        l.len() == 1 && l[0]["delivered"] == true
    })
    .await;

    let posts = receiver.posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    let post = &posts[0];
    assert_eq!(post.content_type, "application/x-www-form-urlencoded");
    let form = &post.form;
    for (k, v) in [
        ("module", "baremetal"),
        ("action", "create"),
        ("event", "provisioned"),
        ("taskid", "12"),
        ("guid", guid.as_str()),
        ("userid", "1"),
        ("order_status", "1"),
        ("run_status", "1"),
        ("act_status", "0"),
    ] {
        assert_eq!(form.get(k).map(String::as_str), Some(v), "{k} in {form:?}");
    }
    let time: i64 = form
        .get("time")
        .and_then(|t| t.parse().ok())
        .expect("a numeric time");
    assert!(
        (time - wall_seconds()).abs() <= 300,
        "time {time} is wall time"
    );
    let sign = form.get("sign").cloned().unwrap_or_default();
    assert_eq!(sign, expected_sign(form, "mock-api-key"));
    assert_ne!(
        sign,
        expected_sign(form, "mock-api-key-2"),
        "the member's own key"
    );

    // The log: the same notice, one successful attempt.
    let record = &log[0];
    assert_eq!(record["url"], receiver.url);
    assert_eq!(record["event"], "provisioned");
    let logged: BTreeMap<String, String> = record["params"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(&logged, form, "the log shows what was sent");
    let attempts = record["attempts"].as_array().cloned().unwrap_or_default();
    assert_eq!(attempts.len(), 1, "{record}");
    assert_eq!(attempts[0]["status"], 200);
    assert_eq!(attempts[0]["error"], Value::Null);
    assert!(attempts[0]["at"].is_string(), "{record}");
    assert!(record["id"].is_number(), "{record}");
}

#[tokio::test]
async fn every_completed_transition_notifies_with_its_event_and_action() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(&[]).await;
    set_callback(&app, "1", json!(receiver.url)).await;
    app.freeze().await;
    let mut params = TestApp::create_request(1);
    params["taskid"] = json!("t-create");
    let guid = app.ok("create", params).await[0]["guid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    app.advance(30).await;
    let install = json!({
        "guid": guid, "systemGuid": "1695196885222201", "loginPassword": "TmV3UGFzczEyMyE=",
        "system_partition_size": "0", "installType": "install", "install_mode": "1",
    });
    let steps: Vec<(&str, Value, u64)> = vec![
        ("stop", json!({"guid": guid}), 10),
        (
            "setpass",
            json!({"guid": guid, "loginPassword": "TmV3UGFzczEyMyE="}),
            15,
        ),
        ("start", json!({"guid": guid}), 10),
        ("restart", json!({"guid": guid}), 20),
        ("install", install, 300),
        ("upgrade", json!({"guid": guid, "bandwidth": "5"}), 20),
    ];
    for (action, mut params, wait) in steps {
        params["taskid"] = json!(format!("t-{action}"));
        app.ok(action, params).await;
        app.advance(wait).await;
    }
    let end = app.instance(&guid).await["end_time"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (status, v) = app
        .control("POST", "/_mock/clock/set", Some(json!({"now": end})))
        .await;
    assert_eq!(status, 200, "{v}");
    app.advance(86_400).await;

    let expect = [
        ("provisioned", "create", "t-create", ["1", "1", "0"]),
        ("stopped", "stop", "t-stop", ["1", "-1", "0"]),
        ("password_set", "setpass", "t-setpass", ["1", "-1", "0"]),
        ("started", "start", "t-start", ["1", "1", "0"]),
        ("restarted", "restart", "t-restart", ["1", "1", "0"]),
        ("installed", "install", "t-install", ["1", "1", "0"]),
        ("upgraded", "upgrade", "t-upgrade", ["1", "1", "0"]),
        ("expired", "create", "t-create", ["3", "-2", "0"]),
        ("released", "create", "t-create", ["-2", "-2", "0"]),
    ];
    let log = wait_for_log(&app, "every notice", |l| {
        l.len() >= expect.len() && settled(l, 1) && l.iter().all(|r| r["delivered"] == true)
    })
    .await;
    let got: Vec<(String, String, String, [String; 3])> = log
        .iter()
        .filter(|r| r["params"]["guid"] == guid)
        .map(|r| {
            let p = &r["params"];
            let s = |k: &str| p[k].as_str().unwrap_or_default().to_string();
            (
                s("event"),
                s("action"),
                s("taskid"),
                [s("order_status"), s("run_status"), s("act_status")],
            )
        })
        .collect();
    let want: Vec<(String, String, String, [String; 3])> = expect
        .iter()
        .map(|(e, a, t, st)| {
            (
                e.to_string(),
                a.to_string(),
                t.to_string(),
                st.map(str::to_string),
            )
        })
        .collect();
    assert_eq!(got, want);
    for r in &log {
        assert_eq!(r["event"], r["params"]["event"], "{r}");
    }
    // What was logged is what arrived, in order.
    let arrived: Vec<String> = receiver
        .posts()
        .iter()
        .filter(|p| p.form.get("guid") == Some(&guid))
        .map(|p| p.form.get("event").cloned().unwrap_or_default())
        .collect();
    let mut arrived_sorted = arrived.clone();
    arrived_sorted.sort();
    let mut want_sorted: Vec<String> = expect.iter().map(|e| e.0.to_string()).collect();
    want_sorted.sort();
    assert_eq!(arrived_sorted, want_sorted, "{arrived:?}");
}

#[tokio::test]
async fn a_failing_receiver_is_retried_until_it_accepts() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(&[500, 500]).await;
    set_callback(&app, "1", json!(receiver.url)).await;
    let mut params = TestApp::create_request(1);
    params["taskid"] = json!("12");
    app.ok("create", params).await;
    app.advance(30).await;
    let log = wait_for_log(&app, "a delivered notice", |l| {
        l.len() == 1 && l[0]["delivered"] == true
    })
    .await;
    let attempts = log[0]["attempts"].as_array().cloned().unwrap_or_default();
    let statuses: Vec<Value> = attempts.iter().map(|a| a["status"].clone()).collect();
    assert_eq!(statuses, [json!(500), json!(500), json!(200)], "{}", log[0]);
    assert!(attempts[0]["error"]
        .as_str()
        .is_some_and(|e| e.contains("500")));
    assert!(attempts[1]["error"].is_string());
    assert_eq!(attempts[2]["error"], Value::Null);
    // Attempts are times in order.
    let times: Vec<String> = attempts
        .iter()
        .map(|a| a["at"].as_str().unwrap_or_default().to_string())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);

    // Three posts of the same notice, and no more after success.
    let posts = receiver.posts();
    assert_eq!(posts.len(), 3, "{posts:?}");
    assert!(posts.iter().all(|p| p.form == posts[0].form));
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.posts().len(), 3, "no attempt after a success");
    assert_eq!(
        callback_log(&app).await[0]["attempts"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
}

#[tokio::test]
async fn a_degrade_notifies_degraded_when_it_applies() {
    let app = TestApp::spawn().await;
    let receiver = Receiver::start(&[]).await;
    set_callback(&app, "1", json!(receiver.url)).await;
    app.freeze().await;
    let date = fmt(app.now().await + chrono::Duration::days(2));
    let mut params = json!({
        "guid": EXAMPLE_GUID,
        "param": [{"item": "bandwidth", "value": 1, "date": date}],
    });
    params["taskid"] = json!("t-degrade");
    app.ok("degrade", params).await;
    // Booking notifies nothing; applying does.
    app.advance(86_400).await;
    app.ok("restart", json!({"guid": EXAMPLE_GUID})).await;
    app.advance(86_400 + 60).await;
    let log = wait_for_log(&app, "two notices", |l| {
        l.len() >= 2 && l.iter().all(|r| r["delivered"] == true)
    })
    .await;
    let events: Vec<(String, String)> = log
        .iter()
        .map(|r| (text(&r["event"]), text(&r["params"]["action"])))
        .collect();
    assert_eq!(
        events,
        [
            ("restarted".to_string(), "restart".to_string()),
            ("degraded".to_string(), "degrade".to_string()),
        ]
    );
    let posts = receiver.posts();
    let form = &posts
        .iter()
        .find(|p| p.form.get("event").map(String::as_str) == Some("degraded"))
        .unwrap_or_else(|| panic!("no degraded post in {posts:?}"))
        .form;
    assert_eq!(form.get("guid").map(String::as_str), Some(EXAMPLE_GUID));
    assert_eq!(form.get("action").map(String::as_str), Some("degrade"));
    assert_eq!(form.get("taskid").map(String::as_str), Some("t-degrade"));
    assert_eq!(
        form.get("sign").cloned().unwrap_or_default(),
        expected_sign(form, "mock-api-key")
    );
}

/// A receiver that takes connections and never answers: each delivery
/// attempt hangs until the policy's per-attempt timeout (5 s), so the
/// whole retry schedule would take over 25 s. Returns its URL and how many
/// connections it has taken.
async fn silent_receiver() -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("address: {e}"));
    let taken = Arc::new(AtomicUsize::new(0));
    let count = taken.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            held.push(stream);
            count.fetch_add(1, Ordering::SeqCst);
        }
    });
    (format!("http://{addr}/hook"), taken)
}

#[tokio::test]
async fn a_dead_receiver_never_slows_the_api() {
    let app = TestApp::spawn().await;
    let (url, taken) = silent_receiver().await;
    set_callback(&app, "1", json!(url)).await;
    let guid = text(&app.ok("create", TestApp::create_request(1)).await[0]["guid"]);
    app.advance(30).await;
    // The provisioned notice's first attempt is under way, and hangs.
    let deadline = tokio::time::Instant::now() + WAIT;
    while taken.load(Ordering::SeqCst) == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no delivery attempt"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    // Reads, writes and clock moves answer while it hangs ...
    assert_eq!(app.instance(&guid).await["order_status"], "1");
    app.ok("stop", json!({"guid": guid})).await;
    app.advance(10).await;
    assert_eq!(app.instance(&guid).await["run_status"], "-1");
    // ... before even that first attempt has ended: an API that waited for
    // a delivery (let alone the retry schedule) would find one logged.
    let log = callback_log(&app).await;
    let provisioned = log
        .iter()
        .find(|r| r["event"] == "provisioned")
        .unwrap_or_else(|| panic!("no provisioned notice: {}", Value::Array(log.clone())));
    assert_eq!(provisioned["attempts"], json!([]), "{provisioned}");
    assert_eq!(provisioned["delivered"], false, "{provisioned}");
}

#[tokio::test]
async fn a_refusing_receiver_is_given_up_after_five_attempts() {
    let app = TestApp::spawn().await;
    // A port this test holds (bound, never listening): connections to it
    // are refused, and nobody else can take it meanwhile.
    let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("socket: {e}"));
    socket
        .bind(([127, 0, 0, 1], 0).into())
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let port = socket
        .local_addr()
        .unwrap_or_else(|e| panic!("address: {e}"))
        .port();
    let url = format!("http://127.0.0.1:{port}/hook");
    set_callback(&app, "1", json!(url)).await;
    app.ok("create", TestApp::create_request(1)).await;
    app.advance(30).await;

    // The notice is given up after the policy's five attempts, each logged.
    let log = wait_for_log(&app, "five failed attempts", |l| {
        l.first()
            .and_then(|r| r["attempts"].as_array())
            .is_some_and(|a| a.len() >= 5)
    })
    .await;
    let record = &log[0];
    assert_eq!(record["url"], url);
    assert_eq!(record["delivered"], false);
    let attempts = record["attempts"].as_array().cloned().unwrap_or_default();
    assert_eq!(attempts.len(), 5, "{record}");
    for a in &attempts {
        assert_eq!(a["status"], Value::Null, "no HTTP answer: {a}");
        assert!(a["error"].is_string(), "{a}");
    }
}

#[tokio::test]
async fn each_member_is_notified_at_its_own_url_with_its_own_key() {
    let app = TestApp::spawn().await;
    let one = Receiver::start(&[]).await;
    let two = Receiver::start(&[]).await;
    set_callback(&app, "1", json!(one.url)).await;
    set_callback(&app, "2", json!(two.url)).await;
    let answer = app
        .user2()
        .call("create", TestApp::create_request(1))
        .await
        .expect("user 2 create");
    assert_eq!(answer.code(), 0, "{}", answer.text);
    app.advance(30).await;
    wait_for_log(&app, "user 2's notice", |l| {
        l.len() == 1 && l[0]["delivered"] == true
    })
    .await;
    assert!(one.posts().is_empty(), "user 1 hears nothing of user 2");
    let posts = two.posts();
    assert_eq!(posts.len(), 1);
    let form = &posts[0].form;
    assert_eq!(form.get("userid").map(String::as_str), Some("2"));
    assert_eq!(
        form.get("sign").cloned().unwrap_or_default(),
        expected_sign(form, "mock-api-key-2")
    );
    // The example instance (user 1) notifies user 1 only.
    app.ok("restart", json!({"guid": EXAMPLE_GUID})).await;
    app.advance(20).await;
    wait_for_log(&app, "user 1's notice", |l| {
        l.len() == 2 && settled(l, 1) && l.iter().all(|r| r["delivered"] == true)
    })
    .await;
    assert_eq!(one.posts().len(), 1);
    assert_eq!(two.posts().len(), 1);
}

#[tokio::test]
async fn callback_url_is_validated_and_can_be_cleared() {
    let app = TestApp::spawn().await;
    for url in [
        "ftp://127.0.0.1/hook",
        "not a url",
        "127.0.0.1:9/hook",
        "mailto:a@b.c",
    ] {
        let (status, body) = set_callback(&app, "1", json!(url)).await;
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["error"], "bad_url", "{url}: {body}");
    }
    let (status, body) = set_callback(&app, "1", json!(5)).await;
    assert_eq!(
        (status, body["error"].clone()),
        (400, json!("bad_json")),
        "{body}"
    );
    let (status, body) = app
        .control(
            "PUT",
            "/_mock/users/1/callback",
            Some(json!({"uri": "http://x"})),
        )
        .await;
    assert_eq!(status, 400, "unknown field: {body}");
    for user in ["99", "0"] {
        let (status, body) = set_callback(&app, user, json!("http://127.0.0.1:9/hook")).await;
        assert_eq!(status, 404, "{user}: {body}");
        assert_eq!(body["error"], "unknown_user");
    }

    // Set, then cleared: no notice is queued.
    let receiver = Receiver::start(&[]).await;
    let (status, _) = set_callback(&app, "1", json!(receiver.url)).await;
    assert_eq!(status, 200);
    let (status, body) = set_callback(&app, "1", Value::Null).await;
    assert_eq!(status, 200, "{body}");
    app.ok("restart", json!({"guid": EXAMPLE_GUID})).await;
    app.advance(20).await;
    assert_eq!(app.instance(EXAMPLE_GUID).await["act_status"], "0");
    assert!(callback_log(&app).await.is_empty());
    let (status, _) = set_callback(&app, "1", json!("")).await;
    assert_eq!(status, 200, "an empty URL also clears");
    assert!(receiver.posts().is_empty());
}
