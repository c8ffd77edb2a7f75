//! The control API's (`/_mock/…`) request and answer types: what the
//! server writes and what every Rust client (`ControlClient`, hence
//! `MockEngine`, the scenario runner and the CLI) reads, in one place. No
//! HTTP here; the paths and statuses are the edge's.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

/// The simulated clock, as every clock call answers it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ClockView {
    /// `YYYY-MM-DD HH:MM:SS` in the engine's zone.
    pub now: String,
    /// How far the clock is ahead of real time.
    pub offset_seconds: i64,
    pub frozen: bool,
}

/// `GET /_mock/health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: String,
    /// The server's version (`CARGO_PKG_VERSION`).
    #[serde(default)]
    pub version: String,
}

/// `POST /_mock/reset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResetDone {
    /// Always `reset`.
    pub status: String,
    pub clock: ClockView,
}

/// A time as the control API writes and reads it: `YYYY-MM-DD HH:MM:SS`, a
/// real calendar date (blanks around it are ignored). The OpenAPI
/// document carries this pattern, so a generated time is one the engine
/// accepts.
pub const TIME_PATTERN: &str = r"^\s*(?:[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)|02-(?:0[1-9]|1[0-9]|2[0-8]))|(?:[0-9]{2}(?:0[48]|[2468][048]|[13579][26])|(?:[02468][048]|[13579][26])00)-02-29) (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]\s*$";

/// The most `POST /_mock/clock/advance` moves at once: a hundred years,
/// far enough for any test and far from overflowing the clock.
pub const MAX_ADVANCE_SECONDS: i64 = 100 * 366 * 86_400;

/// `POST /_mock/clock/advance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    /// Whole seconds, 0 to a hundred years (a whole number, or its digits
    /// as text).
    #[schema(schema_with = seconds_schema)]
    pub seconds: Value,
}

/// `POST /_mock/clock/set`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetClock {
    /// `YYYY-MM-DD HH:MM:SS` in the engine's zone, not before the clock's now.
    #[schema(schema_with = time_schema)]
    pub now: String,
}

/// One pending transition.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PendingTransition {
    pub guid: String,
    /// What it does when due (`provisioned`, `stopped`, `expired`, …).
    pub kind: String,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub due: String,
    /// Seconds from the clock's now until it is due (negative: overdue,
    /// stalled); in an instance's detail, not in the timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    pub due_in_seconds: Option<i64>,
    pub taskid: Option<String>,
    /// The id of the `stall` fault rule holding it back.
    pub stalled_by: Option<i64>,
}

/// `GET /_mock/timeline`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Timeline {
    pub pending: Vec<PendingTransition>,
}

/// `PUT /_mock/users/{userid}/callback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallbackUrl {
    /// An `http(s)` URL with a host name; null or empty stops the member's
    /// callbacks.
    #[serde(default)]
    #[schema(schema_with = callback_url_schema)]
    pub url: Option<String>,
}

/// The answer to `PUT /_mock/users/{userid}/callback`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct CallbackSet {
    pub userid: String,
    pub url: Option<String>,
}

/// `POST /_mock/snapshots`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotName {
    /// Letters, digits, `-`, `_`, `.`; at most 64.
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub name: String,
}

/// A snapshot: its name and the simulated time it was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SnapshotInfo {
    pub name: String,
    pub taken_at: String,
}

/// `GET /_mock/snapshots`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Snapshots {
    pub snapshots: Vec<SnapshotInfo>,
}

/// `POST /_mock/snapshots/{name}/restore`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Restored {
    pub restored: String,
    pub clock: ClockView,
}

/// Any `DELETE` of one named thing (a snapshot, a namespace).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Deleted {
    pub deleted: String,
}

/// `DELETE /_mock/faults/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct FaultRemoved {
    pub removed: i64,
}

/// `GET /_mock/requests`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Requests {
    /// Journal entries, newest first (docs/contract.md lists their keys).
    pub requests: Vec<Value>,
    /// Oldest entries pushed out of the `--journal-size` ring.
    #[serde(default)]
    pub dropped: u64,
    /// Calls never recorded because the journal writer fell behind.
    #[serde(default)]
    pub overflowed: u64,
    /// The `before=` of the next, older page; null on the last.
    #[serde(default)]
    pub next_before: Option<u64>,
}

/// `POST /_mock/namespaces` and `PUT /_mock/namespaces/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNamespace {
    /// The new namespace's name; without it the server picks one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub name: Option<String>,
    /// The namespace to copy (its current state, or its snapshot below).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub from: Option<String>,
    /// A snapshot of `from` (or of `default` when `from` is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub from_snapshot: Option<String>,
}

