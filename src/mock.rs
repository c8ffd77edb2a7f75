//! The library API for Rust test suites: start an engine in-process on a
//! free port, talk to it with a signed client, move its clock, inject
//! faults, read its journal; drop it to stop it.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), apayun_mock::MockError> {
//! use apayun_mock::MockEngine;
//! use serde_json::json;
//!
//! let engine = MockEngine::builder().timings("fast").rng_seed(7).start().await?;
//! let zones = engine.call("getzones", json!({})).await?;
//! assert_eq!(zones.code(), 0);
//! engine.advance(std::time::Duration::from_secs(3600)).await?;
//! # Ok(()) }
//! ```

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use crate::client::{Answer, Client};
use crate::config::ServeConfig;
use crate::engine::Engine;
use crate::registry::DEFAULT_NAMESPACE;
use crate::seed::Seed;
use crate::server::{self, Running};

/// Default member of the seed data.
pub const DEFAULT_USERID: &str = "1";
pub const DEFAULT_KEY: &str = "mock-api-key";

/// What went wrong talking to, or starting, an in-process engine.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MockError {
    /// The engine did not start: bad seed data or settings, or no port.
    #[error("{0}")]
    Start(String),
    /// The HTTP exchange with the engine failed.
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// `control` was given a method name HTTP does not allow.
    #[error("invalid HTTP method {0:?}")]
    Method(String),
    /// The control API refused a call: its status and JSON body.
    #[error("control API answered {status}: {body}")]
    Control { status: u16, body: Value },
    /// The control API answered 2xx without what the call expects.
    #[error("unexpected control API answer: {0}")]
    Unexpected(Value),
}

/// Chooses how the in-process engine starts.
#[derive(Debug, Clone)]
pub struct Builder {
    config: ServeConfig,
}

impl Builder {
    /// Timing profile (`default`, `fast`, or one of the seed's).
    pub fn timings(mut self, profile: &str) -> Builder {
        self.config.timings = profile.to_string();
        self
    }

    pub fn rng_seed(mut self, seed: u64) -> Builder {
        self.config.rng_seed = Some(seed);
        self
    }

    pub fn lenient(mut self, lenient: bool) -> Builder {
        self.config.lenient = lenient;
        self
    }

    pub fn seed_data(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.config.seed_data = Some(dir.into());
        self
    }

    pub fn db(mut self, path: impl Into<PathBuf>) -> Builder {
        self.config.db = Some(path.into());
        self
    }

    pub fn admin_token(mut self, token: &str) -> Builder {
        self.config.admin_token = Some(token.to_string());
        self
    }

    /// Any other setting.
    pub fn config(mut self, f: impl FnOnce(&mut ServeConfig)) -> Builder {
        f(&mut self.config);
        self
    }

    pub async fn start(self) -> Result<MockEngine, MockError> {
        let seed = server::load_seed(&self.config).map_err(MockError::Start)?;
        MockEngine::start_with(self.config, seed).await
    }
}

/// A running in-process engine. Dropping it stops the server.
pub struct MockEngine {
    running: Running,
    client: Client,
    http: reqwest::Client,
}

impl MockEngine {
    pub fn builder() -> Builder {
        Builder {
            config: ServeConfig {
                port: 0,
                ..ServeConfig::default()
            },
        }
    }

    /// Starts with the default seed, default timings, on a free loopback port.
    pub async fn start() -> Result<MockEngine, MockError> {
        MockEngine::builder().start().await
    }

    async fn start_with(config: ServeConfig, seed: Seed) -> Result<MockEngine, MockError> {
        let running = server::spawn(config, seed)
            .await
            .map_err(MockError::Start)?;
        let client = Client::new(&running.base_url(), DEFAULT_USERID, DEFAULT_KEY);
        Ok(MockEngine {
            running,
            client,
            http: reqwest::Client::new(),
        })
    }

    /// `http://127.0.0.1:PORT`; the engine API is at `/api`.
    pub fn base_url(&self) -> String {
        self.running.base_url()
    }

    /// The signed client of the default member (userid 1).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A signed client for another member or namespace base URL.
    pub fn client_for(&self, userid: &str, key: &str) -> Client {
        Client::new(&self.base_url(), userid, key)
    }

    /// Signs and sends one call as the default member.
    pub async fn call(&self, action: &str, params: Value) -> Result<Answer, MockError> {
        Ok(self.client.call(action, params).await?)
    }

    /// The `default` namespace's engine, for direct inspection
    /// (`test_support::default_engine`).
    pub(crate) async fn engine(&self) -> Option<Arc<Engine>> {
        self.running.registry.existing(DEFAULT_NAMESPACE).await
    }

