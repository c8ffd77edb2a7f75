//! The upstream actions. `Action::parse` matches module and action names and
//! reads each action's fields into its own struct; `apply` runs it inside
//! the request's transaction. Actions never call each other.

mod catalog;
mod create;
mod degrade;
mod install;
mod power;
mod refund;
mod renew;
mod setpass;
mod sync_baremetal;
mod upgrade;
pub mod view;

use rand::rngs::StdRng;
use rand::Rng;
use rusqlite::Transaction;
use serde_json::{json, Value};

use crate::protocol::{Params, Reason, Refusal};
use crate::seed::Timings;
use crate::store::{instances, tasks};

/// Every action name the engine knows, with its module.
pub const ACTIONS: &[(&str, &str)] = &[
    ("baremetal", "getzones"),
    ("baremetal", "sync_line"),
    ("baremetal", "getsystems"),
    ("baremetal", "sync_harddisk"),
    ("baremetal", "sync_product"),
    ("baremetal", "create"),
    ("baremetal", "sync_baremetal"),
    ("baremetal", "upgrade"),
    ("baremetal", "degrade_ip_list"),
    ("baremetal", "degrade"),
    ("baremetal", "degrade_cancel"),
    ("baremetal", "stop"),
    ("baremetal", "start"),
    ("baremetal", "restart"),
    ("baremetal", "renew"),
    ("baremetal", "setpass"),
    ("baremetal", "install"),
    ("common", "refund"),
];

/// Whether an action only reads (it then needs no write transaction).
pub fn is_read_only(action: &str) -> bool {
    matches!(
        action,
        "getzones"
            | "sync_line"
            | "getsystems"
            | "sync_harddisk"
            | "sync_product"
            | "sync_baremetal"
            | "degrade_ip_list"
    )
}

pub enum Action {
    Catalog(catalog::Catalog),
    Create(create::Create),
    SyncBaremetal(sync_baremetal::SyncBaremetal),
    Power(power::Power),
    Setpass(setpass::Setpass),
    Install(install::Install),
    Renew(renew::Renew),
    Refund(refund::Refund),
    Upgrade(upgrade::Upgrade),
    DegradeIpList(degrade::DegradeIpList),
    Degrade(degrade::Degrade),
    DegradeCancel(degrade::DegradeCancel),
}

impl Action {
    /// Checks module and action names and reads the action's own fields.
    pub fn parse(module: &str, action: &str, params: &Params) -> Result<Action, Refusal> {
        check_names(module, action)?;
        Ok(match action {
            "getzones" | "sync_line" | "getsystems" | "sync_harddisk" | "sync_product" => {
                Action::Catalog(catalog::Catalog::parse(action, params)?)
            }
            "create" => Action::Create(create::Create::parse(params)?),
            "sync_baremetal" => {
                Action::SyncBaremetal(sync_baremetal::SyncBaremetal::parse(params)?)
            }
            "stop" | "start" | "restart" => Action::Power(power::Power::parse(action, params)?),
            "setpass" => Action::Setpass(setpass::Setpass::parse(params)?),
            "install" => Action::Install(install::Install::parse(params)?),
            "renew" => Action::Renew(renew::Renew::parse(params)?),
            "refund" => Action::Refund(refund::Refund::parse(params)?),
            "upgrade" => Action::Upgrade(upgrade::Upgrade::parse(params)?),
            "degrade_ip_list" => Action::DegradeIpList(degrade::DegradeIpList::parse(params)?),
            "degrade" => Action::Degrade(degrade::Degrade::parse(params)?),
            "degrade_cancel" => Action::DegradeCancel(degrade::DegradeCancel::parse(params)?),
            _ => return Err(unknown_action(module, action)),
        })
    }

    pub fn apply(self, tx: &Transaction, ctx: &mut Ctx) -> Result<Value, Refusal> {
        match self {
            Action::Catalog(a) => a.apply(tx),
            Action::Create(a) => a.apply(tx, ctx),
            Action::SyncBaremetal(a) => a.apply(tx, ctx),
            Action::Power(a) => a.apply(tx, ctx),
            Action::Setpass(a) => a.apply(tx, ctx),
            Action::Install(a) => a.apply(tx, ctx),
            Action::Renew(a) => a.apply(tx, ctx),
            Action::Refund(a) => a.apply(tx, ctx),
            Action::Upgrade(a) => a.apply(tx, ctx),
            Action::DegradeIpList(a) => a.apply(tx, ctx),
            Action::Degrade(a) => a.apply(tx, ctx),
            Action::DegradeCancel(a) => a.apply(tx, ctx),
        }
    }
}

