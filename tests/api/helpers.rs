//! `TestApp`: an engine on port 0 with signed-request helpers and clock
//! control, in the manner of zero2prod's `spawn_app`; and the helpers the
//! test files share (control calls, business times, a callback receiver).

#![allow(dead_code)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apayun_mock::client::{Answer, Client};
use apayun_mock::test_support::fixtures;
use apayun_mock::MockEngine;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::Router;
use chrono::NaiveDateTime;
use serde_json::{json, Value};

use crate::common::raw::Raw;

/// The seed's example GUIDs the test files name most (the others are in
/// `apayun_mock::test_support::fixtures` itself).
pub use apayun_mock::test_support::fixtures::{EXAMPLE_GUID, LINE, PRODUCT, SYSTEM};

pub struct TestApp {
    pub engine: MockEngine,
    pub http: reqwest::Client,
}

impl TestApp {
    /// Default seed and timings (delays are real: move the clock).
    pub async fn spawn() -> TestApp {
        TestApp::with(MockEngine::builder().rng_seed(42)).await
    }

    pub async fn with(builder: apayun_mock::mock::Builder) -> TestApp {
        let engine = builder
            .start()
            .await
            .unwrap_or_else(|e| panic!("engine failed to start: {e}"));
        TestApp {
            engine,
            http: reqwest::Client::new(),
        }
    }

    pub fn url(&self) -> String {
        self.engine.base_url()
    }

    pub fn client(&self) -> &Client {
        self.engine.client()
    }

    pub fn user2(&self) -> Client {
        self.engine.client_for("2", "mock-api-key-2")
    }

    /// A signed call as userid 1.
    pub async fn call(&self, action: &str, params: Value) -> Answer {
        self.engine
            .call(action, params)
            .await
            .unwrap_or_else(|e| panic!("{action}: {e}"))
    }

    /// A call that must succeed; returns `data`.
    pub async fn ok(&self, action: &str, params: Value) -> Value {
        let a = self.call(action, params.clone()).await;
        assert_eq!(
            a.code(),
            0,
            "{action} {params} failed: {} ({:?})",
            a.text,
            a.reason
        );
        a.data()
    }

    /// A call that must fail with `reason`; returns the message.
    pub async fn fails(&self, action: &str, params: Value, reason: &str) -> String {
        let a = self.call(action, params.clone()).await;
        assert_eq!(
            a.code(),
            1,
            "{action} {params} should fail with {reason}: {}",
            a.text
        );
        assert_eq!(
            a.reason.as_deref(),
            Some(reason),
            "{action} {params}: {}",
            a.text
        );
        a.json()["message"].as_str().unwrap_or_default().to_string()
    }

    /// Posts raw form pairs (for tests that build their own requests).
    pub async fn post_form(&self, pairs: &[(String, String)]) -> Answer {
        self.client()
            .post_form(pairs)
            .await
            .unwrap_or_else(|e| panic!("post: {e}"))
    }

    pub async fn post_raw(
        &self,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.http
            .post(format!("{}/api", self.url()))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("post: {e}"))
    }

    pub async fn control(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.engine
            .control(method, path, body)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"))
    }

    pub async fn advance(&self, seconds: u64) {
        self.engine
            .advance(Duration::from_secs(seconds))
            .await
            .unwrap_or_else(|e| panic!("advance: {e}"));
    }

    /// The document's create request ([`fixtures::create_params`]) for
    /// `num` instances, with a fresh agent order number.
    pub fn create_request(num: u32) -> Value {
        fixtures::create_params_with(&rand_order().to_string(), json!({"num": num.to_string()}))
    }

    /// Creates one instance and waits (on the clock) until it is provisioned.
    pub async fn create_running(&self) -> String {
        self.create_running_on(LINE, PRODUCT).await
    }

    /// Creates one instance on `line` with `product` and waits (on the
    /// clock) until it is provisioned.
    pub async fn create_running_on(&self, line: &str, product: &str) -> String {
        let mut params = TestApp::create_request(1);
        params["lineGuid"] = json!(line);
        params["productGuid"] = json!(product);
        let data = self.ok("create", params).await;
        let guid = text(&data[0]["guid"]);
        self.advance(60).await;
        assert_eq!(self.instance(&guid).await["order_status"], "1");
        guid
    }

    /// No IP address is held by two instances (read through the library).
    pub async fn assert_no_address_held_twice(&self) {
        let engine = apayun_mock::test_support::default_engine(&self.engine)
            .await
            .unwrap_or_else(|| panic!("no default engine"));
        let doubles = {
            let conn = engine.store().lock();
            apayun_mock::test_support::store::network::double_held(&conn)
        };
        assert_eq!(doubles.ok(), Some(0), "an address is held twice");
    }

    /// `sync_baremetal` single view of an instance.
    pub async fn instance(&self, guid: &str) -> Value {
        self.ok("sync_baremetal", json!({"guid": guid})).await["baremetal"].clone()
    }
}

