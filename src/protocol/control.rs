//! The control API's (`/_mock/…`) request and answer types: what the
//! server writes and what every Rust client (`ControlClient`, hence
//! `MockEngine`, the scenario runner and the CLI) reads, in one place. No
//! HTTP here; the paths and statuses are the edge's.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use serde_json::Value;

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
}

/// `POST /_mock/reset`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ResetDone {
    /// Always `reset`.
    pub status: String,
    pub clock: ClockView,
}

/// `POST /_mock/clock/advance`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Advance {
    /// Whole seconds, 0 to a hundred years (a JSON number, or its text).
    pub seconds: Value,
}

/// `POST /_mock/clock/set`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetClock {
    /// `YYYY-MM-DD HH:MM:SS` in the engine's zone, not before the clock's now.
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
    /// Seconds from the clock's now until it is due (negative: overdue, stalled).
    pub due_in_seconds: i64,
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
    /// An `http(s)` URL; null or empty stops the member's callbacks.
    #[serde(default)]
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
}

/// `POST /_mock/namespaces` and `PUT /_mock/namespaces/{name}`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNamespace {
    /// The new namespace's name; without it the server picks one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The namespace to copy (its current state, or its snapshot below).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// A snapshot of `from` (or of `default` when `from` is absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
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
    pub action: String,
    #[serde(default)]
    pub params: serde_json::Map<String, Value>,
}

/// The control API's error body (with a 4xx status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ControlErrorBody {
    /// A stable reason (docs/fidelity.md lists them); also in `X-Mock-Error`.
    pub error: String,
    /// What went wrong, for a person.
    pub message: String,
}
