//! The request journal: every `/api` call with its masked params, answer,
//! reason, latency, fired fault and effects. Bounded; the oldest entries are
//! dropped first.
//!
//! Recording is off the request's critical path: the pipeline hands a
//! [`Record`] (the decoded params moved, the rendered answer shared) to a
//! bounded channel with `try_send` and returns; one writer thread per
//! journal masks the params, formats the time and files the entry. A full
//! channel never blocks a request: the record is counted in `overflowed`
//! and lost. Readers first wait (briefly) until the writer has filed every
//! record sent before they asked, so a request's entry is visible to
//! anyone who asks after its answer arrived.
//!
//! Params and answers are kept as JSON text ([`RawJson`]), not as value
//! trees: a few hundred bytes per entry instead of kilobytes, and an answer
//! shares the very buffer that went out on the wire (a cached catalog
//! answer is one buffer for every entry that shows it).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use chrono::FixedOffset;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

use crate::api::decode::scalar_text;
use crate::api::sign::KEY_MASK;

/// Fields never shown in the journal.
const SECRET_FIELDS: &[&str] = &[
    "loginPassword",
    "login_password",
    "api_key",
    "key",
    "password",
];

/// Records in flight between the pipeline and the writer.
const CHANNEL_CAPACITY: usize = 4096;

/// How long the writer lets records gather after filing a batch.
const BATCH_PAUSE: Duration = Duration::from_millis(1);

/// How long a reader waits for the writer to catch up before it answers
/// with what is filed (the writer needs microseconds per record).
const CATCH_UP_LIMIT: Duration = Duration::from_secs(2);

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

/// One call as the pipeline hands it over, nothing formatted yet.
#[derive(Debug)]
pub struct Record {
    /// Engine time of the call, unix seconds.
    pub at: i64,
    /// The decoded params, unmasked (masked by the writer).
    pub params: Map<String, Value>,
    pub code: i64,
    pub reason: Option<String>,
    pub latency_ms: f64,
    pub fault: Option<i64>,
    pub response: RawJson,
    pub effects: Vec<Value>,
    pub sign_input: Option<String>,
}

impl Record {
    fn into_entry(self, id: u64, zone: FixedOffset) -> Entry {
        let text = |k: &str| self.params.get(k).and_then(scalar_text);
        Entry {
            id,
            time: crate::clock::format_time(self.at, zone),
            action: text("action").unwrap_or_default(),
            userid: text("userid").unwrap_or_default(),
            guid: text("guid"),
            params: masked_params_json(&self.params),
            code: self.code,
            reason: self.reason,
            latency_ms: self.latency_ms,
            fault: self.fault,
            response: self.response,
            effects: self.effects,
            sign_input: self.sign_input,
        }
    }
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

/// The filed entries, shared by the writer and the readers.
#[derive(Debug)]
struct Ring {
    entries: VecDeque<Entry>,
    /// Records filed so far (the last id handed out).
    filed: u64,
    /// Entries dropped because the ring was full.
    dropped: u64,
}

#[derive(Debug)]
struct Shared {
    ring: Mutex<Ring>,
    /// Signalled whenever the writer has filed records.
    filed: Condvar,
    capacity: usize,
    zone: FixedOffset,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Files a batch; the entries are built before the lock is taken.
    fn file(&self, batch: Vec<Record>) {
        if batch.is_empty() {
            return;
        }
        let first = self.lock().filed + 1;
        // Only the writer files, so the ids stay this batch's to use.
        let built: Vec<Entry> = batch
            .into_iter()
            .zip(first..)
            .map(|(r, id)| r.into_entry(id, self.zone))
            .collect();
        let mut evicted = Vec::new();
        {
            let mut ring = self.lock();
            for entry in built {
                ring.filed += 1;
                while ring.entries.len() >= self.capacity {
                    if let Some(old) = ring.entries.pop_front() {
                        evicted.push(old);
                    }
                    ring.dropped += 1;
                }
                ring.entries.push_back(entry);
            }
        }
        self.filed.notify_all();
        // Old entries are freed here, outside the lock.
        drop(evicted);
    }
}

/// How records reach the ring.
#[derive(Debug)]
enum Intake {
    /// The journal keeps nothing (`--journal-size 0`).
    Off,
    /// Through the channel to the writer thread.
    Writer(SyncSender<Record>),
    /// Filed on the caller's thread: no writer thread could be started.
    Inline,
}

/// The journal of one engine.
#[derive(Debug)]
pub struct Journal {
    shared: Arc<Shared>,
    intake: Intake,
    /// Records handed to the writer.
    sent: AtomicU64,
    /// Records lost because the writer had fallen `CHANNEL_CAPACITY` behind.
    overflowed: AtomicU64,
}

impl Journal {
    /// A journal of at most `capacity` entries whose times read in `zone`.
    pub fn new(capacity: usize, zone: FixedOffset) -> Journal {
        let shared = Arc::new(Shared {
            ring: Mutex::new(Ring {
                entries: VecDeque::with_capacity(capacity.min(4096)),
                filed: 0,
                dropped: 0,
            }),
            filed: Condvar::new(),
            capacity,
            zone,
        });
        let intake = if capacity == 0 {
            Intake::Off
        } else {
            let (sender, receiver) = mpsc::sync_channel(CHANNEL_CAPACITY);
            let writer = shared.clone();
            let spawned = std::thread::Builder::new()
                .name("journal".into())
                .spawn(move || write_loop(&writer, &receiver));
            match spawned {
                Ok(_) => Intake::Writer(sender),
                Err(err) => {
                    tracing::warn!("journal writer thread not started ({err}): filing inline");
                    Intake::Inline
                }
            }
        };
        Journal {
            shared,
            intake,
            sent: AtomicU64::new(0),
            overflowed: AtomicU64::new(0),
        }
    }

