//! The control API's OpenAPI 3.1 document, served at `GET
//! /_mock/openapi.json`: one declaration per operation (path, method,
//! body, parameters, every status it answers), derived with utoipa from the
//! request and answer types the handlers use. The functions below only
//! carry those declarations; `tests/api/openapi.rs` checks that the router
//! and this document name the same operations, and CI runs Schemathesis
//! against a live server with it (`scripts/schemathesis`).

#![allow(dead_code)]

use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::server::{ServerBuilder, ServerVariableBuilder};
use utoipa::{Modify, OpenApi, ToSchema};

use crate::domain::state;
use crate::engine::views::{CallbackList, FaultList};
use crate::faults;
use crate::protocol::control::*;
use crate::registry::NamespaceList;

/// `PATCH /_mock/baremetal/{guid}`: the state fields to force. Each code
/// is one the document gives that field, as a JSON integer or its text.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ForceState {
    #[schema(schema_with = order_codes, nullable = false)]
    pub order_status: Option<Value>,
    #[schema(schema_with = run_codes, nullable = false)]
    pub run_status: Option<Value>,
    #[schema(schema_with = act_codes, nullable = false)]
    pub act_status: Option<Value>,
    #[schema(schema_with = push_codes, nullable = false)]
    pub push_status: Option<Value>,
    #[schema(schema_with = lock_codes, nullable = false)]
    pub lock_status: Option<Value>,
    /// `YYYY-MM-DD HH:MM:SS` in the engine's zone; the expiry moves with it.
    #[schema(schema_with = time_schema, nullable = false)]
    pub end_time: Option<String>,
}

/// One of `codes`, as a JSON integer or as its text.
fn code_schema(codes: Vec<i64>) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .enum_values(Some(codes.clone())),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .enum_values(Some(codes.iter().map(i64::to_string))),
        )
        .build()
        .into()
}

fn order_codes() -> utoipa::openapi::schema::Schema {
    code_schema(state::OrderStatus::codes())
}
fn run_codes() -> utoipa::openapi::schema::Schema {
    code_schema(state::RunStatus::codes())
}
fn act_codes() -> utoipa::openapi::schema::Schema {
    code_schema(state::ActStatus::codes())
}
fn push_codes() -> utoipa::openapi::schema::Schema {
    code_schema(state::PushStatus::codes())
}
fn lock_codes() -> utoipa::openapi::schema::Schema {
    code_schema(state::LockStatus::codes())
}

const JSON: &str = "application/json";

// ---- the operations ----

#[utoipa::path(get, path = "/_mock/health", operation_id = "health", tag = "engine",
    security(()),
    responses((status = 200, description = "The server is up", body = Health)))]
fn health() {}

#[utoipa::path(get, path = "/_mock/openapi.json", operation_id = "openapi", tag = "engine",
    security(()),
    responses((status = 200, description = "This document", content_type = "application/json", body = Object)))]
fn openapi() {}

#[utoipa::path(post, path = "/_mock/reset", operation_id = "reset", tag = "engine",
    responses((status = 200, description = "Back to the seed state; journal, faults and callbacks emptied, clock back to real time", body = ResetDone)))]
fn reset() {}

#[utoipa::path(get, path = "/_mock/clock", operation_id = "get_clock", tag = "clock",
    responses((status = 200, description = "The simulated clock", body = ClockView)))]
fn clock() {}

#[utoipa::path(post, path = "/_mock/clock/advance", operation_id = "advance_clock", tag = "clock",
    request_body = Advance,
    responses(
        (status = 200, description = "Moved; every transition that fell due has run", body = ClockView),
        (status = 400, description = "`bad_json`, `bad_seconds`", body = ControlErrorBody),
        (status = 409, description = "`clock_out_of_range`: past 9999-12-31 23:59:59", body = ControlErrorBody),
        (status = 413, description = "`body_too_large`", body = ControlErrorBody)))]
fn clock_advance() {}

#[utoipa::path(post, path = "/_mock/clock/set", operation_id = "set_clock", tag = "clock",
    request_body = SetClock,
    responses(
        (status = 200, description = "Moved; every transition that fell due has run", body = ClockView),
        (status = 400, description = "`bad_json`, `bad_time`", body = ControlErrorBody),
        (status = 409, description = "`clock_backwards`", body = ControlErrorBody),
        (status = 413, description = "`body_too_large`", body = ControlErrorBody)))]