fn rand_order() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(590_682_534_662_098_000);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The keys of a JSON object, in order.
pub fn keys(v: &Value) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// A JSON literal copied from the document.
pub fn parse_example(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("example does not parse: {e}"))
}

/// The JSON type of a value, for type-by-type comparisons with the document.
pub fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The text of a JSON string. Panics on anything else: a test that reads a
/// field as text expects one, and "" would hide a missing or null field.
pub fn text(v: &Value) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("expected a string, got {v}"))
        .to_string()
}

/// md5 as lowercase hex, computed here independently of the mock's own.
pub fn md5_hex(text: &str) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(text.as_bytes()))
}

/// Same keys in the same order and the same JSON type per key,
/// recursively; every element of an array is compared with the example's
/// first element. With `nullable_strings`, a value the example shows as
/// `null` may also be a string (the document's field tables type those
/// fields as string; only the example record itself must match null for
/// null).
pub fn check_shape(example: &Value, actual: &Value, nullable_strings: bool, path: &str) {
    if nullable_strings && example.is_null() && actual.is_string() {
        return;
    }
    assert_eq!(
        json_kind(actual),
        json_kind(example),
        "{path}: the document shows {example}, the mock sends {actual}"
    );
    match (example, actual) {
        (Value::Object(e), Value::Object(_)) => {
            assert_eq!(keys(actual), keys(example), "{path}: keys differ");
            for (k, v) in e {
                check_shape(v, &actual[k], nullable_strings, &format!("{path}.{k}"));
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            if let Some(first) = e.first() {
                for (i, item) in a.iter().enumerate() {
                    check_shape(first, item, nullable_strings, &format!("{path}[{i}]"));
                }
            }
        }
        _ => {}
    }
}

// ---- the control API ----

impl TestApp {
    /// A control call that must answer 2xx; returns the body. `body` is
    /// `None` for no body, or JSON (`null` included) sent as such.
    pub async fn control_ok(
        &self,
        method: &str,
        path: &str,
        body: impl Into<Option<Value>>,
    ) -> Value {
        let body = body.into();
        let sent = body.as_ref().map(Value::to_string).unwrap_or_default();
        let (status, value) = self.control(method, path, body).await;
        assert!(
            (200..300).contains(&status),
            "{method} {path} {sent}: {status} {value}"
        );
        value
    }

    /// Sends a raw body to a control call as `application/json`; the whole
    /// answer (its body as JSON, or as a string when it is not JSON).
    pub async fn control_raw(
        &self,
        method: &str,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> Raw {
        let method =
            reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let resp = self
            .http
            .request(method, format!("{}{path}", self.url()))
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        Raw::read(resp).await
    }

    /// `GET /_mock/clock`.
    pub async fn clock(&self) -> Value {
        self.control_ok("GET", "/_mock/clock", None).await
    }

    /// Stops the clock's own ticking, so only `advance` moves it.
    pub async fn freeze(&self) -> Value {
        self.control_ok("POST", "/_mock/clock/freeze", None).await
    }

    /// The simulated now.
    pub async fn now(&self) -> NaiveDateTime {
        parse_time(&text(&self.clock().await["now"]))
    }

    /// The pending transitions (`GET /_mock/timeline`).
    pub async fn pending(&self) -> Vec<Value> {
        self.control_ok("GET", "/_mock/timeline", None).await["pending"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Forces state fields of an instance through the control API; returns
    /// the instance as the control API shows it.
    pub async fn patch(&self, guid: &str, fields: Value) -> Value {
        self.control_ok("PATCH", &format!("/_mock/baremetal/{guid}"), Some(fields))
            .await["baremetal"]
            .clone()
    }
}

// ---- business times, `YYYY-MM-DD HH:MM:SS` ----

pub const TIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S";

pub fn parse_time(t: &str) -> NaiveDateTime {
    NaiveDateTime::parse_from_str(t, TIME_FORMAT)
        .unwrap_or_else(|e| panic!("{t:?} is not YYYY-MM-DD HH:MM:SS: {e}"))
}

pub fn fmt(t: NaiveDateTime) -> String {
    t.format(TIME_FORMAT).to_string()
}

/// A business time plus whole calendar months (clamped to the month's end).
pub fn plus_months(time: &str, months: u32) -> String {
    parse_time(time)
        .checked_add_months(chrono::Months::new(months))
        .map(fmt)
        .unwrap_or_else(|| panic!("{time} + {months} months"))
}

pub fn plus_seconds(time: &str, seconds: i64) -> String {
    fmt(parse_time(time) + chrono::Duration::seconds(seconds))
}

/// The wall clock in Unix seconds (the `time` field of a signed request).
pub fn wall_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

// ---- a callback receiver ----

/// One post a [`Receiver`] got: its form fields and content type.
#[derive(Debug, Clone)]
pub struct Post {
    pub form: BTreeMap<String, String>,
    pub content_type: String,
}

#[derive(Default)]
struct Inbox {
    posts: Mutex<Vec<Post>>,
    /// Statuses to answer with, in order; 200 once they run out.
    answers: Mutex<VecDeque<u16>>,
}

/// A local HTTP callback receiver on 127.0.0.1 port 0, kept bound while it
/// lives; it records every form posted to `/hook`.
/// The `X-Mock-Error` reason of an answer, if any.
pub fn reason_of(resp: &reqwest::Response) -> Option<String> {
    resp.headers()
        .get("x-mock-error")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Serves `app` on a fresh 127.0.0.1 port in the background; returns
/// `http://127.0.0.1:PORT`.
pub async fn serve_on_loopback(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local address: {e}"));
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    format!("http://{addr}")
}

pub struct Receiver {
    pub url: String,
    inbox: Arc<Inbox>,
}

impl Receiver {
    /// Answers `answers` in order, then 200.
    pub async fn start(answers: &[u16]) -> Receiver {
        let inbox = Arc::new(Inbox {
            posts: Mutex::new(Vec::new()),
            answers: Mutex::new(answers.iter().copied().collect()),
        });
        let app = Router::new()
            .route("/hook", post(receive))
            .with_state(inbox.clone());
        Receiver {
            url: format!("{}/hook", serve_on_loopback(app).await),
            inbox,
        }
    }

    pub fn posts(&self) -> Vec<Post> {
        self.inbox
            .posts
            .lock()
            .map(|p| p.clone())
            .unwrap_or_default()
    }

    /// Waits (bounded) until `n` posts have arrived; returns them all.
    pub async fn wait_for_posts(&self, n: usize) -> Vec<Post> {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let posts = self.posts();
            if posts.len() >= n {
                return posts;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "gave up waiting for {n} posts; got {posts:?}"
            );
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

async fn receive(State(inbox): State<Arc<Inbox>>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let form: BTreeMap<String, String> =
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body)
            .unwrap_or_default()
            .into_iter()
            .collect();
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    if let Ok(mut posts) = inbox.posts.lock() {
        posts.push(Post { form, content_type });
    }
    let status = inbox
        .answers
        .lock()
        .ok()
        .and_then(|mut a| a.pop_front())
        .unwrap_or(200);
    StatusCode::from_u16(status).unwrap_or(StatusCode::OK)
}
