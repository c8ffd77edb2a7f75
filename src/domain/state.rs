//! The instance state machine's gate: which operation is allowed in which
//! state. Every refusal names the state field and value that forbids it.

use super::transition::TransitionKind;
use super::RuleError;

/// What every state field's type offers: its words (its code is an
/// inherent `const fn`).
pub trait Status: Copy {
    fn zh(self) -> &'static str;
    fn en(self) -> &'static str;
}

/// Declares a closed set of state codes: the enum, its integer code (the
/// wire and database form), the engine's Chinese word and an English word
/// for the dashboard. `Display` and `Serialize` give the code, so answers
/// render exactly as when the fields were plain integers.
macro_rules! status_codes {
    ($(#[$doc:meta])* $name:ident, $field:literal {
        $($(#[$vdoc:meta])* $variant:ident = $code:literal, $zh:literal, $en:literal;)+
    }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// The field's name in the document.
            pub const FIELD: &'static str = $field;
            /// Every value, in the document's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn code(self) -> i64 {
                match self {
                    $($name::$variant => $code,)+
                }
            }

            pub fn from_code(code: i64) -> Option<$name> {
                match code {
                    $($code => Some($name::$variant),)+
                    _ => None,
                }
            }

            /// The engine's own word for the value.
            pub const fn zh(self) -> &'static str {
                match self {
                    $($name::$variant => $zh,)+
                }
            }

            /// The value in English, for the dashboard.
            pub const fn en(self) -> &'static str {
                match self {
                    $($name::$variant => $en,)+
                }
            }

            /// Every code, in the document's order.
            pub fn codes() -> Vec<i64> {
                $name::ALL.iter().map(|v| v.code()).collect()
            }
        }

        impl Status for $name {
            fn zh(self) -> &'static str {
                $name::zh(self)
            }
            fn en(self) -> &'static str {
                $name::en(self)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "{}", self.code())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_i64(self.code())
            }
        }
    };
}

status_codes! {
    /// `order_status`: where the order is in its life.
    OrderStatus, "order_status" {
        Provisioning = 0, "开通中", "provisioning";
        Active = 1, "正常", "active";
        Expired = 3, "已过期", "expired";
        /// Deleted (refunded or released); hidden from sync a day later.
        Deleted = -2, "已删除", "deleted";
    }
}

status_codes! {
    /// `run_status`: whether the machine runs.
    RunStatus, "run_status" {
        /// Locked by expiry.
        Locked = -2, "已锁定", "locked";
        Stopped = -1, "已关机", "stopped";
        Running = 1, "运行中", "running";
    }
}

status_codes! {
    /// `act_status`: the operation in progress, if any.
    ActStatus, "act_status" {
        Idle = 0, "无操作", "idle";
        Restarting = 1, "重启中", "restarting";
        Reinstalling = 2, "重装中", "reinstalling";
        SettingPassword = 3, "密码重设中", "resetting password";
        Upgrading = 4, "升级中", "upgrading";
        Starting = 5, "开机中", "starting";
        Stopping = 6, "关机中", "stopping";
    }
}

status_codes! {
    /// `push_status`: whether the instance is being pushed to another
    /// member (the mock never pushes; a tester can force it).
    PushStatus, "push_status" {
        Idle = 0, "无推送", "idle";
        Pushing = 1, "推送中", "pushing";
    }
}

status_codes! {
    /// `lock_status`: whether an administrator locked the instance.
    LockStatus, "lock_status" {
        Unlocked = 0, "未锁定", "unlocked";
        Locked = 1, "已锁定", "locked";
    }
}

status_codes! {
    /// A scheduled degrade's `status`.
    DegradeStatus, "status" {
        Pending = 0, "待执行", "pending";
        Done = 1, "已完成", "done";
        Cancelled = -1, "已取消", "cancelled";
    }
}

status_codes! {
    /// An upgrade record's `status`: spent once a degrade consumed it all.
    UpgradeStatus, "status" {
        Spent = 0, "已降配", "spent";
        Active = 1, "生效中", "active";
    }
}

status_codes! {
    /// An address's `status`: live while its instance holds it.
    IpStatus, "status" {
        Released = -1, "已释放", "released";
        Live = 1, "使用中", "live";
    }
}

/// The state fields of an instance, as the document names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InstanceState {
    pub order_status: OrderStatus,
    pub run_status: RunStatus,
    pub act_status: ActStatus,
    pub push_status: PushStatus,
    pub lock_status: LockStatus,
}

