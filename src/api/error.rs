//! The one error type at the `/api` boundary. It wraps a [`Refusal`] (the
//! reason and message the layers below give) with what only the edge
//! knows: the HTTP status, the envelope's `code` and the sign diagnostics.
//! It renders the upstream envelope `{"code":1,"message":…,"data":{}}` and
//! the `X-Mock-Error` header.

use axum::http::StatusCode;

use crate::protocol::{Reason, Refusal};

/// A request that the engine refuses, with the engine's envelope.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    /// Why, in the protocol's terms.
    pub refusal: Refusal,
    /// 200 for business errors, as the upstream engine does.
    pub status: StatusCode,
    /// The masked canonical sign string, on a bad sign.
    pub sign_input: Option<String>,
    /// `code` in the envelope (1 for every engine error; faults may choose).
    pub code: i64,
    /// A fault rule's own reason, sent instead of `injected_fault`.
    pub injected_reason: Option<String>,
}

impl ApiError {
    pub fn new(reason: Reason, message: impl Into<String>) -> ApiError {
        ApiError::from(Refusal::new(reason, message))
    }

    /// The answer an `error` fault rule dictates: its code, message and reason.
    pub fn injected(code: i64, reason: String, message: String) -> ApiError {
        let mut err = ApiError::new(Reason::InjectedFault, message);
        err.code = code;
        err.injected_reason = Some(reason);
        err
    }

    pub fn with_status(mut self, status: StatusCode) -> ApiError {
        self.status = status;
        self
    }

    /// The `X-Mock-Error` value.
    pub fn reason(&self) -> &str {
        self.injected_reason
            .as_deref()
            .unwrap_or(self.refusal.reason.as_str())
    }

    pub fn message(&self) -> &str {
        &self.refusal.message
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        ApiError {
            refusal,
            status: StatusCode::OK,
            sign_input: None,
            code: 1,
            injected_reason: None,
        }
    }
}
