//! How the control API reads what a client sends, in one place for every
//! call: a body is a JSON object (an empty body and `[]`, which PHP's
//! `json_encode([])` writes, are `{}`), a query string's empty value is no
//! filter, and a whole number is read by [`crate::protocol::whole`]. Every
//! refusal names the field (serde_path_to_error) in the control API's JSON
//! error.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::AdminError;
use crate::protocol::whole::{self, Whole};
use crate::protocol::Reason;
use crate::server::body::{read_body, show_duration, BodyError};

/// The largest control body: every documented body is a few hundred bytes;
/// this is axum's default, now answered in the control API's own JSON.
pub const MAX_CONTROL_BODY: usize = 2 << 20;

/// A control call's raw body, read under [`MAX_CONTROL_BODY`] and the
/// body time-out. Too large, late or broken, it is the control API's JSON
/// error (413, 408, 400), not axum's plain-text one.
pub struct ControlBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for ControlBody {
    type Rejection = AdminError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, AdminError> {
        let e = match read_body(request, MAX_CONTROL_BODY).await {
            Ok(bytes) => return Ok(ControlBody(bytes)),
            Err(e) => e,
        };
        let (status, reason) = e.status_and_reason();
        let message = match e {
            BodyError::TooLarge { limit } => format!("a control body is at most {limit} bytes"),
            BodyError::TimedOut { after } => format!(
                "the body did not arrive within {} (--body-timeout)",
                show_duration(after)
            ),
            BodyError::Broken(why) => format!("the body's transfer is broken: {why}"),
        };
        Err(AdminError::new(status, reason, message))
    }
}

/// Parses a JSON body; an empty body and an empty array are `{}`. Only an
/// object is a control body: serde would read `[86400]` as a struct's
/// fields in order, so a non-empty array (or any other JSON value) is
/// refused before the fields are read, and the structs refuse unknown
/// fields, so a typo is named, not ignored.
pub fn body<T: DeserializeOwned>(bytes: &ControlBody) -> Result<T, AdminError> {
    let bytes = &bytes.0;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return from_object(Map::new());
    }
    let value: Value = serde_json::from_slice(bytes)
        .map_err(|e| AdminError::bad_request(Reason::BadJson, format!("invalid JSON body: {e}")))?;
    match value {
        Value::Object(map) => from_object(map),
        // PHP's json_encode([]) writes `[]`: an empty PHP array is as
        // likely a map as a list, so it is the empty object here.
        Value::Array(list) if list.is_empty() => from_object(Map::new()),
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
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        AdminError::bad_request(Reason::BadJson, format!("invalid body: {}", describe(&e)))
    })
}

/// `effect.ms: …`: the path to the field, then what is wrong with it. An
/// unknown field's path ends in the field itself, which the message names
/// already: it is said once.
fn describe(e: &serde_path_to_error::Error<serde_json::Error>) -> String {
    let path = e.path().to_string();
    let inner = e.inner().to_string();
    let (parent, last) = match path.rsplit_once('.') {
        Some((parent, last)) => (Some(parent), last),
        None => (None, path.as_str()),
    };
    let path = if inner.contains(&format!("`{last}`")) {
        parent
    } else {
        Some(path.as_str()).filter(|p| *p != ".")
    };
    match path {
        Some(path) => format!("{path}: {inner}"),
        None => inner,
    }
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

/// Parses a query string into `T` (whose fields are all optional). A
/// parameter given empty (`?userid=&order_status=`, as a form template
/// sends it) is absent: no filter. It still has to be a known one, and a
/// parameter given twice is refused, since either value could be meant.
pub fn query<T: DeserializeOwned>(raw: Option<&str>) -> Result<T, AdminError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or_default())
        .map_err(|e| AdminError::bad_request(Reason::BadQuery, format!("malformed query: {e}")))?;
    let mut map = Map::new();
    for (key, value) in pairs {
        let value = match value.is_empty() {
            true => Value::Null,
            false => Value::String(value),
        };
        if map.insert(key.clone(), value).is_some() {
            return Err(AdminError::bad_request(
                Reason::BadQuery,
                format!("{key} is given twice; give it once"),
            ));
        }
    }
    serde_path_to_error::deserialize(Value::Object(map)).map_err(|e| {
        AdminError::bad_request(Reason::BadQuery, format!("invalid query: {}", describe(&e)))
    })
}

/// A whole number given as a loose JSON value (a forced state field), read
/// as every other control field is; the error names `field`.
pub fn whole_value<T: Whole>(field: &str, value: &Value) -> Result<T, String> {
    whole::int(value).map_err(|e| format!("{field}: {e}"))
}
