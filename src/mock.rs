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

use serde_json::Value;

use crate::client::{Answer, Client};
use crate::config::ServeConfig;
use crate::control::{ControlClient, ControlError};
use crate::engine::Engine;
use crate::protocol::control::{ClockView, NewNamespace};
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

impl From<ControlError> for MockError {
    fn from(e: ControlError) -> MockError {
        match e {
            ControlError::Http(e) => MockError::Http(e),
            ControlError::Method(m) => MockError::Method(m),
            ControlError::Refused { status, body } => MockError::Control { status, body },
            ControlError::Unexpected { text, .. } => MockError::Unexpected(Value::String(text)),
        }
    }
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
    control: ControlClient,
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
        let mut control = ControlClient::new(&running.base_url());
        if let Some(token) = &running.registry.config.admin_token {
            control = control.with_token(token);
        }
        Ok(MockEngine {
            running,
            client,
            control,
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

    /// The typed client of this engine's control API (every call).
    pub fn control_client(&self) -> &ControlClient {
        &self.control
    }

    /// Any control call: `method` `/_mock/…` with an optional JSON body.
    pub async fn control(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), MockError> {
        let answer = self.control.raw(method, path, body.as_ref()).await?;
        let status = answer.status;
        Ok((
            status,
            serde_json::from_str(&answer.text).unwrap_or(Value::String(answer.text)),
        ))
    }

    /// Moves the simulated clock forward; due transitions run before it returns.
    pub async fn advance(&self, by: Duration) -> Result<ClockView, MockError> {
        Ok(self.control.advance(by.as_secs()).await?)
    }

    pub async fn clock(&self) -> Result<ClockView, MockError> {
        Ok(self.control.clock().await?)
    }

    /// Adds a fault rule (its JSON: docs/contract.md, "Control API payloads");
    /// returns it with its id.
    pub async fn add_fault(&self, rule: Value) -> Result<Value, MockError> {
        Ok(self.control.add_fault(&rule).await?)
    }

    pub async fn clear_faults(&self) -> Result<(), MockError> {
        self.control.clear_faults().await?;
        Ok(())
    }

    /// Journal entries, newest first; `query` like `action=create&limit=5`.
    /// Without a `limit` (or `before`), every entry that matches: the
    /// server's pages of 100 are followed to the end.
    pub async fn requests(&self, query: &str) -> Result<Vec<Value>, MockError> {
        Ok(self.control.requests(query).await?.requests)
    }

    pub async fn reset(&self) -> Result<(), MockError> {
        self.control.reset().await?;
        Ok(())
    }

    pub async fn snapshot(&self, name: &str) -> Result<(), MockError> {
        self.control.snapshot(name).await?;
        Ok(())
    }

    pub async fn restore(&self, name: &str) -> Result<(), MockError> {
        self.control.restore(name).await?;
        Ok(())
    }

    /// A signed client (default member) for the namespace `name`, made on
    /// its first call.
    pub fn namespace_client(&self, name: &str) -> Client {
        Client::new(
            &format!("{}/ns/{}", self.base_url(), crate::control::segment(name)),
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
        let new = NewNamespace {
            name: fork.name,
            from: fork.from,
            from_snapshot: fork.from_snapshot,
        };
        Ok(self.control.create_namespace(&new).await?.name)
    }

    /// Deletes a namespace.
    pub async fn delete_namespace(&self, name: &str) -> Result<(), MockError> {
        self.control.delete_namespace(name).await?;
        Ok(())
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
