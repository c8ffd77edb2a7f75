//! `TestApp`: an engine on port 0 with signed-request helpers and clock
//! control, in the manner of zero2prod's `spawn_app`.

#![allow(dead_code)]

use std::time::Duration;

use apayun_mock::client::{Answer, Client};
use apayun_mock::MockEngine;
use serde_json::{json, Value};

pub const LINE: &str = "1665907446560259";
pub const PRODUCT: &str = "1665907642748705";
pub const SYSTEM: &str = "1633652801461868";
/// The instance of the document's examples, seeded for userid 1.
pub const EXAMPLE_GUID: &str = "1708330228791024";

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

    /// The default create request of the document, with a fresh agent order number.
    pub fn create_params(num: u32) -> Value {
        json!({
            "lineGuid": LINE,
            "productGuid": PRODUCT,
            "systemGuid": SYSTEM,
            "loginName": "root",
            "loginPassword": "QWE1MzUwMjkyNzkh",
            "buyRemarks": "",
            "months": "1",
            "clientOrderNo": "18369",
            "clientUserId": "1100123",
            "num": num.to_string(),
            "system_partition_size": "-1",
            "agent_order_no": format!("{}", rand_order()),
        })
    }

    /// Creates one instance and waits (on the clock) until it is provisioned.
    pub async fn create_running(&self) -> String {
        let data = self.ok("create", TestApp::create_params(1)).await;
        let guid = data[0]["guid"].as_str().unwrap_or_default().to_string();
        self.advance(60).await;
        assert_eq!(self.instance(&guid).await["order_status"], "1");
        guid
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
