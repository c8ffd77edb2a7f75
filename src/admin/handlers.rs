//! One function per control call. Bodies are read as bytes and parsed
//! here, so malformed JSON gets the control API's own JSON error.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, OriginalUri, Query, RawPathParams, RawQuery, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::{Admin, AdminError, Guarded};
use crate::domain::state::Forced;
use crate::engine::ForcedState;
use crate::faults::Spec;
use crate::journal::Filter;
use crate::protocol::control::{
    read_seconds, Advance, CallbackUrl, NewNamespace, SetClock, SnapshotName, MAX_ADVANCE_SECONDS,
};
use crate::protocol::Reason;
use crate::registry::{Registry, RegistryError, DEFAULT_NAMESPACE};

type Reply = Result<Response, AdminError>;

fn ok(value: Value) -> Reply {
    Ok(Json(value).into_response())
}

/// The largest control body: every documented body is a few hundred bytes;
/// this is axum's default, now answered in the control API's own JSON.
pub const MAX_CONTROL_BODY: usize = 2 << 20;

/// A control call's raw body, read under [`MAX_CONTROL_BODY`]. Too large a
/// body is the control API's JSON 413, not axum's plain-text one.
pub struct ControlBody(Bytes);

impl<S: Send + Sync> FromRequest<S> for ControlBody {
    type Rejection = AdminError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, AdminError> {
        match axum::body::to_bytes(request.into_body(), MAX_CONTROL_BODY).await {
            Ok(bytes) => Ok(ControlBody(bytes)),
            Err(_) => Err(AdminError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                Reason::BodyTooLarge,
                format!("a control body is at most {MAX_CONTROL_BODY} bytes"),
            )),
        }
    }
}

/// Parses a JSON body; an empty body is `{}`. Only an object is a control
/// body: serde would read `[86400]` as a struct's fields in order, so an
/// array (or any other JSON value) is refused before the fields are read,
/// and the structs refuse unknown fields, so a typo is named, not ignored.
fn body<T: DeserializeOwned>(bytes: &ControlBody) -> Result<T, AdminError> {
    let bytes = &bytes.0;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return from_object(Map::new());
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| AdminError::bad_request(Reason::BadJson, format!("invalid JSON body: {e}")))?;
    match value {
        Value::Object(map) => from_object(map),
        // `null` is no body, as an empty one is.
        Value::Null => from_object(Map::new()),
        other => Err(AdminError::bad_request(
            Reason::BadJson,
            format!(
                "the body must be a JSON object with the documented fields, got {}",
                json_kind(&other)
            ),
        )),
    }
}

fn from_object<T: DeserializeOwned>(map: Map<String, Value>) -> Result<T, AdminError> {
    serde_json::from_value(Value::Object(map))
        .map_err(|e| AdminError::bad_request(Reason::BadJson, format!("invalid body: {e}")))
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Runs engine work on a blocking thread.
async fn blocking<T: Send + 'static>(
    admin: &Admin,
    f: impl FnOnce(&crate::engine::Engine) -> T + Send + 'static,
) -> Result<T, AdminError> {
    let engine = admin.engine.clone();
    tokio::task::spawn_blocking(move || f(&engine))
        .await
        .map_err(AdminError::internal)
}

/// Open to every client, token or not: it reveals nothing, and a
/// container's health check or a CI wait strategy must reach it. It creates
/// no namespace.
pub async fn health(path: RawPathParams) -> Reply {
    if let Some((_, ns)) = path.iter().find(|(key, _)| *key == "ns") {
        if !crate::registry::valid_namespace(ns) {
            return Err(AdminError::bad_request(
                Reason::BadNamespace,
                format!(
                    "invalid namespace name {ns:?} (a letter or digit first, then letters, \
                     digits, -, _ or .; at most 64)"
                ),
            ));
        }
    }
    ok(json!({"status": "ok"}))
}

pub async fn reset(admin: Admin) -> Reply {
    blocking(&admin, |e| e.reset())
        .await?
        .map_err(AdminError::internal)?;
    ok(json!({"status": "reset", "clock": admin.engine.clock_json()}))
}

pub async fn clock(admin: Admin) -> Reply {
    ok(admin.engine.clock_json())
}

