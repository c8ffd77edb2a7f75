//! The request journal: every `/api` call with its masked params, answer,
//! reason, latency, fired fault and effects. Bounded; the oldest entries are
//! dropped first.
//!
//! Recording is off the request's critical path: the pipeline hands a
//! [`Record`] (the decoded params moved, the rendered answer shared); the
//! journal masks and formats it into an entry and `try_send`s that on a
//! bounded channel; a writer task per journal files the entries in batches
//! (numbering them, pushing out the oldest and freeing them). A
//! full channel never blocks a request: the record is counted in
//! `overflowed` and lost. A reader first files whatever is still in the
//! channel, so a request's entry is visible to anyone who asks after its
//! answer arrived.
//!
//! Params and answers are kept as JSON text ([`RawJson`]), not as value
//! trees: a few hundred bytes per entry instead of kilobytes, and an answer
//! shares the very buffer that went out on the wire (a cached catalog
//! answer is one buffer for every entry that shows it).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use bytes::Bytes;
use chrono::FixedOffset;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};
use tokio::sync::mpsc::{self, error::TrySendError, Receiver, Sender};
use tokio::sync::Notify;

use crate::protocol::mask::Masked;
use crate::protocol::scalar_text;

/// Records in flight between the pipeline and the writer.
const CHANNEL_CAPACITY: usize = 4096;

/// How long the writer lets records gather after filing a batch.
const BATCH_PAUSE: Duration = Duration::from_millis(1);

#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub id: u64,
    pub time: String,
    pub action: String,
    pub userid: String,
    /// The `guid` the call named; for a call that named none, the first
    /// GUID it created (a `create`'s instance).
    pub guid: Option<String>,
    /// Every GUID the call named, created or touched, in that order without
    /// repeats: instances, and degrade records. `?guid=` searches these.
    pub guids: Vec<String>,
    pub params: RawJson,
    pub code: i64,
    pub reason: Option<String>,
    pub latency_ms: f64,
    pub fault: Option<i64>,
    /// For a call an `applied` fault let run: the engine's own outcome,
    /// which the fault's answer (`code`, `reason`, `response`) replaced.
    pub applied: Option<Applied>,
    pub response: RawJson,
    pub effects: Vec<Value>,
    /// The client had left (time-out, reset, closed socket) before the
    /// answer was ready: the call ran to its end, nobody read the answer.
    pub client_gone: bool,
    /// The masked canonical string, on a bad sign.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sign_input: Option<String>,
}

/// The engine's own outcome of a call whose answer a fault replaced.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Applied {
    /// 0: the call took effect; otherwise the engine refused it.
    pub code: i64,
    pub reason: Option<String>,
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
    pub applied: Option<Applied>,
    pub response: RawJson,
    pub effects: Vec<Value>,
    pub client_gone: bool,
    pub sign_input: Option<String>,
}

impl Record {
    /// The entry, masked and formatted; its id is given when it is filed.
    fn into_entry(self, zone: FixedOffset) -> Entry {
        let text = |k: &str| self.params.get(k).and_then(scalar_text);
        let named = text("guid").filter(|g| !g.is_empty());
        // A refused call was rolled back: what its effects name never
        // existed. A call an applied fault let run stands or falls by the
        // engine's own code, not by the answer that replaced it.
        let committed = self.applied.as_ref().map_or(self.code, |a| a.code) == 0;
        let effects: &[Value] = if committed { &self.effects } else { &[] };
        let guids = touched_guids(named.as_deref(), effects);
        Entry {
            id: 0,
            time: crate::clock::format_time(self.at, zone),
            action: text("action").unwrap_or_default(),
            userid: text("userid").unwrap_or_default(),
            guid: text("guid").or_else(|| guids.first().cloned()),
            guids,
            params: masked_params_json(&self.params),
            code: self.code,
            reason: self.reason,
            latency_ms: self.latency_ms,
            fault: self.fault,
            applied: self.applied,
            response: self.response,
            effects: self.effects,
            client_gone: self.client_gone,
            sign_input: self.sign_input,
        }
    }
}

