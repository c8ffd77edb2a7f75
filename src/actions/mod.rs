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
use serde_json::Value;

use crate::change::Change;
use crate::domain::state::Op;
use crate::domain::transition::TransitionKind;
use crate::protocol::{Params, Reason, Refusal};
use crate::seed::Timings;
use crate::store::{instances, transitions};

/// The two upstream modules. `common` holds the actions shared with other
/// products (here only `refund`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Module {
    Baremetal,
    Common,
}

impl Module {
    pub const ALL: [Module; 2] = [Module::Baremetal, Module::Common];

    pub const fn wire(self) -> &'static str {
        match self {
            Module::Baremetal => "baremetal",
            Module::Common => "common",
        }
    }

    pub fn parse(name: &str) -> Option<Module> {
        Module::ALL.into_iter().find(|m| m.wire() == name)
    }
}

/// Every upstream action the engine serves: the one table of what each is
/// called on the wire, its module, whether it only reads (then it needs no
/// write transaction) and whether its answer depends on the catalog alone
/// (then the engine renders it once and caches it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionName {
    GetZones,
    SyncLine,
    GetSystems,
    SyncHarddisk,
    SyncProduct,
    Create,
    SyncBaremetal,
    Upgrade,
    DegradeIpList,
    Degrade,
    DegradeCancel,
    Stop,
    Start,
    Restart,
    Renew,
    Setpass,
    Install,
    Refund,
}

/// One row of the action table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ActionSpec {
    pub wire: &'static str,
    pub module: Module,
    pub read_only: bool,
    pub cacheable: bool,
}

impl ActionName {
    /// Every action, in the document's order.
    pub const ALL: [ActionName; 18] = [
        ActionName::GetZones,
        ActionName::SyncLine,
        ActionName::GetSystems,
        ActionName::SyncHarddisk,
        ActionName::SyncProduct,
        ActionName::Create,
        ActionName::SyncBaremetal,
        ActionName::Upgrade,
        ActionName::DegradeIpList,
        ActionName::Degrade,
        ActionName::DegradeCancel,
        ActionName::Stop,
        ActionName::Start,
        ActionName::Restart,
        ActionName::Renew,
        ActionName::Setpass,
        ActionName::Install,
        ActionName::Refund,
    ];

    pub const fn spec(self) -> ActionSpec {
        use ActionName as A;
        use Module::{Baremetal, Common};
        const fn row(
            wire: &'static str,
            module: Module,
            read_only: bool,
            cacheable: bool,
        ) -> ActionSpec {
            ActionSpec {
                wire,
                module,
                read_only,
                cacheable,
            }
        }
        match self {
            A::GetZones => row("getzones", Baremetal, true, true),
            A::SyncLine => row("sync_line", Baremetal, true, true),
            A::GetSystems => row("getsystems", Baremetal, true, true),
            A::SyncHarddisk => row("sync_harddisk", Baremetal, true, true),
            A::SyncProduct => row("sync_product", Baremetal, true, true),
            A::Create => row("create", Baremetal, false, false),
            A::SyncBaremetal => row("sync_baremetal", Baremetal, true, false),
            A::Upgrade => row("upgrade", Baremetal, false, false),
            A::DegradeIpList => row("degrade_ip_list", Baremetal, true, false),
            A::Degrade => row("degrade", Baremetal, false, false),
            A::DegradeCancel => row("degrade_cancel", Baremetal, false, false),
            A::Stop => row("stop", Baremetal, false, false),
            A::Start => row("start", Baremetal, false, false),
            A::Restart => row("restart", Baremetal, false, false),
            A::Renew => row("renew", Baremetal, false, false),
            A::Setpass => row("setpass", Baremetal, false, false),
            A::Install => row("install", Baremetal, false, false),
            A::Refund => row("refund", Common, false, false),
        }
    }

    /// The action's name on the wire (the `action` field).
    pub const fn wire(self) -> &'static str {
        self.spec().wire
    }

    pub const fn module(self) -> Module {
        self.spec().module
    }

    /// Whether the action only reads (it then needs no write transaction).
    pub const fn read_only(self) -> bool {
        self.spec().read_only
    }

    /// Whether the answer depends on the catalog alone, so that it can be
    /// rendered once and served again until a reset or a restore.
    pub const fn cacheable(self) -> bool {
        self.spec().cacheable
    }

    pub fn parse(name: &str) -> Option<ActionName> {
        ActionName::ALL.into_iter().find(|a| a.wire() == name)
    }
}

/// An action is written as its wire name (a fault rule's `action`).
impl serde::Serialize for ActionName {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.wire())
    }
}

