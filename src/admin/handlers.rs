//! One function per control call. Bodies are read as bytes and parsed
//! here, so malformed JSON gets the control API's own JSON error.

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{OriginalUri, RawPathParams, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::input::{body, query, whole_value, ControlBody};
use super::journal_read::Shape;
use super::{Admin, AdminError, Guarded};
use crate::domain::state::Forced;
use crate::engine::ForcedState;
use crate::faults::Spec;
use crate::journal::{Filter, DEFAULT_PAGE};
use crate::protocol::control::{Advance, SetClock, MAX_ADVANCE_SECONDS};
use crate::protocol::{scalar_text, whole, Reason};
use crate::registry::{Registry, RegistryError, DEFAULT_NAMESPACE};

type Reply = Result<Response, AdminError>;

fn ok(value: Value) -> Reply {
    Ok(Json(value).into_response())
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
pub async fn health(
    path: Result<RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    OriginalUri(uri): OriginalUri,
) -> Reply {
    // `/ns/{ns}/_mock/health`: a name that is not UTF-8 is a bad name like
    // any other, in JSON (segment 2), not axum's plain-text 400.
    let Ok(path) = path else {
        return Err(AdminError::from(crate::api::undecodable_namespace(
            uri.path(),
            2,
        )));
    };
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
    ok(json!({"status": "ok", "version": crate::server::VERSION}))
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
    let seconds = whole_value::<i64>("seconds", &req.seconds)
        .ok()
        .filter(|s| (0..=MAX_ADVANCE_SECONDS).contains(s))
        .ok_or_else(|| {
            AdminError::bad_request(
                Reason::BadSeconds,
                format!(
                    "seconds must be a whole number from 0 to {MAX_ADVANCE_SECONDS} \
                     (about 100 years; advance again for more), got {}",
                    req.seconds
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CallbackUrl {
    url: Option<String>,
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
    // The answer is what was stored: an empty URL is no URL.
    let stored = req.url.filter(|u| !u.is_empty());
    ok(json!({"userid": userid, "url": stored}))
}

pub async fn add_fault(admin: Admin, bytes: ControlBody) -> Reply {
    let spec: Spec = body(&bytes)?;
    let spec = spec
        .check()
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
    #[serde(default, deserialize_with = "whole::opt")]
    code: Option<i64>,
    // Signed 64-bit, as the OpenAPI document says; negatives refused below.
    #[serde(default, deserialize_with = "whole::opt")]
    since: Option<i64>,
    #[serde(default, deserialize_with = "whole::opt")]
    before: Option<i64>,
    #[serde(default, deserialize_with = "whole::opt")]
    limit: Option<i64>,
    format: Option<JournalFormat>,
}

/// `format=`: the journal as one JSON document (the default) or as JSON
/// lines. Any other word is refused like an unknown parameter.
#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum JournalFormat {
    Json,
    Jsonl,
}

pub async fn requests(admin: Admin, RawQuery(raw): RawQuery) -> Reply {
    let q: RequestQuery = query(raw.as_deref())?;
    let count = |name: &str, n: Option<i64>| -> Result<Option<u64>, AdminError> {
        n.map(|n| {
            u64::try_from(n).map_err(|_| {
                AdminError::bad_request(Reason::BadQuery, format!("{name} must be 0 or more"))
            })
        })
        .transpose()
    };
    let since = count("since", q.since)?;
    let before = count("before", q.before)?;
    let limit = count("limit", q.limit)?.map(|l| usize::try_from(l).unwrap_or(usize::MAX));
    let filter = Filter {
        action: q.action,
        userid: q.userid,
        guid: q.guid,
        code: q.code,
        since,
        before,
        limit: None,
    };
    let shape = if q.format == Some(JournalFormat::Jsonl) {
        Shape::JsonLines
    } else {
        Shape::Json
    };
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    Ok(super::journal_read::answer(
        admin.engine.clone(),
        filter,
        limit,
        shape,
    ))
}

pub async fn clear_requests(admin: Admin) -> Reply {
    admin.engine.journal().clear();
    ok(json!({"requests": []}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnapshotName {
    name: String,
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

/// The one forced field that is not a state code.
const END_TIME: &str = "end_time";

pub async fn force_state(admin: Admin, bytes: ControlBody) -> Reply {
    let patch: Map<String, Value> = body(&bytes)?;
    let guid = admin.path.get("guid").cloned().unwrap_or_default();
    let mut forced = ForcedState::default();
    for (key, value) in &patch {
        let text = scalar_text(value).unwrap_or_default();
        if key == END_TIME {
            forced.end_time = Some(admin.engine.clock().parse(&text).ok_or_else(|| {
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
                format!(
                    "{key} cannot be forced; allowed: {}, {END_TIME}",
                    Forced::FIELDS.join(", ")
                ),
            ));
        };
        let value = whole_value::<i64>(key, value)
            .ok()
            .and_then(|v| Forced::new(key, v))
            .ok_or_else(|| {
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

/// `POST /_mock/namespaces` and `PUT /_mock/namespaces/{name}`: a new
/// namespace, fresh from the seed or a copy of another one's state or
/// snapshot.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewNamespace {
    name: Option<String>,
    /// The namespace to copy (its current state, or its snapshot below).
    from: Option<String>,
    /// A snapshot of `from` (or of `default` when `from` is absent).
    from_snapshot: Option<String>,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::reason::doc_table::{code_spans, rows};

    #[test]
    fn the_contract_lists_every_forced_field_with_the_values_it_takes() {
        let table = rows(
            include_str!("../../docs/contract.md"),
            "### Forced state fields",
        );
        let fields: Vec<&str> = table.iter().map(|r| r[0].as_str()).collect();
        let mut want = Forced::FIELDS.to_vec();
        want.push(END_TIME);
        assert_eq!(fields, want, "docs/contract.md, Forced state fields");
        for row in &table[..Forced::FIELDS.len()] {
            let mut documented: Vec<i64> = code_spans(&row[1])
                .iter()
                .filter_map(|c| c.parse().ok())
                .collect();
            documented.sort_unstable();
            let mut codes = Forced::codes(&row[0]).unwrap_or_default();
            codes.sort_unstable();
            assert_eq!(documented, codes, "{}", row[0]);
        }
    }
}