/// Effect keys whose value is a GUID the call created or touched.
const GUID_EFFECT_KEYS: &[&str] = &["guid", "created", "degrade_created", "degrade_cancelled"];

/// Effect keys whose value is a list of GUIDs: the instances a replayed
/// call answered with.
const GUID_LIST_EFFECT_KEYS: &[&str] = &["guids"];

/// The GUID a call named, then every GUID its effects name, without repeats.
fn touched_guids(named: Option<&str>, effects: &[Value]) -> Vec<String> {
    let mut guids: Vec<String> = named.map(str::to_string).into_iter().collect();
    let mut add = |g: &str| {
        if !guids.iter().any(|known| known == g) {
            guids.push(g.to_string());
        }
    };
    for effect in effects {
        for key in GUID_EFFECT_KEYS {
            if let Some(g) = effect.get(key).and_then(Value::as_str) {
                add(g);
            }
        }
        for key in GUID_LIST_EFFECT_KEYS {
            let listed = effect.get(key).and_then(Value::as_array);
            for g in listed.into_iter().flatten().filter_map(Value::as_str) {
                add(g);
            }
        }
    }
    guids
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
                .is_none_or(|g| e.guid.as_ref() == Some(g) || e.guids.contains(g))
            && self.code.is_none_or(|c| e.code == c)
            && self.since.is_none_or(|s| e.id > s)
    }
}

/// The filed entries.
#[derive(Debug)]
struct Ring {
    entries: VecDeque<Entry>,
    /// Records filed so far (the last id handed out).
    filed: u64,
    /// Entries dropped because the ring was full.
    dropped: u64,
}

/// What the writer task and the readers share.
#[derive(Debug)]
struct Shared {
    ring: Mutex<Ring>,
    /// Records sent and not yet filed. Whoever files holds this lock until
    /// the batch is in the ring, so a reader that takes it after the writer
    /// sees that batch filed.
    pending: Option<Mutex<Receiver<Entry>>>,
    capacity: usize,
    zone: FixedOffset,
}

fn relock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    /// Files every record sent so far.
    fn file_pending(&self) {
        let Some(pending) = &self.pending else { return };
        let mut receiver = relock(pending);
        let mut batch = Vec::new();
        while let Ok(entry) = receiver.try_recv() {
            batch.push(entry);
        }
        self.file(batch);
        drop(receiver);
    }

    /// Files a batch in order.
    fn file(&self, batch: Vec<Entry>) {
        if batch.is_empty() {
            return;
        }
        let mut evicted = Vec::new();
        {
            let mut ring = relock(&self.ring);
            for mut entry in batch {
                ring.filed += 1;
                entry.id = ring.filed;
                while ring.entries.len() >= self.capacity {
                    if let Some(old) = ring.entries.pop_front() {
                        evicted.push(old);
                    }
                    ring.dropped += 1;
                }
                ring.entries.push_back(entry);
            }
        }
        // Old entries are freed here, outside the lock.
        drop(evicted);
    }
}

/// How records reach the ring.
#[derive(Debug)]
enum Intake {
    /// The journal keeps nothing (`--journal-size 0`).
    Off,
    /// Through the channel to the writer task.
    Writer {
        sender: Sender<Entry>,
        wake: Arc<Notify>,
        closed: Arc<AtomicBool>,
    },
    /// Filed on the caller's thread: outside a tokio runtime.
    Inline,
}

/// The journal of one engine.
#[derive(Debug)]
pub struct Journal {
    shared: Arc<Shared>,
    intake: Intake,
    /// Records lost because the writer had fallen `CHANNEL_CAPACITY` behind.
    overflowed: AtomicU64,
}