pub async fn clock_advance(admin: Admin, bytes: ControlBody) -> Reply {
    let req: Advance = body(&bytes)?;
    let seconds = read_seconds(&req.seconds).ok_or_else(|| {
        AdminError::bad_request(
            Reason::BadSeconds,
            format!(
                "seconds must be a whole number from 0 to {MAX_ADVANCE_SECONDS} (as text, up to nine digits)"
            ),
        )
    })?;
    blocking(&admin, move |e| e.advance(seconds))
        .await?
        .map_err(|_| {
            AdminError::new(
                StatusCode::CONFLICT,
                Reason::ClockOutOfRange,
                format!(
                    "advancing {seconds} s would take the clock past {} (times are written YYYY-MM-DD HH:MM:SS); it is {}",
                    crate::clock::LAST_TIME,
                    admin.engine.clock().format(admin.engine.clock().now())
                ),
            )
        })?;
    ok(admin.engine.clock_json())
}

pub async fn clock_set(admin: Admin, bytes: ControlBody) -> Reply {
    let req: SetClock = body(&bytes)?;
    let target = admin.engine.clock().parse(&req.now).ok_or_else(|| {
        AdminError::bad_request(
            Reason::BadTime,
            "now must be YYYY-MM-DD HH:MM:SS in the engine's zone, at most 9999-12-31 23:59:59",
        )
    })?;
    match blocking(&admin, move |e| e.set_clock(target)).await? {
        Ok(()) => ok(admin.engine.clock_json()),
        Err(_) => Err(AdminError::new(
            StatusCode::CONFLICT,
            Reason::ClockBackwards,
            "the clock only moves forward",
        )),
    }
}

pub async fn clock_freeze(admin: Admin) -> Reply {
    blocking(&admin, |e| e.freeze()).await?;
    ok(admin.engine.clock_json())
}

pub async fn clock_resume(admin: Admin) -> Reply {
    blocking(&admin, |e| e.resume()).await?;
    ok(admin.engine.clock_json())
}

pub async fn timeline(admin: Admin) -> Reply {
    let value = blocking(&admin, |e| e.timeline())
        .await?
        .map_err(AdminError::internal)?;
    Ok(Json(value).into_response())
}

pub async fn callbacks(admin: Admin) -> Reply {
    ok(json!({"callbacks": admin.engine.callbacks().records()}))
}

pub async fn set_callback(admin: Admin, bytes: ControlBody) -> Reply {
    let req: CallbackUrl = body(&bytes)?;
    let userid = admin.path.get("userid").cloned().unwrap_or_default();
    if let Some(url) = req.url.as_deref().filter(|u| !u.is_empty()) {
        if reqwest::Url::parse(url)
            .map(|u| u.scheme() != "http" && u.scheme() != "https")
            .unwrap_or(true)
        {
            return Err(AdminError::bad_request(
                Reason::BadUrl,
                format!("not an http(s) URL: {url:?}"),
            ));
        }
    }
    let url = req.url.clone().filter(|u| !u.is_empty());
    let uid = userid.clone();
    let found = blocking(&admin, move |e| e.set_callback(&uid, url.as_deref()))
        .await?
        .map_err(AdminError::internal)?;
    if !found {
        return Err(AdminError::not_found(
            Reason::UnknownUser,
            format!("no member with userid {userid}"),
        ));
    }
    ok(json!({"userid": userid, "url": req.url}))
}

pub async fn add_fault(admin: Admin, bytes: ControlBody) -> Reply {
    let spec: Spec = body(&bytes)?;
    spec.validate()
        .map_err(|m| AdminError::bad_request(Reason::BadFault, m))?;
    let rule = admin.engine.faults().add(spec);
    Ok((StatusCode::CREATED, Json(json!(rule))).into_response())
}

pub async fn list_faults(admin: Admin) -> Reply {
    ok(json!({"faults": admin.engine.faults().list()}))
}

pub async fn clear_faults(admin: Admin) -> Reply {
    admin.engine.faults().clear();
    // As for one removed rule: transitions the rules stalled may now be due.
    blocking(&admin, |e| e.run_due()).await?;
    ok(json!({"faults": []}))
}

