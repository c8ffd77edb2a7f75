//! `Raw`: one HTTP answer as the tests read it, whether it came through
//! reqwest or off a raw socket — status, headers, `Content-Type`,
//! `X-Mock-Error` and the body as text and as JSON — with the checks of the
//! two error contracts (the `/api` envelope, the control API's
//! `{"error","message"}`).

use serde_json::Value;

/// One answer, read whole.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    /// Every header, names in lower case, values as (lossy) text.
    pub headers: Vec<(String, String)>,
    /// `Content-Type`; empty when there is none.
    pub content_type: String,
    /// `X-Mock-Error`, the reason of a refusal.
    pub reason: Option<String>,
    pub text: String,
    /// The body as JSON, or as a JSON string when it is not JSON.
    pub body: Value,
}

impl Raw {
    fn new(status: u16, headers: Vec<(String, String)>, text: String) -> Raw {
        let find = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let content_type = find("content-type").unwrap_or_default();
        let reason = find("x-mock-error");
        let body = serde_json::from_str(&text).unwrap_or_else(|_| Value::String(text.clone()));
        Raw {
            status,
            headers,
            content_type,
            reason,
            text,
            body,
        }
    }

    /// Reads a reqwest answer to its end.
    pub async fn read(resp: reqwest::Response) -> Raw {
        let status = resp.status().as_u16();
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_ascii_lowercase(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let text = resp
            .text()
            .await
            .unwrap_or_else(|e| panic!("the body did not arrive whole: {e}"));
        Raw::new(status, headers, text)
    }

    /// Parses the bytes of one HTTP/1.1 answer read off a socket.
    pub fn parse(bytes: &[u8]) -> Raw {
        let text = String::from_utf8_lossy(bytes).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no status line in {text:?}"));
        let headers = head
            .lines()
            .skip(1)
            .filter_map(|line| {
                let (k, v) = line.split_once(':')?;
                Some((k.trim().to_ascii_lowercase(), v.trim().to_string()))
            })
            .collect();
        Raw::new(status, headers, body.to_string())
    }

    /// A header's value (the first, if it is sent more than once).
    pub fn header(&self, name: &str) -> Option<String> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.clone())
    }

    /// The body as JSON; panics when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("body is not JSON ({e}): {self:?}"))
    }

    /// The body's `message`, or "" when it has none.
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or_default()
    }

    /// An `/api` envelope refusal with this status and reason.
    pub fn assert_envelope(&self, status: u16, reason: &str) {
        let v = self.refusal(status, reason);
        assert_eq!(v["code"], 1, "{self:?}");
    }

    /// A control API refusal with this status and reason.
    pub fn assert_control(&self, status: u16, reason: &str) {
        let v = self.refusal(status, reason);
        assert_eq!(v["error"], reason, "{self:?}");
    }

    /// What both refusals share: the status, `X-Mock-Error`, a JSON body
    /// with a message (returned).
    fn refusal(&self, status: u16, reason: &str) -> Value {
        assert_eq!(self.status, status, "{self:?}");
        assert_eq!(
            self.header("x-mock-error").as_deref(),
            Some(reason),
            "{self:?}"
        );
        let v = self.json();
        assert!(
            !v["message"].as_str().unwrap_or_default().is_empty(),
            "{self:?}"
        );
        v
    }
}