fn clock_set() {}

#[utoipa::path(post, path = "/_mock/clock/freeze", operation_id = "freeze_clock", tag = "clock",
    responses((status = 200, description = "Stopped ticking", body = ClockView)))]
fn clock_freeze() {}

#[utoipa::path(post, path = "/_mock/clock/resume", operation_id = "resume_clock", tag = "clock",
    responses((status = 200, description = "Ticking again", body = ClockView)))]
fn clock_resume() {}

#[utoipa::path(get, path = "/_mock/timeline", operation_id = "timeline", tag = "clock",
    responses((status = 200, description = "Pending transitions, soonest first", body = Timeline)))]
fn timeline() {}

#[utoipa::path(get, path = "/_mock/callbacks", operation_id = "list_callbacks", tag = "callbacks",
    responses((status = 200, description = "The callback log", body = CallbackList)))]
fn callbacks() {}

#[utoipa::path(put, path = "/_mock/users/{userid}/callback", operation_id = "set_callback", tag = "callbacks",
    params(("userid" = String, Path, description = "A member of the seed")),
    request_body(content = Option<CallbackUrl>, description = "No body: `{}`"),
    responses(
        (status = 200, description = "Where the member's callbacks go now", body = CallbackSet),
        (status = 400, description = "`bad_json`, `bad_url`, `bad_path`", body = ControlErrorBody),
        (status = 404, description = "`unknown_user`", body = ControlErrorBody),
        (status = 413, description = "`body_too_large`", body = ControlErrorBody)))]
fn set_callback() {}

#[utoipa::path(post, path = "/_mock/faults", operation_id = "add_fault", tag = "faults",
    request_body = faults::Spec,
    responses(
        (status = 201, description = "The rule, with its id and counters", body = faults::Rule,
            links(
                ("RemoveFault" = (operation_id = "remove_fault", parameters(("id" = "$response.body#/id")),
                    description = "Delete this rule")),
            )),
        (status = 400, description = "`bad_json`, `bad_fault`", body = ControlErrorBody),
        (status = 413, description = "`body_too_large`", body = ControlErrorBody)))]
fn add_fault() {}

#[utoipa::path(get, path = "/_mock/faults", operation_id = "list_faults", tag = "faults",
    responses((status = 200, description = "Every rule with its counters", body = FaultList)))]
fn list_faults() {}

#[utoipa::path(delete, path = "/_mock/faults", operation_id = "clear_faults", tag = "faults",
    responses((status = 200, description = "No rules left; transitions they stalled run when due", body = FaultsCleared)))]
fn clear_faults() {}

#[utoipa::path(delete, path = "/_mock/faults/{id}", operation_id = "remove_fault", tag = "faults",
    params(("id" = i64, Path, description = "A rule's id")),
    responses(
        (status = 200, description = "Removed; transitions it stalled run when due", body = FaultRemoved),
        (status = 400, description = "`bad_path`", body = ControlErrorBody),
        (status = 404, description = "`unknown_fault`", body = ControlErrorBody)))]
fn remove_fault() {}

#[utoipa::path(get, path = "/_mock/requests", operation_id = "list_requests", tag = "journal",
    params(super::handlers::RequestQuery),
    responses(
        (status = 200, description = "Journal entries, newest first",
            content((Requests = "application/json"), (String = "application/x-ndjson"))),
        (status = 400, description = "`bad_query`", body = ControlErrorBody)))]
fn requests() {}

#[utoipa::path(delete, path = "/_mock/requests", operation_id = "clear_requests", tag = "journal",
    responses((status = 200, description = "The journal is empty", body = RequestsCleared)))]
fn clear_requests() {}

