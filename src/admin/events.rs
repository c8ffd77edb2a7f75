//! `GET /_mock/events`: server-sent events naming what changed in a
//! namespace (`clock`, `instances`, `journal`, `faults`, `callbacks`,
//! `snapshots`), so a live view re-reads only that part. The stream opens
//! with a `ready` event; changes in a burst coalesce (at most one event per
//! topic every 150 ms); a comment every 15 s keeps proxies from closing it.
//!
//! Control calls that change state (any successful non-GET call) announce
//! every topic through [`announce_control_changes`], so no handler needs to
//! remember to.

use std::convert::Infallible;
use std::sync::{Arc, Weak};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use futures_util::stream::{self, Stream};
use serde_json::json;
use tokio::sync::watch;

use super::Admin;
use crate::engine::Engine;
use crate::events::{Closing, Counters, Topic};
use crate::registry::{Registry, DEFAULT_NAMESPACE};

/// The shortest gap between two events of a stream: a burst of changes (a
/// load test) becomes a few events a second, not thousands.
const COALESCE: Duration = Duration::from_millis(150);

pub fn routes() -> Router<Arc<Registry>> {
    Router::new().route("/events", get(events))
}

struct Listener {
    rx: watch::Receiver<Counters>,
    seen: Counters,
    engine: Weak<Engine>,
    closing: Closing,
    queue: Vec<Topic>,
    first: bool,
    /// When the last batch of events went out.
    last_sent: Option<tokio::time::Instant>,
}

fn event_for(topic: Topic, engine: &Weak<Engine>) -> Event {
    let data = match (topic, engine.upgrade()) {
        (Topic::Clock, Some(engine)) => json!({"topic": "clock", "clock": engine.clock_view()}),
        _ => json!({"topic": topic.as_str()}),
    };
    Event::default()
        .event(topic.as_str())
        .data(data.to_string())
}

async fn events(admin: Admin) -> Response {
    let engine = admin.engine.engine();
    let listener = Listener {
        rx: engine.events().subscribe(),
        seen: Counters::default(),
        engine: Arc::downgrade(engine),
        closing: admin.registry.closing.clone(),
        queue: Vec::new(),
        first: true,
        last_sent: None,
    };
    let ready = json!({"namespace": engine.name(), "clock": engine.clock_view()});
    let stream = changes(listener, ready.to_string());
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn changes(
    listener: Listener,
    ready: String,
) -> impl Stream<Item = Result<Event, Infallible>> + Send + 'static {
    stream::unfold(listener, move |mut l| {
        let ready = ready.clone();
        async move {
            if l.first {
                l.first = false;
                l.seen = *l.rx.borrow_and_update();
                let event = Event::default()
                    .event("ready")
                    .retry(Duration::from_secs(1))
                    .data(ready);
                return Some((Ok(event), l));
            }
            loop {
                // A deleted namespace says nothing more, not even changes
                // made just before: a reader re-reading them would create
                // the namespace afresh.
                if l.engine.strong_count() == 0 {
                    return None;
                }
                if let Some(topic) = l.queue.pop() {
                    return Some((Ok(event_for(topic, &l.engine)), l));
                }
                if let Some(at) = l.last_sent {
                    // Let a burst gather: the first change after a quiet
                    // spell goes out at once, the rest wait their turn.
                    tokio::select! {
                        _ = tokio::time::sleep_until(at + COALESCE) => {},
                        _ = l.closing.closed() => return None,
                    }
                }
                // The server is stopping, or the engine (namespace) is gone: end.
                tokio::select! {
                    changed = l.rx.changed() => changed.ok()?,
                    _ = l.closing.closed() => return None,
                }
                let now = *l.rx.borrow_and_update();
                l.queue = now.changed_since(&l.seen);
                l.queue.reverse();
                l.seen = now;
                l.last_sent = Some(tokio::time::Instant::now());
            }
        }
    })
}

/// After a successful control call that is not a read, tells the
/// namespace's live views that anything may have changed (a reset, a clock
/// move, a new fault, a restored snapshot …).
pub async fn announce_control_changes(
    State(registry): State<Arc<Registry>>,
    request: Request,
    next: Next,
) -> Response {
    let write = !matches!(*request.method(), Method::GET | Method::HEAD);
    let namespace = request
        .uri()
        .path()
        .strip_prefix("/ns/")
        .and_then(|rest| rest.split('/').next())
        .unwrap_or(DEFAULT_NAMESPACE)
        .to_string();
    let response = next.run(request).await;
    if write && response.status().is_success() {
        if let Some(engine) = registry.existing(&namespace).await {
            engine.events().notify_all();
        }
    }
    response
}
