//! The one error type at the `/api` boundary. It renders the upstream
//! envelope `{"code":1,"message":…,"data":{}}` and carries a stable
//! machine-readable reason for the `X-Mock-Error` header. Reasons are named
//! constants so tests can reuse them.

use axum::http::StatusCode;

/// Stable `X-Mock-Error` reasons.
pub mod reason {
    pub const METHOD_NOT_ALLOWED: &str = "method_not_allowed";
    pub const BODY_TOO_LARGE: &str = "body_too_large";
    pub const TOO_MANY_FIELDS: &str = "too_many_fields";
    pub const NESTING_TOO_DEEP: &str = "nesting_too_deep";
    pub const VALUE_TOO_LONG: &str = "value_too_long";
    pub const BAD_BODY: &str = "bad_body";
    pub const UNSUPPORTED_CONTENT_TYPE: &str = "unsupported_content_type";
    pub const MISSING_PARAM: &str = "missing_param";
    pub const BAD_PARAM: &str = "bad_param";
    pub const UNKNOWN_USER: &str = "unknown_user";
    pub const KEY_MISMATCH: &str = "key_mismatch";
    pub const SIGN_INVALID: &str = "sign_invalid";
    pub const TIME_SKEW: &str = "time_skew";
    pub const UNKNOWN_MODULE: &str = "unknown_module";
    pub const UNKNOWN_ACTION: &str = "unknown_action";
    pub const NOT_FOUND: &str = "not_found";
    pub const INTERNAL: &str = "internal_error";
    pub const STORAGE_FULL: &str = "storage_full";
    pub const TIME_OUT_OF_RANGE: &str = "time_out_of_range";
}

/// A request that the engine refuses, with the engine's envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// Snake-case reason for `X-Mock-Error`.
    pub reason: String,
    /// Short Chinese sentence a person can act on.
    pub message: String,
    /// 200 for business errors, as the upstream engine does.
    pub status: StatusCode,
    /// The masked canonical sign string, on a bad sign.
    pub sign_input: Option<String>,
    /// `code` in the envelope (1 for every engine error; faults may choose).
    pub code: i64,
}

impl ApiError {
    pub fn new(reason: &str, message: impl Into<String>) -> ApiError {
        ApiError {
            reason: reason.to_string(),
            message: message.into(),
            status: StatusCode::OK,
            sign_input: None,
            code: 1,
        }
    }

    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = status;
        self
    }

    pub fn missing(field: &str) -> ApiError {
        ApiError::new(reason::MISSING_PARAM, format!("缺少必填参数：{field}"))
    }

    pub fn bad_param(field: &str, why: impl std::fmt::Display) -> ApiError {
        ApiError::new(reason::BAD_PARAM, format!("参数 {field} 格式错误：{why}"))
    }

    /// Every instance lookup that fails, whether the GUID never existed or
    /// belongs to another member, gets this same answer.
    pub fn instance_not_found(guid: &str) -> ApiError {
        ApiError::new(reason::NOT_FOUND, format!("业务不存在：{guid}"))
    }

    /// An `end_time` past the last time the engine can write
    /// (`9999-12-31 23:59:59`): refused rather than answered as `+10000-…`.
    pub fn end_time_out_of_range(months: i64) -> ApiError {
        ApiError::new(
            reason::TIME_OUT_OF_RANGE,
            format!(
                "到期时间超出范围：{months} 个月后将晚于 {}",
                crate::clock::LAST_TIME
            ),
        )
    }

    pub fn internal(detail: impl std::fmt::Display) -> ApiError {
        tracing::error!(%detail, "internal error");
        ApiError::new(reason::INTERNAL, "引擎内部错误，请稍后重试")
    }
}

impl From<rusqlite::Error> for ApiError {
    fn from(err: rusqlite::Error) -> ApiError {
        match err.sqlite_error_code() {
            // An in-memory engine holds at most 1 GiB (SQLite's `memdb`
            // limit); a `--db` file, what its disk holds. The transaction
            // is rolled back, so nothing was half done.
            Some(rusqlite::ErrorCode::DiskFull) => {
                tracing::warn!(%err, "storage full");
                ApiError::new(
                    reason::STORAGE_FULL,
                    "模拟引擎的存储已满：请重置引擎（POST /_mock/reset）或改用 --db 文件",
                )
            }
            _ => ApiError::internal(err),
        }
    }
}

impl From<crate::domain::RuleError> for ApiError {
    fn from(err: crate::domain::RuleError) -> ApiError {
        ApiError::new(err.reason(), err.to_string())
    }
}
