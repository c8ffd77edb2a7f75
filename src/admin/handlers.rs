//! One function per control call: each extracts (path, query, body),
//! calls the engine through its [`EngineHandle`](crate::engine::EngineHandle)
//! and renders the typed answer. Bodies are read as bytes and parsed here,
//! so malformed JSON gets the control API's own JSON error.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Json;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::input::{body, query, whole_value, ControlBody};
use super::journal_read::PageFormat;
use super::path::{ControlPath, FaultIdParam, GuidParam, NamespaceParam, SnapshotParam};
use super::path::{TargetParam, UserParam};
use super::{Admin, AdminError, ControlReply, Guarded};
use crate::domain::state::Forced;
use crate::engine::{EngineHandle, ForcedState};
use crate::faults::Spec;
use crate::journal::{Filter, DEFAULT_PAGE};
use crate::protocol::control::{
    query_count_schema, query_int_schema, Advance, CallbackUrl, Deleted, Health, NamespaceMade,
    NewNamespace, SetClock, SnapshotName, MAX_ADVANCE_SECONDS,
};
use crate::protocol::{scalar_text, whole, Reason};
use crate::registry::{NamespaceList, Registry, RegistryError, DEFAULT_NAMESPACE};

/// A 200 with the answer as JSON.
fn ok(answer: impl Serialize) -> ControlReply {
    Ok(Json(answer).into_response())
}

/// A 201 with the answer as JSON.
fn created(answer: impl Serialize) -> ControlReply {
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// Open to every client, token or not: it reveals nothing, and a
/// container's health check or a CI wait strategy must reach it. It creates
/// no namespace.
pub async fn health(
    // `/ns/{ns}/_mock/health`: a name that is not UTF-8 is a bad name like
    // any other, in JSON, not axum's plain-text 400.
    ControlPath(NamespaceParam { ns }): ControlPath<NamespaceParam>,
) -> ControlReply {
    if let Some(ns) = ns {
        if !crate::registry::valid_namespace(&ns) {
            return Err(AdminError::bad_request(
                Reason::BadNamespace,
                format!(
                    "invalid namespace name {ns:?} (a letter or digit first, then letters, \
                     digits, -, _ or .; at most 64)"
                ),
            ));
        }
    }
    ok(Health {
        status: "ok".to_string(),
        version: crate::server::VERSION.to_string(),
    })
}

pub async fn reset(admin: Admin) -> ControlReply {
    ok(admin.engine.reset().await?)
}

pub async fn clock(admin: Admin) -> ControlReply {
    ok(admin.engine.clock())
}

pub async fn clock_advance(admin: Admin, bytes: ControlBody) -> ControlReply {
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
    ok(admin.engine.advance(seconds).await?)
}

pub async fn clock_set(admin: Admin, bytes: ControlBody) -> ControlReply {
    let req: SetClock = body(&bytes)?;
    let target = admin.engine.parse_time(&req.now).ok_or_else(|| {
        AdminError::bad_request(
            Reason::BadTime,
            "now must be YYYY-MM-DD HH:MM:SS in the engine's zone, at most 9999-12-31 23:59:59",
        )
    })?;
    ok(admin.engine.set_clock(target).await?)
}

pub async fn clock_freeze(admin: Admin) -> ControlReply {
    ok(admin.engine.freeze().await?)
}

pub async fn clock_resume(admin: Admin) -> ControlReply {
    ok(admin.engine.resume().await?)
}

pub async fn timeline(admin: Admin) -> ControlReply {
    ok(admin.engine.timeline().await?)
}

pub async fn callbacks(admin: Admin) -> ControlReply {
    ok(admin.engine.callbacks())
}

pub async fn set_callback(
    admin: Admin,
    ControlPath(UserParam { userid }): ControlPath<UserParam>,
    bytes: ControlBody,
) -> ControlReply {
    let req: CallbackUrl = body(&bytes)?;
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
    ok(admin.engine.set_callback(userid, req.url).await?)
}

pub async fn add_fault(admin: Admin, bytes: ControlBody) -> ControlReply {
    let spec: Spec = body(&bytes)?;
    let spec = spec
        .check()
        .map_err(|m| AdminError::bad_request(Reason::BadFault, m))?;
    created(admin.engine.add_fault(spec))
}

pub async fn list_faults(admin: Admin) -> ControlReply {
    ok(admin.engine.faults())
}

pub async fn clear_faults(admin: Admin) -> ControlReply {
    // As for one removed rule: transitions the rules stalled may now be due.
    ok(admin.engine.clear_faults().await?)
}

pub async fn remove_fault(
    admin: Admin,
    ControlPath(FaultIdParam { id }): ControlPath<FaultIdParam>,
) -> ControlReply {
    // Transitions the rule stalled may now be due.
    ok(admin.engine.remove_fault(id).await?)
}

/// The query of `GET /_mock/requests` (and its OpenAPI parameters).
#[derive(Deserialize, Default, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RequestQuery {
    /// Entries of this action.
    action: Option<String>,
    /// Entries of this member.
    userid: Option<String>,
    /// Entries that named, created or touched this GUID.
    guid: Option<String>,
    /// Entries answered with this envelope code.
    #[serde(default, deserialize_with = "whole::opt")]
    #[param(schema_with = query_int_schema)]
    code: Option<i64>,
    // Signed 64-bit, as the OpenAPI document says; negatives refused below.
    /// Entries after journal id N.
    #[serde(default, deserialize_with = "whole::opt")]
    #[param(schema_with = query_count_schema)]
    since: Option<i64>,
    /// Entries before journal id N: the cursor, `next_before` of the page
    /// before.
    #[serde(default, deserialize_with = "whole::opt")]
    #[param(schema_with = query_count_schema)]
    before: Option<i64>,
    /// At most this many entries (default 100, a page).
    #[serde(default, deserialize_with = "whole::opt")]
    #[param(schema_with = query_count_schema)]
    limit: Option<i64>,
    /// `jsonl`: one entry per line (`application/x-ndjson`); `json`, the
    /// default, the object below.
    #[param(value_type = Option<String>, pattern = "^(?:jsonl?)?$")]
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

pub async fn requests(admin: Admin, RawQuery(raw): RawQuery) -> ControlReply {
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
        PageFormat::JsonLines
    } else {
        PageFormat::Json
    };
    let limit = limit.unwrap_or(DEFAULT_PAGE);
    Ok(super::journal_read::answer(
        admin.engine.engine().clone(),
        filter,
        limit,
        shape,
    ))
}

