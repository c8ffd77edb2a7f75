//! Redaction of an engine's answers before `drift` or `seed pull` prints or
//! writes anything: which fields are redacted, and placeholders that keep
//! each value's shape class, so that a redacted recording still compares
//! exactly as the answer did.

use quick_xml::events::{BytesText, Event};
use quick_xml::{Reader, Writer};
use serde_json::Value;

use crate::protocol::mask::{self, KEY_MASK};

/// Whether a field of an answer is redacted: every secret the journal
/// masks (keys, passwords, by `mask::is_secret`), `sign`, the `ipmi_*`
/// credentials (every `ipmi_` field but the line's `ipmi_server_id`, an id),
/// `ssh_public_key`, the end customer's `auth_*` fields and `client_user_id`.
pub fn is_redacted(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    mask::is_secret(name)
        || lower == "sign"
        || (lower.starts_with("ipmi_") && lower != "ipmi_server_id")
        || lower == "ssh_public_key"
        || lower.starts_with("auth_")
        || lower == "client_user_id"
        || lower == "clientuserid"
}

/// Redacts `value` in place, at any depth.
pub fn redact(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if is_redacted(k) {
                    placeholder(v);
                } else {
                    redact(v);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

/// Replaces every leaf of `value` with a placeholder of the same class:
/// `null` stays `null` and `""` stays `""` (their difference is what drift
/// looks for), a number becomes 0, a numeric string `"0"`, any other
/// string `"***"`, a bool `false`.
fn placeholder(value: &mut Value) {
    match value {
        Value::Null => {}
        Value::Bool(b) => *b = false,
        Value::Number(n) => *n = 0.into(),
        Value::String(s) if s.is_empty() => {}
        Value::String(s) if is_numeric(s) => *s = "0".into(),
        Value::String(s) => *s = KEY_MASK.into(),
        Value::Array(items) => items.iter_mut().for_each(placeholder),
        Value::Object(map) => map.values_mut().for_each(placeholder),
    }
}

/// A string a PHP client would read as a number: `"5"`, `"-1"`, `"0.50"`.
pub fn is_numeric(text: &str) -> bool {
    let t = text.strip_prefix('-').unwrap_or(text);
    let mut parts = t.splitn(2, '.');
    let whole = parts.next().unwrap_or("");
    let frac = parts.next();
    !whole.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
}

/// `text` with every literal occurrence of a secret (the API key given on
/// the command line) replaced: a last guard for an engine that echoes it
/// where no field name says so.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for secret in secrets.iter().filter(|s| s.len() >= 4) {
        out = out.replace(secret.as_str(), KEY_MASK);
    }
    out
}

/// An XML answer with the text of every redacted element replaced by
/// `***` (empty elements stay empty). XML that cannot be read is not shown
/// at all: a placeholder says how long it was.
pub fn redact_xml(text: &str) -> String {
    redact_xml_events(text).unwrap_or_else(|| {
        format!(
            "(an answer of {} bytes that is neither JSON nor readable XML; not shown)",
            text.len()
        )
    })
}

fn redact_xml_events(text: &str) -> Option<String> {
    let mut reader = Reader::from_str(text);
    let mut writer = Writer::new(Vec::new());
    // For each open element: whether its text is redacted (inherited), and
    // whether its one `***` is written (text arrives in pieces around
    // entity references, and each piece is the secret's).
    let mut stack: Vec<(bool, bool)> = Vec::new();
    loop {
        let event = reader.read_event().ok()?;
        let redacted = stack.last().is_some_and(|(r, _)| *r);
        match event {
            Event::Eof => break,
            Event::Start(start) => {
                let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
                stack.push((redacted || is_redacted(&name), false));
                writer.write_event(Event::Start(start)).ok()?;
            }
            Event::End(end) => {
                stack.pop();
                writer.write_event(Event::End(end)).ok()?;
            }
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if redacted => {
                if let Some(top) = stack.last_mut().filter(|(_, written)| !written) {
                    top.1 = true;
                    writer
                        .write_event(Event::Text(BytesText::new(KEY_MASK)))
                        .ok()?;
                }
            }
            other => writer.write_event(other).ok()?,
        }
    }
    String::from_utf8(writer.into_inner()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn redacted_names() {
        for name in [
            "key",
            "api_key",
            "sign",
            "login_password",
            "loginPassword",
            "ipmi_user",
            "ipmi_pass",
            "ipmi_ip",
            "ssh_public_key",
            "auth_name",
            "auth_idnum",
            "client_user_id",
            "clientUserId",
        ] {
            assert!(is_redacted(name), "{name}");
        }
        for name in ["guid", "ipmi_server_id", "login_name", "name", "status"] {
            assert!(!is_redacted(name), "{name}");
        }
    }

    #[test]
    fn placeholders_keep_the_class() {
        let mut v = json!({
            "login_password": "b86sWRX/2ibpVbKnf0w+LQ==",
            "client_user_id": 1601638,
            "auth_mobile": "13700000000",
            "ipmi_user": null,
            "ipmi_pass": "",
            "ssh_public_key": ["ssh-rsa AAAA"],
            "nested": [{"sign": "abc", "guid": "1708"}],
        });
        redact(&mut v);
        assert_eq!(
            v,
            json!({
                "login_password": "***",
                "client_user_id": 0,
                "auth_mobile": "0",
                "ipmi_user": null,
                "ipmi_pass": "",
                "ssh_public_key": ["***"],
                "nested": [{"sign": "***", "guid": "1708"}],
            })
        );
    }

    #[test]
    fn numeric_strings() {
        for yes in ["0", "5", "-1", "0.500", "10.00"] {
            assert!(is_numeric(yes), "{yes}");
        }
        for no in ["", "-", "1.", ".5", "1,8", "abc", "1e3", " 1"] {
            assert!(!is_numeric(no), "{no}");
        }
    }

    #[test]
    fn xml_text_of_redacted_elements() {
        let xml = "<?xml version=\"1.0\"?><response><data><login_password>s3&amp;c&#114;et</login_password>\
                   <ipmi_user></ipmi_user><auth_name><item>a1</item><item>b2</item></auth_name>\
                   <name>x&amp;y</name></data></response>";
        let out = redact_xml(xml);
        for part in ["s3", "&amp;c", "&#114;", "et<", "a1", "b2"] {
            assert!(!out.contains(part), "{part} in {out}");
        }
        assert!(
            out.contains("<auth_name><item>***</item><item>***</item></auth_name>"),
            "{out}"
        );
        assert!(out.contains("<name>x&amp;y</name>"), "{out}");
        assert!(
            out.contains("<login_password>***</login_password>"),
            "{out}"
        );
        assert!(out.contains("<ipmi_user></ipmi_user>"), "{out}");
        assert!(redact_xml("<a></b>").contains("not shown"));
    }

    #[test]
    fn scrubs_the_key() {
        assert_eq!(
            scrub("a my-key-1 b", &["my-key-1".into()]),
            "a *** b".to_string()
        );
    }
}
