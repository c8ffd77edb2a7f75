//! Running one authenticated `/api` call: [`Call`] (what passed
//! authentication, its action already parsed), [`Outcome`] (the answer and
//! what changed), and [`Engine::execute`], one transaction per call followed
//! by whatever fell due.

use serde_json::Value;

use super::Engine;
use crate::actions::{Action, ActionName, Ctx};
use crate::change::Change;
use crate::events::Topic;
use crate::protocol::{Params, Refusal};
use crate::store::transitions;

/// A request that passed authentication.
#[derive(Debug, Clone)]
pub struct Call {
    /// The action, parsed once (its module is `action.module()`; the wire
    /// name `action.wire()`).
    pub action: ActionName,
    pub userid: String,
    pub taskid: Option<String>,
    pub params: Params,
}

/// What running a call produced, for the answer and the journal.
#[derive(Debug)]
pub struct Outcome {
    pub result: Result<Value, Refusal>,
    pub changes: Vec<Change>,
}

/// What a write learnt, in its own transaction, of the engine's next due
/// time, so that the usual "nothing due" costs no second transaction.
enum Next {
    /// Something is due now (or the read failed: the runner looks, and
    /// reports its own errors).
    DueNow,
    /// The next due time, if any.
    At(Option<i64>),
}

impl Engine {
    /// Runs one authenticated call in its own transaction, then every
    /// transition that fell due (so zero delays complete before the answer).
    pub fn execute(&self, call: &Call, stall: Option<i64>) -> Outcome {
        let action = match Action::of(call.action, &call.params) {
            Ok(a) => a,
            Err(e) => {
                return Outcome {
                    result: Err(e),
                    changes: Vec::new(),
                }
            }
        };
        let read_only = call.action.read_only();
        let mut rng = self.rng.lock().unwrap_or_else(|p| p.into_inner());
        let mut ctx = Ctx {
            userid: &call.userid,
            action: call.action,
            taskid: call.taskid.clone(),
            now: self.clock.now(),
            zone: self.clock.zone(),
            timings: self.settings.timings,
            rng: &mut rng,
            stall,
            changes: Vec::new(),
        };
        let (result, next) = match read_only {
            true => (self.apply_read(action, &mut ctx), None),
            false => self.apply_write(action, &mut ctx),
        };
        let changes = std::mem::take(&mut ctx.changes);
        drop(rng);
        if !read_only && result.is_ok() {
            self.events.notify(Topic::Instances);
        }
        self.after_write(next);
        Outcome { result, changes }
    }

    /// A read-only action, in a transaction that is never committed.
    ///
    /// `now` is read under the connection lock: a snapshot restore swaps
    /// the database and the clock together under that lock.
    fn apply_read(&self, action: Action, ctx: &mut Ctx) -> Result<Value, Refusal> {
        let mut conn = self.store.lock();
        ctx.now = self.clock.now();
        let tx = conn.transaction()?;
        action.apply(&tx, ctx)
    }

    /// A writing action in one transaction, which also asks whether
    /// anything fell due (`None`: the action was refused, nothing asked).
    fn apply_write(&self, action: Action, ctx: &mut Ctx) -> (Result<Value, Refusal>, Option<Next>) {
        let stalling = self.faults.stalling();
        let mut next = None;
        let result = self.store.write(|tx| {
            ctx.now = self.clock.now();
            let value = action.apply(tx, ctx)?;
            next = Some(match transitions::next_wake(tx, &stalling) {
                Ok(Some(due)) if due <= self.clock.now() => Next::DueNow,
                Ok(due) => Next::At(due),
                Err(_) => Next::DueNow,
            });
            Ok::<_, Refusal>(value)
        });
        (result, next)
    }

    /// Runs what fell due, or tells the scheduler when the engine is next
    /// due (the write may have scheduled something sooner).
    fn after_write(&self, next: Option<Next>) {
        match next {
            Some(Next::DueNow) => {
                self.run_due();
            }
            Some(Next::At(due)) => {
                if let Some(timer) = self.timer.get() {
                    timer.schedule(self.wake_at(due));
                }
            }
            None => {}
        }
    }
}
