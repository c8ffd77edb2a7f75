//! Asynchronous notices to a member's callback URL: a signed form POST for
//! every completed transition, retried with backoff, every attempt logged.
//! Delivery runs on its own task, so a slow or dead receiver never slows `/api`.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Map, Value};
use tokio::sync::mpsc;

/// Most callback records kept.
const LOG_CAPACITY: usize = 10_000;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attempt {
    pub at: String,
    pub status: Option<u16>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CallbackRecord {
    pub id: u64,
    pub url: String,
    pub event: String,
    #[schema(value_type = Object)]
    pub params: Map<String, Value>,
    pub attempts: Vec<Attempt>,
    pub delivered: bool,
}

/// How delivery retries.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub attempts: u32,
    /// Delay before the second attempt; doubles each time.
    pub backoff: Duration,
    pub timeout: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            attempts: 5,
            backoff: Duration::from_millis(200),
            timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug)]
pub struct Callbacks {
    log: Mutex<VecDeque<CallbackRecord>>,
    next_id: Mutex<u64>,
    /// Queued notices: id and the instance whose lane it waits in.
    sender: Mutex<Option<mpsc::UnboundedSender<(u64, String)>>>,
    /// Where to start the delivery task, once [`Callbacks::start`] ran.
    delivery: OnceLock<(tokio::runtime::Handle, Weak<Callbacks>)>,
    pub policy: Policy,
    /// The engine's zone, for the attempt times in the log.
    zone: chrono::FixedOffset,
    /// Told about every new record and attempt, for live views.
    events: crate::events::Events,
}

impl Callbacks {
    pub fn new(policy: Policy, zone: chrono::FixedOffset) -> Callbacks {
        Callbacks {
            log: Mutex::new(VecDeque::new()),
            next_id: Mutex::new(1),
            sender: Mutex::new(None),
            delivery: OnceLock::new(),
            policy,
            zone,
            events: Default::default(),
        }
    }

    /// Reports log changes to the engine's notice board.
    pub fn with_events(mut self, events: crate::events::Events) -> Callbacks {
        self.events = events;
        self
    }

    fn log(&self) -> std::sync::MutexGuard<'_, VecDeque<CallbackRecord>> {
        self.log.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Lets notices be delivered (inside a Tokio runtime). The delivery task
    /// and its HTTP client are made when the first notice is queued, so an
    /// engine that never sends one (most namespaces) never pays for them.
    pub fn start(self: &Arc<Self>) {
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let _ = self.delivery.set((runtime, Arc::downgrade(self)));
        }
    }

    /// The delivery task's intake, started on first use; `None` before
    /// [`Callbacks::start`].
    ///
    /// Notices for one instance go out one at a time, in the order they
    /// were queued: the next is sent only once the one before it was
    /// delivered or given up, so a receiver that applies them as they
    /// arrive never sees `expired` before `provisioned`. Different
    /// instances do not wait for each other.
    fn intake(&self) -> Option<mpsc::UnboundedSender<(u64, String)>> {
        let mut sender = self.sender.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(tx) = sender.as_ref() {
            return Some(tx.clone());
        }
        let (runtime, weak) = self.delivery.get()?;
        let (tx, rx) = mpsc::unbounded_channel::<(u64, String)>();
        *sender = Some(tx.clone());
        let weak = weak.clone();
        // A client that cannot be built (no usable system configuration)
        // is reported on every notice's log rather than replaced by one
        // without the timeout.
        let client = reqwest::Client::builder()
            .timeout(self.policy.timeout)
            .build()
            .map_err(|e| format!("callback HTTP client unavailable: {e}"));
        if let Err(error) = &client {
            tracing::error!(%error, "callbacks will not be delivered");
        }
        runtime.spawn(deliver_in_lanes(rx, weak, client));
        Some(tx)
    }

    /// Queues a notice; it is logged at once and delivered in the background.
    pub fn enqueue(&self, url: String, event: &str, params: Map<String, Value>) {
        let lane = params
            .get("guid")
            .and_then(crate::protocol::scalar_text)
            .unwrap_or_default();
        let id = {
            let mut next = self.next_id.lock().unwrap_or_else(|p| p.into_inner());
            let id = *next;
            *next += 1;
            id
        };
        {
            let mut log = self.log();
            while log.len() >= LOG_CAPACITY {
                log.pop_front();
            }
            log.push_back(CallbackRecord {
                id,
                url,
                event: event.to_string(),
                params,
                attempts: Vec::new(),
                delivered: false,
            });
        }
        self.events.notify(crate::events::Topic::Callbacks);
        if let Some(tx) = self.intake() {
            let _ = tx.send((id, lane));
        }
    }

    async fn deliver(&self, client: Result<reqwest::Client, String>, id: u64) {
        let Some((url, params)) = self
            .log()
            .iter()
            .find(|r| r.id == id)
            .map(|r| (r.url.clone(), r.params.clone()))
        else {
            return;
        };
        let form: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| {
                (
                    k.clone(),
                    crate::protocol::scalar_text(v).unwrap_or_default(),
                )
            })
            .collect();
        let mut delay = self.policy.backoff;
        for attempt in 0..self.policy.attempts.max(1) {
            if attempt > 0 {
                tokio::time::sleep(delay).await;
                delay = delay.saturating_mul(2);
                // A reset cleared the log: the notices behind this one need not wait.
                if !self.log().iter().any(|r| r.id == id) {
                    return;
                }
            }
            let (status, error, ok) = post_once(&client, &url, &form).await;
            tracing::info!(callback = id, %url, attempt = attempt + 1, ?status, ok, "callback attempt");
            let at = crate::clock::format_time(crate::clock::wall_seconds(), self.zone);
            {
                let mut log = self.log();
                if let Some(rec) = log.iter_mut().find(|r| r.id == id) {
                    rec.attempts.push(Attempt { at, status, error });
                    rec.delivered = ok;
                }
            }
            self.events.notify(crate::events::Topic::Callbacks);
            if ok {
                return;
            }
        }
    }

    pub fn records(&self) -> Vec<CallbackRecord> {
        self.log().iter().cloned().collect()
    }

    pub fn clear(&self) {
        self.log().clear();
    }
}