#[utoipa::path(post, path = "/_mock/snapshots", operation_id = "take_snapshot", tag = "snapshots",
    request_body = SnapshotName,
    responses(
        (status = 201, description = "Taken (a snapshot of that name is replaced)", body = SnapshotInfo,
            links(
                ("RestoreSnapshot" = (operation_id = "restore_snapshot", parameters(("snapshot" = "$response.body#/name")),
                    description = "Restore this snapshot")),
                ("DeleteSnapshot" = (operation_id = "delete_snapshot", parameters(("snapshot" = "$response.body#/name")),
                    description = "Delete this snapshot")),
            )),
        (status = 400, description = "`bad_json`, `bad_snapshot_name`", body = ControlErrorBody),
        (status = 413, description = "`body_too_large`", body = ControlErrorBody)))]
fn take_snapshot() {}

#[utoipa::path(get, path = "/_mock/snapshots", operation_id = "list_snapshots", tag = "snapshots",
    responses((status = 200, description = "Every snapshot", body = Snapshots)))]
fn list_snapshots() {}

#[utoipa::path(post, path = "/_mock/snapshots/{snapshot}/restore", operation_id = "restore_snapshot", tag = "snapshots",
    params(("snapshot" = String, Path, description = "A snapshot's name", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")),
    responses(
        (status = 200, description = "The state, clock and pending transitions are the snapshot's", body = Restored),
        (status = 400, description = "`bad_path`", body = ControlErrorBody),
        (status = 404, description = "`unknown_snapshot`", body = ControlErrorBody)))]
fn restore_snapshot() {}

#[utoipa::path(delete, path = "/_mock/snapshots/{snapshot}", operation_id = "delete_snapshot", tag = "snapshots",
    params(("snapshot" = String, Path, description = "A snapshot's name", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")),
    responses(
        (status = 200, description = "Deleted", body = Deleted),
        (status = 400, description = "`bad_path`", body = ControlErrorBody),
        (status = 404, description = "`unknown_snapshot`", body = ControlErrorBody)))]
fn delete_snapshot() {}

#[utoipa::path(patch, path = "/_mock/baremetal/{guid}", operation_id = "force_state", tag = "instances",
    params(("guid" = String, Path, description = "An instance's GUID")),
    request_body(content = Option<ForceState>, description = "No body: nothing forced"),
    responses(
        (status = 200, description = "Forced; transitions it made due have run", body = ForcedInstance),
        (status = 400, description = "`bad_json`, `unknown_field`, `bad_value`, `bad_path`", body = ControlErrorBody),
        (status = 404, description = "`unknown_instance`", body = ControlErrorBody),
        (status = 413, description = "`body_too_large`", body = ControlErrorBody)))]
fn force_state() {}

#[utoipa::path(get, path = "/_mock/instances", operation_id = "list_instances", tag = "instances",
    params(super::views::ListQuery),
    responses(
        (status = 200, description = "Every member's instances, newest first", body = InstanceList),
        (status = 400, description = "`bad_query`", body = ControlErrorBody)))]
fn list_instances() {}

#[utoipa::path(get, path = "/_mock/instances/{guid}", operation_id = "get_instance", tag = "instances",
    params(("guid" = String, Path, description = "An instance's GUID")),
    responses(
        (status = 200, description = "One instance, whoever owns it", body = InstanceDetail),
        (status = 400, description = "`bad_path`", body = ControlErrorBody),
        (status = 404, description = "`unknown_instance`", body = ControlErrorBody)))]
fn get_instance() {}

#[utoipa::path(get, path = "/_mock/catalog", operation_id = "catalog", tag = "instances",
    responses((status = 200, description = "Zones, lines, products (with free stock) and OS images", body = CatalogView)))]
fn catalog() {}

#[utoipa::path(get, path = "/_mock/users", operation_id = "list_users", tag = "callbacks",
    responses((status = 200, description = "Every member and its callback URL", body = Users)))]
fn users() {}

#[utoipa::path(post, path = "/_mock/call", operation_id = "call", tag = "engine",
    request_body = CallRequest,
    responses(
        (status = 200, description = "The signed `/api` call ran through the whole pipeline", body = CallAnswer),
        (status = 400, description = "`bad_json`, `bad_action`", body = ControlErrorBody),
        (status = 404, description = "`unknown_user`", body = ControlErrorBody),
        (status = 413, description = "`body_too_large`", body = ControlErrorBody)))]
fn call() {}

