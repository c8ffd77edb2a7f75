//! What happens when a stored transition falls due, and the resource
//! release shared by refund and expiry. Runs inside the runner's transaction.

use rusqlite::Transaction;

use crate::domain::state::{self, ActStatus, DegradeStatus, OrderStatus, RunStatus, UpgradeStatus};
use crate::domain::transition::TransitionKind;
use crate::store::changes::{self, DegradeRecord};
use crate::store::instances::{self, Instance};
use crate::store::transitions::{self, Transition};
use crate::store::{catalog, network};

/// A deleted instance stays visible (with `order_status` -2) this long.
pub const PURGE_AFTER: i64 = 24 * 3600;

/// Applies one due transition. Returns the instance afterwards when the
/// transition changed it and should be notified.
pub fn apply(tx: &Transaction, t: &Transition) -> rusqlite::Result<Option<Instance>> {
    transitions::remove(tx, t.id)?;
    let Some(mut inst) = instances::get(tx, &t.guid)? else {
        return Ok(None);
    };
    let changed = match t.kind {
        TransitionKind::Provisioned => provisioned(&mut inst),
        TransitionKind::Stopped
        | TransitionKind::Started
        | TransitionKind::Restarted
        | TransitionKind::PasswordSet
        | TransitionKind::Upgraded => finish_act(&mut inst, t.kind),
        TransitionKind::Installed => installed(&mut inst, t),
        TransitionKind::Degraded => degraded(tx, &mut inst, t)?,
        TransitionKind::Expired => expired(tx, &mut inst, t)?,
        TransitionKind::Released => released(tx, &mut inst, t)?,
        TransitionKind::Purged => {
            if inst.order_status == OrderStatus::Deleted {
                instances::hide(tx, &inst.guid)?;
            }
            return Ok(None);
        }
    };
    if !changed {
        return Ok(None);
    }
    instances::update(tx, &inst)?;
    Ok(Some(inst))
}

/// A provisioning instance comes up running.
fn provisioned(inst: &mut Instance) -> bool {
    if inst.order_status != OrderStatus::Provisioning {
        return false;
    }
    inst.order_status = OrderStatus::Active;
    inst.run_status = RunStatus::Running;
    inst.act_status = ActStatus::Idle;
    true
}

/// An install completes, and its pending system and login take effect.
fn installed(inst: &mut Instance, t: &Transition) -> bool {
    let done = finish_act(inst, t.kind);
    if let (true, Some(pending)) = (
        done,
        t.reference.as_deref().and_then(PendingInstall::decode),
    ) {
        pending.apply(inst);
    }
    done
}