/// The module an action name belongs to, as the wire spells it; an action
/// the engine does not know is sent under `baremetal`, where the engine
/// answers that it does not know it.
pub fn module_of(action: &str) -> &'static str {
    ActionName::parse(action)
        .map_or(Module::Baremetal, ActionName::module)
        .wire()
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
        Action::of(check_names(module, action)?, params)
    }

    /// Reads the fields of action `name`, already checked against its module.
    pub fn of(name: ActionName, params: &Params) -> Result<Action, Refusal> {
        use ActionName as A;
        Ok(match name {
            A::GetZones | A::SyncLine | A::GetSystems | A::SyncHarddisk | A::SyncProduct => {
                Action::Catalog(catalog::Catalog::parse(name, params)?)
            }
            A::Create => Action::Create(create::Create::parse(params)?),
            A::SyncBaremetal => {
                Action::SyncBaremetal(sync_baremetal::SyncBaremetal::parse(params)?)
            }
            A::Stop => Action::Power(power::Power::parse(Op::Stop, params)?),
            A::Start => Action::Power(power::Power::parse(Op::Start, params)?),
            A::Restart => Action::Power(power::Power::parse(Op::Restart, params)?),
            A::Setpass => Action::Setpass(setpass::Setpass::parse(params)?),
            A::Install => Action::Install(install::Install::parse(params)?),
            A::Renew => Action::Renew(renew::Renew::parse(params)?),
            A::Refund => Action::Refund(refund::Refund::parse(params)?),
            A::Upgrade => Action::Upgrade(upgrade::Upgrade::parse(params)?),
            A::DegradeIpList => Action::DegradeIpList(degrade::DegradeIpList::parse(params)?),
            A::Degrade => Action::Degrade(degrade::Degrade::parse(params)?),
            A::DegradeCancel => Action::DegradeCancel(degrade::DegradeCancel::parse(params)?),
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
pub fn check_names(module: &str, action: &str) -> Result<ActionName, Refusal> {
    if Module::parse(module).is_none() {
        return Err(Refusal::new(
            Reason::UnknownModule,
            format!("未知的业务类型 module {module}（裸金属为 baremetal，退款为 common）"),
        ));
    }
    match ActionName::parse(action) {
        Some(name) if name.module().wire() == module => Ok(name),
        Some(name) => Err(Refusal::new(
            Reason::UnknownAction,
            format!(
                "action {action} 须使用 module={}，而不是 {module}",
                name.module().wire()
            ),
        )),
        None => Err(unknown_action(module, action)),
    }
}

/// What an action knows about the request it runs for.
pub struct Ctx<'a> {
    pub userid: &'a str,
    pub action: ActionName,
    pub taskid: Option<String>,
    /// Simulated now, in UNIX seconds.
    pub now: i64,
    pub zone: chrono::FixedOffset,
    pub timings: Timings,
    pub rng: &'a mut StdRng,
    /// The fault rule that stalls the transitions this request schedules.
    pub stall: Option<i64>,
    /// What the call changed, for the journal.
    pub changes: Vec<Change>,
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

    pub fn record(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// Stores a transition of `guid` due `delay` seconds from now.
    pub fn schedule(
        &mut self,
        tx: &Transaction,
        guid: &str,
        kind: TransitionKind,
        due: i64,
        reference: Option<&str>,
    ) -> Result<(), Refusal> {
        transitions::schedule(
            tx,
            &transitions::NewTransition {
                guid,
                kind,
                due,
                taskid: self.taskid.as_deref(),
                action: self.action.wire(),
                userid: self.userid,
                reference,
                stalled_by: self.stall,
            },
        )?;
        let due = self.fmt(due);
        self.record(Change::Scheduled {
            kind,
            guid: guid.to_string(),
            due,
        });
        Ok(())
    }

    /// When a transition of `kind` scheduled now falls due, by the seed's
    /// timings.
    pub fn due(&self, kind: TransitionKind) -> Result<i64, Refusal> {
        match self.timings.delay(kind) {
            Some(delay) => Ok(self.now + delay),
            None => Err(Refusal::internal(format!(
                "{} falls due at a date, not after a delay",
                kind.as_str()
            ))),
        }
    }

    /// Starts an asynchronous operation on `inst`: its busy `act_status`
    /// now (saved with whatever else the caller changed), and the
    /// transition that finishes it after the seed's delay.
    pub fn begin(
        &mut self,
        tx: &Transaction,
        inst: &mut instances::Instance,
        op: Op,
        reference: Option<&str>,
    ) -> Result<(), Refusal> {
        let Some(kind) = op.transition() else {
            return Err(Refusal::internal(format!(
                "{} completes at once",
                op.name()
            )));
        };
        let due = self.due(kind)?;
        inst.act_status = op.busy();
        self.save(tx, inst)?;
        self.schedule(tx, &inst.guid, kind, due, reference)
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
        self.record(Change::State {
            guid: inst.guid.clone(),
            order_status: inst.order_status,
            run_status: inst.run_status,
            act_status: inst.act_status,
        });
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
    let Some(text) = instances::order_response(tx, ctx.userid, ctx.action.wire(), agent_order_no)?
    else {
        return Ok(None);
    };
    // A stored answer that is not JSON is the mock's fault, never a
    // success with `data: null`.
    let data = serde_json::from_str(&text).map_err(|e| {
        Refusal::internal(format!(
            "stored answer of agent_order_no {agent_order_no} is not JSON: {e}"
        ))
    })?;
    // The journal names what was replayed, so `?guid=` finds the retry of
    // a ghost order. Renew and upgrade name their instance in `guid`.
    ctx.record(Change::Replayed {
        replayed_agent_order_no: agent_order_no.to_string(),
        guids: answered_guids(&data),
    });
    Ok(Some(data))
}

/// The instances a stored answer names: `create` answers a list of them,
/// each with its `guid`.
fn answered_guids(data: &Value) -> Vec<String> {
    let entries = data.as_array().into_iter().flatten();
    let guids = entries.filter_map(|e| e.get("guid")?.as_str());
    guids.map(str::to_string).collect()
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
            ctx.action.wire(),
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
    use serde_json::json;

    /// A stored answer that is not JSON is the mock's own fault: an
    /// internal refusal, never a success whose `data` is `null`.
    #[test]
    fn a_corrupt_stored_answer_is_refused_not_replayed_as_null() {
        let store = crate::store::Store::open(None).unwrap_or_else(|e| panic!("{e}"));
        let mut rng = StdRng::seed_from_u64(1);
        let zone = chrono::FixedOffset::east_opt(0).unwrap_or_else(|| panic!("zone"));
        let timings = Timings::INSTANT;
        let mut ctx = Ctx {
            userid: "1",
            action: ActionName::Create,
            taskid: None,
            now: 0,
            zone,
            timings,
            rng: &mut rng,
            stall: None,
            changes: Vec::new(),
        };
        let (corrupt, good, list) = store
            .write(|tx| {
                instances::save_order(tx, "1", "create", "A1", "{not json")?;
                instances::save_order(tx, "1", "create", "A2", r#"{"guid":"g"}"#)?;
                instances::save_order(tx, "1", "create", "A3", r#"[{"guid":"g1"},{"guid":"g2"}]"#)?;
                let corrupt = replay(tx, &mut ctx, "A1");
                let good = replay(tx, &mut ctx, "A2");
                let list = replay(tx, &mut ctx, "A3");
                Ok::<_, rusqlite::Error>((corrupt, good, list))
            })
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(corrupt.map_err(|e| e.reason), Err(Reason::InternalError));
        assert_eq!(good, Ok(Some(json!({"guid": "g"}))));
        assert!(matches!(list, Ok(Some(_))));
        // Only the answers that were replayed are in the journal's effects;
        // a list of instances (a create's answer) is named by its GUIDs.
        assert_eq!(
            ctx.changes.iter().map(|c| json!(c)).collect::<Vec<_>>(),
            vec![
                json!({"replayed_agent_order_no": "A2"}),
                json!({"replayed_agent_order_no": "A3", "guids": ["g1", "g2"]}),
            ]
        );
    }

    #[test]
    fn every_wire_name_parses_back_to_its_action() {
        for name in ActionName::ALL {
            assert_eq!(ActionName::parse(name.wire()), Some(name));
            assert_eq!(Module::parse(name.module().wire()), Some(name.module()));
        }
        assert_eq!(ActionName::parse("reboot"), None);
        assert_eq!(ActionName::parse("GETZONES"), None);
        assert_eq!(Module::parse("Baremetal"), None);
    }

    #[test]
    fn the_table_says_what_each_action_is() {
        let wires = |f: fn(ActionName) -> bool| -> Vec<&str> {
            ActionName::ALL
                .into_iter()
                .filter(|a| f(*a))
                .map(ActionName::wire)
                .collect()
        };
        assert_eq!(
            wires(ActionName::read_only),
            [
                "getzones",
                "sync_line",
                "getsystems",
                "sync_harddisk",
                "sync_product",
                "sync_baremetal",
                "degrade_ip_list"
            ]
        );
        assert_eq!(
            wires(ActionName::cacheable),
            [
                "getzones",
                "sync_line",
                "getsystems",
                "sync_harddisk",
                "sync_product"
            ]
        );
        // Only reads are cached.
        assert!(ActionName::ALL
            .iter()
            .all(|a| !a.cacheable() || a.read_only()));
        assert_eq!(wires(|a| a.module() == Module::Common), ["refund"]);
        assert_eq!(module_of("refund"), "common");
        assert_eq!(module_of("stop"), "baremetal");
        assert_eq!(module_of("no_such_action"), "baremetal");
    }

    #[test]
    fn module_and_action_must_match() {
        let reason_of = |m: &str, a: &str| check_names(m, a).err().map(|e| e.reason);
        assert_eq!(
            check_names("common", "refund").ok(),
            Some(ActionName::Refund)
        );
        assert_eq!(
            check_names("baremetal", "stop").ok(),
            Some(ActionName::Stop)
        );
        assert_eq!(
            reason_of("baremetal", "refund"),
            Some(Reason::UnknownAction)
        );
        assert_eq!(reason_of("common", "getzones"), Some(Reason::UnknownAction));
        assert_eq!(reason_of("vps", "getzones"), Some(Reason::UnknownModule));
    }
}