#[utoipa::path(get, path = "/_mock/events", operation_id = "events", tag = "engine",
    responses((status = 200, description = "Server-sent events naming what changed (`ready`, `clock`, `instances`, `journal`, `faults`, `callbacks`, `snapshots`)",
        content_type = "text/event-stream", body = String)))]
fn events() {}

#[utoipa::path(get, path = "/_mock/namespaces", operation_id = "list_namespaces", tag = "namespaces",
    servers((url = "/")),
    responses((status = 200, description = "The namespaces alive in this process", body = NamespaceList)))]
fn namespaces() {}

#[utoipa::path(post, path = "/_mock/namespaces", operation_id = "create_namespace", tag = "namespaces",
    servers((url = "/")),
    request_body(content = Option<NewNamespace>, description = "No body: a fresh engine with a name the server picks"),
    responses(
        (status = 201, description = "Made", body = NamespaceMade,
            links(
                ("DeleteNamespace" = (operation_id = "delete_namespace", parameters(("target" = "$response.body#/name")),
                    description = "Delete this namespace")),
            )),
        (status = 400, description = "`bad_json`, `bad_namespace`", body = ControlErrorBody),
        (status = 404, description = "`unknown_namespace`, `unknown_snapshot`: nothing to copy", body = ControlErrorBody),
        (status = 409, description = "`namespace_exists`", body = ControlErrorBody),
        (status = 413, description = "`body_too_large`", body = ControlErrorBody),
        (status = 429, description = "`namespace_limit`", body = ControlErrorBody),
        (status = 503, description = "`namespace_unavailable`: the copy could not be opened", body = ControlErrorBody)))]
fn create_namespace() {}

#[utoipa::path(put, path = "/_mock/namespaces/{target}", operation_id = "put_namespace", tag = "namespaces",
    servers((url = "/")),
    params(("target" = String, Path, description = "The new namespace's name", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")),
    request_body(content = Option<NamespaceSource>, description = "No body: a fresh engine"),
    responses(
        (status = 201, description = "Made", body = NamespaceMade,
            links(
                ("DeleteNamespace" = (operation_id = "delete_namespace", parameters(("target" = "$response.body#/name")),
                    description = "Delete this namespace")),
            )),
        (status = 400, description = "`bad_json`, `bad_namespace`", body = ControlErrorBody),
        (status = 404, description = "`unknown_namespace`, `unknown_snapshot`: nothing to copy", body = ControlErrorBody),
        (status = 409, description = "`namespace_exists`", body = ControlErrorBody),
        (status = 413, description = "`body_too_large`", body = ControlErrorBody),
        (status = 429, description = "`namespace_limit`", body = ControlErrorBody),
        (status = 503, description = "`namespace_unavailable`: the copy could not be opened", body = ControlErrorBody)))]
fn put_namespace() {}

#[utoipa::path(delete, path = "/_mock/namespaces/{target}", operation_id = "delete_namespace", tag = "namespaces",
    servers((url = "/")),
    params(("target" = String, Path, description = "A namespace's name", pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")),
    responses(
        (status = 200, description = "Deleted", body = Deleted),
        (status = 400, description = "`bad_namespace`", body = ControlErrorBody),
        (status = 404, description = "`unknown_namespace`", body = ControlErrorBody),
        (status = 409, description = "`default_namespace`: reset it instead", body = ControlErrorBody)))]
fn delete_namespace() {}

/// The dashboard's files answer 403 as its guard does.
const UI_GUARDED: &str = "`admin_loopback_only`: without a token or `--admin-open`, loopback clients only (with a token the page is served to every client and asks for it)";

#[utoipa::path(get, path = "/_mock/ui", operation_id = "dashboard", tag = "dashboard",
    security(()),
    responses(
        (status = 403, description = UI_GUARDED, body = ControlErrorBody),
       (status = 200, description = "The dashboard page", content_type = "text/html", body = String)))]
fn ui() {}

#[utoipa::path(get, path = "/_mock/ui/", operation_id = "dashboard_slash", tag = "dashboard",
    security(()),
    responses(
        (status = 403, description = UI_GUARDED, body = ControlErrorBody),
       (status = 200, description = "The dashboard page", content_type = "text/html", body = String)))]
