//! How an engine is made: its start-up [`Settings`], a fresh or reopened
//! database (`open`), a copy of the seed's image (`from_template`,
//! `from_ready`), a copy of another engine (`from_image`), and its start
//! (callback delivery, the scheduler's timer).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use rand::rngs::StdRng;
use rand::SeedableRng;

use super::{Engine, EngineError};
use crate::callbacks::{self, Callbacks};
use crate::clock::{Clock, ClockState};
use crate::config::{DbSync, ServeConfig};
use crate::events::Events;
use crate::faults::Faults;
use crate::journal::Journal;
use crate::protocol::Limits;
use crate::scheduler::Timer;
use crate::seed::{Seed, Timings};
use crate::store::{self, Store, Template};

/// Engine behaviour chosen at start-up.
#[derive(Debug, Clone)]
pub struct Settings {
    pub lenient: bool,
    pub time_skew: u64,
    pub utc_offset: i32,
    pub rng_seed: Option<u64>,
    pub timings: Timings,
    pub max_body: usize,
    pub limits: Limits,
    pub journal_size: usize,
    /// How a `--db` file is flushed.
    pub db_sync: DbSync,
    pub callback_policy: callbacks::Policy,
}

impl Settings {
    pub fn from_config(config: &ServeConfig, seed: &Seed) -> Result<Settings, EngineError> {
        let timings = seed
            .timings(&config.timings)
            .ok_or_else(|| EngineError::UnknownTimings {
                name: config.timings.clone(),
                known: seed.timings.keys().cloned().collect::<Vec<_>>().join(", "),
            })?;
        Ok(Settings {
            lenient: config.lenient,
            time_skew: config.time_skew,
            utc_offset: config.utc_offset,
            rng_seed: config.rng_seed,
            timings,
            max_body: config.max_body,
            limits: Limits {
                max_fields: config.max_fields,
                ..Limits::default()
            },
            journal_size: config.journal_size,
            db_sync: config.db_sync,
            callback_policy: callbacks::Policy::default(),
        })
    }
}

fn new_rng(seed: Option<u64>) -> StdRng {
    match seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => StdRng::from_os_rng(),
    }
}

/// The generator's seed for a database that already handed out `made`
/// GUIDs and order numbers: a reopened `--db` file or a copy must not
/// replay them, and mixing in how many it made keeps runs reproducible.
fn reseeded(rng_seed: Option<u64>, made: u64) -> Option<u64> {
    rng_seed.map(|s| s ^ made.wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

impl Engine {
    /// Opens an engine: a fresh database seeded now, or a `--db` file as it was left.
    pub fn open(
        name: &str,
        settings: Arc<Settings>,
        seed: Arc<Seed>,
        db: Option<&Path>,
    ) -> Result<Engine, EngineError> {
        let store = Store::open_with(db, settings.db_sync).map_err(EngineError::Open)?;
        let clock = Clock::new(settings.utc_offset);
        let mut rng_seed = settings.rng_seed;
        {
            let mut conn = store.lock();
            if store::is_seeded(&conn)? {
                clock.restore(store::load_clock(&conn)?);
                rng_seed = reseeded(rng_seed, store::generated_count(&conn)?);
            } else {
                let tx = conn.transaction()?;
                store::load_seed(&tx, &seed, clock.now(), clock.zone())
                    .map_err(EngineError::Seed)?;
                store::save_clock(&tx, clock.state())?;
                tx.commit()?;
            }
        }
        Ok(Engine::assemble(
            name, store, clock, settings, seed, rng_seed,
        ))
    }

    /// A fresh engine from the seed's prepared image, its seeded instances
    /// anchored to now.
    pub fn from_template(
        name: &str,
        settings: Arc<Settings>,
        seed: Arc<Seed>,
        template: &Template,
    ) -> Result<Engine, EngineError> {
        let clock = Clock::new(settings.utc_offset);
        let store = template
            .open(&seed, clock.now(), clock.state())
            .map_err(EngineError::Open)?;
        let rng_seed = settings.rng_seed;
        Ok(Engine::assemble(
            name, store, clock, settings, seed, rng_seed,
        ))
    }

    /// A fresh engine from a seed copy opened ahead at this very second
    /// ([`Template::take_ready`]): nothing to write to its database, so it
    /// is made without SQLite work and needs no blocking thread. `None`
    /// when no such copy waits.
    pub fn from_ready(
        name: &str,
        settings: &Arc<Settings>,
        seed: &Arc<Seed>,
        template: &Template,
    ) -> Option<Engine> {
        let clock = Clock::new(settings.utc_offset);
        if clock.state() != ClockState::default() {
            return None;
        }
        let store = template.take_ready(clock.now())?;
        let rng_seed = settings.rng_seed;
        Some(Engine::assemble(
            name,
            store,
            clock,
            settings.clone(),
            seed.clone(),
            rng_seed,
        ))
    }

    /// An engine holding a copy of another one's database ([`Engine::image`]
    /// or [`Engine::snapshot_image`]): its instances, clock and pending
    /// transitions. Journal, faults, callbacks and snapshots start empty.
    pub fn from_image(
        name: &str,
        settings: Arc<Settings>,
        seed: Arc<Seed>,
        image: &[u8],
    ) -> Result<Engine, EngineError> {
        let store = Store::from_image(image).map_err(EngineError::Image)?;
        let clock = Clock::new(settings.utc_offset);
        let rng_seed = {
            let conn = store.lock();
            clock.restore(store::load_clock(&conn)?);
            reseeded(settings.rng_seed, store::generated_count(&conn)?)
        };
        Ok(Engine::assemble(
            name, store, clock, settings, seed, rng_seed,
        ))
    }

    fn assemble(
        name: &str,
        store: Store,
        clock: Clock,
        settings: Arc<Settings>,
        seed: Arc<Seed>,
        rng_seed: Option<u64>,
    ) -> Engine {
        let zone = clock.zone();
        let events = Events::default();
        Engine {
            name: name.to_string(),
            store,
            clock,
            users: seed
                .users
                .iter()
                .map(|u| (u.userid.clone(), u.api_key.clone()))
                .collect(),
            rng: Mutex::new(new_rng(rng_seed)),
            journal: Journal::new(settings.journal_size, zone),
            faults: Faults::new(settings.rng_seed),
            callbacks: Arc::new(
                Callbacks::new(settings.callback_policy, zone).with_events(events.clone()),
            ),
            snapshots: Mutex::new(BTreeMap::new()),
            rendered: Default::default(),
            lane: Default::default(),
            timer: OnceLock::new(),
            step: Mutex::new(()),
            events,
            settings,
            seed,
        }
    }

    /// Starts callback delivery and hands the engine to the process's
    /// scheduler, which runs its transitions as they fall due.
    pub fn start(self: &Arc<Self>, timer: Timer) {
        self.callbacks.start();
        let _ = self.timer.set(timer);
        // One cached read of the next due time, on the caller's thread (an
        // async worker, for a namespace's first call): the engine is new,
        // so nobody else waits for its connection.
        self.reschedule();
    }
}
