//! One isolated engine: its database, clock, journal, faults, callbacks and
//! snapshots. All engine state lives in this value (no globals), so several
//! namespaces can live in one process. Methods are synchronous and touch
//! SQLite: call them from a blocking thread. Its `/api` calls reach the
//! database through its lane (`lane.rs`), and its catalog answers are kept
//! rendered in its cache (`cache.rs`); a refused call is a
//! [`Refusal`](crate::protocol::Refusal), with no HTTP in it, and the
//! engine's own failures are an [`EngineError`].
//!
//! This file holds the value and its accessors; each job has its file:
//! `build.rs` (constructors, [`Settings`]), `call.rs` ([`Call`],
//! [`Outcome`], `execute`), `transitions.rs` (`run_due`, callbacks, the
//! scheduler's timer), `clock.rs` (clock moves), `snapshots.rs` (reset,
//! snapshots, images), `timeline.rs` (pending transitions as shown),
//! `force.rs` ([`ForcedState`]), `error.rs` ([`EngineError`]).

mod build;
pub mod cache;
mod call;
mod clock;
mod error;
mod force;
pub mod handle;
pub mod lane;
mod snapshots;
mod timeline;
mod transitions;
pub mod views;

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};

use rand::rngs::StdRng;

pub use build::Settings;
pub use call::{Call, Outcome};
pub use error::EngineError;
pub use force::ForcedState;
pub use handle::{EngineHandle, HandleError};

use crate::callbacks::Callbacks;
use crate::clock::Clock;
use crate::events::Events;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::scheduler::Timer;
use crate::seed::Seed;
use crate::store::Store;

pub struct Engine {
    name: String,
    store: Store,
    clock: Clock,
    settings: Arc<Settings>,
    seed: Arc<Seed>,
    /// userid → API key, from the seed (keys never change at run time).
    users: HashMap<String, String>,
    rng: Mutex<StdRng>,
    journal: Journal,
    faults: Faults,
    callbacks: Arc<Callbacks>,
    snapshots: Mutex<BTreeMap<String, snapshots::Snapshot>>,
    /// Rendered catalog answers; cleared whenever the database is replaced.
    rendered: cache::RenderCache,
    /// `/api` calls waiting for the connection, run back to back.
    lane: lane::Lane,
    /// Tells the process's scheduler when this engine is next due.
    timer: OnceLock<Timer>,
    /// Held for one runner step, from applying a transition to queueing its
    /// callback notice. Runners may run at once (the scheduler, a clock
    /// move, an `/api` call); without it one could queue `released`
    /// while another still held the `expired` it applied first.
    step: Mutex<()>,
    /// Change notices for live views (`GET /_mock/events`).
    events: Events,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("name", &self.name).finish()
    }
}

/// Read access to the engine's parts, for the layers above it.
impl Engine {
    /// The namespace this engine serves.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The engine's database.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The simulated clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn seed(&self) -> &Arc<Seed> {
        &self.seed
    }

    /// The request journal.
    pub fn journal(&self) -> &Journal {
        &self.journal
    }

    /// The fault rules.
    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    /// Callback deliveries and their records.
    pub fn callbacks(&self) -> &Arc<Callbacks> {
        &self.callbacks
    }

    /// Rendered catalog answers.
    pub fn rendered(&self) -> &cache::RenderCache {
        &self.rendered
    }

    /// `/api` calls waiting for the connection.
    pub fn lane(&self) -> &lane::Lane {
        &self.lane
    }

    /// Change notices for live views.
    pub fn events(&self) -> &Events {
        &self.events
    }

    pub fn api_key(&self, userid: &str) -> Option<&str> {
        self.users.get(userid).map(String::as_str)
    }

    /// Every member and key, for telling a wrong key from a bad sign.
    pub fn users(&self) -> impl Iterator<Item = (&str, &str)> {
        self.users.iter().map(|(u, k)| (u.as_str(), k.as_str()))
    }
}