fn ui_slash() {}

#[utoipa::path(get, path = "/_mock/ui/app.js", operation_id = "dashboard_script", tag = "dashboard",
    security(()),
    responses(
        (status = 403, description = UI_GUARDED, body = ControlErrorBody),
       (status = 200, description = "The dashboard's script", content_type = "text/javascript", body = String)))]
fn ui_js() {}

#[utoipa::path(get, path = "/_mock/ui/style.css", operation_id = "dashboard_style", tag = "dashboard",
    security(()),
    responses(
        (status = 403, description = UI_GUARDED, body = ControlErrorBody),
       (status = 200, description = "The dashboard's style sheet", content_type = "text/css", body = String)))]
fn ui_css() {}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "apayun-mock control API",
        description = "The tester's control API of apayun-mock (`/_mock/…`): clock, faults, journal, \
            snapshots, namespaces, forced state, read views. Every call of the default namespace is also \
            served per namespace under `/ns/{namespace}` (the second server), except `/_mock/namespaces`. \
            Errors are 4xx with `{\"error\",\"message\"}` and the reason in `X-Mock-Error`.",
        license(name = "MIT"),
    ),
    paths(health, openapi, reset, clock, clock_advance, clock_set, clock_freeze, clock_resume, timeline,
        callbacks, set_callback, add_fault, list_faults, clear_faults, remove_fault, requests, clear_requests,
        take_snapshot, list_snapshots, restore_snapshot, delete_snapshot, force_state, list_instances,
        get_instance, catalog, users, call, events, namespaces, create_namespace, put_namespace,
        delete_namespace, ui, ui_slash, ui_js, ui_css),
    modifiers(&GuardAnswers),
    security(("bearer" = [])),
)]
pub struct ControlApi;

/// The bearer scheme, the servers, and the guard's answers on every
/// guarded operation (401 without the token, 403 for a client that is not
/// on loopback when there is none).
struct GuardAnswers;

impl Modify for GuardAnswers {
    fn modify(&self, doc: &mut utoipa::openapi::OpenApi) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Needed when the server runs with `--admin-token` (the scheme in any case)",
                    ))
                    .build(),
            ),
        );
        doc.servers = Some(GuardAnswers::servers());
        for item in doc.paths.paths.values_mut() {
            for op in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                GuardAnswers::add_guard_answers(op);
            }
        }
    }
}

impl GuardAnswers {
    /// The default namespace at `/`, any other under `/ns/{namespace}`.
    fn servers() -> Vec<utoipa::openapi::server::Server> {
        vec![
            ServerBuilder::new()
                .url("/")
                .description(Some("The default namespace"))
                .build(),
            ServerBuilder::new()
                .url("/ns/{namespace}")
                .description(Some("A namespace, made on its first call"))
                .parameter(
                    "namespace",
                    ServerVariableBuilder::new()
                        .default_value("default")
                        .description(Some(
                            "A letter or digit first, then letters, digits, -, _ or .; at most 64",
                        )),
                )
                .build(),
        ]
    }

    /// The guard's 401 and 403 on an operation that is not open (an open
    /// one declares only the empty security requirement).
    fn add_guard_answers(op: &mut utoipa::openapi::path::Operation) {
        let open = op.security.as_ref().is_some_and(|s| {
            s.iter().all(|r| {
                serde_json::to_value(r).is_ok_and(|v| v.as_object().is_some_and(|m| m.is_empty()))
            })
        });
        if open {
            return;
        }
        let error = || {
            utoipa::openapi::ResponseBuilder::new().content(
                JSON,
                utoipa::openapi::ContentBuilder::new()
                    .schema(Some(utoipa::openapi::Ref::from_schema_name(
                        "ControlErrorBody",
                    )))
                    .build(),
            )
        };
        let responses = &mut op.responses.responses;
        responses.entry("401".into()).or_insert_with(|| {
            error()
                .description("`admin_token_required`: the server has an admin token and the request did not carry it")
                .build()
                .into()
        });
        responses.entry("403".into()).or_insert_with(|| {
            error()
                .description("`admin_loopback_only`: without a token or `--admin-open`, loopback clients only")
                .build()
                .into()
        });
    }
}