/// `PUT /_mock/namespaces/{name}`: the name is the path's.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NamespaceSource {
    /// The namespace to copy (its current state, or its snapshot below).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub from: Option<String>,
    /// A snapshot of `from` (or of `default` when `from` is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
    pub from_snapshot: Option<String>,
}

/// A namespace just made: its name and clock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NamespaceMade {
    pub name: String,
    pub clock: ClockView,
}

/// `POST /_mock/call`: a signed `/api` call on a member's behalf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CallRequest {
    pub userid: String,
    /// An `/api` action name (one the engine does not know is its envelope
    /// refusal, as `/api` answers it); not blank.
    #[schema(pattern = r"\S")]
    pub action: String,
    #[serde(default)]
    pub params: serde_json::Map<String, Value>,
}

/// What `DELETE /_mock/faults` leaves.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct FaultsCleared {
    /// Always empty.
    pub faults: Vec<Value>,
}

/// What `DELETE /_mock/requests` leaves.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct RequestsCleared {
    /// Always empty.
    pub requests: Vec<Value>,
}

/// `PATCH /_mock/baremetal/{guid}`: the instance as `sync_baremetal`
/// shows it after the change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Forced)]
pub struct ForcedInstance {
    #[schema(value_type = Object)]
    pub baremetal: Value,
}

/// `POST /_mock/call`: how the `/api` call went.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct CallAnswer {
    /// The HTTP status `/api` answered (null: the connection was dropped).
    pub status: Option<u16>,
    /// Its `X-Mock-Error` reason.
    pub reason: Option<String>,
    /// The envelope (or the body as text when it is not JSON).
    pub answer: Value,
    /// Set when a `drop` fault closed the connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport_error: Option<String>,
}

/// `GET /_mock/instances`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InstanceList {
    /// Instance summaries, newest first.
    pub instances: Vec<InstanceSummary>,
    /// Instances matching the filter, all pages.
    pub total: i64,
    /// The engine's time.
    pub now: String,
}

/// A catalog record an instance refers to: its GUID and name (empty when
/// the catalog no longer has it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct NamedRecord {
    pub guid: String,
    pub name: String,
}

/// A state value's words: the engine's Chinese one and its English meaning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StateLabel {
    pub zh: String,
    pub en: String,
}

/// The words of an instance's three main state codes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StateLabels {
    pub order_status: StateLabel,
    pub run_status: StateLabel,
    pub act_status: StateLabel,
}

/// One instance as `GET /_mock/instances` lists it (and as the `instance`
/// of its detail).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InstanceSummary {
    pub guid: String,
    pub userid: String,
    pub name: String,
    pub zone: NamedRecord,
    pub line: NamedRecord,
    pub product: NamedRecord,
    pub system: NamedRecord,
    /// The default address; null when it has none.
    pub primary_ip: Option<String>,
    /// Live addresses.
    pub ip_count: usize,
    /// Subnets, live and released.
    pub subnet_count: usize,
    pub bandwidth: i64,
    pub defense: i64,
    /// The state codes as the engine writes them (digits as text).
    pub order_status: String,
    pub run_status: String,
    pub act_status: String,
    pub lock_status: String,
    pub labels: StateLabels,
    /// `YYYY-MM-DD HH:MM:SS`.
    pub start_time: String,
    pub end_time: String,
    /// Whole days until `end_time` (negative: past it); null once deleted.
    pub days_left: Option<i64>,
}

/// A subnet of an instance (the entries of one upgrade with a `network`
/// entry), live or released.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct SubnetView {
    /// `network/prefix`; null without a network entry or a readable mask.
    pub cidr: Option<String>,
    pub network: Option<String>,
    pub gateway: Option<String>,
    pub broadcast: Option<String>,
    pub mask: String,
    /// Addresses in it.
    pub size: usize,
    /// Its addresses' status code (digits as text).
    pub status: Option<String>,
    /// The upgrade record's value and order number (null when it is gone).
    pub value: Option<String>,
    pub order_no_api: Option<String>,
}

/// `GET /_mock/instances/{guid}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct InstanceDetail {
    pub instance: InstanceSummary,
    /// The instance as `sync_baremetal` shows it.
    #[schema(value_type = Object)]
    pub baremetal: Value,
    pub subnets: Vec<SubnetView>,
    pub pending: Vec<PendingTransition>,
    pub now: String,
}

/// `GET /_mock/catalog`: each record as the engine's catalog calls serve it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[schema(as = Catalog)]
pub struct CatalogView {
    #[schema(value_type = Vec<Object>)]
    pub zones: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub lines: Vec<Value>,
    /// With the mock's own `stock_total` and `stock_free`.
    #[schema(value_type = Vec<Object>)]
    pub products: Vec<Value>,
    #[schema(value_type = Vec<Object>)]
    pub systems: Vec<Value>,
}