pub async fn remove_fault(admin: Admin) -> Reply {
    let id = admin.path.get("id").and_then(|i| i.parse::<i64>().ok());
    match id {
        Some(id) if admin.engine.faults().remove(id) => {
            let engine = admin.engine.clone();
            // Transitions the rule stalled may now be due.
            tokio::task::spawn_blocking(move || engine.run_due())
                .await
                .map_err(AdminError::internal)?;
            ok(json!({"removed": id}))
        }
        _ => Err(AdminError::not_found(
            Reason::UnknownFault,
            "no fault rule with that id",
        )),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RequestQuery {
    action: Option<String>,
    userid: Option<String>,
    guid: Option<String>,
    code: Option<i64>,
    since: Option<i64>,
    limit: Option<i64>,
    format: Option<String>,
}

pub async fn requests(admin: Admin, RawQuery(raw): RawQuery) -> Reply {
    let q: RequestQuery = match raw.as_deref() {
        None | Some("") => RequestQuery::default(),
        Some(text) => Query::<RequestQuery>::try_from_uri(
            &format!("/?{text}")
                .parse()
                .map_err(|_| AdminError::bad_request(Reason::BadQuery, "malformed query"))?,
        )
        .map(|q| q.0)
        .map_err(|e| AdminError::bad_request(Reason::BadQuery, e.body_text()))?,
    };
    // Signed 64-bit, as the document says (a larger number is refused, not wrapped).
    let count = |name: &str, n: Option<i64>| -> Result<Option<u64>, AdminError> {
        n.map(|n| {
            u64::try_from(n).map_err(|_| {
                AdminError::bad_request(Reason::BadQuery, format!("{name} must be 0 or more"))
            })
        })
        .transpose()
    };
    let since = count("since", q.since)?;
    let limit = count("limit", q.limit)?.map(|l| usize::try_from(l).unwrap_or(usize::MAX));
    let filter = Filter {
        action: q.action,
        userid: q.userid,
        guid: q.guid,
        code: q.code,
        since,
        limit,
    };
    let entries = admin.engine.journal().query(&filter);
    let jsonl = match q.format.as_deref() {
        None | Some("json") => false,
        Some("jsonl") => true,
        Some(other) => {
            return Err(AdminError::bad_request(
                Reason::BadQuery,
                format!("format must be json or jsonl, got {other:?}"),
            ))
        }
    };
    if jsonl {
        let mut text = String::new();
        for e in &entries {
            text.push_str(&serde_json::to_string(e).unwrap_or_default());
            text.push('\n');
        }
        return Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], text).into_response());
    }
    let journal = &admin.engine.journal();
    ok(json!({
        "requests": entries,
        "dropped": journal.dropped(),
        "overflowed": journal.overflowed(),
    }))
}

pub async fn clear_requests(admin: Admin) -> Reply {
    admin.engine.journal().clear();
    ok(json!({"requests": []}))
}

pub async fn take_snapshot(admin: Admin, bytes: ControlBody) -> Reply {
    let req: SnapshotName = body(&bytes)?;
    if !crate::registry::valid_namespace(&req.name) {
        return Err(AdminError::bad_request(
            Reason::BadSnapshotName,
            "name: letters, digits, - _ . (at most 64)",
        ));
    }
    let info = blocking(&admin, move |e| e.take_snapshot(&req.name))
        .await?
        .map_err(AdminError::internal)?;
    Ok((StatusCode::CREATED, Json(info)).into_response())
}

pub async fn list_snapshots(admin: Admin) -> Reply {
    ok(json!({"snapshots": admin.engine.snapshots()}))
}

pub async fn restore_snapshot(admin: Admin) -> Reply {
    let name = admin.path.get("snapshot").cloned().unwrap_or_default();
    let n = name.clone();
    let found = blocking(&admin, move |e| e.restore_snapshot(&n))
        .await?
        .map_err(AdminError::internal)?;
    if !found {
        return Err(AdminError::not_found(
            Reason::UnknownSnapshot,
            format!("no snapshot named {name:?}"),
        ));
    }
    ok(json!({"restored": name, "clock": admin.engine.clock_json()}))
}

pub async fn delete_snapshot(admin: Admin) -> Reply {
    let name = admin.path.get("snapshot").cloned().unwrap_or_default();
    if !admin.engine.delete_snapshot(&name) {
        return Err(AdminError::not_found(
            Reason::UnknownSnapshot,
            format!("no snapshot named {name:?}"),
        ));
    }
    ok(json!({"deleted": name}))
}