/// The document, rendered once.
pub fn document() -> &'static str {
    static DOC: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOC.get_or_init(|| {
        let mut doc = serde_json::to_value(ControlApi::openapi()).unwrap_or_default();
        camel_case_links(&mut doc);
        delay_needs_a_length(&mut doc);
        empty_bodies(&mut doc);
        serde_json::to_string_pretty(&doc).unwrap_or_default()
    })
}

/// A body whose fields are all optional may also be absent, `null` or
/// `[]` (what PHP's `json_encode([])` writes): `admin/input.rs` reads all
/// three as `{}`.
fn empty_bodies(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut().filter_map(Value::as_object_mut) {
        for op in item.values_mut() {
            let Some(schema) = op.pointer_mut("/requestBody/content/application~1json/schema")
            else {
                continue;
            };
            // utoipa writes an optional body as `oneOf: [null, $ref]`.
            let reference = match schema.get("oneOf").and_then(Value::as_array) {
                Some(items) => items.iter().find(|i| i.get("$ref").is_some()).cloned(),
                None => schema.get("$ref").map(|_| schema.clone()),
            };
            let optional = [
                "NewNamespace",
                "NamespaceSource",
                "CallbackUrl",
                "ForceState",
            ]
            .iter()
            .any(|name| schema.to_string().contains(&format!("/{name}\"")));
            if let (true, Some(reference)) = (optional, reference) {
                *schema = serde_json::json!({"oneOf": [
                    reference,
                    {"type": "array", "maxItems": 0},
                    {"type": "null"},
                ]});
            }
        }
    }
}

/// A `delay` effect gives `ms`, or `min_ms` and `max_ms` (a rule serde's
/// derive cannot say; `Spec::check` holds it).
fn delay_needs_a_length(doc: &mut Value) {
    let variants = doc
        .pointer_mut("/components/schemas/Effect/oneOf")
        .and_then(Value::as_array_mut);
    for variant in variants.into_iter().flatten() {
        let is_delay = variant
            .pointer("/properties/kind/enum")
            .is_some_and(|e| e == &serde_json::json!(["delay"]));
        // serde refuses an effect's unknown fields (deny_unknown_fields on
        // the enum, which utoipa does not carry to each variant).
        if let Some(object) = variant.as_object_mut() {
            object.insert("additionalProperties".to_string(), Value::Bool(false));
        }
        if let (true, Some(object)) = (is_delay, variant.as_object_mut()) {
            object.insert(
                "oneOf".to_string(),
                // "Given" is present and not null (null reads as absent).
                serde_json::json!([
                    {"required": ["ms"], "properties": {
                        "ms": {"not": {"type": "null"}},
                        "min_ms": {"type": "null"}, "max_ms": {"type": "null"}}},
                    {"required": ["min_ms", "max_ms"], "properties": {
                        "min_ms": {"not": {"type": "null"}}, "max_ms": {"not": {"type": "null"}},
                        "ms": {"type": "null"}}},
                ]),
            );
        }
    }
}

/// utoipa 5.5 writes a Link object's fields in snake case
/// (`operation_id`); OpenAPI spells them `operationId`, `operationRef`,
/// `requestBody`, and a validator or Schemathesis reads only those.
fn camel_case_links(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    let links = paths
        .values_mut()
        .filter_map(Value::as_object_mut)
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses").and_then(Value::as_object_mut))
        .flat_map(|responses| responses.values_mut())
        .filter_map(|r| r.get_mut("links").and_then(Value::as_object_mut))
        .flat_map(|links| links.values_mut())
        .filter_map(Value::as_object_mut);
    for link in links {
        for (snake, camel) in [
            ("operation_id", "operationId"),
            ("operation_ref", "operationRef"),
            ("request_body", "requestBody"),
        ] {
            if let Some(v) = link.remove(snake) {
                link.insert(camel.to_string(), v);
            }
        }
    }
}

/// `GET /_mock/openapi.json`: open to every client, like health — it is
/// the same for every server and reveals nothing.
pub async fn serve() -> Response {
    ([(header::CONTENT_TYPE, JSON)], document()).into_response()
}