/// The delivery task: per instance, one notice in flight at a time, the
/// next sent when it is done; it ends with the channel or the engine.
async fn deliver_in_lanes(
    mut rx: mpsc::UnboundedReceiver<(u64, String)>,
    weak: Weak<Callbacks>,
    client: Result<reqwest::Client, String>,
) {
    // Per instance, the notices not yet finished; the front one is in flight.
    let mut lanes: HashMap<String, VecDeque<u64>> = HashMap::new();
    let (done_tx, mut done_rx) = mpsc::unbounded_channel::<String>();
    let send = |id: u64, lane: String| -> bool {
        let Some(this) = weak.upgrade() else {
            return false;
        };
        let client = client.clone();
        let done = done_tx.clone();
        tokio::spawn(async move {
            this.deliver(client, id).await;
            let _ = done.send(lane);
        });
        true
    };
    loop {
        tokio::select! {
            queued = rx.recv() => {
                let Some((id, lane)) = queued else { break };
                let waiting = lanes.entry(lane.clone()).or_default();
                waiting.push_back(id);
                if waiting.len() == 1 && !send(id, lane) {
                    break;
                }
            }
            Some(lane) = done_rx.recv() => {
                let next = lanes.get_mut(&lane).and_then(|waiting| {
                    waiting.pop_front();
                    waiting.front().copied()
                });
                match next {
                    Some(id) => {
                        if !send(id, lane) {
                            break;
                        }
                    }
                    None => {
                        lanes.remove(&lane);
                    }
                }
            }
        }
    }
}

/// One attempt at a notice: the HTTP status if one came back, what went
/// wrong if anything, and whether it was delivered.
async fn post_once(
    client: &Result<reqwest::Client, String>,
    url: &str,
    form: &[(String, String)],
) -> (Option<u16>, Option<String>, bool) {
    let result = match client {
        Ok(client) => client
            .post(url)
            .form(form)
            .send()
            .await
            .map_err(|e| e.to_string()),
        Err(unavailable) => Err(unavailable.clone()),
    };
    match result {
        Ok(resp) => {
            let status = resp.status();
            (
                Some(status.as_u16()),
                (!status.is_success()).then(|| format!("HTTP {status}")),
                status.is_success(),
            )
        }
        Err(e) => (None, Some(e), false),
    }
}
