//! The control API's forced instance state (`PATCH /_mock/baremetal/{guid}`):
//! [`ForcedState`] and [`Engine::force_state`], which writes it and moves
//! the pending expiry to a new end time.

use serde_json::Value;

use super::Engine;
use crate::actions::{self, ActionName};
use crate::domain::transition::TransitionKind;
use crate::store::{instances, transitions};

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
                        // An expiry belongs to the order that bought the instance.
                        action: ActionName::Create.wire(),
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
