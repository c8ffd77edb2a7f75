//! The control API's path parameters, typed: one small struct per shape
//! of path, read by axum's `Path` under the field names the routes in
//! `mod.rs` give them (`{ns}`, `{guid}`, `{userid}`, `{snapshot}`,
//! `{id}`, `{target}`), so a handler names a field, never a string. A
//! parameter that is not UTF-8 is refused in the control API's JSON like
//! every other control error, never axum's plain-text 400: under
//! `/ns/{ns}/_mock` an undecodable namespace is a bad name like any other;
//! elsewhere it is a bad path.

use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequestParts, OriginalUri, Path};
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::AdminError;
use crate::protocol::Reason;

/// A set of path parameters, with what a parameter that is UTF-8 but does
/// not read as `Self` is refused with.
pub trait PathParams: DeserializeOwned + Send {
    /// Parameter `key` is not UTF-8.
    fn not_utf8(parts: &Parts, key: &str) -> AdminError {
        undecodable(parts, key)
    }

    /// Only a number can fail so; the strings take any UTF-8.
    fn unreadable() -> AdminError {
        AdminError::bad_request(Reason::BadPath, "the path's parameters do not read")
    }
}

/// Typed path parameters (axum's [`Path`]), refused as [`PathParams`] says.
pub struct ControlPath<T>(pub T);

impl<T: PathParams, S: Send + Sync> FromRequestParts<S> for ControlPath<T> {
    type Rejection = AdminError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AdminError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(params)) => Ok(ControlPath(params)),
            Err(e) => Err(refused::<T>(parts, e)),
        }
    }
}

fn refused<T: PathParams>(parts: &Parts, e: PathRejection) -> AdminError {
    use axum::extract::path::ErrorKind;
    match e {
        PathRejection::FailedToDeserializePathParams(e) => match e.into_kind() {
            ErrorKind::InvalidUtf8InPathParam { key } => T::not_utf8(parts, &key),
            _ => T::unreadable(),
        },
        other => AdminError::internal(other),
    }
}

/// The request's whole path: nested routers see it without their prefix.
fn original_path(parts: &Parts) -> String {
    parts
        .extensions
        .get::<OriginalUri>()
        .map_or_else(|| parts.uri.path().to_string(), |o| o.0.path().to_string())
}

/// A path parameter `key` that is not UTF-8.
fn undecodable(parts: &Parts, key: &str) -> AdminError {
    let path = original_path(parts);
    if path.starts_with("/ns/")
        && std::str::from_utf8(
            &percent_encoding::percent_decode_str(path.split('/').nth(2).unwrap_or_default())
                .collect::<Vec<u8>>(),
        )
        .is_err()
    {
        return AdminError::from(crate::api::undecodable_namespace(&path, 2));
    }
    AdminError::bad_request(
        Reason::BadPath,
        format!("Invalid UTF-8 in `{key}`: path parameters must be UTF-8"),
    )
}

/// The namespace of `/ns/{ns}/_mock/…`; none under `/_mock/…`.
#[derive(Debug, Deserialize)]
pub struct NamespaceParam {
    pub ns: Option<String>,
}

impl PathParams for NamespaceParam {}

/// `/instances/{guid}`, `/baremetal/{guid}`.
#[derive(Debug, Deserialize)]
pub struct GuidParam {
    pub guid: String,
}

impl PathParams for GuidParam {}

/// `/users/{userid}/callback`.
#[derive(Debug, Deserialize)]
pub struct UserParam {
    pub userid: String,
}

impl PathParams for UserParam {}

/// `/snapshots/{snapshot}`, `/snapshots/{snapshot}/restore`.
#[derive(Debug, Deserialize)]
pub struct SnapshotParam {
    pub snapshot: String,
}

impl PathParams for SnapshotParam {}

/// `/faults/{id}`.
#[derive(Debug, Deserialize)]
pub struct FaultIdParam {
    pub id: i64,
}

impl PathParams for FaultIdParam {
    /// Not a number (or past `i64`): no rule has that id.
    fn unreadable() -> AdminError {
        AdminError::from(crate::engine::HandleError::UnknownFault)
    }
}

/// `/_mock/namespaces/{target}`.
#[derive(Debug, Deserialize)]
pub struct TargetParam {
    pub target: String,
}

impl PathParams for TargetParam {
    /// A name no namespace can have, refused as `/api` and
    /// `/ns/{name}/_mock` refuse it (`/_mock/namespaces/{target}`: segment 3).
    fn not_utf8(parts: &Parts, _key: &str) -> AdminError {
        AdminError::from(crate::api::undecodable_namespace(&original_path(parts), 3))
    }
}
