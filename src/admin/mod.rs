//! The `/_mock` control API (JSON in, JSON out) for testers: health, reset,
//! clock, timeline, callbacks, faults, journal, snapshots, forced state and
//! namespaces. Loopback clients only, unless the API is open
//! (`--admin-open`) or an admin token is configured, in which case every
//! client must send `Authorization: Bearer <token>`. `health` answers every
//! client: it reveals nothing, and a container's health check needs it.

mod call;
mod events;
mod guard;
mod handlers;
mod input;
mod journal_read;
pub(crate) mod openapi;
mod path;
mod views;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, patch, post, put};
use axum::{Json, Router};

use crate::engine::{EngineHandle, HandleError};
use crate::protocol::Reason;
use crate::registry::{Registry, RegistryError, DEFAULT_NAMESPACE};

pub use guard::{admin_access, admin_allowed};

/// What a control handler answers: its rendered answer, or its refusal.
pub type ControlReply = Result<Response, AdminError>;

/// A control-API error: a 4xx with `{"error":"<reason>","message":"…"}`.
#[derive(Debug)]
pub struct AdminError {
    pub status: StatusCode,
    pub reason: Reason,
    pub message: String,
}

impl AdminError {
    pub fn new(status: StatusCode, reason: Reason, message: impl Into<String>) -> AdminError {
        AdminError {
            status,
            reason,
            message: message.into(),
        }
    }

    pub fn bad_request(reason: Reason, message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::BAD_REQUEST, reason, message)
    }

    pub fn not_found(reason: Reason, message: impl Into<String>) -> AdminError {
        AdminError::new(StatusCode::NOT_FOUND, reason, message)
    }

    pub fn internal(detail: impl std::fmt::Display) -> AdminError {
        tracing::error!(%detail, "control API internal error");
        AdminError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            Reason::InternalError,
            "internal error; see the server log",
        )
    }
}

impl From<RegistryError> for AdminError {
    fn from(e: RegistryError) -> AdminError {
        let status = crate::api::registry_status(&e);
        AdminError::new(status, e.reason(), e.to_string())
    }
}

/// The engine's refusal of a control operation, with its status.
impl From<HandleError> for AdminError {
    fn from(e: HandleError) -> AdminError {
        let status = match &e {
            HandleError::ClockOutOfRange { .. } | HandleError::ClockBackwards => {
                StatusCode::CONFLICT
            }
            HandleError::UnknownUser(_)
            | HandleError::UnknownSnapshot(_)
            | HandleError::UnknownInstance(_)
            | HandleError::UnknownFault => StatusCode::NOT_FOUND,
            HandleError::Engine(_) | HandleError::Panicked(_) => return AdminError::internal(e),
        };
        AdminError::new(status, e.reason(), e.to_string())
    }
}

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        let mut resp = (
            self.status,
            Json(crate::protocol::control::ControlErrorBody {
                error: self.reason.as_str().to_string(),
                message: self.message,
            }),
        )
            .into_response();
        if let Ok(v) = axum::http::HeaderValue::from_str(self.reason.as_str()) {
            resp.headers_mut()
                .insert(crate::api::envelope::ERROR_HEADER, v);
        }
        resp
    }
}

/// The engine a control call addresses (after the access guard). A
/// handler's own path parameters are its [`path::ControlPath`] argument.
pub struct Admin {
    pub engine: EngineHandle,
    pub registry: Arc<Registry>,
}

/// Only the access guard, for calls that address no engine.
pub struct Guarded;

pub(crate) fn check_guard(parts: &Parts, registry: &Registry) -> Result<(), AdminError> {
    let peer = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    // Authorization is not a list (RFC 9110 §11.6.2): with two, whichever
    // one a guard reads, a proxy in front may have checked the other.
    let given = parts.headers.get_all(header::AUTHORIZATION).iter().count();
    if given > 1 {
        return Err(AdminError::bad_request(
            Reason::AmbiguousAuthorization,
            format!("the request has {given} Authorization headers; send one"),
        ));
    }
    let auth = parts
        .headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    admin_access(
        registry.config.admin_open,
        peer,
        registry.config.admin_token.as_deref(),
        auth,
    )
}

impl FromRequestParts<Arc<Registry>> for Guarded {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        registry: &Arc<Registry>,
    ) -> Result<Self, AdminError> {
        check_guard(parts, registry)?;
        Ok(Guarded)
    }
}

impl FromRequestParts<Arc<Registry>> for Admin {
    type Rejection = AdminError;

    async fn from_request_parts(
        parts: &mut Parts,
        registry: &Arc<Registry>,
    ) -> Result<Self, AdminError> {
        check_guard(parts, registry)?;
        let path::ControlPath(path::NamespaceParam { ns }) =
            path::ControlPath::from_request_parts(parts, registry).await?;
        let ns = ns.as_deref().unwrap_or(DEFAULT_NAMESPACE);
        let engine = registry.engine(ns).await.map_err(AdminError::from)?;
        Ok(Admin {
            engine: EngineHandle::new(engine),
            registry: registry.clone(),
        })
    }
}

fn engine_routes() -> Router<Arc<Registry>> {
    use handlers::*;
    Router::new()
        .route("/health", get(health))
        .route("/openapi.json", get(openapi::serve))
        .route("/reset", post(reset))
        .route("/clock", get(clock))
        .route("/clock/advance", post(clock_advance))
        .route("/clock/set", post(clock_set))
        .route("/clock/freeze", post(clock_freeze))
        .route("/clock/resume", post(clock_resume))
        .route("/timeline", get(timeline))
        .route("/callbacks", get(callbacks))
        .route("/users/{userid}/callback", put(set_callback))
        .route(
            "/faults",
            post(add_fault).get(list_faults).delete(clear_faults),
        )
        .route("/faults/{id}", delete(remove_fault))
        .route("/requests", get(requests).delete(clear_requests))
        .route("/snapshots", post(take_snapshot).get(list_snapshots))
        .route("/snapshots/{snapshot}/restore", post(restore_snapshot))
        .route("/snapshots/{snapshot}", delete(delete_snapshot))
        .route("/baremetal/{guid}", patch(force_state))
        .merge(views::routes())
        .merge(call::routes())
        .merge(events::routes())
        .method_not_allowed_fallback(wrong_method)
        .fallback(unknown)
}

pub fn router() -> Router<Arc<Registry>> {
    use handlers::*;
    Router::new()
        .route("/_mock/namespaces", get(namespaces).post(create_namespace))
        .route(
            "/_mock/namespaces/{target}",
            delete(delete_namespace).put(put_namespace),
        )
        .method_not_allowed_fallback(wrong_method)
        .nest("/_mock", engine_routes())
        .nest("/ns/{ns}/_mock", engine_routes())
}

/// Tells live views about every successful control call that changes state.
pub fn announce_changes(
    router: Router<Arc<Registry>>,
    registry: Arc<Registry>,
) -> Router<Arc<Registry>> {
    router.layer(axum::middleware::from_fn_with_state(
        registry,
        events::announce_control_changes,
    ))
}

/// A known control call with the wrong method: JSON like every other
/// control error, not axum's empty 405.
async fn wrong_method(method: axum::http::Method, uri: axum::http::Uri) -> AdminError {
    AdminError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        Reason::MethodNotAllowed,
        format!("{method} is not allowed on {uri}; see the README's control API table"),
    )
}

async fn unknown(uri: axum::http::Uri) -> AdminError {
    AdminError::not_found(
        Reason::UnknownControlCall,
        format!("no control call at {uri}; see the README's control API table"),
    )
}