pub async fn force_state(admin: Admin, bytes: ControlBody) -> Reply {
    let patch: Map<String, Value> = body(&bytes)?;
    let guid = admin.path.get("guid").cloned().unwrap_or_default();
    let mut forced = ForcedState::default();
    for (key, value) in &patch {
        if key == "end_time" {
            let time = value.as_str().and_then(|t| admin.engine.clock().parse(t));
            forced.end_time = Some(time.ok_or_else(|| {
                AdminError::bad_request(
                    Reason::BadValue,
                    "end_time must be YYYY-MM-DD HH:MM:SS in the engine's zone, at most 9999-12-31 23:59:59",
                )
            })?);
            continue;
        }
        let Some(allowed) = Forced::codes(key) else {
            return Err(AdminError::bad_request(
                Reason::UnknownField,
                format!("{key} cannot be forced; allowed: order_status, run_status, act_status, push_status, lock_status, end_time"),
            ));
        };
        // A JSON integer, or the same integer as text: nothing else (a
        // boolean or `" 1"` is not a state code).
        let code = match value {
            Value::Number(n) => n.as_i64(),
            Value::String(s) => s.parse::<i64>().ok().filter(|c| c.to_string() == *s),
            _ => None,
        };
        let value = code.and_then(|v| Forced::new(key, v)).ok_or_else(|| {
            AdminError::bad_request(
                Reason::BadValue,
                format!("{key} must be one of {allowed:?}, got {value}"),
            )
        })?;
        forced.states.push(value);
    }
    let g = guid.clone();
    let result = blocking(&admin, move |engine| engine.force_state(&g, &forced))
        .await?
        .map_err(AdminError::internal)?;
    let engine = admin.engine.clone();
    tokio::task::spawn_blocking(move || engine.run_due())
        .await
        .map_err(AdminError::internal)?;
    match result {
        Some(view) => ok(json!({"baremetal": view})),
        None => Err(AdminError::not_found(
            Reason::UnknownInstance,
            format!("no instance {guid}"),
        )),
    }
}

pub async fn namespaces(_g: Guarded, State(registry): State<Arc<Registry>>) -> Reply {
    let list = registry.list().await;
    ok(json!({
        "namespaces": list,
        "max": registry.config.max_namespaces,
        "idle_ttl_seconds": registry.config.namespace_idle_ttl.as_secs(),
    }))
}

async fn make_namespace(registry: &Registry, name: Option<&str>, req: NewNamespace) -> Reply {
    use crate::registry::Origin;
    let origin = match (req.from, req.from_snapshot) {
        (None, None) => Origin::Seed,
        (Some(from), None) => Origin::Namespace(from),
        (from, Some(snapshot)) => Origin::Snapshot {
            namespace: from.unwrap_or_else(|| DEFAULT_NAMESPACE.to_string()),
            snapshot,
        },
    };
    let (name, engine) = registry.create(name, origin).await?;
    let clock = engine.clock_json();
    Ok((
        StatusCode::CREATED,
        Json(json!({"name": name, "clock": clock})),
    )
        .into_response())
}

pub async fn create_namespace(
    _g: Guarded,
    State(registry): State<Arc<Registry>>,
    bytes: ControlBody,
) -> Reply {
    let req: NewNamespace = body(&bytes)?;
    let name = req.name.clone();
    make_namespace(&registry, name.as_deref(), req).await
}

pub async fn put_namespace(
    _g: Guarded,
    State(registry): State<Arc<Registry>>,
    OriginalUri(uri): OriginalUri,
    target: Result<axum::extract::Path<String>, PathRejection>,
    bytes: ControlBody,
) -> Reply {
    let target = match target {
        Ok(axum::extract::Path(target)) => target,
        Err(_) => {
            return Err(AdminError::from(crate::api::undecodable_namespace(
                uri.path(),
                3,
            )))
        }
    };
    let req: NewNamespace = body(&bytes)?;
    if req.name.as_deref().is_some_and(|n| n != target) {
        return Err(AdminError::bad_request(
            Reason::BadNamespace,
            format!("the body names {:?} but the path {target:?}", req.name),
        ));
    }
    make_namespace(&registry, Some(&target), req).await
}

pub async fn delete_namespace(
    _g: Guarded,
    State(registry): State<Arc<Registry>>,
    OriginalUri(uri): OriginalUri,
    target: Result<axum::extract::Path<String>, PathRejection>,
) -> Reply {
    // A name no namespace can have (not UTF-8, or not a valid name) is
    // refused as `/api` and `/ns/{name}/_mock` refuse it.
    let target = match target {
        Ok(axum::extract::Path(target)) if crate::registry::valid_namespace(&target) => target,
        Ok(axum::extract::Path(target)) => {
            return Err(AdminError::from(RegistryError::BadName(target)))
        }
        // `/_mock/namespaces/{target}`: segment 3.
        Err(_) => {
            return Err(AdminError::from(crate::api::undecodable_namespace(
                uri.path(),
                3,
            )))
        }
    };
    registry.remove(&target).await?;
    ok(json!({"deleted": target}))
}