pub async fn clear_requests(admin: Admin) -> ControlReply {
    ok(admin.engine.clear_requests())
}

pub async fn take_snapshot(admin: Admin, bytes: ControlBody) -> ControlReply {
    let req: SnapshotName = body(&bytes)?;
    if !crate::registry::valid_namespace(&req.name) {
        return Err(AdminError::bad_request(
            Reason::BadSnapshotName,
            "name: letters, digits, - _ . (at most 64)",
        ));
    }
    created(admin.engine.take_snapshot(req.name).await?)
}

pub async fn list_snapshots(admin: Admin) -> ControlReply {
    ok(admin.engine.snapshots())
}

pub async fn restore_snapshot(
    admin: Admin,
    ControlPath(SnapshotParam { snapshot }): ControlPath<SnapshotParam>,
) -> ControlReply {
    ok(admin.engine.restore_snapshot(snapshot).await?)
}

pub async fn delete_snapshot(
    admin: Admin,
    ControlPath(SnapshotParam { snapshot }): ControlPath<SnapshotParam>,
) -> ControlReply {
    ok(admin.engine.delete_snapshot(snapshot).await?)
}

/// The one forced field that is not a state code.
const END_TIME: &str = "end_time";

pub async fn force_state(
    admin: Admin,
    ControlPath(GuidParam { guid }): ControlPath<GuidParam>,
    bytes: ControlBody,
) -> ControlReply {
    let patch: Map<String, Value> = body(&bytes)?;
    let mut forced = ForcedState::default();
    for (key, value) in &patch {
        let text = scalar_text(value).unwrap_or_default();
        if key == END_TIME {
            forced.end_time = Some(admin.engine.parse_time(&text).ok_or_else(|| {
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
    ok(admin.engine.force_state(guid, forced).await?)
}

pub async fn namespaces(_g: Guarded, State(registry): State<Arc<Registry>>) -> ControlReply {
    ok(NamespaceList {
        namespaces: registry.list().await,
        max: registry.config.max_namespaces as u64,
        idle_ttl_seconds: registry.config.namespace_idle_ttl.as_secs(),
    })
}

/// `POST /_mock/namespaces` and `PUT /_mock/namespaces/{name}`: a new
/// namespace, fresh from the seed or a copy of another one's state or
/// snapshot.
async fn make_namespace(
    registry: &Registry,
    name: Option<&str>,
    req: NewNamespace,
) -> ControlReply {
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
    created(NamespaceMade {
        name,
        clock: EngineHandle::new(engine).clock(),
    })
}

pub async fn create_namespace(
    _g: Guarded,
    State(registry): State<Arc<Registry>>,
    bytes: ControlBody,
) -> ControlReply {
    let req: NewNamespace = body(&bytes)?;
    let name = req.name.clone();
    make_namespace(&registry, name.as_deref(), req).await
}

pub async fn put_namespace(
    _g: Guarded,
    State(registry): State<Arc<Registry>>,
    ControlPath(TargetParam { target }): ControlPath<TargetParam>,
    bytes: ControlBody,
) -> ControlReply {
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
    ControlPath(TargetParam { target }): ControlPath<TargetParam>,
) -> ControlReply {
    // A name no namespace can have (not UTF-8, or not a valid name) is
    // refused as `/api` and `/ns/{name}/_mock` refuse it.
    if !crate::registry::valid_namespace(&target) {
        return Err(AdminError::from(RegistryError::BadName(target)));
    }
    registry.remove(&target).await?;
    ok(Deleted { deleted: target })
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
