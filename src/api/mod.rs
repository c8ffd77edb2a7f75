//! `POST /api`: the request pipeline, top to bottom — method, body, decode,
//! authenticate, fault, run, journal, respond. Only this module knows forms,
//! md5 and HTTP.

pub mod auth;
pub mod decode;
pub mod envelope;
pub mod error;
pub mod sign;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::engine::{Call, Engine, Outcome};
use crate::faults::{Effect, Fired};
use crate::journal::{self, Entry};
use crate::server::Registry;
use envelope::Format;
use error::{reason, ApiError};

/// `/api`: the `default` namespace.
pub async fn default_api(State(registry): State<Arc<Registry>>, request: Request) -> Response {
    match registry.engine(crate::server::DEFAULT_NAMESPACE).await {
        Ok(engine) => handle(engine, request).await,
        Err(err) => envelope::respond_error(&err, Format::Json),
    }
}

/// `/ns/{name}/api`: an isolated engine, created on first use.
pub async fn namespaced_api(
    State(registry): State<Arc<Registry>>,
    Path(name): Path<String>,
    request: Request,
) -> Response {
    match registry.engine(&name).await {
        Ok(engine) => handle(engine, request).await,
        Err(err) => envelope::respond_error(&err, Format::Json),
    }
}

/// What the pipeline knows about a request, for the journal.
#[derive(Default)]
struct Seen {
    params: serde_json::Map<String, Value>,
    fault: Option<i64>,
    effects: Vec<Value>,
}

pub async fn handle(engine: Arc<Engine>, request: Request) -> Response {
    let started = Instant::now();
    let mut seen = Seen::default();
    let (format, result) = pipeline(&engine, request, &mut seen).await;
    let latency = started.elapsed();
    let response = match &result {
        Ok(Reply::Data(data)) => {
            envelope::respond(StatusCode::OK, &envelope::success(data.clone()), format)
        }
        Ok(Reply::Raw(resp)) => resp.clone_parts(),
        Err(err) => envelope::respond_error(err, format),
    };
    record(&engine, &seen, &result, latency);
    response
}

/// A successful answer, or one a fault dictates.
enum Reply {
    Data(Value),
    Raw(RawReply),
}

/// An injected HTTP answer or a dropped connection.
enum RawReply {
    Http { status: u16, body: String },
    Drop,
}

impl RawReply {
    fn clone_parts(&self) -> Response {
        match self {
            RawReply::Http { status, body } => {
                let status =
                    StatusCode::from_u16(*status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
                (
                    status,
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    body.clone(),
                )
                    .into_response()
            }
            RawReply::Drop => dropped_connection(),
        }
    }
}

/// A response whose body fails at once, so the server aborts the
/// connection without completing an answer.
fn dropped_connection() -> Response {
    let stream = futures_util::stream::once(async {
        Err::<axum::body::Bytes, std::io::Error>(std::io::Error::new(
            std::io::ErrorKind::ConnectionAborted,
            "fault: drop",
        ))
    });
    let mut response = Response::new(Body::from_stream(stream));
    response
        .headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from_static("1024"));
    response
}

async fn pipeline(
    engine: &Arc<Engine>,
    request: Request,
    seen: &mut Seen,
) -> (Format, Result<Reply, ApiError>) {
    if request.method() != Method::POST {
        let err = ApiError::new(
            reason::METHOD_NOT_ALLOWED,
            format!("请求方法 {} 不被支持：请使用 POST", request.method()),
        )
        .with_status(StatusCode::METHOD_NOT_ALLOWED);
        return (Format::Json, Err(err));
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let max_body = engine.settings.max_body;
    let bytes = match axum::body::to_bytes(request.into_body(), max_body).await {
        Ok(b) => b,
        Err(_) => {
            let err = ApiError::new(
                reason::BODY_TOO_LARGE,
                format!("请求体超过上限 {max_body} 字节"),
            )
            .with_status(StatusCode::PAYLOAD_TOO_LARGE);
            return (Format::Json, Err(err));
        }
    };
    let params = match decode::decode_body(content_type.as_deref(), &bytes, engine.settings.limits)
    {
        Ok(p) => p,
        Err(err) => return (Format::Json, Err(err)),
    };
    let format = Format::from_data_type(params.str("dataType").as_deref());
    seen.params = params.0.clone();
    let call = match auth::authenticate(engine, &params) {
        Ok(c) => c,
        Err(err) => return (format, Err(err)),
    };
    let mut stall = None;
    if let Some(Fired {
        rule,
        effect,
        delay_ms,
    }) = engine.faults.check(&call.action, &call.userid)
    {
        seen.fault = Some(rule);
        match effect {
            Effect::Error {
                code,
                message,
                reason,
            } => {
                let mut err = ApiError::new(&reason, message);
                err.code = code;
                return (format, Err(err));
            }
            Effect::Http { status, body } => {
                return (format, Ok(Reply::Raw(RawReply::Http { status, body })))
            }
            Effect::Drop => return (format, Ok(Reply::Raw(RawReply::Drop))),
            Effect::Delay { .. } => tokio::time::sleep(Duration::from_millis(delay_ms)).await,
            Effect::Stall => stall = Some(rule),
        }
    }
    let outcome = run(engine.clone(), call, stall).await;
    seen.effects = outcome.effects;
    (format, outcome.result.map(Reply::Data))
}

/// Runs the call on a blocking thread: SQLite never blocks the runtime's workers.
async fn run(engine: Arc<Engine>, call: Call, stall: Option<i64>) -> Outcome {
    match tokio::task::spawn_blocking(move || engine.execute(&call, stall)).await {
        Ok(outcome) => outcome,
        Err(e) => Outcome {
            result: Err(ApiError::internal(e)),
            effects: Vec::new(),
        },
    }
}

fn record(engine: &Engine, seen: &Seen, result: &Result<Reply, ApiError>, latency: Duration) {
    let text = |k: &str| {
        seen.params
            .get(k)
            .and_then(decode::scalar_text)
            .unwrap_or_default()
    };
    let (code, reason, response, sign_input) = match result {
        Ok(Reply::Data(data)) => (0, None, envelope::success(data.clone()), None),
        Ok(Reply::Raw(RawReply::Http { status, body })) => (
            1,
            Some(format!("http_{status}")),
            Value::String(body.clone()),
            None,
        ),
        Ok(Reply::Raw(RawReply::Drop)) => (1, Some("dropped".to_string()), Value::Null, None),
        Err(err) => (
            err.code,
            Some(err.reason.clone()),
            envelope::failure(err),
            err.sign_input.clone(),
        ),
    };
    let latency_ms = latency.as_secs_f64() * 1000.0;
    let action = text("action");
    let userid = text("userid");
    tracing::info!(
        namespace = %engine.name,
        action = %action,
        userid = %userid,
        code,
        reason = reason.as_deref().unwrap_or("-"),
        latency_ms = format!("{latency_ms:.2}"),
        "api"
    );
    engine.journal.push(Entry {
        id: engine.journal.next_id(),
        time: engine.clock.format(engine.clock.now()),
        action,
        userid,
        guid: seen.params.get("guid").and_then(decode::scalar_text),
        params: journal::mask_params(&seen.params),
        code,
        reason,
        latency_ms,
        fault: seen.fault,
        response,
        effects: seen.effects.clone(),
        sign_input,
    });
}