    /// Hands a call to the writer; never blocks.
    pub fn record(&self, record: Record) {
        let sender = match &self.intake {
            Intake::Off => return,
            Intake::Inline => return self.shared.file(vec![record]),
            Intake::Writer(sender) => sender,
        };
        match sender.try_send(record) {
            Ok(()) => {
                self.sent.fetch_add(1, Ordering::Release);
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.overflowed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Waits until every record sent so far is filed (bounded by
    /// `CATCH_UP_LIMIT`), and returns the ring.
    fn catch_up(&self) -> MutexGuard<'_, Ring> {
        let target = self.sent.load(Ordering::Acquire);
        let deadline = Instant::now() + CATCH_UP_LIMIT;
        let mut ring = self.shared.lock();
        while ring.filed < target {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            ring = match self.shared.filed.wait_timeout(ring, left) {
                Ok((guard, _)) => guard,
                Err(poisoned) => poisoned.into_inner().0,
            };
        }
        ring
    }

    /// Matching entries, newest first.
    pub fn query(&self, filter: &Filter) -> Vec<Entry> {
        let ring = self.catch_up();
        ring.entries
            .iter()
            .rev()
            .filter(|e| filter.matches(e))
            .take(filter.limit.unwrap_or(usize::MAX))
            .cloned()
            .collect()
    }

    /// Empties the journal, including every record sent before the call.
    pub fn clear(&self) {
        let old = std::mem::take(&mut self.catch_up().entries);
        drop(old);
    }

    pub fn len(&self) -> usize {
        self.catch_up().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entries dropped (oldest first) because the journal was full.
    pub fn dropped(&self) -> u64 {
        self.catch_up().dropped
    }

    /// Records never filed because the writer had fallen too far behind.
    pub fn overflowed(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }
}

/// The writer: files records in the order they were sent, in batches of
/// whatever has queued up, until the journal (its sender) is gone.
///
/// After a batch it pauses for `BATCH_PAUSE` instead of waiting on the
/// channel at once: a sender only has to wake a writer that is waiting, so
/// under load the requests of a whole pause share one wake-up instead of
/// paying one each (a wake-up costs more than filing a record). Idle, the
/// writer waits on the channel and costs nothing.
fn write_loop(shared: &Shared, receiver: &Receiver<Record>) {
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        batch.extend(receiver.try_iter().take(CHANNEL_CAPACITY));
        shared.file(batch);
        std::thread::sleep(BATCH_PAUSE);
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

    fn zone() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| panic!("zone"))
    }

    fn record(action: &str, password: &str) -> Record {
        let mut params = Map::new();
        params.insert("action".into(), json!(action));
        params.insert("userid".into(), json!(1));
        params.insert("guid".into(), json!("g1"));
        params.insert("loginPassword".into(), json!(password));
        Record {
            at: 1_700_000_000,
            params,
            code: 0,
            reason: None,
            latency_ms: 0.5,
            fault: None,
            response: json!({"code": 0}).into(),
            effects: vec![],
            sign_input: None,
        }
    }

    #[test]
    fn bounded_and_newest_first() {
        let j = Journal::new(3, zone());
        for i in 1..=5 {
            j.record(record(if i % 2 == 0 { "stop" } else { "create" }, "x"));
        }
        // Read at once: the reader waits for the writer thread to file all five.
        let all = j.query(&Filter::default());
        assert_eq!(all.iter().map(|e| e.id).collect::<Vec<_>>(), vec![5, 4, 3]);
        assert_eq!(j.dropped(), 2);
        assert_eq!(j.overflowed(), 0);
        let stops = j.query(&Filter {
            action: Some("stop".into()),
            ..Filter::default()
        });
        assert_eq!(stops.len(), 1);
    }

    #[test]
    fn the_writer_formats_and_masks() {
        let j = Journal::new(10, zone());
        j.record(record("create", "c2VjcmV0"));
        let e = &j.query(&Filter::default())[0];
        assert_eq!(e.time, "2023-11-15 06:13:20");
        assert_eq!((e.action.as_str(), e.userid.as_str()), ("create", "1"));
        assert_eq!(e.guid.as_deref(), Some("g1"));
        assert_eq!(e.params.value()["loginPassword"], "***");
        j.clear();
        assert!(j.is_empty());
    }

    #[test]
    fn a_full_channel_loses_records_and_never_blocks() {
        // A ring that never empties its channel: no writer, no inline filing.
        let (sender, _receiver) = mpsc::sync_channel(2);
        let j = Journal {
            shared: Journal::new(10, zone()).shared,
            intake: Intake::Writer(sender),
            sent: AtomicU64::new(0),
            overflowed: AtomicU64::new(0),
        };
        for _ in 0..5 {
            j.record(record("create", "x"));
        }
        assert_eq!(j.sent.load(Ordering::Relaxed), 2);
        assert_eq!(j.overflowed(), 3);
    }

    #[test]
    fn off_keeps_nothing() {
        let j = Journal::new(0, zone());
        j.record(record("create", "x"));
        assert!(j.is_empty());
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
