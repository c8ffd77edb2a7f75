//! What a scenario remembers between steps — captured values and the
//! answers of steps named with `id:` — and `${…}` interpolation of them
//! into later steps.
//!
//! `${guid}` is a captured value; `${create.data[0].guid}` reads a path in
//! the answer of the step with `id: create` (or inside a captured value).
//! A string that is exactly one `${…}` becomes the value itself, keeping
//! its JSON type; inside a longer string a value is spliced in as text
//! (strings as they are, anything else as compact JSON). `$${` writes a
//! literal `${`.

use indexmap::IndexMap;
use serde_json::Value;

use super::matcher::{lookup, parse_path, render_path, Segment};

/// Named values: captures and step answers share one namespace; a later
/// name replaces an earlier one.
#[derive(Debug, Default, Clone)]
pub struct Scope {
    values: IndexMap<String, Value>,
}

impl Scope {
    pub fn new() -> Scope {
        Scope::default()
    }

    pub fn set(&mut self, name: &str, value: Value) {
        self.values.insert(name.to_string(), value);
    }

    #[cfg(test)]
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.values.get(name)
    }

    /// The value of one `${…}` expression: a name, then an optional path.
    pub fn resolve(&self, expr: &str) -> Result<Value, String> {
        let expr = expr.trim();
        let segments = parse_path(expr).map_err(|e| format!("in ${{{expr}}}: {e}"))?;
        let Some((Segment::Key(name), rest)) = segments.split_first() else {
            return Err(format!("${{{expr}}} must start with a name"));
        };
        let Some(root) = self.values.get(name) else {
            let known: Vec<&str> = self.values.keys().map(String::as_str).collect();
            return Err(format!(
                "${{{expr}}}: nothing is named {name:?} (known: {})",
                if known.is_empty() {
                    "none yet".to_string()
                } else {
                    known.join(", ")
                }
            ));
        };
        lookup(root, rest)
            .cloned()
            .ok_or_else(|| format!("${{{expr}}}: {name:?} has nothing at {}", render_path(rest)))
    }

    /// Interpolates one string.
    pub fn interpolate_str(&self, text: &str) -> Result<Value, String> {
        if let Some(inner) = whole_placeholder(text) {
            return self.resolve(inner);
        }
        let mut out = String::new();
        let mut rest = text;
        while let Some(at) = rest.find('$') {
            out.push_str(&rest[..at]);
            let tail = &rest[at..];
            if let Some(after) = tail.strip_prefix("$${") {
                out.push_str("${");
                rest = after;
            } else if let Some(after) = tail.strip_prefix("${") {
                let close = after
                    .find('}')
                    .ok_or_else(|| format!("unclosed ${{ in {text:?}"))?;
                match self.resolve(&after[..close])? {
                    Value::String(s) => out.push_str(&s),
                    other => out.push_str(&other.to_string()),
                }
                rest = &after[close + 1..];
            } else {
                out.push('$');
                rest = &tail[1..];
            }
        }
        out.push_str(rest);
        Ok(Value::String(out))
    }

    /// Interpolates a string that must stay a string (paths, names).
    pub fn interpolate_text(&self, text: &str) -> Result<String, String> {
        Ok(match self.interpolate_str(text)? {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }

    /// Interpolates every string inside a JSON value (keys stay as written).
    pub fn interpolate(&self, value: &Value) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => self.interpolate_str(s)?,
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.interpolate(v))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => {
                let mut out = serde_json::Map::new();
                for (k, v) in map {
                    out.insert(k.clone(), self.interpolate(v)?);
                }
                Value::Object(out)
            }
            other => other.clone(),
        })
    }
}

/// `Some("expr")` when `text` is exactly `${expr}`.
fn whole_placeholder(text: &str) -> Option<&str> {
    let inner = text.strip_prefix("${")?.strip_suffix('}')?;
    (!inner.contains('}') && !inner.contains("${")).then_some(inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scope() -> Scope {
        let mut s = Scope::new();
        s.set("guid", json!("1708330228791024"));
        s.set("count", json!(3));
        s.set(
            "create",
            json!({"code": 0, "data": [{"guid": "42", "ip": [{"ip": "10.0.0.1"}]}]}),
        );
        s
    }

    fn check(input: Value, expected: Value) {
        assert_eq!(scope().interpolate(&input), Ok(expected), "{input}");
    }

    #[test]
    fn text_interpolation_stays_text() {
        let scope = scope();
        assert_eq!(
            scope.interpolate_text("/_mock/baremetal/${guid}"),
            Ok("/_mock/baremetal/1708330228791024".to_string())
        );
        // A whole-value number is written as its text.
        assert_eq!(scope.interpolate_text("${count}"), Ok("3".to_string()));
        assert!(scope.interpolate_text("${nobody}").is_err());
    }

    #[test]
    fn only_a_single_placeholder_is_a_whole_value() {
        // A brace after the placeholder makes it text, not a lookup of
        // "count}x".
        check(json!("${count}x}"), json!("3x}"));
        check(json!("${count}${count}"), json!("33"));
        check(json!("${count}"), json!(3));
    }

    #[test]
    fn get_returns_what_was_set() {
        let mut scope = Scope::new();
        assert_eq!(scope.get("guid"), None);
        scope.set("guid", json!("g1"));
        assert_eq!(scope.get("guid"), Some(&json!("g1")));
        assert_eq!(scope.get("other"), None);
    }

    #[test]
    fn whole_strings_keep_their_type() {
        check(json!("${guid}"), json!("1708330228791024"));
        check(json!("${count}"), json!(3));
        check(json!("${create.data[0].guid}"), json!("42"));
        check(
            json!("${create.data}"),
            json!([{"guid": "42", "ip": [{"ip": "10.0.0.1"}]}]),
        );
        check(json!("${ create.code }"), json!(0));
    }

    #[test]
    fn spliced_into_text() {
        check(
            json!("/_mock/baremetal/${guid}"),
            json!("/_mock/baremetal/1708330228791024"),
        );
        check(json!("${count}x${count}"), json!("3x3"));
        check(
            json!("ip ${create.data[0].ip[-1].ip}!"),
            json!("ip 10.0.0.1!"),
        );
        check(
            json!("cost $5 and $${literal}"),
            json!("cost $5 and ${literal}"),
        );
        check(json!("$${guid}"), json!("${guid}"));
        check(json!("no placeholders"), json!("no placeholders"));
    }

    #[test]
    fn nested_values() {
        check(
            json!({"guid": "${guid}", "param": [{"item": "ip", "value": ["${create.data[0].ip[0].ip}"]}], "n": 5}),
            json!({"guid": "1708330228791024", "param": [{"item": "ip", "value": ["10.0.0.1"]}], "n": 5}),
        );
    }

    #[test]
    fn errors_name_the_problem() {
        let s = scope();
        let err = |text: &str| match s.interpolate_str(text) {
            Err(e) => e,
            Ok(v) => panic!("{text} gave {v}"),
        };
        assert!(err("${nope}").contains("nothing is named \"nope\""));
        assert!(err("${nope}").contains("known: guid, count, create"));
        assert!(err("x ${create.data[3].guid}").contains("has nothing at data[3].guid"));
        assert!(err("${guid").contains("unclosed"));
        assert!(err("${[0]}").contains("must start with a name"));
        assert!(err("${a..b}").contains("bad path"));
        assert_eq!(
            Scope::new()
                .resolve("x")
                .map_err(|e| e.contains("none yet")),
            Err(true)
        );
    }
}
