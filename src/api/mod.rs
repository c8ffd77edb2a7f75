//! `POST /api`: the request pipeline, top to bottom — method, body, decode,
//! authenticate, fault, run, journal, respond. Once the body is read the
//! rest runs as a task of its own: a client that leaves cancels nothing. Only this module knows forms
//! and HTTP; what it shares with the layers below (params, the sign formula,
//! reasons) is in `protocol/`.

pub mod auth;
pub mod decode;
pub mod envelope;
pub mod error;

use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::oneshot;

use crate::change::Change;
use crate::engine::cache::RenderCache;
use crate::engine::{lane, Engine};
use crate::faults::{Effect, Fired};
use crate::journal::{Applied, CallRecord, RawJson};
use crate::protocol::{scalar_text, Reason, Refusal};
use crate::registry::{Registry, RegistryError};
use crate::server::body::BodyError;
use envelope::Format;
use error::ApiError;

/// `/api`: the `default` namespace.
pub async fn default_api(State(registry): State<Arc<Registry>>, request: Request) -> Response {
    match registry.engine(crate::registry::DEFAULT_NAMESPACE).await {
        Ok(engine) => handle(engine, request).await,
        Err(err) => envelope::respond_error(&registry_refusal(err), Format::Json),
    }
}

/// A namespace the registry refused, as the engine's envelope with the
/// registry's reason and status (400 bad name, 429 cap, …).
fn registry_refusal(err: RegistryError) -> ApiError {
    let status = registry_status(&err);
    ApiError::new(err.reason(), err.to_string()).with_status(status)
}

/// The HTTP status the edge answers a registry refusal with.
pub(crate) fn registry_status(err: &RegistryError) -> axum::http::StatusCode {
    use axum::http::StatusCode;
    match err {
        RegistryError::BadName(_) => StatusCode::BAD_REQUEST,
        RegistryError::Limit(_) => StatusCode::TOO_MANY_REQUESTS,
        RegistryError::Exists(_) | RegistryError::Default => StatusCode::CONFLICT,
        RegistryError::NotFound(_) | RegistryError::NoSnapshot { .. } => StatusCode::NOT_FOUND,
        RegistryError::Open(_) => StatusCode::SERVICE_UNAVAILABLE,
    }
}

