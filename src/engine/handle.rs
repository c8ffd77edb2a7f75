//! `EngineHandle`: the control API's way into an engine. One async method
//! per control operation, each answering its typed answer
//! (`protocol::control`, `engine::views`); the methods that touch SQLite
//! run on a blocking thread (`spawn_blocking`) themselves, so no caller
//! locks the store or forgets to leave the runtime's workers. Operations
//! that touch only memory (the clock, the fault rules, the callback log,
//! the journal, the snapshot list) answer on the caller's thread: a thread
//! hop would buy nothing.
//!
//! The `/api` hot path does not come here: it reaches the database
//! through the engine's lane (`lane.rs`), which runs queued calls back to
//! back on one blocking task.

use std::sync::Arc;

use super::views::{CallbackList, FaultList, ListFilter};
use super::{Engine, EngineError, ForcedState};
use crate::faults::{Checked, Rule};
use crate::protocol::control::{
    CallbackSet, CatalogView, ClockView, Deleted, FaultRemoved, FaultsCleared, ForcedInstance,
    InstanceDetail, InstanceList, RequestsCleared, ResetDone, Restored, SnapshotInfo, Snapshots,
    Timeline, Users,
};
use crate::protocol::Reason;

/// Why a control operation did not happen. The message is for a person;
/// the edge adds the status (`admin/mod.rs`).
#[derive(Debug, thiserror::Error)]
pub enum HandleError {
    /// The move would pass the last time the engine can write; nothing moved.
    #[error(
        "advancing {seconds} s would take the clock past {} (times are written YYYY-MM-DD HH:MM:SS); it is {now}",
        crate::clock::LAST_TIME
    )]
    ClockOutOfRange { seconds: i64, now: String },
    #[error("the clock only moves forward")]
    ClockBackwards,
    #[error("no member with userid {0}")]
    UnknownUser(String),
    #[error("no snapshot named {0:?}")]
    UnknownSnapshot(String),
    #[error("no instance {0}")]
    UnknownInstance(String),
    #[error("no fault rule with that id")]
    UnknownFault,
    /// The engine failed: the detail is logged, never shown.
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// The blocking thread panicked: likewise logged, never shown.
    #[error("the engine's blocking task failed: {0}")]
    Panicked(String),
}

impl From<rusqlite::Error> for HandleError {
    fn from(e: rusqlite::Error) -> HandleError {
        HandleError::Engine(EngineError::Sql(e))
    }
}

impl HandleError {
    /// The stable `X-Mock-Error` reason.
    pub fn reason(&self) -> Reason {
        match self {
            HandleError::ClockOutOfRange { .. } => Reason::ClockOutOfRange,
            HandleError::ClockBackwards => Reason::ClockBackwards,
            HandleError::UnknownUser(_) => Reason::UnknownUser,
            HandleError::UnknownSnapshot(_) => Reason::UnknownSnapshot,
            HandleError::UnknownInstance(_) => Reason::UnknownInstance,
            HandleError::UnknownFault => Reason::UnknownFault,
            HandleError::Engine(_) | HandleError::Panicked(_) => Reason::InternalError,
        }
    }
}

/// A cheap clone around the engine, for the control API.
#[derive(Debug, Clone)]
pub struct EngineHandle {
    engine: Arc<Engine>,
}

impl EngineHandle {
    pub fn new(engine: Arc<Engine>) -> EngineHandle {
        EngineHandle { engine }
    }