impl InstanceState {
    /// A provisioned, running, idle instance (how seeded instances start).
    pub const RUNNING: InstanceState = InstanceState {
        order_status: OrderStatus::Active,
        ..InstanceState::NEW_ORDER
    };

    /// A new order: provisioning, its machine (to be) running, idle.
    pub const NEW_ORDER: InstanceState = InstanceState {
        order_status: OrderStatus::Provisioning,
        run_status: RunStatus::Running,
        act_status: ActStatus::Idle,
        push_status: PushStatus::Idle,
        lock_status: LockStatus::Unlocked,
    };
}

/// One state field set by the control API, whatever the gate says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forced {
    Order(OrderStatus),
    Run(RunStatus),
    Act(ActStatus),
    Push(PushStatus),
    Lock(LockStatus),
}

impl Forced {
    /// The state fields the control API can force, in the document's order.
    pub const FIELDS: [&'static str; 5] = [
        OrderStatus::FIELD,
        RunStatus::FIELD,
        ActStatus::FIELD,
        PushStatus::FIELD,
        LockStatus::FIELD,
    ];

    /// The codes the document gives a state field (`None`: not a state field).
    pub fn codes(field: &str) -> Option<Vec<i64>> {
        match field {
            OrderStatus::FIELD => Some(OrderStatus::codes()),
            RunStatus::FIELD => Some(RunStatus::codes()),
            ActStatus::FIELD => Some(ActStatus::codes()),
            PushStatus::FIELD => Some(PushStatus::codes()),
            LockStatus::FIELD => Some(LockStatus::codes()),
            _ => None,
        }
    }

    /// `field` set to `code`, when both are the document's.
    pub fn new(field: &str, code: i64) -> Option<Forced> {
        match field {
            OrderStatus::FIELD => OrderStatus::from_code(code).map(Forced::Order),
            RunStatus::FIELD => RunStatus::from_code(code).map(Forced::Run),
            ActStatus::FIELD => ActStatus::from_code(code).map(Forced::Act),
            PushStatus::FIELD => PushStatus::from_code(code).map(Forced::Push),
            LockStatus::FIELD => LockStatus::from_code(code).map(Forced::Lock),
            _ => None,
        }
    }

    pub fn apply(self, state: &mut InstanceState) {
        match self {
            Forced::Order(v) => state.order_status = v,
            Forced::Run(v) => state.run_status = v,
            Forced::Act(v) => state.act_status = v,
            Forced::Push(v) => state.push_status = v,
            Forced::Lock(v) => state.lock_status = v,
        }
    }
}

/// Operations that change an instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Stop,
    Start,
    Restart,
    Setpass,
    Install,
    Renew,
    Refund,
    Upgrade,
    Degrade,
    DegradeCancel,
}

impl Op {
    pub fn name(self) -> &'static str {
        match self {
            Op::Stop => "关机",
            Op::Start => "开机",
            Op::Restart => "重启",
            Op::Setpass => "重设密码",
            Op::Install => "重装系统",
            Op::Renew => "续费",
            Op::Refund => "退款",
            Op::Upgrade => "升级",
            Op::Degrade => "预约降配",
            Op::DegradeCancel => "取消降配",
        }
    }

    /// The transition that finishes the operation; `None` for the
    /// operations that complete at once.
    pub fn transition(self) -> Option<TransitionKind> {
        use TransitionKind as K;
        match self {
            Op::Stop => Some(K::Stopped),
            Op::Start => Some(K::Started),
            Op::Restart => Some(K::Restarted),
            Op::Setpass => Some(K::PasswordSet),
            Op::Install => Some(K::Installed),
            Op::Upgrade => Some(K::Upgraded),
            Op::Degrade => Some(K::Degraded),
            Op::Renew | Op::Refund | Op::DegradeCancel => None,
        }
    }

    /// The `act_status` an operation sets while it runs; `Idle` for the
    /// operations that complete at once.
    pub fn busy(self) -> ActStatus {
        self.transition()
            .map_or(ActStatus::Idle, TransitionKind::busy)
    }

    /// The `run_status` an operation leaves when it completes (`None`:
    /// unchanged).
    pub fn run_status_after(self) -> Option<RunStatus> {
        self.transition().and_then(TransitionKind::run_status_after)
    }
}

/// Completes a running operation when its transition falls due:
/// `act_status` back to idle and the operation's final `run_status`.
/// Nothing happens (false) when the instance is no longer busy with it or
/// was deleted meanwhile.
pub fn finish(kind: TransitionKind, state: &mut InstanceState) -> bool {
    if kind.busy() == ActStatus::Idle
        || state.act_status != kind.busy()
        || state.order_status == OrderStatus::Deleted
    {
        return false;
    }
    state.act_status = ActStatus::Idle;
    if let Some(run) = kind.run_status_after() {
        state.run_status = run;
    }
    true
}