fn unknown_action(module: &str, action: &str) -> Refusal {
    Refusal::new(
        Reason::UnknownAction,
        format!("未知的操作：module {module} 下没有 action {action}"),
    )
}

/// The module/action pair must be one the engine serves.
pub fn check_names(module: &str, action: &str) -> Result<(), Refusal> {
    if !ACTIONS.iter().any(|(m, _)| *m == module) {
        return Err(Refusal::new(
            Reason::UnknownModule,
            format!("未知的业务类型 module {module}（裸金属为 baremetal，退款为 common）"),
        ));
    }
    if ACTIONS.iter().any(|(m, a)| *m == module && *a == action) {
        return Ok(());
    }
    if let Some((m, _)) = ACTIONS.iter().find(|(_, a)| *a == action) {
        return Err(Refusal::new(
            Reason::UnknownAction,
            format!("action {action} 须使用 module={m}，而不是 {module}"),
        ));
    }
    Err(unknown_action(module, action))
}

/// What an action knows about the request it runs for.
pub struct Ctx<'a> {
    pub userid: &'a str,
    pub action: &'a str,
    pub taskid: Option<String>,
    /// Simulated now, in UNIX seconds.
    pub now: i64,
    pub zone: chrono::FixedOffset,
    pub timings: Timings,
    pub rng: &'a mut StdRng,
    /// The fault rule that stalls the transitions this request schedules.
    pub stall: Option<i64>,
    /// State changes and scheduled transitions, for the journal.
    pub effects: Vec<Value>,
}

impl Ctx<'_> {
    pub fn fmt(&self, unix: i64) -> String {
        crate::clock::format_time(unix, self.zone)
    }

    /// A new 16-digit GUID in the engine's style.
    pub fn new_guid(&mut self) -> String {
        format!("17{:014}", self.rng.random_range(0..100_000_000_000_000u64))
    }

    /// A new GUID no instance or degrade already has. A reopened `--db`
    /// file with a fixed `--rng-seed` could otherwise hand one out twice.
    pub fn unique_guid(&mut self, tx: &Transaction) -> Result<String, Refusal> {
        for _ in 0..64 {
            let guid = self.new_guid();
            if !crate::store::guid_taken(tx, &guid)? {
                return Ok(guid);
            }
        }
        Err(Refusal::internal("no free GUID after 64 tries"))
    }

    /// A new 18-digit upstream order number.
    pub fn new_order_no(&mut self) -> String {
        format!(
            "16{:016}",
            self.rng.random_range(0..10_000_000_000_000_000u64)
        )
    }

    pub fn effect(&mut self, value: Value) {
        self.effects.push(value);
    }

    /// Stores a transition of `guid` due `delay` seconds from now.
    pub fn schedule(
        &mut self,
        tx: &Transaction,
        guid: &str,
        kind: tasks::Kind,
        due: i64,
        reference: Option<&str>,
    ) -> Result<(), Refusal> {
        tasks::schedule(
            tx,
            &tasks::NewTransition {
                guid,
                kind,
                due,
                taskid: self.taskid.as_deref(),
                action: self.action,
                userid: self.userid,
                reference,
                stalled_by: self.stall,
            },
        )?;
        let due_text = self.fmt(due);
        self.effect(json!({"scheduled": kind.as_str(), "guid": guid, "due": due_text}));
        Ok(())
    }

    /// The caller's instance, or the same "not found" for a GUID that never
    /// existed and for another member's instance.
    pub fn instance(&self, tx: &Transaction, guid: &str) -> Result<instances::Instance, Refusal> {
        instances::get_owned(tx, guid, self.userid)?
            .ok_or_else(|| Refusal::instance_not_found(guid))
    }

    /// Writes the instance back and records its state in the journal.
    pub fn save(&mut self, tx: &Transaction, inst: &instances::Instance) -> Result<(), Refusal> {
        instances::update(tx, inst)?;
        self.effect(json!({
            "guid": inst.guid,
            "order_status": inst.order_status,
            "run_status": inst.run_status,
            "act_status": inst.act_status,
        }));
        Ok(())
    }
}

