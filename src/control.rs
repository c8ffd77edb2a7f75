//! `ControlClient`: the one Rust client of the control API (`/_mock/…`),
//! with a typed method per call and path segments percent-encoded.
//! `MockEngine`, the scenario runner and the CLI's `health` all talk to the
//! control API through it.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::{read_answer, Answer};
/// The request and answer types of every control call.
pub use crate::protocol::control::*;

/// Characters a path segment keeps as they are: RFC 3986's unreserved
/// ones. Everything else (`/`, `?`, `#`, `%`, spaces, non-ASCII) is encoded,
/// so a name always stays one segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// `name` as one path segment.
pub fn segment(name: &str) -> String {
    utf8_percent_encode(name, SEGMENT).to_string()
}

/// What went wrong with a control call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ControlError {
    /// The HTTP exchange failed (nothing listening, a closed connection).
    #[error(transparent)]
    Http(#[from] reqwest::Error),
    /// Not an HTTP method.
    #[error("invalid HTTP method {0:?}")]
    Method(String),
    /// The control API refused the call: its status and body
    /// (`{"error","message"}`).
    #[error("control API answered {status}: {body}")]
    Refused { status: u16, body: Value },
    /// A 2xx answer that is not what the call answers.
    #[error("unexpected control API answer ({status}): {text}")]
    Unexpected { status: u16, text: String },
}

/// A client of one engine's control API: the server root
/// (`http://127.0.0.1:8080`) or a namespace (`…/ns/suite-a`).
#[derive(Debug, Clone)]
pub struct ControlClient {
    base_url: String,
    http: reqwest::Client,
    token: Option<String>,
}

impl ControlClient {
    pub fn new(base_url: &str) -> ControlClient {
        ControlClient::with_http(base_url, reqwest::Client::new())
    }

    /// With an HTTP client of the caller's (its time-outs, proxies).
    pub fn with_http(base_url: &str, http: reqwest::Client) -> ControlClient {
        ControlClient {
            base_url: base_url.trim_end_matches('/').to_string(),
            http,
            token: None,
        }
    }

    /// Sends `Authorization: Bearer <token>` (a server with `--admin-token`).
    pub fn with_token(mut self, token: &str) -> ControlClient {
        self.token = Some(token.to_string());
        self
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The same server's namespace `name` (made on its first call).
    pub fn namespace(&self, name: &str) -> ControlClient {
        let mut client = self.root();
        client.base_url = format!("{}/ns/{}", client.base_url, segment(name));
        client
    }

    /// The server root this client's base is on (without `/ns/NAME`).
    pub fn root(&self) -> ControlClient {
        let mut root = self.clone();
        if let Some((r, name)) = self.base_url.rsplit_once("/ns/") {
            if !name.is_empty() && !name.contains('/') {
                root.base_url = r.to_string();
            }
        }
        root
    }

    /// Any control call: `method` on `path` (under the base, e.g.
    /// `/_mock/clock`, already encoded) with an optional JSON body; the
    /// answer as it came, whatever its status.
    pub async fn raw(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Answer, ControlError> {
        let method = reqwest::Method::from_bytes(method.to_ascii_uppercase().as_bytes())
            .map_err(|_| ControlError::Method(method.to_string()))?;
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base_url));
        if let Some(token) = &self.token {
            request = request.bearer_auth(token);
        }
        if let Some(b) = body {
            request = request.json(b);
        }
        Ok(read_answer(request.send().await?).await?)
    }

