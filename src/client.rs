//! A signed client for the engine's `/api`, as a reseller system would
//! write one: form-encoded, PHP `http_build_query` nesting, the documented
//! sign. Used by the CLI's `call`, the library API and the tests.

use serde_json::Value;

use crate::actions::module_of;
use crate::protocol::sign;

/// Flattens a JSON value into `http_build_query` pairs: `param[0][item]=ip`.
pub fn php_build_query(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}[{k}]")
                };
                php_build_query(&key, v, out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                php_build_query(&format!("{prefix}[{i}]"), v, out);
            }
        }
        Value::Null => out.push((prefix.to_string(), String::new())),
        Value::String(s) => out.push((prefix.to_string(), s.clone())),
        other => out.push((prefix.to_string(), other.to_string())),
    }
}

#[derive(Debug, Clone)]
pub struct Client {
    base_url: String,
    pub userid: String,
    key: String,
    http: reqwest::Client,
}

/// One answer: HTTP status, the `X-Mock-Error` reason, and the body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub reason: Option<String>,
    pub text: String,
}

impl Answer {
    /// The body as JSON (`Value::Null` when it is not JSON).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::Null)
    }

    /// The envelope's `code` (-1 when there is none).
    pub fn code(&self) -> i64 {
        self.json()
            .get("code")
            .and_then(Value::as_i64)
            .unwrap_or(-1)
    }

    pub fn data(&self) -> Value {
        self.json().get("data").cloned().unwrap_or(Value::Null)
    }
}

impl Client {
    /// `base_url` is the engine (`http://127.0.0.1:8080`) or a namespace
    /// (`http://127.0.0.1:8080/ns/suite-a`); `/api` is appended.
    pub fn new(base_url: &str, userid: &str, key: &str) -> Client {
        Client {
            base_url: base_url.trim_end_matches('/').to_string(),
            userid: userid.to_string(),
            key: key.to_string(),
            http: reqwest::Client::new(),
        }
    }

    /// The common parameters and sign for one request, followed by `params`.
    pub fn signed_pairs(&self, action: &str, params: &Value) -> Vec<(String, String)> {
        let module = params
            .get("module")
            .and_then(Value::as_str)
            .unwrap_or(module_of(action))
            .to_string();
        let time = crate::clock::wall_seconds().to_string();
        let vtime = crate::clock::wall_date_yyyymmdd(8 * 3600);
        let mut pairs = vec![
            ("module".to_string(), module.clone()),
            ("action".to_string(), action.to_string()),
            ("userid".to_string(), self.userid.clone()),
            ("time".to_string(), time.clone()),
            (
                "sign".to_string(),
                sign::sign(&module, action, &self.userid, &self.key, &time),
            ),
            ("version".to_string(), "9.9.9".to_string()),
            ("system_type".to_string(), "zkeys_web".to_string()),
            ("vtime".to_string(), vtime),
        ];
        let mut extra = Vec::new();
        php_build_query("", params, &mut extra);
        for (k, v) in extra {
            if k != "module" {
                pairs.retain(|(pk, _)| *pk != k);
                pairs.push((k, v));
            }
        }
        pairs
    }

    /// Signs and posts one request (`params` is a JSON object of fields).
    pub async fn call(&self, action: &str, params: Value) -> Result<Answer, reqwest::Error> {
        let pairs = self.signed_pairs(action, &params);
        self.post_form(&pairs).await
    }

    /// Posts already-built form pairs to `/api`.
    pub async fn post_form(&self, pairs: &[(String, String)]) -> Result<Answer, reqwest::Error> {
        let resp = self
            .http
            .post(format!("{}/api", self.base_url))
            .form(pairs)
            .send()
            .await?;
        read_answer(resp).await
    }
}

/// Reads a whole answer: status, `X-Mock-Error` reason and body text.
pub(crate) async fn read_answer(resp: reqwest::Response) -> Result<Answer, reqwest::Error> {
    let status = resp.status().as_u16();
    let reason = resp
        .headers()
        .get(crate::api::envelope::ERROR_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let text = resp.text().await?;
    Ok(Answer {
        status,
        reason,
        text,
    })
}

/// Parses CLI `key=value` words into a JSON object, nesting PHP brackets.
#[cfg(feature = "cli")]
pub(crate) fn params_from_words(words: &[String]) -> Result<Value, String> {
    let mut form = String::new();
    for w in words {
        let (k, v) = w
            .split_once('=')
            .ok_or_else(|| format!("expected key=value, got {w:?}"))?;
        if !form.is_empty() {
            form.push('&');
        }
        form.push_str(&serde_urlencoded::to_string([(k, v)]).map_err(|e| e.to_string())?);
    }
    let params =
        crate::api::decode::decode_form(form.as_bytes(), crate::protocol::Limits::default())
            .map_err(|e| e.message)?;
    Ok(Value::Object(params.0))
}

/// An error and its causes, `: `-joined: reqwest's own text ("error
/// sending request") leaves out what actually happened.
#[cfg(feature = "cli")]
pub(crate) fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn builds_php_queries() {
        let mut out = Vec::new();
        php_build_query(
            "",
            &json!({"guid":"1","param":[{"item":"ip","value":["114.114.8.16-23"]}]}),
            &mut out,
        );
        let keys: Vec<&str> = out.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["guid", "param[0][item]", "param[0][value][0]"]);
    }

    #[test]
    #[cfg(feature = "cli")]
    fn words_nest() {
        let v = params_from_words(&["guid=1".into(), "param[0][item]=ip".into()]);
        assert_eq!(v, Ok(json!({"guid":"1","param":[{"item":"ip"}]})));
        assert!(params_from_words(&["nokey".into()]).is_err());
    }
}

/// Reading every journal entry a query matches, page after page:
/// `GET /_mock/requests` answers at most 100 entries unless told a
/// `limit`, and names the next page's cursor in `next_before`. A query that
/// names its own `limit` or `before` is read as the one page it asks for.
#[derive(Debug, Clone)]
pub(crate) struct JournalPages {
    query: String,
    paged: bool,
    before: Option<u64>,
    done: bool,
}

/// Entries asked for per page when reading them all.
const JOURNAL_PAGE: usize = 1000;

impl JournalPages {
    pub(crate) fn new(query: &str) -> JournalPages {
        let query = query.trim_start_matches('?').to_string();
        let names = |key: &str| {
            query
                .split('&')
                .any(|pair| pair.split('=').next() == Some(key))
        };
        JournalPages {
            paged: !names("limit") && !names("before"),
            query,
            before: None,
            done: false,
        }
    }

    /// The path of the next page to ask for; `None` once all are read.
    pub(crate) fn next_path(&self) -> Option<String> {
        if self.done {
            return None;
        }
        let mut query = self.query.clone();
        let mut add = |pair: String| {
            if !query.is_empty() {
                query.push('&');
            }
            query.push_str(&pair);
        };
        if self.paged {
            add(format!("limit={JOURNAL_PAGE}"));
            if let Some(before) = self.before {
                add(format!("before={before}"));
            }
        }
        Some(if query.is_empty() {
            "/_mock/requests".to_string()
        } else {
            format!("/_mock/requests?{query}")
        })
    }

    /// Takes a page's answer: its entries, and where the next page starts.
    pub(crate) fn take(&mut self, answer: &Value) -> Vec<Value> {
        self.before = answer.get("next_before").and_then(Value::as_u64);
        self.done = !self.paged || self.before.is_none();
        answer
            .get("requests")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    }
}