impl Journal {
    /// A journal of at most `capacity` entries whose times read in `zone`.
    /// Inside a tokio runtime its writer is a task on that runtime; outside
    /// one (unit tests, tools) records are filed as they come.
    pub fn new(capacity: usize, zone: FixedOffset) -> Journal {
        let runtime = tokio::runtime::Handle::try_current().ok();
        let (intake, pending) = match runtime {
            _ if capacity == 0 => (Intake::Off, None),
            None => (Intake::Inline, None),
            Some(runtime) => {
                // Tokio's channel allocates its slots in small blocks as
                // they fill; std's bounded channel allocated all 4,096 at
                // once, most of a megabyte for every namespace.
                let (sender, receiver) = mpsc::channel(CHANNEL_CAPACITY);
                let wake = Arc::new(Notify::new());
                let closed = Arc::new(AtomicBool::new(false));
                let intake = Intake::Writer {
                    sender,
                    wake: wake.clone(),
                    closed: closed.clone(),
                };
                (intake, Some((runtime, receiver, wake, closed)))
            }
        };
        let (receiver, writer) = match pending {
            Some((runtime, receiver, wake, closed)) => {
                (Some(receiver), Some((runtime, wake, closed)))
            }
            None => (None, None),
        };
        let shared = Arc::new(Shared {
            ring: Mutex::new(Ring {
                // Grows with use: a namespace that is never called keeps none.
                entries: VecDeque::new(),
                filed: 0,
                dropped: 0,
            }),
            pending: receiver.map(Mutex::new),
            capacity,
            zone,
        });
        if let Some((runtime, wake, closed)) = writer {
            runtime.spawn(write_loop(Arc::downgrade(&shared), wake, closed));
        }
        Journal {
            shared,
            intake,
            overflowed: AtomicU64::new(0),
        }
    }

    /// Hands a call to the writer; never blocks.
    pub fn record(&self, record: Record) {
        // Formatted here, so the params are freed at once rather than held
        // in the channel; the id is given when the entry is filed.
        let entry = || record.into_entry(self.shared.zone);
        match &self.intake {
            Intake::Off => {}
            Intake::Inline => self.shared.file(vec![entry()]),
            Intake::Writer { sender, wake, .. } => match sender.try_send(entry()) {
                Ok(()) => wake.notify_one(),
                Err(TrySendError::Full(_)) | Err(TrySendError::Closed(_)) => {
                    self.overflowed.fetch_add(1, Ordering::Relaxed);
                }
            },
        }
    }

    /// Files whatever is still in the channel, then returns the ring: every
    /// call answered before this one is in it.
    fn catch_up(&self) -> MutexGuard<'_, Ring> {
        self.shared.file_pending();
        relock(&self.shared.ring)
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

