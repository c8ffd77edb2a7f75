//! The instance state machine's gate: which operation is allowed in which
//! state. Every refusal names the state field and value that forbids it.

use super::RuleError;

/// The state fields of an instance, as the document names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct State {
    pub order_status: i64,
    pub run_status: i64,
    pub act_status: i64,
    pub push_status: i64,
    pub lock_status: i64,
}

impl State {
    /// A provisioned, running, idle instance.
    pub const RUNNING: State = State {
        order_status: 1,
        run_status: 1,
        act_status: 0,
        push_status: 0,
        lock_status: 0,
    };
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
}

pub fn order_status_name(value: i64) -> &'static str {
    match value {
        0 => "开通中",
        1 => "正常",
        3 => "已过期",
        -2 => "已删除",
        _ => "未知",
    }
}

pub fn run_status_name(value: i64) -> &'static str {
    match value {
        -2 => "已锁定",
        -1 => "已关机",
        1 => "运行中",
        _ => "未知",
    }
}

pub fn act_status_name(value: i64) -> &'static str {
    match value {
        0 => "无操作",
        1 => "重启中",
        2 => "重装中",
        3 => "密码重设中",
        4 => "升级中",
        5 => "开机中",
        6 => "关机中",
        _ => "未知操作",
    }
}

/// The `act_status` an operation sets while it runs.
pub fn busy_act_status(op: Op) -> Option<i64> {
    match op {
        Op::Restart => Some(1),
        Op::Install => Some(2),
        Op::Setpass => Some(3),
        Op::Upgrade => Some(4),
        Op::Start => Some(5),
        Op::Stop => Some(6),
        _ => None,
    }
}

/// Whether `op` may run on an instance in `state`.
pub fn check(op: Op, state: State) -> Result<(), RuleError> {
    let name = op.name();
    let order_ok = match op {
        Op::Renew => matches!(state.order_status, 1 | 3),
        Op::Refund => matches!(state.order_status, 0 | 1 | 3),
        Op::DegradeCancel => matches!(state.order_status, 1 | 3),
        _ => state.order_status == 1,
    };
    if !order_ok {
        return Err(RuleError::OrderStatus {
            op: name,
            value: state.order_status,
            name: order_status_name(state.order_status),
        });
    }
    if matches!(op, Op::Renew | Op::Refund | Op::DegradeCancel) {
        return Ok(());
    }
    if state.lock_status == 1 {
        return Err(RuleError::Locked { op: name });
    }
    if matches!(op, Op::Upgrade | Op::Degrade) && state.push_status != 0 {
        return Err(RuleError::PushStatus {
            op: name,
            value: state.push_status,
        });
    }
    if state.act_status != 0 {
        return Err(RuleError::ActStatus {
            op: name,
            value: state.act_status,
            name: act_status_name(state.act_status),
        });
    }
    let run_ok = match op {
        Op::Stop | Op::Restart => state.run_status == 1,
        Op::Start | Op::Setpass => state.run_status == -1,
        Op::Install => matches!(state.run_status, 1 | -1),
        _ => true,
    };
    if !run_ok {
        return Err(RuleError::RunStatus {
            op: name,
            value: state.run_status,
            name: run_status_name(state.run_status),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(order_status: i64, run_status: i64, act_status: i64) -> State {
        State {
            order_status,
            run_status,
            act_status,
            push_status: 0,
            lock_status: 0,
        }
    }

    fn check_reason(op: Op, state: State, expect: Option<&str>) {
        assert_eq!(
            check(op, state).err().map(|e| e.reason().as_str()),
            expect,
            "{op:?} in {state:?}"
        );
    }

    #[test]
    fn gating_table() {
        use Op::*;
        let running = st(1, 1, 0);
        let stopped = st(1, -1, 0);
        let locked = st(1, -2, 0);
        let provisioning = st(0, 1, 0);
        let expired = st(3, -2, 0);
        let deleted = st(-2, -1, 0);
        let busy = st(1, 1, 6);
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
        let pushing = State {
            push_status: 1,
            ..running
        };
        check_reason(Upgrade, pushing, Some("push_status_forbids"));
        check_reason(Stop, pushing, None);
        let admin_locked = State {
            lock_status: 1,
            ..running
        };
        check_reason(Stop, admin_locked, Some("lock_status_forbids"));
        check_reason(Renew, admin_locked, None);
    }

    #[test]
    fn each_value_has_its_name() {
        let names = |f: fn(i64) -> &'static str, values: &[i64]| -> Vec<&'static str> {
            values.iter().map(|v| f(*v)).collect()
        };
        assert_eq!(
            names(order_status_name, &[0, 1, 3, -2, 2]),
            ["开通中", "正常", "已过期", "已删除", "未知"]
        );
        assert_eq!(
            names(run_status_name, &[-2, -1, 1, 0]),
            ["已锁定", "已关机", "运行中", "未知"]
        );
        assert_eq!(
            names(act_status_name, &[0, 1, 2, 3, 4, 5, 6, 7]),
            [
                "无操作",
                "重启中",
                "重装中",
                "密码重设中",
                "升级中",
                "开机中",
                "关机中",
                "未知操作"
            ]
        );
    }

    #[test]
    fn each_operation_has_its_name_and_busy_status() {
        use Op::*;
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
        let table: Vec<(&str, Option<i64>)> = all
            .iter()
            .map(|op| (op.name(), busy_act_status(*op)))
            .collect();
        assert_eq!(
            table,
            [
                ("关机", Some(6)),
                ("开机", Some(5)),
                ("重启", Some(1)),
                ("重设密码", Some(3)),
                ("重装系统", Some(2)),
                ("续费", None),
                ("退款", None),
                ("升级", Some(4)),
                ("预约降配", None),
                ("取消降配", None),
            ]
        );
    }

    #[test]
    fn messages_name_the_state() {
        let msg = check(Op::Stop, st(3, -2, 0))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            msg.contains("已过期") && msg.contains("order_status 3"),
            "{msg}"
        );
    }
}
