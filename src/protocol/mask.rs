//! Secrets in params: which fields hold one (by name, at any depth, also
//! inside a JSON string in a form field) and a serializer that writes the
//! params with each shown as [`KEY_MASK`]. The journal and the sign
//! diagnostics show requests only through this.

use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::{Map, Value};

/// What a secret (a key, a password) is replaced with wherever it is shown.
pub const KEY_MASK: &str = "***";

/// Which field names hold a secret: the one rule, as data, so that the
/// dashboard applies it too (it is embedded in the page, `ui/`). A name is
/// folded first (the `ignored` characters dropped, ASCII lowercased), then
/// it is a secret when it contains one of `contains`, equals one of
/// `equals` or ends with one of `ends_with`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct SecretRule {
    pub ignored: &'static str,
    pub contains: &'static [&'static str],
    pub equals: &'static [&'static str],
    pub ends_with: &'static [&'static str],
    /// What a secret is shown as.
    pub mask: &'static str,
}

/// `loginPassword`, `login_password`, `newPassword`, `api_key`, `apiKey`,
/// `key`, `secret`… are secrets; `sign` is not: it is a one-way hash, and
/// showing it is how a client finds a signing mistake.
pub const SECRET_RULE: SecretRule = SecretRule {
    ignored: "_-",
    contains: &["password", "passwd", "secret"],
    equals: &["key"],
    ends_with: &["apikey"],
    mask: KEY_MASK,
};

impl SecretRule {
    pub fn matches(&self, name: &str) -> bool {
        let folded: String = name
            .chars()
            .filter(|c| !self.ignored.contains(*c))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        self.contains.iter().any(|w| folded.contains(w))
            || self.equals.iter().any(|w| folded == *w)
            || self.ends_with.iter().any(|w| folded.ends_with(w))
    }
}

/// Whether a field holds a secret, by its name, at any depth of the params
/// ([`SECRET_RULE`]).
pub fn is_secret(name: &str) -> bool {
    SECRET_RULE.matches(name)
}

/// Serialises params with every secret shown as `***`, at any depth,
/// without copying them.
pub struct Masked<'a>(pub &'a Map<String, Value>);

impl Serialize for Masked<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            if is_secret(k) {
                map.serialize_entry(k, KEY_MASK)?;
            } else {
                map.serialize_entry(k, &MaskedValue(v))?;
            }
        }
        map.end()
    }
}

/// One value of the params, masked the same way all the way down.
struct MaskedValue<'a>(&'a Value);

impl Serialize for MaskedValue<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Object(map) => Masked(map).serialize(serializer),
            Value::Array(items) => serializer.collect_seq(items.iter().map(MaskedValue)),
            Value::String(text) => match masked_json_text(text) {
                Some(masked) => serializer.serialize_str(&masked),
                None => serializer.serialize_str(text),
            },
            other => other.serialize(serializer),
        }
    }
}

/// A nested field may arrive as a JSON string inside a form field
/// (`param=[{"item":…,"loginPassword":…}]`): when a string is a JSON array
/// or object holding a secret, the masked JSON text; otherwise `None`.
fn masked_json_text(text: &str) -> Option<String> {
    if !matches!(text.trim_start().as_bytes().first(), Some(b'[' | b'{')) {
        return None;
    }
    let value: Value = serde_json::from_str(text).ok()?;
    if !holds_secret(&value) {
        return None;
    }
    serde_json::to_string(&MaskedValue(&value)).ok()
}

fn holds_secret(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.iter().any(|(k, v)| is_secret(k) || holds_secret(v)),
        Value::Array(items) => items.iter().any(holds_secret),
        Value::String(text) => masked_json_text(text).is_some(),
        _ => false,
    }
}