/// Segment `index` of a URL path, percent-decoded with invalid UTF-8 shown
/// as U+FFFD: the name a refusal shows when axum could not decode it.
pub fn lossy_segment(path: &str, index: usize) -> String {
    let raw = path.split('/').nth(index).unwrap_or_default();
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// The refusal of a namespace name that is not UTF-8 (axum's path
/// extractors reject it before any handler sees a name).
pub fn undecodable_namespace(path: &str, index: usize) -> RegistryError {
    RegistryError::BadName(lossy_segment(path, index))
}

/// Any path the server does not serve: 404 with the engine's envelope.
pub(crate) async fn not_found(uri: axum::http::Uri) -> Response {
    let err = ApiError::new(
        Reason::NotFound,
        format!("没有这个地址：{uri}（引擎接口为 POST /api）"),
    )
    .with_status(StatusCode::NOT_FOUND);
    envelope::respond_error(&err, Format::Json)
}

/// `/ns/{name}/api`: an isolated engine, created on first use.
pub async fn namespaced_api(
    State(registry): State<Arc<Registry>>,
    name: Result<Path<String>, PathRejection>,
    request: Request,
) -> Response {
    // A name that is not UTF-8 is a bad name like any other, not axum's
    // plain-text 400 (the route is `/ns/{name}/api`: segment 2).
    let name = match name {
        Ok(Path(name)) => name,
        Err(_) => {
            let err = undecodable_namespace(request.uri().path(), 2);
            return envelope::respond_error(&registry_refusal(err), Format::Json);
        }
    };
    match registry.engine(&name).await {
        Ok(engine) => handle(engine, request).await,
        Err(err) => envelope::respond_error(&registry_refusal(err), Format::Json),
    }
}

/// What the pipeline knows about a request, for the journal.
#[derive(Default)]
struct Seen {
    params: serde_json::Map<String, Value>,
    fault: Option<i64>,
    /// The engine's own outcome of a call an `applied` fault let run.
    applied: Option<Applied>,
    changes: Vec<Change>,
    /// The catalog cache slot this answer fills: key and generation.
    cache_slot: Option<(String, u64)>,
}

/// A request whose body has been read: what the pipeline needs of it.
struct ReadRequest {
    content_type: Option<String>,
    body: axum::body::Bytes,
}

pub async fn handle(engine: Arc<Engine>, request: Request) -> Response {
    let started = Instant::now();
    // Until its body is read a request belongs to its connection: a client
    // that leaves before then sent nothing, and nothing happens.
    let read = read_request(&engine, request).await;
    // From here on the call is the engine's. It runs as a task of its own,
    // because axum drops the handler's future with the connection: a client
    // that timed out during a `delay` (or the lane) would cancel a create
    // half-way, which no PHP engine behind PHP-FPM does.
    let (deliver, answer) = oneshot::channel();
    tokio::spawn(finish(engine, read, started, deliver));
    answer.await.unwrap_or_else(|_| {
        // Only a panic in the task gets here; the lane catches the engine's own.
        tracing::error!("an /api call ended without an answer");
        let err = ApiError::from(Refusal::internal("the call ended without an answer"));
        envelope::respond_error(&err, Format::Json)
    })
}

/// Runs a read request to its end, journals it, and hands the answer to
/// the connection if the client is still there.
async fn finish(
    engine: Arc<Engine>,
    read: Result<ReadRequest, ApiError>,
    started: Instant,
    deliver: oneshot::Sender<Response>,
) {
    let mut seen = Seen::default();
    let (format, result) = match read {
        Ok(read) => pipeline(&engine, read, &mut seen).await,
        Err(err) => (Format::Json, Err(err)),
    };
    let latency = started.elapsed();
    let (response, result) = render(&engine, &mut seen, format, result);
    if seen.fault.is_some() {
        engine.events().notify(crate::events::Topic::Faults);
    }
    // Journaled before the answer goes out, so whoever reads the journal
    // after the answer arrived finds the call; whether the client is still
    // there is therefore asked first.
    let client_gone = deliver.is_closed();
    if client_gone {
        log_client_gone(&engine, &seen);
    }
    record(&engine, seen, &result, latency, client_gone);
    engine.events().notify(crate::events::Topic::Journal);
    // A failed send: the client left in the moment since; nobody reads it.
    let _ = deliver.send(response);
}

/// The one line a call whose client left leaves in the log.
fn log_client_gone(engine: &Engine, seen: &Seen) {
    let text = |k: &str| seen.params.get(k).and_then(scalar_text).unwrap_or_default();
    tracing::debug!(
        namespace = %engine.name(),
        action = %text("action"),
        userid = %text("userid"),
        "client left before the answer; the call ran to its end (journaled client_gone)"
    );
}

/// The answer as it goes out, and as the journal keeps it. A success is
/// rendered once: the wire and the journal share the text.
fn render(
    engine: &Engine,
    seen: &mut Seen,
    format: Format,
    result: Result<CallReply, ApiError>,
) -> (Response, Result<Sent, ApiError>) {
    match result {
        Ok(CallReply::Data(data)) => {
            let envelope = envelope::success(data);
            let text = envelope::php_json(&envelope);
            let json = RawJson::from_kept(text.into_bytes());
            if let Some((key, generation)) = seen.cache_slot.take() {
                engine.rendered().insert(key, generation, json.clone());
            }
            let response = match format {
                Format::Json => envelope::respond_rendered(StatusCode::OK, json.bytes().clone()),
                Format::Xml => envelope::respond(StatusCode::OK, &envelope, format),
            };
            (response, Ok(Sent::Rendered(json)))
        }
        Ok(CallReply::Sent(Sent::Rendered(json))) => (
            envelope::respond_rendered(StatusCode::OK, json.bytes().clone()),
            Ok(Sent::Rendered(json)),
        ),
        Ok(CallReply::Sent(Sent::Raw(resp))) => (resp.clone_parts(), Ok(Sent::Raw(resp))),
        Err(err) => (envelope::respond_error(&err, format), Err(err)),
    }
}

/// A successful answer, or one a fault dictates.
enum CallReply {
    /// The engine's answer, still to be rendered.
    Data(Value),
    /// An answer that needs no rendering.
    Sent(Sent),
}

/// An answer as it went out, for the journal.
enum Sent {
    /// A rendered JSON envelope (a cached catalog answer, or `Data` once rendered).
    Rendered(RawJson),
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

/// The method and the body: the part of a call that needs its connection.
async fn read_request(engine: &Engine, request: Request) -> Result<ReadRequest, ApiError> {
    if request.method() != Method::POST {
        let err = ApiError::new(
            Reason::MethodNotAllowed,
            format!("请求方法 {} 不被支持：请使用 POST", request.method()),
        )
        .with_status(StatusCode::METHOD_NOT_ALLOWED);
        return Err(err);
    }
    let content_type = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let max_body = engine.settings().max_body;
    match crate::server::body::read_body(request, max_body).await {
        Ok(body) => Ok(ReadRequest { content_type, body }),
        Err(e) => Err(body_refusal(e)),
    }
}

async fn pipeline(
    engine: &Arc<Engine>,
    read: ReadRequest,
    seen: &mut Seen,
) -> (Format, Result<CallReply, ApiError>) {
    let params = match decode::decode_body(
        read.content_type.as_deref(),
        &read.body,
        engine.settings().limits,
    ) {
        Ok(p) => p,
        Err(refusal) => return (Format::Json, Err(refusal.into())),
    };
    let format = Format::from_data_type(params.str("dataType").as_deref());
    let authenticated = auth::authenticate(engine, &params);
    seen.params = params.0;
    let call = match authenticated {
        Ok(c) => c,
        Err(err) => return (format, Err(err)),
    };
    let mut stall = None;
    // The answer an `applied` fault puts in place of the engine's.
    let mut replacement = None;
    match fault(engine, &call, seen, &mut stall).await {
        Some((answer, false)) => return (format, answer),
        Some((answer, true)) => replacement = Some(answer),
        None => {}
    }
    // An applied call runs in the engine, never from the cache.
    if format == Format::Json && replacement.is_none() {
        if let Some(key) = RenderCache::key(&call) {
            match engine.rendered().get(&key) {
                Ok(answer) => return (format, Ok(CallReply::Sent(Sent::Rendered(answer)))),
                Err(generation) => seen.cache_slot = Some((key, generation)),
            }
        }
    }
    let outcome = lane::run(engine.clone(), call, stall).await;
    seen.changes = outcome.changes;
    let result = outcome.result.map(CallReply::Data).map_err(ApiError::from);
    match replacement {
        Some(answer) => {
            seen.applied = Some(match &result {
                Ok(_) => Applied {
                    code: 0,
                    reason: None,
                },
                Err(err) => Applied {
                    code: err.code,
                    reason: Some(err.reason().to_string()),
                },
            });
            (format, answer)
        }
        None => (format, result),
    }
}

/// Checks the fault rules: waits out a `delay`, marks a `stall`, and for
/// the effects that answer in the engine's place returns their answer and
/// whether the call is applied first.
async fn fault(
    engine: &Engine,
    call: &crate::engine::Call,
    seen: &mut Seen,
    stall: &mut Option<i64>,
) -> Option<(Result<CallReply, ApiError>, bool)> {
    let Fired {
        rule,
        effect,
        delay_ms,
    } = engine.faults().check(call.action, &call.userid)?;
    seen.fault = Some(rule);
    match effect {
        Effect::Error {
            code,
            message,
            reason,
            applied,
        } => Some((Err(ApiError::injected(code, reason, message)), applied)),
        Effect::Http {
            status,
            body,
            applied,
        } => {
            let raw = RawReply::Http { status, body };
            Some((Ok(CallReply::Sent(Sent::Raw(raw))), applied))
        }
        Effect::Drop { applied } => Some((Ok(CallReply::Sent(Sent::Raw(RawReply::Drop))), applied)),
        Effect::Delay { .. } => {
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            None
        }
        Effect::Stall {} => {
            *stall = Some(rule);
            None
        }
    }
}

/// A body that could not be read, as the engine's envelope.
fn body_refusal(e: BodyError) -> ApiError {
    let (status, reason) = e.status_and_reason();
    let message = match e {
        BodyError::TooLarge { limit } => format!("请求体超过上限 {limit} 字节"),
        BodyError::TimedOut { after } => format!(
            "请求体未在 {} 内到齐",
            crate::server::body::show_duration(after)
        ),
        BodyError::Broken(why) => format!("请求体的传输格式无效（{why}）"),
    };
    ApiError::new(reason, message).with_status(status)
}

/// The journal `reason`s a fault makes in place of an answer, which are no
/// [`Reason`]: as docs/contract.md ("Journal reasons") writes them.
pub(crate) const FAULT_MADE_REASONS: [&str; 2] = ["http_<status>", "dropped"];

/// The journal reason of a call a `drop` fault answered with nothing.
pub(crate) const DROPPED_REASON: &str = FAULT_MADE_REASONS[1];

/// The journal reason of a call an `http` fault answered: `http_503`.
fn http_fault_reason(status: u16) -> String {
    format!("http_{status}")
}

fn record(
    engine: &Engine,
    seen: Seen,
    result: &Result<Sent, ApiError>,
    latency: Duration,
    client_gone: bool,
) {
    let text = |k: &str| seen.params.get(k).and_then(scalar_text).unwrap_or_default();
    let (code, reason, response, sign_input) = match result {
        Ok(Sent::Rendered(json)) => (0, None, json.clone(), None),
        Ok(Sent::Raw(RawReply::Http { status, body })) => (
            1,
            Some(http_fault_reason(*status)),
            RawJson::from_value(&Value::String(body.clone())),
            None,
        ),
        Ok(Sent::Raw(RawReply::Drop)) => (
            1,
            Some(DROPPED_REASON.to_string()),
            RawJson::from_value(&Value::Null),
            None,
        ),
        Err(err) => (
            err.code,
            Some(err.reason().to_string()),
            RawJson::from_value(&envelope::failure(err)),
            err.sign_input.clone(),
        ),
    };
    let latency_ms = latency.as_secs_f64() * 1000.0;
    tracing::info!(
        namespace = %engine.name(),
        action = %text("action"),
        userid = %text("userid"),
        code,
        reason = reason.as_deref().unwrap_or("-"),
        latency_ms = format!("{latency_ms:.2}"),
        "api"
    );
    engine.journal().record(CallRecord {
        at: engine.clock().now(),
        params: seen.params,
        code,
        reason,
        latency_ms,
        fault: seen.fault,
        applied: seen.applied,
        response,
        changes: seen.changes,
        client_gone,
        sign_input,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_lists_every_journal_reason_a_fault_makes() {
        let documented = crate::protocol::reason::doc_table::names(
            include_str!("../../docs/contract.md"),
            "### Journal reasons",
        );
        assert_eq!(
            documented, FAULT_MADE_REASONS,
            "docs/contract.md, Journal reasons"
        );
        // Each value the code writes is one the list names.
        assert_eq!(
            http_fault_reason(503),
            FAULT_MADE_REASONS[0].replace("<status>", "503")
        );
        assert_eq!(DROPPED_REASON, FAULT_MADE_REASONS[1]);
        // None is also a `Reason`, which the same column could not tell apart.
        for made in FAULT_MADE_REASONS {
            assert!(Reason::ALL.iter().all(|r| r.as_str() != made), "{made}");
        }
    }
}