/// One member and its callback URL (never its key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct User {
    pub userid: String,
    pub callback_url: Option<String>,
}

/// `GET /_mock/users`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Users {
    pub users: Vec<User>,
}

/// The control API's error body (with a 4xx status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ControlErrorBody {
    /// A stable reason (docs/fidelity.md lists them); also in `X-Mock-Error`.
    pub error: String,
    /// What went wrong, for a person.
    pub message: String,
}

/// What `PUT /_mock/users/{userid}/callback` accepts as a URL: `http` or
/// `https`, a host name (its last label starts with a letter), an optional
/// port, then any printable ASCII.
pub const CALLBACK_URL_PATTERN: &str =
    r"^https?://(?:[A-Za-z0-9-]+\.)*[A-Za-z][A-Za-z0-9-]*(?::[0-9]{1,4})?(?:[/?#][!-~]*)?$";

fn callback_url_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(CALLBACK_URL_PATTERN)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0)),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .build()
        .into()
}

/// A whole number as the control API reads it (`protocol/whole.rs`): a
/// JSON integer in `min..=max` (30.0 is one), or its digits as text
/// (`text`, blanks around it allowed). Each field's range and text form
/// are written once, here, for the OpenAPI document.
fn whole_schema(min: i64, max: i64, text: &str) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(min))
                .maximum(Some(max)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(format!(r"^\s*(?:{text})\s*$"))),
        )
        .build()
        .into()
}

/// A count (`after`, `times`, `since`, `limit`): 0 or more.
pub fn count_schema() -> utoipa::openapi::schema::Schema {
    whole_schema(0, i64::MAX, "-0+|[0-9]{1,18}")
}

/// An optional count (`times`): null is not given.
pub fn optional_count_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    let mut schema = count_schema();
    if let Schema::OneOf(one_of) = &mut schema {
        one_of
            .items
            .push(ObjectBuilder::new().schema_type(Type::Null).into());
    }
    schema
}

/// A fault's delay in milliseconds: at most a minute (null: not given).
pub fn ms_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    let mut schema = whole_schema(0, 60_000, "0*(?:[0-9]{1,4}|[1-5][0-9]{4}|60000)");
    if let Schema::OneOf(one_of) = &mut schema {
        one_of
            .items
            .push(ObjectBuilder::new().schema_type(Type::Null).into());
    }
    schema
}

/// A whole-number query parameter in `min..=max`; given empty, it is no
/// filter (`admin/input.rs`).
pub fn query_whole_schema(min: i64, max: i64) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
    let text = match (min, max) {
        (0, i64::MAX) => "-0+|[0-9]{1,18}".to_string(),
        (1, 5000) => "0*(?:[1-9][0-9]{0,2}|[1-4][0-9]{3}|5000)".to_string(),
        _ => "-?[0-9]{1,18}".to_string(),
    };
    let mut schema = whole_schema(min, max, &text);
    if let Schema::OneOf(one_of) = &mut schema {
        one_of.items.push(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .max_length(Some(0))
                .into(),
        );
    }
    schema
}

/// A count in a query: 0 or more, or empty.
pub fn query_count_schema() -> utoipa::openapi::schema::Schema {
    query_whole_schema(0, i64::MAX)
}

/// Any whole number in a query (a code, a state), or empty.
pub fn query_int_schema() -> utoipa::openapi::schema::Schema {
    query_whole_schema(i64::MIN, i64::MAX)
}

/// A page size of `GET /_mock/instances`: 1 to 5000, or empty.
pub fn query_limit_schema() -> utoipa::openapi::schema::Schema {
    query_whole_schema(1, 5000)
}

/// An `http` fault's status.
pub fn status_schema() -> utoipa::openapi::schema::Schema {
    whole_schema(100, 599, "0*[1-5][0-9]{2}")
}

/// An `error` fault's envelope code: anything but 0 (success).
pub fn error_code_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(i64::MIN))
                .maximum(Some(i64::MAX))
                .description(Some("not 0")),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(r"^\s*-?0*[1-9][0-9]{0,17}\s*$")),
        )
        .build()
        .into()
}

/// A string of [`TIME_PATTERN`].
pub fn time_schema() -> utoipa::openapi::schema::Object {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(TIME_PATTERN))
        .description(Some("YYYY-MM-DD HH:MM:SS in the engine's zone"))
        .build()
}

fn seconds_schema() -> utoipa::openapi::schema::Schema {
    whole_schema(0, MAX_ADVANCE_SECONDS, "0*[0-9]{1,9}")
}
