//! Change notices for live views (the dashboard, `GET /_mock/events`): one
//! counter per topic, bumped whenever the engine changes what that topic
//! shows. A watch channel, so a slow reader sees the latest counters, never
//! a backlog, and bursts coalesce by themselves.
//!
//! Cheap when nobody listens: a bump with no subscriber is one atomic load.

use std::sync::Arc;

use tokio::sync::watch;

/// What changed, named as the control API's read calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// `GET /_mock/clock`.
    Clock,
    /// `GET /_mock/instances` and `GET /_mock/timeline`.
    Instances,
    /// `GET /_mock/requests`.
    Journal,
    /// `GET /_mock/faults` (rules and their counters).
    Faults,
    /// `GET /_mock/callbacks` and `GET /_mock/users`.
    Callbacks,
    /// `GET /_mock/snapshots`.
    Snapshots,
}

impl Topic {
    pub const ALL: [Topic; 6] = [
        Topic::Clock,
        Topic::Instances,
        Topic::Journal,
        Topic::Faults,
        Topic::Callbacks,
        Topic::Snapshots,
    ];

    /// The SSE event name.
    pub fn as_str(self) -> &'static str {
        match self {
            Topic::Clock => "clock",
            Topic::Instances => "instances",
            Topic::Journal => "journal",
            Topic::Faults => "faults",
            Topic::Callbacks => "callbacks",
            Topic::Snapshots => "snapshots",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// How many changes each topic has seen since the first subscriber came.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters([u64; Topic::ALL.len()]);

impl Counters {
    /// The topics whose counter differs from `before`.
    pub fn changed_since(&self, before: &Counters) -> Vec<Topic> {
        Topic::ALL
            .into_iter()
            .filter(|t| self.0[t.index()] != before.0[t.index()])
            .collect()
    }
}

/// One engine's notice board; clones share it.
#[derive(Debug, Clone)]
pub struct Events {
    tx: Arc<watch::Sender<Counters>>,
}

impl Default for Events {
    fn default() -> Self {
        Events {
            tx: Arc::new(watch::Sender::new(Counters::default())),
        }
    }
}

impl Events {
    pub fn notify(&self, topic: Topic) {
        // Nobody watching: a newcomer reads everything afresh anyway.
        if self.tx.receiver_count() == 0 {
            return;
        }
        self.tx.send_modify(|c| c.0[topic.index()] += 1);
    }

    /// Every topic at once (a control call that may touch anything).
    pub fn notify_all(&self) {
        if self.tx.receiver_count() == 0 {
            return;
        }
        self.tx.send_modify(|c| {
            for n in c.0.iter_mut() {
                *n += 1;
            }
        });
    }

    /// A receiver; `changed()` fails once the engine is gone.
    pub fn subscribe(&self) -> watch::Receiver<Counters> {
        self.tx.subscribe()
    }
}

/// Set once the server shuts down, so that endless streams (SSE) end and a
/// graceful shutdown does not wait for them.
#[derive(Debug, Clone)]
pub struct Closing {
    tx: Arc<watch::Sender<bool>>,
}

impl Default for Closing {
    fn default() -> Self {
        Closing {
            tx: Arc::new(watch::Sender::new(false)),
        }
    }
}

impl Closing {
    pub fn close(&self) {
        self.tx.send_replace(true);
    }

    /// Resolves when the server is shutting down.
    pub async fn closed(&self) {
        let mut rx = self.tx.subscribe();
        let _ = rx.wait_for(|closing| *closing).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_name_the_changed_topics() {
        let events = Events::default();
        let rx = events.subscribe();
        let before = *rx.borrow();
        events.notify(Topic::Journal);
        events.notify(Topic::Clock);
        let after = *rx.borrow();
        assert_eq!(
            after.changed_since(&before),
            vec![Topic::Clock, Topic::Journal]
        );
        events.notify_all();
        assert_eq!(rx.borrow().changed_since(&after), Topic::ALL.to_vec());
    }

    #[test]
    fn nobody_listening_costs_nothing_and_loses_nothing_that_matters() {
        let events = Events::default();
        events.notify(Topic::Instances);
        let rx = events.subscribe();
        assert_eq!(*rx.borrow(), Counters::default());
    }
}