/// An integer field; `default` when absent or empty.
pub fn int_param(params: &Params, key: &str, default: Option<i64>) -> Result<i64, Refusal> {
    match params.str(key).map(|s| s.trim().to_string()) {
        Some(s) if !s.is_empty() => s
            .parse::<i64>()
            .or_else(|_| {
                s.parse::<f64>().map_err(|_| ()).and_then(|f| {
                    if f.fract() == 0.0 {
                        Ok(f as i64)
                    } else {
                        Err(())
                    }
                })
            })
            .map_err(|_| Refusal::bad_param(key, format!("应为整数，收到 {s:?}"))),
        _ => default.ok_or_else(|| Refusal::missing(key)),
    }
}

/// A non-negative integer increment (`""` and absent are 0).
pub fn amount_param(params: &Params, key: &str) -> Result<i64, Refusal> {
    let v = int_param(params, key, Some(0))?;
    if v < 0 {
        return Err(Refusal::bad_param(key, format!("不能为负数，收到 {v}")));
    }
    Ok(v)
}

/// A base64 password as the document asks (`base64_encode` of the password).
pub fn password_param(params: &Params, key: &str) -> Result<String, Refusal> {
    use base64::Engine as _;
    let text = params.required(key)?;
    match base64::engine::general_purpose::STANDARD.decode(text.as_bytes()) {
        Ok(bytes) if !bytes.is_empty() => Ok(text),
        _ => Err(Refusal::new(
            Reason::PasswordNotBase64,
            format!("参数 {key} 须为 base64_encode 之后的密码"),
        )),
    }
}

/// Replays the stored answer of an earlier request with the same `agent_order_no`.
pub fn replay(
    tx: &Transaction,
    ctx: &mut Ctx,
    agent_order_no: &str,
) -> Result<Option<Value>, Refusal> {
    if agent_order_no.is_empty() {
        return Ok(None);
    }
    let Some(text) = instances::order_response(tx, ctx.userid, ctx.action, agent_order_no)? else {
        return Ok(None);
    };
    // A stored answer that is not JSON is the mock's fault, never a
    // success with `data: null`.
    let data = serde_json::from_str(&text).map_err(|e| {
        Refusal::internal(format!(
            "stored answer of agent_order_no {agent_order_no} is not JSON: {e}"
        ))
    })?;
    ctx.effect(json!({"replayed_agent_order_no": agent_order_no}));
    Ok(Some(data))
}

pub fn remember(
    tx: &Transaction,
    ctx: &Ctx,
    agent_order_no: &str,
    data: &Value,
) -> Result<(), Refusal> {
    if !agent_order_no.is_empty() {
        instances::save_order(
            tx,
            ctx.userid,
            ctx.action,
            agent_order_no,
            &data.to_string(),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// A stored answer that is not JSON is the mock's own fault: an
    /// internal refusal, never a success whose `data` is `null`.
    #[test]
    fn a_corrupt_stored_answer_is_refused_not_replayed_as_null() {
        let store = crate::store::Store::open(None).unwrap_or_else(|e| panic!("{e}"));
        let mut rng = StdRng::seed_from_u64(1);
        let zone = chrono::FixedOffset::east_opt(0).unwrap_or_else(|| panic!("zone"));
        let timings = Timings {
            provision: 0,
            stop: 0,
            start: 0,
            restart: 0,
            setpass: 0,
            install: 0,
            upgrade: 0,
        };
        let mut ctx = Ctx {
            userid: "1",
            action: "create",
            taskid: None,
            now: 0,
            zone,
            timings,
            rng: &mut rng,
            stall: None,
            effects: Vec::new(),
        };
        let (corrupt, good) = store
            .write(|tx| {
                instances::save_order(tx, "1", "create", "A1", "{not json")?;
                instances::save_order(tx, "1", "create", "A2", r#"{"guid":"g"}"#)?;
                let corrupt = replay(tx, &mut ctx, "A1");
                let good = replay(tx, &mut ctx, "A2");
                Ok::<_, rusqlite::Error>((corrupt, good))
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(corrupt.map_err(|e| e.reason), Err(Reason::InternalError));
        assert_eq!(good, Ok(Some(json!({"guid": "g"}))));
        // Only the answer that was replayed is in the journal's effects.
        assert_eq!(ctx.effects, vec![json!({"replayed_agent_order_no": "A2"})]);
    }
}