/// Whether `op` may run on an instance in `state`.
pub fn check(op: Op, state: InstanceState) -> Result<(), RuleError> {
    use ActStatus as A;
    use OrderStatus as O;
    use RunStatus as R;
    let name = op.name();
    let order_ok = match op {
        Op::Renew => matches!(state.order_status, O::Active | O::Expired),
        Op::Refund => matches!(state.order_status, O::Provisioning | O::Active | O::Expired),
        Op::DegradeCancel => matches!(state.order_status, O::Active | O::Expired),
        Op::Stop
        | Op::Start
        | Op::Restart
        | Op::Setpass
        | Op::Install
        | Op::Upgrade
        | Op::Degrade => state.order_status == O::Active,
    };
    if !order_ok {
        return Err(RuleError::OrderStatus {
            op: name,
            value: state.order_status.code(),
            name: state.order_status.zh(),
        });
    }
    if matches!(op, Op::Renew | Op::Refund | Op::DegradeCancel) {
        return Ok(());
    }
    if state.lock_status == LockStatus::Locked {
        return Err(RuleError::Locked { op: name });
    }
    if matches!(op, Op::Upgrade | Op::Degrade) && state.push_status != PushStatus::Idle {
        return Err(RuleError::PushStatus {
            op: name,
            value: state.push_status.code(),
        });
    }
    if state.act_status != A::Idle {
        return Err(RuleError::ActStatus {
            op: name,
            value: state.act_status.code(),
            name: state.act_status.zh(),
        });
    }
    let run_ok = match op {
        Op::Stop | Op::Restart => state.run_status == R::Running,
        Op::Start | Op::Setpass => state.run_status == R::Stopped,
        Op::Install => matches!(state.run_status, R::Running | R::Stopped),
        Op::Upgrade | Op::Degrade | Op::Renew | Op::Refund | Op::DegradeCancel => true,
    };
    if !run_ok {
        return Err(RuleError::RunStatus {
            op: name,
            value: state.run_status.code(),
            name: state.run_status.zh(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(
        order_status: OrderStatus,
        run_status: RunStatus,
        act_status: ActStatus,
    ) -> InstanceState {
        InstanceState {
            order_status,
            run_status,
            act_status,
            push_status: PushStatus::Idle,
            lock_status: LockStatus::Unlocked,
        }
    }

    fn check_reason(op: Op, state: InstanceState, expect: Option<&str>) {
        assert_eq!(
            check(op, state).err().map(|e| e.reason().as_str()),
            expect,
            "{op:?} in {state:?}"
        );
    }

    #[test]
    fn gating_table() {
        use ActStatus as A;
        use Op::*;
        use OrderStatus as O;
        use RunStatus as R;
        let running = st(O::Active, R::Running, A::Idle);
        let stopped = st(O::Active, R::Stopped, A::Idle);
        let locked = st(O::Active, R::Locked, A::Idle);
        let provisioning = st(O::Provisioning, R::Running, A::Idle);
        let expired = st(O::Expired, R::Locked, A::Idle);
        let deleted = st(O::Deleted, R::Stopped, A::Idle);
        let busy = st(O::Active, R::Running, A::Stopping);
        for (op, state, expect) in [
            (Stop, running, None),
            (Stop, stopped, Some("run_status_forbids")),
            (Stop, busy, Some("act_status_forbids")),
            (Stop, provisioning, Some("order_status_forbids")),
            (Start, stopped, None),
            (Start, running, Some("run_status_forbids")),
            (Start, locked, Some("run_status_forbids")),
            (Start, expired, Some("order_status_forbids")),
            (Restart, running, None),
            (Restart, stopped, Some("run_status_forbids")),
            (Setpass, stopped, None),
            (Setpass, running, Some("run_status_forbids")),
            (Install, running, None),
            (Install, stopped, None),
            (Install, locked, Some("run_status_forbids")),
            (Renew, running, None),
            (Renew, expired, None),
            (Renew, provisioning, Some("order_status_forbids")),
            (Renew, deleted, Some("order_status_forbids")),
            (Refund, provisioning, None),
            (Refund, running, None),
            (Refund, expired, None),
            (Refund, deleted, Some("order_status_forbids")),
            (Upgrade, running, None),
            (Upgrade, stopped, None),
            (Upgrade, busy, Some("act_status_forbids")),
            (Upgrade, expired, Some("order_status_forbids")),
            (Degrade, running, None),
            (DegradeCancel, expired, None),
            (DegradeCancel, deleted, Some("order_status_forbids")),
        ] {
            check_reason(op, state, expect);
        }
        let pushing = InstanceState {
            push_status: PushStatus::Pushing,
            ..running
        };
        check_reason(Upgrade, pushing, Some("push_status_forbids"));
        check_reason(Stop, pushing, None);
        let admin_locked = InstanceState {
            lock_status: LockStatus::Locked,
            ..running
        };
        check_reason(Stop, admin_locked, Some("lock_status_forbids"));
        check_reason(Renew, admin_locked, None);
    }

    #[test]
    fn each_value_has_its_code_and_name() {
        fn table<T: Copy>(
            all: &[T],
            f: impl Fn(T) -> (i64, &'static str),
        ) -> Vec<(i64, &'static str)> {
            all.iter().map(|v| f(*v)).collect()
        }
        assert_eq!(
            table(OrderStatus::ALL, |v| (v.code(), v.zh())),
            [(0, "开通中"), (1, "正常"), (3, "已过期"), (-2, "已删除")]
        );
        assert_eq!(
            table(RunStatus::ALL, |v| (v.code(), v.zh())),
            [(-2, "已锁定"), (-1, "已关机"), (1, "运行中")]
        );
        assert_eq!(
            table(ActStatus::ALL, |v| (v.code(), v.zh())),
            [
                (0, "无操作"),
                (1, "重启中"),
                (2, "重装中"),
                (3, "密码重设中"),
                (4, "升级中"),
                (5, "开机中"),
                (6, "关机中"),
            ]
        );
        assert_eq!(PushStatus::codes(), [0, 1]);
        assert_eq!(LockStatus::codes(), [0, 1]);
        // Codes come back to their value; anything else is no value.
        for v in ActStatus::ALL {
            assert_eq!(ActStatus::from_code(v.code()), Some(*v));
        }
        assert_eq!(OrderStatus::from_code(2), None);
        assert_eq!(RunStatus::from_code(0), None);
        assert_eq!(ActStatus::from_code(7), None);
        // The wire form is the code, as text and in JSON.
        assert_eq!(OrderStatus::Deleted.to_string(), "-2");
        assert_eq!(
            serde_json::to_string(&[RunStatus::Stopped]).unwrap_or_default(),
            "[-1]"
        );
    }

    #[test]
    fn each_operation_has_its_name_busy_and_final_status() {
        use ActStatus as A;
        use Op::*;
        use RunStatus as R;
        let all = [
            Stop,
            Start,
            Restart,
            Setpass,
            Install,
            Renew,
            Refund,
            Upgrade,
            Degrade,
            DegradeCancel,
        ];
        let table: Vec<(&str, ActStatus, Option<RunStatus>)> = all
            .iter()
            .map(|op| (op.name(), op.busy(), op.run_status_after()))
            .collect();
        assert_eq!(
            table,
            [
                ("关机", A::Stopping, Some(R::Stopped)),
                ("开机", A::Starting, Some(R::Running)),
                ("重启", A::Restarting, Some(R::Running)),
                ("重设密码", A::SettingPassword, None),
                ("重装系统", A::Reinstalling, Some(R::Running)),
                ("续费", A::Idle, None),
                ("退款", A::Idle, None),
                ("升级", A::Upgrading, None),
                ("预约降配", A::Idle, None),
                ("取消降配", A::Idle, None),
            ]
        );
    }

    #[test]
    fn finishing_needs_the_same_operation_in_progress() {
        use OrderStatus as O;
        use RunStatus as R;
        use TransitionKind as K;
        let mut stopping = st(O::Active, R::Running, ActStatus::Stopping);
        assert!(!finish(K::Started, &mut stopping));
        assert!(finish(K::Stopped, &mut stopping));
        assert_eq!(stopping, st(O::Active, R::Stopped, ActStatus::Idle));
        assert!(!finish(K::Stopped, &mut stopping), "already idle");
        let mut deleted = st(O::Deleted, R::Running, ActStatus::Upgrading);
        assert!(!finish(K::Upgraded, &mut deleted));
        assert_eq!(deleted.act_status, ActStatus::Upgrading);
    }

    #[test]
    fn messages_name_the_state() {
        let msg = check(
            Op::Stop,
            st(OrderStatus::Expired, RunStatus::Locked, ActStatus::Idle),
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            msg.contains("已过期") && msg.contains("order_status 3"),
            "{msg}"
        );
    }
}
