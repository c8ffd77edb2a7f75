//! The pending transitions as the control API shows them: the timeline
//! (`GET /_mock/timeline`) and one pending transition, with or without its
//! countdown.

use super::{Engine, EngineError};
use crate::protocol::control::{PendingTransition, Timeline};
use crate::store::transitions;

impl Engine {
    /// The pending transitions, soonest first.
    pub fn timeline(&self) -> Result<Timeline, EngineError> {
        let conn = self.store.lock();
        let list = transitions::pending(&conn)?;
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
}