    /// A call that must answer 2xx with a `T`.
    async fn send<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        body: Option<&Value>,
    ) -> Result<T, ControlError> {
        let answer = self.raw(method, path, body).await?;
        if !(200..300).contains(&answer.status) {
            let body = serde_json::from_str(&answer.text).unwrap_or(Value::String(answer.text));
            return Err(ControlError::Refused {
                status: answer.status,
                body,
            });
        }
        serde_json::from_str(&answer.text).map_err(|_| ControlError::Unexpected {
            status: answer.status,
            text: answer.text,
        })
    }

    fn json(value: impl serde::Serialize) -> Value {
        serde_json::to_value(value).unwrap_or(Value::Null)
    }

    pub async fn health(&self) -> Result<Health, ControlError> {
        self.send("GET", "/_mock/health", None).await
    }

    /// Back to the seed state (journal, faults and callbacks emptied).
    pub async fn reset(&self) -> Result<ResetDone, ControlError> {
        self.send("POST", "/_mock/reset", None).await
    }

    pub async fn clock(&self) -> Result<ClockView, ControlError> {
        self.send("GET", "/_mock/clock", None).await
    }

    /// Moves the clock forward; due transitions run before it answers.
    pub async fn advance(&self, seconds: u64) -> Result<ClockView, ControlError> {
        let body = serde_json::json!({ "seconds": seconds });
        self.send("POST", "/_mock/clock/advance", Some(&body)).await
    }

    /// Sets the clock to `now` (`YYYY-MM-DD HH:MM:SS`, forward only).
    pub async fn set_clock(&self, now: &str) -> Result<ClockView, ControlError> {
        let body = serde_json::json!({ "now": now });
        self.send("POST", "/_mock/clock/set", Some(&body)).await
    }

    pub async fn freeze(&self) -> Result<ClockView, ControlError> {
        self.send("POST", "/_mock/clock/freeze", None).await
    }

    pub async fn resume(&self) -> Result<ClockView, ControlError> {
        self.send("POST", "/_mock/clock/resume", None).await
    }

    pub async fn timeline(&self) -> Result<Timeline, ControlError> {
        self.send("GET", "/_mock/timeline", None).await
    }

    /// Where member `userid`'s callbacks go (`None`: nowhere).
    pub async fn set_callback(
        &self,
        userid: &str,
        url: Option<&str>,
    ) -> Result<CallbackSet, ControlError> {
        let body = Self::json(CallbackUrl {
            url: url.map(str::to_string),
        });
        let path = format!("/_mock/users/{}/callback", segment(userid));
        self.send("PUT", &path, Some(&body)).await
    }

    /// Adds a fault rule (docs/contract.md, "Control API payloads"); the
    /// answer is the rule with its `id`.
    pub async fn add_fault(&self, rule: &Value) -> Result<Value, ControlError> {
        self.send("POST", "/_mock/faults", Some(rule)).await
    }

    /// The fault rules with their counters.
    pub async fn faults(&self) -> Result<Value, ControlError> {
        self.send("GET", "/_mock/faults", None).await
    }

    pub async fn clear_faults(&self) -> Result<FaultsCleared, ControlError> {
        self.send("DELETE", "/_mock/faults", None).await
    }

    pub async fn remove_fault(&self, id: i64) -> Result<FaultRemoved, ControlError> {
        self.send("DELETE", &format!("/_mock/faults/{id}"), None)
            .await
    }

    /// Journal entries, newest first; `query` like `action=create&limit=5`
    /// (already form-encoded). Without a `limit` (or `before`), every entry
    /// that matches: the server's pages are followed to the end.
    pub async fn requests(&self, query: &str) -> Result<Requests, ControlError> {
        let mut pages = crate::client::JournalPages::new(query);
        let mut entries = Vec::new();
        let mut last = Value::Null;
        while let Some(path) = pages.next_path() {
            last = self.send("GET", &path, None).await?;
            entries.extend(pages.take(&last));
        }
        let text = last.to_string();
        let mut answer: Requests = serde_json::from_value(last)
            .map_err(|_| ControlError::Unexpected { status: 200, text })?;
        answer.requests = entries;
        Ok(answer)
    }

    pub async fn clear_requests(&self) -> Result<RequestsCleared, ControlError> {
        self.send("DELETE", "/_mock/requests", None).await
    }

    pub async fn snapshot(&self, name: &str) -> Result<SnapshotInfo, ControlError> {
        let body = Self::json(SnapshotName {
            name: name.to_string(),
        });
        self.send("POST", "/_mock/snapshots", Some(&body)).await
    }

    pub async fn snapshots(&self) -> Result<Snapshots, ControlError> {
        self.send("GET", "/_mock/snapshots", None).await
    }

    pub async fn restore(&self, name: &str) -> Result<Restored, ControlError> {
        let path = format!("/_mock/snapshots/{}/restore", segment(name));
        self.send("POST", &path, None).await
    }

    pub async fn delete_snapshot(&self, name: &str) -> Result<Deleted, ControlError> {
        let path = format!("/_mock/snapshots/{}", segment(name));
        self.send("DELETE", &path, None).await
    }

    /// Forces state fields of instance `guid` (`{"run_status":2,…}`).
    pub async fn force_state(
        &self,
        guid: &str,
        fields: &Value,
    ) -> Result<ForcedInstance, ControlError> {
        let path = format!("/_mock/baremetal/{}", segment(guid));
        self.send("PATCH", &path, Some(fields)).await
    }

    /// The namespaces of the server (asked at its root).
    pub async fn namespaces(&self) -> Result<Value, ControlError> {
        self.root().send("GET", "/_mock/namespaces", None).await
    }

    /// Makes a namespace on this client's server.
    pub async fn create_namespace(
        &self,
        new: &NewNamespace,
    ) -> Result<NamespaceMade, ControlError> {
        let body = Self::json(new);
        self.root()
            .send("POST", "/_mock/namespaces", Some(&body))
            .await
    }

    pub async fn delete_namespace(&self, name: &str) -> Result<Deleted, ControlError> {
        let path = format!("/_mock/namespaces/{}", segment(name));
        self.root().send("DELETE", &path, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_stays_one_segment() {
        assert_eq!(segment("a_1.b-c~"), "a_1.b-c~");
        assert_eq!(segment("a/b"), "a%2Fb");
        assert_eq!(segment("x?y#z%"), "x%3Fy%23z%25");
        assert_eq!(segment("快照 1"), "%E5%BF%AB%E7%85%A7%201");
    }

    #[test]
    fn namespaces_hang_off_the_root() {
        let c = ControlClient::new("http://h:1/");
        assert_eq!(c.namespace("t 1").base_url(), "http://h:1/ns/t%201");
        assert_eq!(
            c.namespace("a").namespace("b").base_url(),
            "http://h:1/ns/b"
        );
        assert_eq!(c.namespace("a").root().base_url(), "http://h:1");
    }
}