    /// Empties the journal, including every record sent before the call,
    /// and zeroes `dropped` and `overflowed`: both count what the journal
    /// lost since it was last emptied, so a cleared journal has lost nothing.
    /// Ids keep counting, so `since=` stays meaningful across a clear.
    pub fn clear(&self) {
        let old = {
            let mut ring = self.catch_up();
            ring.dropped = 0;
            self.overflowed.store(0, Ordering::Relaxed);
            std::mem::take(&mut ring.entries)
        };
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

    /// Roughly the memory the kept entries use.
    pub fn approximate_bytes(&self) -> u64 {
        let ring = self.catch_up();
        ring.entries
            .iter()
            .map(|e| {
                (std::mem::size_of::<Entry>() + e.params.bytes().len() + e.response.bytes().len())
                    as u64
            })
            .sum()
    }

    /// Records never filed because the writer had fallen too far behind.
    pub fn overflowed(&self) -> u64 {
        self.overflowed.load(Ordering::Relaxed)
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if let Intake::Writer { wake, closed, .. } = &self.intake {
            closed.store(true, Ordering::Release);
            wake.notify_one();
        }
    }
}

/// The writer task: woken by the first record after a pause, it files
/// everything queued, then pauses `BATCH_PAUSE` so that the records of a
/// busy millisecond share one wake-up. It runs on the runtime's workers,
/// not a thread of its own: waking a task is a queue push, and its
/// allocations stay in the same malloc arenas as the requests' (a thread of
/// its own grew the server's memory by a third).
async fn write_loop(shared: Weak<Shared>, wake: Arc<Notify>, closed: Arc<AtomicBool>) {
    loop {
        wake.notified().await;
        if closed.load(Ordering::Acquire) {
            return;
        }
        let Some(shared) = shared.upgrade() else {
            return;
        };
        shared.file_pending();
        drop(shared);
        tokio::time::sleep(BATCH_PAUSE).await;
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
        RawJson::from_kept(serde_json::to_vec(value).unwrap_or_default())
    }

    /// Text the journal keeps (thousands of them): copied into a buffer of
    /// exactly its size. Shrinking the buffer in place instead left a free
    /// sliver behind each kept text, and the server's memory grew by a
    /// third over a million requests.
    pub fn from_kept(text: Vec<u8>) -> RawJson {
        RawJson(Bytes::copy_from_slice(&text))
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

// Parsed again on every serialisation, on purpose: the text kept is the
// wire's (PHP-style `\uXXXX` and `\/` escapes) and the journal shows it as
// serde_json writes it, so a `serde_json::value::RawValue` written verbatim
// would change `/_mock/requests` answers; normalising once when recording
// would put that parse on every `/api` call instead of on journal reads,
// and the shared `Bytes` buffer also serves cached answers without a copy.
impl Serialize for RawJson {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.value().serialize(serializer)
    }
}

/// The params with every secret shown as `***`, as journal text.
pub fn masked_params_json(params: &Map<String, Value>) -> RawJson {
    RawJson::from_kept(serde_json::to_vec(&Masked(params)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn zone() -> FixedOffset {
        FixedOffset::east_opt(8 * 3600).expect("zone")
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
            applied: None,
            response: json!({"code": 0}).into(),
            effects: vec![],
            client_gone: false,
            sign_input: None,
        }
    }

    fn filed(j: &Journal) -> Vec<u64> {
        j.query(&Filter::default()).iter().map(|e| e.id).collect()
    }

    #[test]
    fn outside_a_runtime_records_are_filed_at_once() {
        let j = Journal::new(3, zone());
        assert!(matches!(j.intake, Intake::Inline));
        for i in 1..=5 {
            j.record(record(if i % 2 == 0 { "stop" } else { "create" }, "x"));
        }
        assert_eq!(filed(&j), vec![5, 4, 3]);
        assert_eq!(j.dropped(), 2);
        // A cleared journal has lost nothing; ids go on.
        j.clear();
        assert_eq!(j.dropped(), 0);
        j.record(record("stop", "x"));
        assert_eq!(filed(&j), vec![6]);
        let stops = j.query(&Filter {
            action: Some("stop".into()),
            ..Filter::default()
        });
        assert_eq!(stops.len(), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_writer_task_files_in_order_and_readers_never_miss_a_record() {
        let j = Journal::new(1000, zone());
        assert!(matches!(j.intake, Intake::Writer { .. }));
        for round in 0..50u64 {
            for _ in 0..7 {
                j.record(record("create", "x"));
            }
            // Read at once: whatever the writer has not filed yet, the reader files.
            assert_eq!(j.len() as u64, (round + 1) * 7);
        }
        let ids = filed(&j);
        assert_eq!(ids.len(), 350);
        assert!(
            ids.windows(2).all(|w| w[0] == w[1] + 1),
            "newest first, no gaps"
        );
        // The writer files on its own too, without a reader.
        j.record(record("stop", "x"));
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(relock(&j.shared.ring).filed, 351);
        assert_eq!(j.overflowed(), 0);
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
        // A channel nobody drains: two records fit, the rest are counted.
        let (sender, mut receiver) = mpsc::channel(2);
        let j = Journal {
            shared: Journal::new(10, zone()).shared.clone(),
            intake: Intake::Writer {
                sender,
                wake: Arc::new(Notify::new()),
                closed: Arc::new(AtomicBool::new(false)),
            },
            overflowed: AtomicU64::new(0),
        };
        for _ in 0..5 {
            j.record(record("create", "x"));
        }
        let mut kept = 0;
        while receiver.try_recv().is_ok() {
            kept += 1;
        }
        assert_eq!(kept, 2);
        assert_eq!(j.overflowed(), 3);
        j.clear();
        assert_eq!(j.overflowed(), 0);
    }

    #[test]
    fn an_entry_lists_every_guid_its_call_named_created_or_touched() {
        let j = Journal::new(10, zone());
        let mut create = record("create", "x");
        create.params.remove("guid");
        create.effects = vec![
            json!({"created": "17a", "stock_id": 1}),
            json!({"scheduled": "provisioned", "guid": "17a", "due": "…"}),
            json!({"created": "17b", "stock_id": 2}),
            json!({"scheduled": "provisioned", "guid": "17b", "due": "…"}),
        ];
        j.record(create);
        let mut cancel = record("degrade_cancel", "x");
        cancel.params.insert("guid".into(), json!("17d"));
        cancel.effects = vec![
            json!({"degrade_cancelled": "17d"}),
            json!({"guid": "17a", "order_status": 1}),
        ];
        j.record(cancel);
        let entries = j.query(&Filter::default());
        assert_eq!(entries[1].guid.as_deref(), Some("17a"));
        assert_eq!(entries[1].guids, ["17a", "17b"]);
        assert_eq!(entries[0].guid.as_deref(), Some("17d"));
        assert_eq!(entries[0].guids, ["17d", "17a"]);
        let find = |g: &str| {
            j.query(&Filter {
                guid: Some(g.into()),
                ..Filter::default()
            })
            .iter()
            .map(|e| e.action.clone())
            .collect::<Vec<_>>()
        };
        assert_eq!(find("17b"), ["create"]);
        assert_eq!(find("17a"), ["degrade_cancel", "create"]);
        assert_eq!(find("17d"), ["degrade_cancel"]);
        assert!(find("17z").is_empty());
    }

    #[test]
    fn a_replay_lists_the_guids_it_answered_with() {
        let j = Journal::new(10, zone());
        let mut replay = record("create", "x");
        replay.params.remove("guid");
        replay.effects = vec![json!({"replayed_agent_order_no": "A1", "guids": ["17a", "17b"]})];
        j.record(replay);
        let e = &j.query(&Filter::default())[0];
        assert_eq!(e.guid.as_deref(), Some("17a"));
        assert_eq!(e.guids, ["17a", "17b"]);
    }

    #[test]
    fn an_applied_call_keeps_its_guids_under_the_answer_that_replaced_it() {
        let j = Journal::new(10, zone());
        let created = vec![json!({"created": "17a", "stock_id": 1})];
        for engine_code in [0, 1] {
            let mut dropped = record("create", "x");
            dropped.params.remove("guid");
            (dropped.code, dropped.reason) = (1, Some("dropped".into()));
            dropped.applied = Some(Applied {
                code: engine_code,
                reason: None,
            });
            dropped.effects = created.clone();
            j.record(dropped);
        }
        let entries = j.query(&Filter::default());
        // Newest first: the engine refused the second, so it touched nothing.
        assert!(entries[0].guids.is_empty());
        assert_eq!(entries[1].guids, ["17a"]);
    }

    #[test]
    fn off_keeps_nothing() {
        let j = Journal::new(0, zone());
        j.record(record("create", "x"));
        assert!(j.is_empty());
    }

    #[test]
    fn masks_secrets_at_any_depth() {
        let params = json!({
            "param": [{"item": "ip", "loginPassword": "c2VjcmV0", "value": ["1.2.3.4"]}],
            "deep": {"a": {"b": [{"newPassword": "p1", "API_KEY": "k1", "sign": "s"}]}},
            "as_text": "[{\"item\":\"ip\",\"login_password\":\"p2\"}]",
            "plain_text": "[not json",
            "list": "[1,2]",
        });
        let Value::Object(m) = params else { return };
        let want = json!({
            "param": [{"item": "ip", "loginPassword": "***", "value": ["1.2.3.4"]}],
            "deep": {"a": {"b": [{"newPassword": "***", "API_KEY": "***", "sign": "s"}]}},
            "as_text": "[{\"item\":\"ip\",\"login_password\":\"***\"}]",
            "plain_text": "[not json",
            "list": "[1,2]",
        });
        assert_eq!(masked_params_json(&m).value(), want);
    }

    #[test]
    fn masks_secrets() {
        let mut m = Map::new();
        m.insert("loginPassword".into(), json!("c2VjcmV0"));
        m.insert("guid".into(), json!("1"));
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
