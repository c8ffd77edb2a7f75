//! A refused request as the layers below the HTTP edge say it: why (a
//! [`Reason`]) and a sentence a person can act on. No status, no envelope
//! code: the edge (`api/error.rs`) adds those. A database error becomes
//! one in `store/error.rs`: this layer knows no database.

use super::reason::Reason;

/// A request the engine refuses; nothing it touched is kept.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// The stable `X-Mock-Error` reason.
    pub reason: Reason,
    /// Short Chinese sentence a person can act on.
    pub message: String,
}

impl Refusal {
    pub fn new(reason: Reason, message: impl Into<String>) -> Refusal {
        Refusal {
            reason,
            message: message.into(),
        }
    }

    pub fn missing(field: &str) -> Refusal {
        Refusal::new(Reason::MissingParam, format!("缺少必填参数：{field}"))
    }

    pub fn bad_param(field: &str, why: impl std::fmt::Display) -> Refusal {
        Refusal::new(Reason::BadParam, format!("参数 {field} 格式错误：{why}"))
    }

    /// Every instance lookup that fails, whether the GUID never existed or
    /// belongs to another member, gets this same answer.
    pub fn instance_not_found(guid: &str) -> Refusal {
        Refusal::new(Reason::NotFound, format!("业务不存在：{guid}"))
    }

    /// An `end_time` past `last_time`, the last time the engine can write
    /// (the clock's `9999-12-31 23:59:59`): refused rather than answered
    /// as `+10000-…`.
    pub fn end_time_out_of_range(months: i64, last_time: &str) -> Refusal {
        Refusal::new(
            Reason::TimeOutOfRange,
            format!("到期时间超出范围：{months} 个月后将晚于 {last_time}"),
        )
    }

    /// A fault of the mock itself: logged with its detail, which the
    /// client never sees.
    pub fn internal(detail: impl std::fmt::Display) -> Refusal {
        tracing::error!(%detail, "internal error");
        Refusal::new(Reason::InternalError, "引擎内部错误，请稍后重试")
    }
}
