//! The request journal: every `/api` call with its masked params, answer,
//! reason, latency, fired fault and effects. Bounded; the oldest entries are
//! dropped first.
//!
//! Params and answers are kept as JSON text ([`RawJson`]), not as value
//! trees: a few hundred bytes per entry instead of kilobytes, and an answer
//! shares the very buffer that went out on the wire (a cached catalog
//! answer is one buffer for every entry that shows it).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use axum::body::Bytes;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::api::sign::KEY_MASK;

/// Fields never shown in the journal.
const SECRET_FIELDS: &[&str] = &[
    "loginPassword",
    "login_password",
    "api_key",
    "key",
    "password",
];

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: u64,
    pub time: String,
    pub action: String,
    pub userid: String,
    pub guid: Option<String>,
    pub params: RawJson,
    pub code: i64,
    pub reason: Option<String>,
    pub latency_ms: f64,
    pub fault: Option<i64>,
    pub response: RawJson,
    pub effects: Vec<Value>,
    /// The masked canonical string, on a bad sign.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_input: Option<String>,
}

/// Which entries a reader wants.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub action: Option<String>,
    pub userid: Option<String>,
    pub guid: Option<String>,
    pub code: Option<i64>,
    pub since: Option<u64>,
    pub limit: Option<usize>,
}

impl Filter {
    fn matches(&self, e: &Entry) -> bool {
        self.action.as_ref().is_none_or(|a| &e.action == a)
            && self.userid.as_ref().is_none_or(|u| &e.userid == u)
            && self
                .guid
                .as_ref()
                .is_none_or(|g| e.guid.as_ref() == Some(g))
            && self.code.is_none_or(|c| e.code == c)
            && self.since.is_none_or(|s| e.id > s)
    }
}

#[derive(Debug)]
pub struct Journal {
    entries: Mutex<VecDeque<Entry>>,
    capacity: usize,
    next_id: AtomicU64,
    dropped: AtomicU64,
}

impl Journal {
    pub fn new(capacity: usize) -> Journal {
        Journal {
            entries: Mutex::new(VecDeque::with_capacity(capacity.min(4096))),
            capacity,
            next_id: AtomicU64::new(1),
            dropped: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, VecDeque<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn next_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn push(&self, entry: Entry) {
        if self.capacity == 0 {
            return;
        }
        let mut entries = self.lock();
        while entries.len() >= self.capacity {
            entries.pop_front();
            self.dropped.fetch_add(1, Ordering::Relaxed);
        }
        entries.push_back(entry);
    }

    /// Matching entries, newest first.
    pub fn query(&self, filter: &Filter) -> Vec<Entry> {
        let entries = self.lock();
        entries
            .iter()
            .rev()
            .filter(|e| filter.matches(e))
            .take(filter.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries dropped because the journal was full.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// A JSON document kept as its text: small, cheap to clone (the buffer is
/// shared), and written out as the very value it was made from.
#[derive(Clone, PartialEq, Eq)]
pub struct RawJson(Bytes);

impl RawJson {
    /// Text that is already JSON (e.g. a rendered answer).
    pub fn from_bytes(text: Bytes) -> RawJson {
        RawJson(text)
    }

    pub fn from_value(value: &Value) -> RawJson {
        RawJson::from_vec(serde_json::to_vec(value).unwrap_or_default())
    }

    /// Kept text holds no slack capacity (the journal keeps thousands).
    fn from_vec(mut text: Vec<u8>) -> RawJson {
        text.shrink_to_fit();
        RawJson(Bytes::from(text))
    }

    /// The text, as stored.
    pub fn bytes(&self) -> &Bytes {
        &self.0
    }

    /// The JSON value (`null` if the text were not JSON).
    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.0).unwrap_or(Value::Null)
    }
}

impl From<Value> for RawJson {
    fn from(value: Value) -> RawJson {
        RawJson::from_value(&value)
    }
}

impl std::fmt::Debug for RawJson {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&String::from_utf8_lossy(&self.0))
    }
}

impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

/// Serialises params with passwords and keys shown as `***`, without copying them.
struct Masked<'a>(&'a Map<String, Value>);

impl Serialize for Masked<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            if SECRET_FIELDS.contains(&k.as_str()) {
                map.serialize_entry(k, KEY_MASK)?;
            } else {
                map.serialize_entry(k, v)?;
            }
        }
        map.end()
    }
}

/// The params with passwords and keys shown as `***`, as journal text.
pub fn masked_params_json(params: &Map<String, Value>) -> RawJson {
    RawJson::from_vec(serde_json::to_vec(&Masked(params)).unwrap_or_default())
}

/// A copy of the params with passwords and keys shown as `***`.
pub fn mask_params(params: &Map<String, Value>) -> Value {
    Value::Object(
        params
            .iter()
            .map(|(k, v)| {
                let masked = if SECRET_FIELDS.contains(&k.as_str()) {
                    Value::String(KEY_MASK.to_string())
                } else {
                    v.clone()
                };
                (k.clone(), masked)
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn entry(id: u64, action: &str) -> Entry {
        Entry {
            id,
            time: String::new(),
            action: action.into(),
            userid: "1".into(),
            guid: None,
            params: json!({}).into(),
            code: 0,
            reason: None,
            latency_ms: 0.0,
            fault: None,
            response: json!({}).into(),
            effects: vec![],
            sign_input: None,
        }
    }

    #[test]
    fn bounded_and_newest_first() {
        let j = Journal::new(3);
        for i in 1..=5 {
            j.push(entry(i, if i % 2 == 0 { "stop" } else { "create" }));
        }
        let all = j.query(&Filter::default());
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), vec![5, 4, 3]);
        assert_eq!(j.dropped(), 2);
        let stops = j.query(&Filter {
            action: Some("stop".into()),
            ..Filter::default()
        });
        assert_eq!(stops.len(), 1);
    }

    #[test]
    fn masks_secrets() {
        let mut m = Map::new();
        m.insert("loginPassword".into(), json!("c2VjcmV0"));
        m.insert("guid".into(), json!("1"));
        assert_eq!(mask_params(&m), json!({"loginPassword":"***","guid":"1"}));
        assert_eq!(
            masked_params_json(&m).value(),
            json!({"loginPassword":"***","guid":"1"})
        );
    }

    #[test]
    fn raw_json_serialises_as_its_value() {
        let raw = RawJson::from_bytes(Bytes::from_static(br#"{"b":"\u4e2d\/x","a":[1]}"#));
        assert_eq!(raw.value(), json!({"b":"中/x","a":[1]}));
        assert_eq!(
            serde_json::to_string(&raw).unwrap_or_default(),
            r#"{"b":"中/x","a":[1]}"#
        );
    }
}