    /// The engine, for what takes it whole: a signed call through the
    /// `/api` pipeline, the journal's streamed read, live views. None of
    /// them locks the store.
    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Runs `f` on a blocking thread; a panic there is an internal error.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Engine) -> T + Send + 'static,
    ) -> Result<T, HandleError> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || f(&engine))
            .await
            .map_err(|e| HandleError::Panicked(e.to_string()))
    }

    /// Back to the seed state (snapshots are kept).
    pub async fn reset(&self) -> Result<ResetDone, HandleError> {
        self.blocking(Engine::reset)
            .await?
            .map_err(HandleError::from)?;
        Ok(ResetDone {
            status: "reset".to_string(),
            clock: self.clock(),
        })
    }

    /// The simulated clock (memory only).
    pub fn clock(&self) -> ClockView {
        self.engine.clock_view()
    }

    /// `YYYY-MM-DD HH:MM:SS` in the engine's zone, as a time the clock can
    /// be set to; `None` when it is not one.
    pub fn parse_time(&self, text: &str) -> Option<i64> {
        self.engine.clock().parse(text)
    }

    /// Moves the clock forward `seconds` and runs what fell due.
    pub async fn advance(&self, seconds: i64) -> Result<ClockView, HandleError> {
        match self.blocking(move |e| e.advance(seconds)).await? {
            Ok(()) => Ok(self.clock()),
            Err(crate::clock::OutOfRange) => {
                let clock = self.engine.clock();
                Err(HandleError::ClockOutOfRange {
                    seconds,
                    now: clock.format(clock.now()),
                })
            }
        }
    }

    /// Sets the clock to `target` (never backwards) and runs what fell due.
    pub async fn set_clock(&self, target: i64) -> Result<ClockView, HandleError> {
        match self.blocking(move |e| e.set_clock(target)).await? {
            Ok(()) => Ok(self.clock()),
            Err(crate::clock::BackwardsError) => Err(HandleError::ClockBackwards),
        }
    }

    pub async fn freeze(&self) -> Result<ClockView, HandleError> {
        self.blocking(Engine::freeze).await?;
        Ok(self.clock())
    }

    pub async fn resume(&self) -> Result<ClockView, HandleError> {
        self.blocking(Engine::resume).await?;
        Ok(self.clock())
    }

    /// The pending transitions, soonest first.
    pub async fn timeline(&self) -> Result<Timeline, HandleError> {
        self.blocking(Engine::timeline)
            .await?
            .map_err(HandleError::from)
    }

    /// The callback log (memory only).
    pub fn callbacks(&self) -> CallbackList {
        self.engine.callback_list()
    }

    /// Where member `userid`'s callbacks go; `None` (or empty) stops them.
    pub async fn set_callback(
        &self,
        userid: String,
        url: Option<String>,
    ) -> Result<CallbackSet, HandleError> {
        // The answer is what was stored: an empty URL is no URL.
        let url = url.filter(|u| !u.is_empty());
        let (uid, stored) = (userid.clone(), url.clone());
        let found = self
            .blocking(move |e| e.set_callback(&uid, stored.as_deref()))
            .await?
            .map_err(HandleError::from)?;
        if !found {
            return Err(HandleError::UnknownUser(userid));
        }
        Ok(CallbackSet { userid, url })
    }

    /// Adds a checked fault rule; it answers with its id and counters.
    pub fn add_fault(&self, spec: Checked) -> Rule {
        self.engine.faults().add(spec)
    }

    /// The fault rules (memory only).
    pub fn faults(&self) -> FaultList {
        self.engine.fault_list()
    }

    /// Removes every fault rule, then runs the transitions they stalled
    /// that are due.
    pub async fn clear_faults(&self) -> Result<FaultsCleared, HandleError> {
        self.engine.faults().clear();
        self.blocking(Engine::run_due).await?;
        Ok(FaultsCleared::default())
    }

    /// Removes rule `id`, then runs the transitions it stalled that are due.
    pub async fn remove_fault(&self, id: i64) -> Result<FaultRemoved, HandleError> {
        if !self.engine.faults().remove(id) {
            return Err(HandleError::UnknownFault);
        }
        self.blocking(Engine::run_due).await?;
        Ok(FaultRemoved { removed: id })
    }

    /// Empties the request journal (memory only).
    pub fn clear_requests(&self) -> RequestsCleared {
        self.engine.journal().clear();
        RequestsCleared::default()
    }

    /// Copies the whole state under `name` (a snapshot of that name is replaced).
    pub async fn take_snapshot(&self, name: String) -> Result<SnapshotInfo, HandleError> {
        self.blocking(move |e| e.take_snapshot(&name))
            .await?
            .map_err(HandleError::from)
    }

    /// Every snapshot (memory only).
    pub fn snapshots(&self) -> Snapshots {
        Snapshots {
            snapshots: self.engine.snapshots(),
        }
    }

    /// Restores snapshot `name`: database, clock and pending transitions.
    pub async fn restore_snapshot(&self, name: String) -> Result<Restored, HandleError> {
        let n = name.clone();
        let found = self
            .blocking(move |e| e.restore_snapshot(&n))
            .await?
            .map_err(HandleError::from)?;
        if !found {
            return Err(HandleError::UnknownSnapshot(name));
        }
        Ok(Restored {
            restored: name,
            clock: self.clock(),
        })
    }

    /// Deletes snapshot `name`. Its copy is a SQLite connection, closed on
    /// the blocking thread.
    pub async fn delete_snapshot(&self, name: String) -> Result<Deleted, HandleError> {
        let n = name.clone();
        if !self.blocking(move |e| e.delete_snapshot(&n)).await? {
            return Err(HandleError::UnknownSnapshot(name));
        }
        Ok(Deleted { deleted: name })
    }

    /// Writes `forced` onto instance `guid`, then runs the transitions it
    /// made due.
    pub async fn force_state(
        &self,
        guid: String,
        forced: ForcedState,
    ) -> Result<ForcedInstance, HandleError> {
        let g = guid.clone();
        let view = self
            .blocking(move |e| {
                let view = e.force_state(&g, &forced)?;
                e.run_due();
                Ok::<_, rusqlite::Error>(view)
            })
            .await?
            .map_err(HandleError::from)?;
        match view {
            Some(baremetal) => Ok(ForcedInstance { baremetal }),
            None => Err(HandleError::UnknownInstance(guid)),
        }
    }

    /// `GET /_mock/instances`.
    pub async fn instance_list(
        &self,
        filter: ListFilter,
        offset: i64,
        limit: i64,
    ) -> Result<InstanceList, HandleError> {
        self.blocking(move |e| e.instance_list(&filter, offset, limit))
            .await?
            .map_err(HandleError::from)
    }

    /// `GET /_mock/instances/{guid}`.
    pub async fn instance_detail(&self, guid: String) -> Result<InstanceDetail, HandleError> {
        let g = guid.clone();
        self.blocking(move |e| e.instance_detail(&g))
            .await?
            .map_err(HandleError::from)?
            .ok_or(HandleError::UnknownInstance(guid))
    }

    /// `GET /_mock/catalog`.
    pub async fn catalog(&self) -> Result<CatalogView, HandleError> {
        self.blocking(Engine::catalog_view)
            .await?
            .map_err(HandleError::from)
    }

    /// `GET /_mock/users`.
    pub async fn users(&self) -> Result<Users, HandleError> {
        self.blocking(Engine::users_view)
            .await?
            .map_err(HandleError::from)
    }
}
