//! The transition runner: [`Engine::run_due`] applies every transition due
//! by the simulated now, each in its own transaction, and queues the
//! callback each change makes (with its signed parameters); the engine
//! tells the process's scheduler when it is next due, and is run by it
//! through [`Due`].

use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use super::Engine;
use crate::actions;
use crate::clock;
use crate::events::Topic;
use crate::scheduler::{Due, SLACK};
use crate::store::{self, instances, transitions};

/// One step of the transition runner.
enum DueStep {
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

/// The scheduler runs an engine through this, knowing nothing else of it.
impl Due for Engine {
    fn run_due(&self) {
        Engine::run_due(self);
    }
}

impl Engine {
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
    pub(super) fn wake_at(&self, due: Option<i64>) -> Option<Instant> {
        if self.clock.frozen() {
            return None;
        }
        let wait_ms = due?.saturating_mul(1000) - self.clock.now_ms();
        Some(Instant::now() + Duration::from_millis(wait_ms.max(0) as u64) + SLACK)
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
            let step = self.store.write(|tx| -> rusqlite::Result<DueStep> {
                let now = self.horizon();
                let Some(t) = transitions::next_due(tx, now, &stalling)? else {
                    return Ok(DueStep::Idle);
                };
                let Some(inst) = crate::lifecycle::apply(tx, &t)? else {
                    return Ok(DueStep::Applied);
                };
                let url = store::callback_url(tx, &inst.userid)?;
                Ok(DueStep::Changed(Box::new((t, inst)), url))
            });
            match step {
                Ok(DueStep::Idle) => break,
                Ok(DueStep::Applied) => applied += 1,
                Ok(DueStep::Changed(change, url)) => {
                    let (t, inst) = *change;
                    applied += 1;
                    if let Some(url) = url.filter(|u| !u.is_empty()) {
                        self.queue_callback(url, &t, &inst);
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

    /// Queues the callback notice of transition `t`, which left `inst` as
    /// it is, for delivery to `url`.
    fn queue_callback(&self, url: String, t: &transitions::Transition, inst: &instances::Instance) {
        let params = self.callback_params(t, inst);
        self.callbacks.enqueue(url, t.kind.as_str(), params);
    }

    /// A callback notice's fields, signed with the member's key as a
    /// request of the transition's action would be.
    fn callback_params(
        &self,
        t: &transitions::Transition,
        inst: &instances::Instance,
    ) -> Map<String, Value> {
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
        params
    }

    /// Sets (or, with `None`, clears) where member `userid`'s callbacks go;
    /// `false` when there is no such member.
    pub fn set_callback(
        &self,
        userid: &str,
        url: Option<&str>,
    ) -> Result<bool, super::EngineError> {
        let conn = self.store.lock();
        Ok(store::set_callback_url(&conn, userid, url)?)
    }
}
