//! Pure business rules: no I/O, no SQL, no HTTP. Everything here takes
//! values and answers with values or a [`RuleError`].

pub mod catalog;
pub mod ipalloc;
pub mod months;
pub mod state;
pub mod upgrade;

use crate::protocol::{Reason, Refusal};

/// A refused request, by rule. The message names the numbers or the state
/// involved; the reason is the stable `X-Mock-Error` value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum RuleError {
    #[error("订单状态为{name}（order_status {value}），不能执行{op}")]
    OrderStatus {
        op: &'static str,
        value: i64,
        name: &'static str,
    },
    #[error("运行状态为{name}（run_status {value}），不能执行{op}")]
    RunStatus {
        op: &'static str,
        value: i64,
        name: &'static str,
    },
    #[error("业务正在{name}（act_status {value}），请等待当前操作完成后再执行{op}")]
    ActStatus {
        op: &'static str,
        value: i64,
        name: &'static str,
    },
    #[error("业务处于 push 状态（push_status {value}），不能执行{op}")]
    PushStatus { op: &'static str, value: i64 },
    #[error("业务已被管理员锁定（lock_status 1），不能执行{op}")]
    Locked { op: &'static str },
    #[error("升级内容不能为空：带宽、IP、防御至少升级一项")]
    UpgradeEmpty,
    #[error("降配内容不能为空：带宽、IP、防御至少降配一项")]
    DegradeEmpty,
    #[error("该线路未开放升级（upgrade_status 0）")]
    UpgradeClosed,
    #[error("该线路未开放防御升级（defense_status 0）")]
    DefenseClosed,
    #[error("升级后带宽 {total}M 超过线路上限 {max}M")]
    BandwidthMax { total: i64, max: i64 },
    #[error("升级后 IP 数量 {total} 超过线路上限 {max}")]
    IpMax { total: i64, max: i64 },
    #[error("升级后防御 {total}G 超过线路上限 {max}G")]
    DefenseMax { total: i64, max: i64 },
    #[error("防御值须为步长 {step} 的整数倍（收到 {value}）")]
    DefenseStep { value: i64, step: i64 },
    #[error("IP 数量 {value} 不在线路可选项 {allowed} 中")]
    IpNumNotAllowed { value: i64, allowed: String },
    #[error("线路不支持该 IP 类型 ip_type {value}（可选 {allowed}）")]
    IpTypeNotAllowed { value: i64, allowed: String },
    #[error("子网 IP 数量须为不小于 4 的 2 的幂（收到 {value}）")]
    SubnetSize { value: i64 },
    #[error("带宽/IP 配比不足：{bandwidth}M / {ips} 个 IP = {ratio:.3}，需 ≥ {rate}")]
    Ratio {
        bandwidth: i64,
        ips: i64,
        ratio: f64,
        rate: String,
    },
    #[error("{item} 降配 {value} 超过可降配的升级量 {available}（降配须与升级记录对应）")]
    DegradeExceedsUpgrade {
        item: &'static str,
        value: i64,
        available: i64,
    },
    #[error("IP {value} 不是本业务可降配的升级 IP（请先通过 degrade_ip_list 查询）")]
    DegradeIpUnknown { value: String },
    #[error("该线路不支持预约降配（reservation_degrade_status 0）")]
    DegradeClosed,
    #[error("降配执行时间 {date} 须晚于当前时间 {now}")]
    DegradeDatePast { date: String, now: String },
    #[error("降配执行时间 {date} 不能晚于业务到期时间 {end_time}")]
    DegradeDateAfterEnd { date: String, end_time: String },
    #[error("操作系统 {system} 不支持裸金属业务（support {support}）")]
    SystemNotBaremetal { system: String, support: String },
    #[error("操作系统 {system} 不适用于线路 {line}")]
    SystemNotOnLine { system: String, line: String },
    #[error("操作系统 {system} 仅支持重装，不能用于创建")]
    SystemNotForCreate { system: String },
    #[error("操作系统 {system} 不支持重装")]
    SystemNotForInstall { system: String },
    #[error("机型 CPU {cpu} 核低于操作系统 {system} 的最低要求 {limit} 核")]
    SystemCpuLimit {
        cpu: i64,
        system: String,
        limit: i64,
    },
    #[error("机型内存 {ram}G 低于操作系统 {system} 的最低要求 {limit}G")]
    SystemRamLimit {
        ram: i64,
        system: String,
        limit: i64,
    },
    #[error("机型 {product} 不支持分区：system_partition_size 不能为自定义大小")]
    PartitionUnsupported { product: String },
    #[error("system_partition_size {value} 无效：自定义分区须在 1 到 {max} MB 之间")]
    PartitionSize { value: i64, max: i64 },
    #[error("IP 地址池已耗尽：线路 {line} 没有足够的空闲地址分配 {size} 个 IP")]
    PoolExhausted { line: String, size: i64 },
}

impl RuleError {
    pub fn reason(&self) -> Reason {
        match self {
            RuleError::OrderStatus { .. } => Reason::OrderStatusForbids,
            RuleError::RunStatus { .. } => Reason::RunStatusForbids,
            RuleError::ActStatus { .. } => Reason::ActStatusForbids,
            RuleError::PushStatus { .. } => Reason::PushStatusForbids,
            RuleError::Locked { .. } => Reason::LockStatusForbids,
            RuleError::UpgradeEmpty => Reason::UpgradeEmpty,
            RuleError::DegradeEmpty => Reason::DegradeEmpty,
            RuleError::UpgradeClosed => Reason::UpgradeClosed,
            RuleError::DefenseClosed => Reason::DefenseUpgradeClosed,
            RuleError::BandwidthMax { .. } => Reason::BandwidthMaxExceeded,
            RuleError::IpMax { .. } => Reason::IpMaxExceeded,
            RuleError::DefenseMax { .. } => Reason::DefenseMaxExceeded,
            RuleError::DefenseStep { .. } => Reason::DefenseStep,
            RuleError::IpNumNotAllowed { .. } => Reason::IpnumNotAllowed,
            RuleError::IpTypeNotAllowed { .. } => Reason::IpTypeNotAllowed,
            RuleError::SubnetSize { .. } => Reason::SubnetSize,
            RuleError::Ratio { .. } => Reason::RatioViolation,
            RuleError::DegradeExceedsUpgrade { .. } => Reason::DegradeExceedsUpgrade,
            RuleError::DegradeIpUnknown { .. } => Reason::DegradeIpUnknown,
            RuleError::DegradeClosed => Reason::DegradeClosed,
            RuleError::DegradeDatePast { .. } => Reason::DegradeDatePast,
            RuleError::DegradeDateAfterEnd { .. } => Reason::DegradeDateAfterEnd,
            RuleError::PoolExhausted { .. } => Reason::IpPoolExhausted,
            RuleError::SystemNotBaremetal { .. } => Reason::SystemNotBaremetal,
            RuleError::SystemNotOnLine { .. } => Reason::SystemNotOnLine,
            RuleError::SystemNotForCreate { .. } => Reason::SystemNotForCreate,
            RuleError::SystemNotForInstall { .. } => Reason::SystemNotForInstall,
            RuleError::SystemCpuLimit { .. } => Reason::SystemCpuLimit,
            RuleError::SystemRamLimit { .. } => Reason::SystemRamLimit,
            RuleError::PartitionUnsupported { .. } | RuleError::PartitionSize { .. } => {
                Reason::PartitionSizeInvalid
            }
        }
    }
}

impl From<RuleError> for Refusal {
    fn from(err: RuleError) -> Refusal {
        Refusal::new(err.reason(), err.to_string())
    }
}
