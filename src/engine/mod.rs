//! One isolated engine: its database, clock, journal, faults, callbacks and
//! snapshots. All engine state lives in this value (no globals), so several
//! namespaces can live in one process. Methods here are synchronous and
//! touch SQLite: call them from a blocking thread. Its `/api` calls reach
//! the database through its lane (`lane.rs`), and its catalog answers are
//! kept rendered in its cache (`cache.rs`); a refused call is a
//! [`Refusal`], with no HTTP in it.

pub mod cache;
pub mod handle;
pub mod lane;
pub mod views;

pub use handle::{EngineHandle, HandleError};

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::SeedableRng;
use rusqlite::Connection;
use serde_json::{Map, Value};

use crate::actions::{self, Action, ActionName, Ctx};
use crate::callbacks::{self, Callbacks};
use crate::change::Change;
use crate::clock::{self, Clock, ClockState};
use crate::config::{DbSync, ServeConfig};
use crate::domain::transition::TransitionKind;
use crate::events::{Events, Topic};
use crate::faults::Faults;
use crate::journal::Journal;
use crate::protocol::control::{ClockView, PendingTransition, SnapshotInfo, Timeline};
use crate::protocol::{Limits, Params, Refusal};
use crate::scheduler::{Timer, SLACK};
use crate::seed::{Seed, Timings};
use crate::store::{self, instances, transitions, Store, Template};

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
    pub fn from_config(config: &ServeConfig, seed: &Seed) -> Result<Settings, String> {
        let timings = seed.timings(&config.timings).ok_or_else(|| {
            format!(
                "unknown timing profile {:?}; timings.json has {}",
                config.timings,
                seed.timings.keys().cloned().collect::<Vec<_>>().join(", ")
            )
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

/// A request that passed authentication.
#[derive(Debug, Clone)]
pub struct Call {
    pub module: String,
    pub action: String,
    pub userid: String,
    pub taskid: Option<String>,
    pub params: Params,
}

/// One step of the transition runner.
enum Step {
    /// Nothing is due.
    Idle,
    /// A transition ran and changed nothing worth a notice.
    Applied,
    /// A transition changed an instance; the member's callback URL, if any.
    Changed(
        Box<(transitions::Transition, instances::Instance)>,
        Option<String>,
    ),
}

/// What running a call produced, for the answer and the journal.
#[derive(Debug)]
pub struct Outcome {
    pub result: Result<Value, Refusal>,
    pub changes: Vec<Change>,
}

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
    snapshots: Mutex<BTreeMap<String, Snapshot>>,
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

struct Snapshot {
    conn: Connection,
    taken_at: String,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("name", &self.name).finish()
    }
}

fn new_rng(seed: Option<u64>) -> StdRng {
    match seed {
        Some(s) => StdRng::seed_from_u64(s),
        None => StdRng::from_os_rng(),
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
}

impl Engine {
    /// Opens an engine: a fresh database seeded now, or a `--db` file as it was left.
    pub fn open(
        name: &str,
        settings: Arc<Settings>,
        seed: Arc<Seed>,
        db: Option<&Path>,
    ) -> Result<Engine, String> {
        let store = Store::open_with(db, settings.db_sync)
            .map_err(|e| format!("cannot open database: {e}"))?;
        let clock = Clock::new(settings.utc_offset);
        let mut rng_seed = settings.rng_seed;
        {
            let mut conn = store.lock();
            if store::is_seeded(&conn).map_err(|e| e.to_string())? {
                clock.restore(store::load_clock(&conn).map_err(|e| e.to_string())?);
                // A reopened `--db` file must not replay the GUIDs and order
                // numbers the seeded generator already handed out; mixing in
                // how many it made keeps runs reproducible.
                let made = store::generated_count(&conn).map_err(|e| e.to_string())?;
                rng_seed = rng_seed.map(|s| s ^ made.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            } else {
                let tx = conn.transaction().map_err(|e| e.to_string())?;
                store::load_seed(&tx, &seed, clock.now(), clock.zone())
                    .map_err(|e| format!("cannot load seed: {e}"))?;
                store::save_clock(&tx, clock.state()).map_err(|e| e.to_string())?;
                tx.commit().map_err(|e| e.to_string())?;
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
    ) -> Result<Engine, String> {
        let clock = Clock::new(settings.utc_offset);
        let store = template
            .open(&seed, clock.now(), clock.state())
            .map_err(|e| format!("cannot open database: {e}"))?;
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
    ) -> Result<Engine, String> {
        let store = Store::from_image(image).map_err(|e| format!("cannot copy database: {e}"))?;
        let clock = Clock::new(settings.utc_offset);
        let rng_seed = {
            let conn = store.lock();
            clock.restore(store::load_clock(&conn).map_err(|e| e.to_string())?);
            let made = store::generated_count(&conn).map_err(|e| e.to_string())?;
            settings
                .rng_seed
                .map(|s| s ^ made.wrapping_mul(0x9E37_79B9_7F4A_7C15))
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

    /// Tells the scheduler when the next transition falls due (in real
    /// time: the clock's offset taken off; never while the clock is frozen).
    /// Called after everything that can move that time.
    pub fn reschedule(&self) {
        let Some(timer) = self.timer.get() else {
            return;
        };
        let stalling = self.faults.stalling();
        let next = transitions::next_wake(&self.store.lock(), &stalling);
        timer.schedule(self.wake_at(next.ok().flatten()));
    }

    /// The real instant at which the simulated clock reaches `due`.
    fn wake_at(&self, due: Option<i64>) -> Option<Instant> {
        if self.clock.frozen() {
            return None;
        }
        let wait_ms = due?.saturating_mul(1000) - self.clock.now_ms();
        Some(Instant::now() + Duration::from_millis(wait_ms.max(0) as u64) + SLACK)
    }

    pub fn api_key(&self, userid: &str) -> Option<&str> {
        self.users.get(userid).map(String::as_str)
    }

    /// Every member and key, for telling a wrong key from a bad sign.
    pub fn users(&self) -> impl Iterator<Item = (&str, &str)> {
        self.users.iter().map(|(u, k)| (u.as_str(), k.as_str()))
    }

    /// Runs one authenticated call in its own transaction, then every
    /// transition that fell due (so zero delays complete before the answer).
    pub fn execute(&self, call: &Call, stall: Option<i64>) -> Outcome {
        let action = match Action::parse(&call.module, &call.action, &call.params) {
            Ok(a) => a,
            Err(e) => {
                return Outcome {
                    result: Err(e),
                    changes: Vec::new(),
                }
            }
        };
        let read_only = ActionName::parse(&call.action).is_some_and(ActionName::read_only);
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let mut ctx = Ctx {
            userid: &call.userid,
            action: &call.action,
            taskid: call.taskid.clone(),
            now: self.clock.now(),
            zone: self.clock.zone(),
            timings: self.settings.timings,
            rng: &mut rng,
            stall,
            changes: Vec::new(),
        };
        // A write also asks, in its own transaction, whether anything fell
        // due, so the usual "nothing" costs no second transaction.
        let mut due = false;
        // After a write: when its engine is next due, from the same read
        // that tells whether anything is due now (`None`: not asked).
        let mut next_wake: Option<Option<i64>> = None;
        let stalling = if read_only {
            Vec::new()
        } else {
            self.faults.stalling()
        };
        // `now` is read under the connection lock: a snapshot restore swaps
        // the database and the clock together under that lock.
        let result = if read_only {
            let mut conn = self.store.lock();
            ctx.now = self.clock.now();
            let result = match conn.transaction() {
                Ok(tx) => action.apply(&tx, &mut ctx),
                Err(e) => Err(e.into()),
            };
            result
        } else {
            self.store.write(|tx| {
                ctx.now = self.clock.now();
                let value = action.apply(tx, &mut ctx)?;
                // On a read error, let the runner look (it reports its own errors).
                let next = transitions::next_wake(tx, &stalling);
                due = next
                    .as_ref()
                    .map_or(true, |n| n.is_some_and(|d| d <= self.clock.now()));
                next_wake = Some(next.ok().flatten());
                Ok::<_, Refusal>(value)
            })
        };
        let changes = std::mem::take(&mut ctx.changes);
        drop(rng);
        if !read_only && result.is_ok() {
            self.events.notify(Topic::Instances);
        }
        if due {
            self.run_due();
        } else if let (Some(next), Some(timer)) = (next_wake, self.timer.get()) {
            // The write may have scheduled something sooner.
            timer.schedule(self.wake_at(next));
        }
        Outcome { result, changes }
    }

    /// Transitions due by this time run now: the clock's time, except at
    /// the last second the clock can reach, where everything still pending
    /// runs (a release due after an `end_time` at the end of year 9999
    /// would otherwise never come, and the timeline shows it due then).
    fn horizon(&self) -> i64 {
        let now = self.clock.now();
        if now >= self.clock.last_second() {
            i64::MAX
        } else {
            now
        }
    }

    /// Applies every transition due by the simulated now, in due order, and
    /// queues their callbacks. Each transition is its own transaction.
    ///
    /// The simulated now is read under the connection lock, in the same
    /// critical section as the database it is compared with. A snapshot
    /// restore replaces both under that lock, so the runner never applies a
    /// restored transition against the clock from before the restore (which
    /// ran transitions the snapshot holds as pending).
    pub fn run_due(&self) -> usize {
        let mut applied = 0;
        // Most calls find nothing due: a cached read says so without a write transaction.
        let idle = {
            let conn = self.store.lock();
            transitions::any_due(&conn, self.horizon()).map(|due| !due)
        };
        if idle.unwrap_or(false) {
            self.reschedule();
            return 0;
        }
        loop {
            let stalling = self.faults.stalling();
            let _step = self.step.lock().unwrap_or_else(|p| p.into_inner());
            let step = self.store.write(|tx| -> rusqlite::Result<Step> {
                let now = self.horizon();
                let Some(t) = transitions::next_due(tx, now, &stalling)? else {
                    return Ok(Step::Idle);
                };
                let Some(inst) = crate::lifecycle::apply(tx, &t)? else {
                    return Ok(Step::Applied);
                };
                let url = store::callback_url(tx, &inst.userid)?;
                Ok(Step::Changed(Box::new((t, inst)), url))
            });
            match step {
                Ok(Step::Idle) => break,
                Ok(Step::Applied) => applied += 1,
                Ok(Step::Changed(change, url)) => {
                    let (t, inst) = *change;
                    applied += 1;
                    if let Some(url) = url.filter(|u| !u.is_empty()) {
                        self.notify(url, &t, &inst);
                    }
                }
                Err(e) => {
                    tracing::error!(engine = %self.name, error = %e, "transition runner failed");
                    break;
                }
            }
        }
        if applied > 0 {
            self.events.notify(Topic::Instances);
        }
        self.reschedule();
        applied
    }

    fn notify(&self, url: String, t: &transitions::Transition, inst: &instances::Instance) {
        let key = self.api_key(&inst.userid).unwrap_or_default();
        let module = actions::module_of(&t.action);
        let time = clock::wall_seconds().to_string();
        let sign = crate::protocol::sign::sign(module, &t.action, &inst.userid, key, &time);
        let mut params = Map::new();
        for (k, v) in [
            ("module", module.to_string()),
            ("action", t.action.clone()),
            ("event", t.kind.as_str().to_string()),
            ("taskid", t.taskid.clone().unwrap_or_default()),
            ("guid", inst.guid.clone()),
            ("userid", inst.userid.clone()),
            ("order_status", inst.order_status.to_string()),
            ("run_status", inst.run_status.to_string()),
            ("act_status", inst.act_status.to_string()),
            ("time", time),
            ("sign", sign),
        ] {
            params.insert(k.to_string(), Value::String(v));
        }
        self.callbacks.enqueue(url, t.kind.as_str(), params);
    }

    fn save_clock(&self) {
        let state = self.clock.state();
        let conn = self.store.lock();
        if let Err(e) = store::save_clock(&conn, state) {
            tracing::error!(error = %e, "cannot persist the clock");
        }
    }

    /// Moves the clock forward and runs what fell due.
    /// Moves the clock forward and runs what fell due; refused, with
    /// nothing moved, when it would pass the last time the engine can write.
    pub fn advance(&self, seconds: i64) -> Result<(), clock::OutOfRange> {
        self.clock.advance(seconds)?;
        self.save_clock();
        self.run_due();
        Ok(())
    }

    pub fn set_clock(&self, target: i64) -> Result<(), clock::BackwardsError> {
        self.clock.set(target)?;
        self.save_clock();
        self.run_due();
        Ok(())
    }

    pub fn freeze(&self) {
        self.clock.freeze();
        self.save_clock();
        self.reschedule();
    }

    pub fn resume(&self) {
        self.clock.resume();
        self.save_clock();
        self.reschedule();
    }

    pub fn clock_view(&self) -> ClockView {
        ClockView {
            now: self.clock.format(self.clock.now()),
            offset_seconds: self.clock.offset_seconds(),
            frozen: self.clock.frozen(),
        }
    }

    /// Back to the seed state: empty journal and callback log, no faults,
    /// clock back to real time. Snapshots are kept.
    pub fn reset(&self) -> Result<(), String> {
        self.store
            .write(|tx| -> rusqlite::Result<()> {
                // Under the connection lock, as in a restore: the runner
                // sees the old state with the old clock or the new with the new.
                self.clock.reset();
                store::load_seed(tx, &self.seed, self.clock.now(), self.clock.zone())?;
                store::save_clock(tx, self.clock.state())
            })
            .map_err(|e| e.to_string())?;
        self.rendered.clear();
        self.journal.clear();
        self.faults.clear();
        self.callbacks.clear();
        self.reschedule();
        Ok(())
    }

    /// Copies the whole state (database, clock, pending transitions) under `name`.
    pub fn take_snapshot(&self, name: &str) -> Result<SnapshotInfo, String> {
        let mut copy = Connection::open_in_memory().map_err(|e| e.to_string())?;
        {
            let conn = self.store.lock();
            // The clock is saved and copied with the database under one
            // hold of the lock, so the copy pairs them as they were.
            store::save_clock(&conn, self.clock.state()).map_err(|e| e.to_string())?;
            let backup =
                rusqlite::backup::Backup::new(&conn, &mut copy).map_err(|e| e.to_string())?;
            backup
                .run_to_completion(i32::MAX, Duration::ZERO, None)
                .map_err(|e| e.to_string())?;
        }
        let taken_at = self.clock.format(self.clock.now());
        let info = SnapshotInfo {
            name: name.to_string(),
            taken_at: taken_at.clone(),
        };
        self.snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(
                name.to_string(),
                Snapshot {
                    conn: copy,
                    taken_at,
                },
            );
        Ok(info)
    }

    pub fn snapshots(&self) -> Vec<SnapshotInfo> {
        self.snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .map(|(name, s)| SnapshotInfo {
                name: name.clone(),
                taken_at: s.taken_at.clone(),
            })
            .collect()
    }

    /// Restores a snapshot atomically; `Ok(false)` when there is none by that name.
    ///
    /// The database and the clock are replaced under one hold of the
    /// connection lock, which the transition runner also holds while it
    /// reads the clock and applies a transition: the runner sees either the
    /// state before the restore or the one after, never the restored
    /// database with the clock from before it.
    pub fn restore_snapshot(&self, name: &str) -> Result<bool, String> {
        let snapshots = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        let Some(snap) = snapshots.get(name) else {
            return Ok(false);
        };
        {
            let mut conn = self.store.lock();
            {
                let backup = rusqlite::backup::Backup::new(&snap.conn, &mut conn)
                    .map_err(|e| e.to_string())?;
                backup
                    .run_to_completion(i32::MAX, Duration::ZERO, None)
                    .map_err(|e| e.to_string())?;
            }
            let state: ClockState = store::load_clock(&conn).map_err(|e| e.to_string())?;
            self.clock.restore(state);
        }
        self.rendered.clear();
        drop(snapshots);
        self.reschedule();
        Ok(true)
    }

    /// The whole database, clock included, as an image for a fork.
    pub fn image(&self) -> Result<Vec<u8>, String> {
        self.save_clock();
        self.store.image().map_err(|e| e.to_string())
    }

    /// A snapshot's database as an image for a fork; `None` when there is
    /// no snapshot by that name.
    pub fn snapshot_image(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        let snapshots = self.snapshots.lock().unwrap_or_else(|p| p.into_inner());
        let Some(snap) = snapshots.get(name) else {
            return Ok(None);
        };
        let data = snap
            .conn
            .serialize(rusqlite::MAIN_DB)
            .map_err(|e| e.to_string())?;
        Ok(Some(data.to_vec()))
    }

    /// Instances held (every member, deleted included) and approximate
    /// bytes (database and journal), for the namespace listing.
    pub fn footprint(&self) -> (i64, u64) {
        let instances = instances::count_all(&self.store.lock()).unwrap_or(0);
        let bytes = self.store.size().unwrap_or(0) + self.journal.approximate_bytes();
        (instances, bytes)
    }

    pub fn delete_snapshot(&self, name: &str) -> bool {
        self.snapshots
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(name)
            .is_some()
    }

    /// The pending transitions, soonest first.
    pub fn timeline(&self) -> Result<Timeline, String> {
        let conn = self.store.lock();
        let list = transitions::pending(&conn).map_err(|e| e.to_string())?;
        Ok(Timeline {
            pending: list.iter().map(|t| self.pending_view(t, false)).collect(),
        })
    }

    /// One pending transition as the control API shows it, everywhere
    /// (the timeline, an instance's detail); with `countdown`, the seconds
    /// until it is due.
    pub fn pending_view(&self, t: &transitions::Transition, countdown: bool) -> PendingTransition {
        PendingTransition {
            guid: t.guid.clone(),
            kind: t.kind.as_str().to_string(),
            due: self.clock.format(t.due),
            due_in_seconds: countdown.then(|| t.due - self.clock.now()),
            taskid: t.taskid.clone(),
            stalled_by: t.stalled_by,
        }
    }

    pub fn set_callback(&self, userid: &str, url: Option<&str>) -> Result<bool, String> {
        let conn = self.store.lock();
        store::set_callback_url(&conn, userid, url).map_err(|e| e.to_string())
    }
}

/// State fields the control API forces on an instance
/// (`PATCH /_mock/baremetal/{guid}`), already checked against the values
/// the document gives each one.
#[derive(Debug, Default, Clone)]
pub struct ForcedState {
    /// State fields to set, in order.
    pub states: Vec<crate::domain::state::Forced>,
    /// A new end time: the pending expiry moves to it.
    pub end_time: Option<i64>,
}

impl Engine {
    /// Writes `forced` onto instance `guid` in one transaction and returns
    /// the instance as `sync_baremetal` shows it, or `None` when there is no
    /// such instance. Transitions it makes due run on the caller's next
    /// [`Engine::run_due`].
    pub fn force_state(&self, guid: &str, forced: &ForcedState) -> rusqlite::Result<Option<Value>> {
        self.store.write(|tx| -> rusqlite::Result<Option<Value>> {
            let Some(mut inst) = instances::get(tx, guid)? else {
                return Ok(None);
            };
            let mut state = inst.state();
            for f in &forced.states {
                f.apply(&mut state);
            }
            inst.set_state(state);
            if let Some(t) = forced.end_time {
                inst.end_time = t;
                transitions::cancel(tx, &inst.guid, &[TransitionKind::Expired])?;
                transitions::schedule(
                    tx,
                    &transitions::NewTransition {
                        guid: &inst.guid,
                        kind: TransitionKind::Expired,
                        due: t,
                        taskid: None,
                        action: "create",
                        userid: &inst.userid,
                        reference: None,
                        stalled_by: None,
                    },
                )?;
            }
            instances::update(tx, &inst)?;
            let fmt = |t| self.clock.format(t);
            actions::view::synced(tx, &inst, true, &fmt).map(Some)
        })
    }
}
