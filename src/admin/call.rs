//! `POST /_mock/call`: a signed `/api` call made on behalf of a member, for
//! demos and tools that must not hold the member's key (the dashboard's
//! order form and instance buttons). The engine signs with the member's key
//! from the seed and runs the request through the very `/api` pipeline —
//! decoding, authentication, faults, journal — as if a client had sent it.

use axum::body::Body;
use axum::http::{header, Method, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;

use super::input::{body, ControlBody};
use super::{Admin, AdminError};
use crate::client::Client;
use crate::protocol::control::{CallAnswer, CallRequest};
use crate::protocol::Reason;

pub fn routes() -> Router<std::sync::Arc<crate::registry::Registry>> {
    Router::new().route("/call", post(call))
}

/// Largest answer body read back (the engine's own answers are far smaller).
const MAX_ANSWER: usize = 16 * 1024 * 1024;

async fn call(admin: Admin, bytes: ControlBody) -> Result<Response, AdminError> {
    let req: CallRequest = body(&bytes)?;
    if req.action.trim().is_empty() {
        return Err(AdminError::bad_request(
            Reason::BadAction,
            "action must name an /api action, e.g. create",
        ));
    }
    let engine = admin.engine.engine();
    let Some(key) = engine.api_key(&req.userid) else {
        return Err(AdminError::not_found(
            Reason::UnknownUser,
            format!("no member with userid {}", req.userid),
        ));
    };
    // The same pairs the CLI's `call` sends: common fields, a fresh time and
    // the sign, then the params with PHP bracket nesting.
    let client = Client::new("", &req.userid, key);
    let pairs = client.signed_pairs(&req.action, &Value::Object(req.params));
    let form = serde_urlencoded::to_string(&pairs).map_err(AdminError::internal)?;
    let request = Request::builder()
        .method(Method::POST)
        .uri("/api")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form))
        .map_err(AdminError::internal)?;
    let response = crate::api::handle(engine.clone(), request).await;
    let status = response.status().as_u16();
    let reason = response
        .headers()
        .get(crate::api::envelope::ERROR_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let answer = match axum::body::to_bytes(response.into_body(), MAX_ANSWER).await {
        Ok(body) => CallAnswer {
            status: Some(status),
            reason,
            answer: serde_json::from_slice::<Value>(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned())),
            transport_error: None,
        },
        // A `drop` fault: a client would have seen the connection close.
        Err(_) => CallAnswer {
            status: None,
            reason: Some(crate::api::DROPPED_REASON.to_string()),
            answer: Value::Null,
            transport_error: Some(
                "the connection was closed without an answer (a drop fault)".to_string(),
            ),
        },
    };
    Ok(Json(answer).into_response())
}