    /// Any control call: `method` `/_mock/…` with an optional JSON body.
    pub async fn control(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), MockError> {
        let method = reqwest::Method::from_bytes(method.as_bytes())
            .map_err(|_| MockError::Method(method.to_string()))?;
        let mut req = self
            .http
            .request(method, format!("{}{}", self.base_url(), path));
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    async fn control_ok(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, MockError> {
        let (status, value) = self.control(method, path, body).await?;
        if (200..300).contains(&status) {
            Ok(value)
        } else {
            Err(MockError::Control {
                status,
                body: value,
            })
        }
    }

    /// Moves the simulated clock forward; due transitions run before it returns.
    pub async fn advance(&self, by: Duration) -> Result<Value, MockError> {
        self.control_ok(
            "POST",
            "/_mock/clock/advance",
            Some(json!({"seconds": by.as_secs()})),
        )
        .await
    }

    pub async fn clock(&self) -> Result<Value, MockError> {
        self.control_ok("GET", "/_mock/clock", None).await
    }

    /// Adds a fault rule (its JSON: docs/contract.md, "Control API payloads");
    /// returns it with its id.
    pub async fn add_fault(&self, rule: Value) -> Result<Value, MockError> {
        self.control_ok("POST", "/_mock/faults", Some(rule)).await
    }

    pub async fn clear_faults(&self) -> Result<(), MockError> {
        self.control_ok("DELETE", "/_mock/faults", None)
            .await
            .map(|_| ())
    }

    /// Journal entries, newest first; `query` like `action=create&limit=5`.
    /// Without a `limit` (or `before`), every entry that matches: the
    /// server's pages of 100 are followed to the end.
    pub async fn requests(&self, query: &str) -> Result<Vec<Value>, MockError> {
        let mut pages = crate::client::JournalPages::new(query);
        let mut entries = Vec::new();
        while let Some(path) = pages.next_path() {
            let v = self.control_ok("GET", &path, None).await?;
            entries.extend(pages.take(&v));
        }
        Ok(entries)
    }

    pub async fn reset(&self) -> Result<(), MockError> {
        self.control_ok("POST", "/_mock/reset", None)
            .await
            .map(|_| ())
    }

    pub async fn snapshot(&self, name: &str) -> Result<(), MockError> {
        self.control_ok("POST", "/_mock/snapshots", Some(json!({"name": name})))
            .await
            .map(|_| ())
    }

    pub async fn restore(&self, name: &str) -> Result<(), MockError> {
        self.control_ok("POST", &format!("/_mock/snapshots/{name}/restore"), None)
            .await
            .map(|_| ())
    }

    /// A signed client (default member) for the namespace `name`, made on
    /// its first call.
    pub fn namespace_client(&self, name: &str) -> Client {
        Client::new(
            &format!("{}/ns/{name}", self.base_url()),
            DEFAULT_USERID,
            DEFAULT_KEY,
        )
    }

    /// Makes a namespace as a copy of another one (`Fork::namespace`), of a
    /// snapshot (`Fork::snapshot`), or fresh from the seed (`Fork::seed`),
    /// and returns its name. The copy carries the clock and the pending
    /// transitions; a suite snapshots its fixture once and gives every test
    /// a fork of it:
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use apayun_mock::mock::Fork;
    /// use apayun_mock::MockEngine;
    /// use serde_json::json;
    ///
    /// let engine = MockEngine::start().await?;
    /// engine.snapshot("fixture").await?;
    /// let name = engine.fork(Fork::snapshot("fixture")).await?;
    /// let test = engine.namespace_client(&name);
    /// assert_eq!(test.call("getzones", json!({})).await?.code(), 0);
    /// # Ok(()) }
    /// ```
    pub async fn fork(&self, fork: Fork) -> Result<String, MockError> {
        let mut body = serde_json::Map::new();
        if let Some(name) = fork.name {
            body.insert("name".into(), Value::String(name));
        }
        if let Some(from) = fork.from {
            body.insert("from".into(), Value::String(from));
        }
        if let Some(snapshot) = fork.from_snapshot {
            body.insert("from_snapshot".into(), Value::String(snapshot));
        }
        let made = self
            .control_ok("POST", "/_mock/namespaces", Some(Value::Object(body)))
            .await?;
        match made.get("name").and_then(Value::as_str) {
            Some(name) => Ok(name.to_string()),
            None => Err(MockError::Unexpected(made)),
        }
    }

    /// Deletes a namespace.
    pub async fn delete_namespace(&self, name: &str) -> Result<(), MockError> {
        self.control_ok("DELETE", &format!("/_mock/namespaces/{name}"), None)
            .await
            .map(|_| ())
    }

    /// Stops the server and waits for it.
    pub async fn stop(self) {
        self.running.stop().await;
    }
}

/// What [`MockEngine::fork`] copies, and the new namespace's name (the
/// server picks a unique one when none is given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fork {
    name: Option<String>,
    from: Option<String>,
    from_snapshot: Option<String>,
}

impl Fork {
    /// A copy of namespace `from`'s current state.
    pub fn namespace(from: &str) -> Fork {
        Fork {
            from: Some(from.to_string()),
            ..Fork::default()
        }
    }

    /// A copy of the `default` namespace's snapshot `snapshot`.
    pub fn snapshot(snapshot: &str) -> Fork {
        Fork {
            from_snapshot: Some(snapshot.to_string()),
            ..Fork::default()
        }
    }

    /// A fresh engine from the seed.
    pub fn seed() -> Fork {
        Fork::default()
    }

    /// The snapshot is another namespace's, not `default`'s.
    pub fn of(mut self, namespace: &str) -> Fork {
        self.from = Some(namespace.to_string());
        self
    }

    /// Names the new namespace.
    pub fn named(mut self, name: &str) -> Fork {
        self.name = Some(name.to_string());
        self
    }
}
