//! The decoded request: a JSON object whatever the wire encoding was, with
//! the limits a decoder applies to it. Decoding itself (forms, multipart,
//! JSON bodies) is the HTTP edge's (`api/decode.rs`).

use serde_json::{Map, Value};

use super::refusal::Refusal;

/// Limits applied while decoding one body.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_fields: usize,
    pub max_depth: usize,
    pub max_value_len: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_fields: 1000,
            max_depth: 32,
            max_value_len: 64 * 1024,
        }
    }
}

/// The decoded request: a JSON object whatever the wire encoding was.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(pub Map<String, Value>);

impl Params {
    /// A scalar field as text: strings as they are, numbers and booleans
    /// written out (a JSON body may send `"time":1629256049`).
    pub fn str(&self, key: &str) -> Option<String> {
        scalar_text(self.0.get(key)?)
    }

    /// Like [`Params::str`] but an absent or empty field is an error.
    pub fn required(&self, key: &str) -> Result<String, Refusal> {
        match self.str(key) {
            Some(v) if !v.trim().is_empty() => Ok(v.trim().to_string()),
            _ => Err(Refusal::missing(key)),
        }
    }

    /// A nested field (array or object). It may arrive as form brackets, as
    /// JSON in a JSON body, or as a JSON string inside a form field.
    pub fn nested(&self, key: &str) -> Result<Option<Value>, Refusal> {
        match self.0.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            // What PHP's curl sends for a nested array in an array
            // CURLOPT_POSTFIELDS (multipart): the word, with a notice.
            Some(Value::String(s)) if s == "Array" => Err(Refusal::bad_param(
                key,
                format!(
                    "收到字符串 \"Array\"：PHP 的 curl 不能以 multipart 发送嵌套数组，\
                     请把 {key} 展开为 {key}[0][item]、{key}[0][value] 这样的字段名"
                ),
            )),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(v @ (Value::Array(_) | Value::Object(_))) => Ok(Some(v)),
                _ => Err(Refusal::bad_param(key, "应为数组或 JSON 数组字符串")),
            },
            Some(v @ (Value::Array(_) | Value::Object(_))) => Ok(Some(v.clone())),
            Some(_) => Err(Refusal::bad_param(key, "应为数组")),
        }
    }

    pub fn insert(&mut self, key: &str, value: impl Into<Value>) {
        self.0.insert(key.to_string(), value.into());
    }
}

/// Text of a scalar JSON value; `None` for arrays, objects and null.
pub fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "1" } else { "0" }.to_string()),
        _ => None,
    }
}

/// The common fields a signed call carries besides its own parameters.
pub const COMMON_FIELDS: [&str; 8] = [
    "module",
    "action",
    "userid",
    "time",
    "sign",
    "version",
    "system_type",
    "vtime",
];