/// A pending degrade of an instance not yet deleted takes effect.
fn degraded(tx: &Transaction, inst: &mut Instance, t: &Transition) -> rusqlite::Result<bool> {
    let degrade = t
        .reference
        .as_deref()
        .map(|g| changes::get_degrade(tx, g))
        .transpose()?
        .flatten();
    match degrade {
        Some(d)
            if d.status == DegradeStatus::Pending && inst.order_status != OrderStatus::Deleted =>
        {
            apply_degrade(tx, inst, &d, t.due)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// A live instance past its end time expires and is locked; its release
/// follows after the line's release delay.
fn expired(tx: &Transaction, inst: &mut Instance, t: &Transition) -> rusqlite::Result<bool> {
    let live = matches!(
        inst.order_status,
        OrderStatus::Provisioning | OrderStatus::Active
    );
    if !live || inst.end_time > t.due {
        return Ok(false);
    }
    inst.order_status = OrderStatus::Expired;
    inst.run_status = RunStatus::Locked;
    inst.act_status = ActStatus::Idle;
    let delay = catalog::line(tx, &inst.line_guid)?
        .map(|l| l.release_delay_seconds())
        .unwrap_or(0);
    follow_up(tx, t, TransitionKind::Released, t.due + delay)?;
    Ok(true)
}

/// An expired instance is released (deleted); it is hidden after
/// `PURGE_AFTER`.
fn released(tx: &Transaction, inst: &mut Instance, t: &Transition) -> rusqlite::Result<bool> {
    if inst.order_status != OrderStatus::Expired {
        return Ok(false);
    }
    delete(tx, inst, t.due)?;
    follow_up(tx, t, TransitionKind::Purged, t.due + PURGE_AFTER)?;
    Ok(true)
}

/// What an accepted install changes once it completes, kept in the
/// transition's reference as JSON.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PendingInstall {
    pub system_guid: String,
    pub login_name: String,
    pub login_password: String,
    pub system_partition_size: String,
    pub install_mode: String,
}

impl PendingInstall {
    pub fn encode(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn decode(text: &str) -> Option<PendingInstall> {
        serde_json::from_str(text).ok()
    }

    fn apply(self, inst: &mut Instance) {
        inst.system_guid = self.system_guid;
        inst.login_name = self.login_name;
        inst.login_password = self.login_password;
        inst.system_partition_size = self.system_partition_size;
        inst.install_mode = self.install_mode;
    }
}

/// Schedules the transition that follows `t` on the same instance, keeping
/// its originating task and action.
fn follow_up(
    tx: &Transaction,
    t: &Transition,
    kind: TransitionKind,
    due: i64,
) -> rusqlite::Result<i64> {
    transitions::schedule(
        tx,
        &transitions::NewTransition {
            guid: &t.guid,
            kind,
            due,
            taskid: t.taskid.as_deref(),
            action: &t.action,
            userid: &t.userid,
            reference: None,
            stalled_by: None,
        },
    )
}

/// Completes the operation that the instance is busy with and that `kind`
/// finishes.
fn finish_act(inst: &mut Instance, kind: TransitionKind) -> bool {
    let mut state = inst.state();
    let done = state::finish(kind, &mut state);
    inst.set_state(state);
    done
}

/// Deletes an instance (`order_status` -2): its stock unit and every IP go
/// back, pending degrades are cancelled, pending transitions dropped.
pub fn delete(tx: &Transaction, inst: &mut Instance, now: i64) -> rusqlite::Result<()> {
    inst.order_status = OrderStatus::Deleted;
    inst.act_status = ActStatus::Idle;
    inst.deleted_at = Some(now);
    instances::release_stock(tx, &inst.guid)?;
    network::release_instance_ips(tx, &inst.guid)?;
    for d in changes::degrades_of(tx, &inst.guid)? {
        if d.status == DegradeStatus::Pending {
            changes::set_degrade_status(tx, &d.guid, DegradeStatus::Cancelled, None)?;
        }
    }
    transitions::cancel(tx, &inst.guid, &TransitionKind::ALL)?;
    Ok(())
}

/// The upgrade records a degrade consumes, as (upgrade id, amount).
fn consumed(d: &DegradeRecord) -> Vec<(i64, i64)> {
    d.upgrade_ids
        .split(',')
        .filter_map(|pair| {
            let (id, amount) = pair.split_once(':')?;
            Some((id.trim().parse().ok()?, amount.trim().parse().ok()?))
        })
        .collect()
}

fn apply_degrade(
    tx: &Transaction,
    inst: &mut Instance,
    d: &DegradeRecord,
    now: i64,
) -> rusqlite::Result<()> {
    match d.item.as_str() {
        "bandwidth" => inst.bandwidth -= d.amount,
        "defense" => inst.defense -= d.amount,
        _ => inst.ipnum -= d.amount,
    }
    let upgrades = changes::upgrades_of(tx, &inst.guid)?;
    for (id, _) in consumed(d) {
        if let Some(u) = upgrades.iter().find(|u| u.id == id) {
            if d.item == "ip" {
                network::release_upgrade_ips(tx, id)?;
            }
            if u.remaining == 0 {
                let mut spent = u.clone();
                spent.status = UpgradeStatus::Spent;
                spent.degrade_guid = Some(d.guid.clone());
                changes::update_upgrade(tx, &spent)?;
            }
        }
    }
    changes::set_degrade_status(tx, &d.guid, DegradeStatus::Done, Some(now))
}

/// Cancels a pending degrade: its amounts go back to the upgrade records.
pub fn cancel_degrade(tx: &Transaction, d: &DegradeRecord) -> rusqlite::Result<()> {
    let upgrades = changes::upgrades_of(tx, &d.baremetal_guid)?;
    for (id, amount) in consumed(d) {
        if let Some(u) = upgrades.iter().find(|u| u.id == id) {
            let mut back = u.clone();
            back.remaining = (back.remaining + amount).min(back.nums);
            changes::update_upgrade(tx, &back)?;
        }
    }
    changes::set_degrade_status(tx, &d.guid, DegradeStatus::Cancelled, None)?;
    transitions::cancel_reference(tx, &d.guid)
}
