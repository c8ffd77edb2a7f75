//! JSON paths (`data[0].guid`) and the subset match scenario expectations
//! use: every key and array element the expectation gives must match; keys
//! and elements it leaves out are not checked.

use serde_json::Value;

/// One step of a path: an object key or an array index (negative counts
/// from the end, so `[-1]` is the last element).
#[derive(Debug, Clone, PartialEq)]
pub enum Segment {
    Key(String),
    Index(i64),
}

/// Parses `data[0].ip[-1].ip`, `data.order_no_api`, `[2]` or `` (the root).
pub fn parse_path(text: &str) -> Result<Vec<Segment>, String> {
    let bad = |why: &str| format!("bad path {text:?}: {why}");
    let mut out = Vec::new();
    let mut rest = text.trim();
    let mut first = true;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('[') {
            let close = after.find(']').ok_or_else(|| bad("`[` without `]`"))?;
            let index: i64 = after[..close]
                .trim()
                .parse()
                .map_err(|_| bad("an index must be a whole number"))?;
            out.push(Segment::Index(index));
            rest = &after[close + 1..];
        } else {
            if !first {
                rest = rest
                    .strip_prefix('.')
                    .ok_or_else(|| bad("expected `.` or `[` between parts"))?;
            }
            let end = rest.find(['.', '[', ']']).unwrap_or(rest.len());
            if end == 0 {
                return Err(bad("empty key"));
            }
            out.push(Segment::Key(rest[..end].to_string()));
            rest = &rest[end..];
        }
        first = false;
    }
    Ok(out)
}

/// Writes a path back in the form `parse_path` reads.
pub fn render_path(segments: &[Segment]) -> String {
    let mut out = String::new();
    for s in segments {
        match s {
            Segment::Key(k) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(k);
            }
            Segment::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

fn array_index(len: usize, index: i64) -> Option<usize> {
    let i = if index < 0 { len as i64 + index } else { index };
    (0..len as i64).contains(&i).then_some(i as usize)
}

/// The value at `segments`, if there is one. A numeric key also indexes
/// an array (`data.0.guid` reads like `data[0].guid`).
pub fn lookup<'v>(root: &'v Value, segments: &[Segment]) -> Option<&'v Value> {
    let mut cur = root;
    for s in segments {
        cur = match (s, cur) {
            (Segment::Key(k), Value::Object(m)) => m.get(k)?,
            (Segment::Key(k), Value::Array(a)) => a.get(array_index(a.len(), k.parse().ok()?)?)?,
            (Segment::Index(i), Value::Array(a)) => a.get(array_index(a.len(), *i)?)?,
            _ => return None,
        };
    }
    Some(cur)
}

/// `lookup` for a path in text form.
pub fn lookup_str<'v>(root: &'v Value, path: &str) -> Result<Option<&'v Value>, String> {
    Ok(lookup(root, &parse_path(path)?))
}

/// How expected array elements find their actual partners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArrayMode {
    /// The N given elements match the first N actual elements, in order
    /// (`expect.data`).
    Prefix,
    /// Each given element matches some actual element, each actual element
    /// used at most once, in any order (`expect.data_contains`).
    Anywhere,
}

/// One difference between an expectation and an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Mismatch {
    /// Where, as `data[0].order_status`.
    pub path: String,
    pub expected: String,
    pub actual: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let at = if self.path.is_empty() {
            "(root)"
        } else {
            &self.path
        };
        write!(
            f,
            "at {at}: expected {}, got {}",
            self.expected, self.actual
        )
    }
}

/// Compact JSON, cut to a readable length.
pub fn show(value: &Value) -> String {
    let text = value.to_string();
    const MAX: usize = 240;
    if text.chars().count() <= MAX {
        text
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

fn join_key(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn scalars_equal(expected: &Value, actual: &Value) -> bool {
    match (expected, actual) {
        (Value::Number(e), Value::Number(a)) => match (e.as_i64(), a.as_i64()) {
            (Some(x), Some(y)) => x == y,
            _ => e.as_f64() == a.as_f64(),
        },
        _ => expected == actual,
    }
}

/// Every difference between `expected` (a subset) and `actual`, with
/// paths under `path`. Empty means it matches.
pub fn subset(expected: &Value, actual: &Value, mode: ArrayMode, path: &str) -> Vec<Mismatch> {
    let mut out = Vec::new();
    check(expected, actual, mode, path, &mut out);
    out
}

/// Whether `expected` is a subset of `actual`.
pub fn matches(expected: &Value, actual: &Value, mode: ArrayMode) -> bool {
    subset(expected, actual, mode, "").is_empty()
}

fn check(expected: &Value, actual: &Value, mode: ArrayMode, path: &str, out: &mut Vec<Mismatch>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, ev) in e {
                let p = join_key(path, k);
                match a.get(k) {
                    Some(av) => check(ev, av, mode, &p, out),
                    None => out.push(Mismatch {
                        path: p,
                        expected: show(ev),
                        actual: "nothing (no such key)".to_string(),
                    }),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) => match mode {
            ArrayMode::Prefix => {
                if a.len() < e.len() {
                    out.push(Mismatch {
                        path: path.to_string(),
                        expected: format!("at least {} elements", e.len()),
                        actual: format!("{} elements: {}", a.len(), show(actual)),
                    });
                    return;
                }
                for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                    check(ev, av, mode, &format!("{path}[{i}]"), out);
                }
            }
            ArrayMode::Anywhere => {
                let mut used = vec![false; a.len()];
                for (i, ev) in e.iter().enumerate() {
                    let found = a
                        .iter()
                        .enumerate()
                        .find(|(j, av)| !used[*j] && matches(ev, av, mode));
                    match found {
                        Some((j, _)) => used[j] = true,
                        None => out.push(Mismatch {
                            path: format!("{path}[?{i}]"),
                            expected: format!("an element matching {}", show(ev)),
                            actual: format!("none of {} elements do: {}", a.len(), show(actual)),
                        }),
                    }
                }
            }
        },
        _ => {
            if !scalars_equal(expected, actual) {
                out.push(Mismatch {
                    path: path.to_string(),
                    expected: show(expected),
                    actual: show(actual),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn path(text: &str) -> Vec<Segment> {
        parse_path(text).unwrap()
    }

    #[test]
    fn looks_up_paths_given_as_text() {
        let doc = json!({"data": [{"guid": "g1"}, {"guid": "g2"}]});
        assert_eq!(lookup_str(&doc, "data[1].guid"), Ok(Some(&json!("g2"))));
        assert_eq!(lookup_str(&doc, "data[2].guid"), Ok(None));
        assert!(lookup_str(&doc, "data[x]").is_err());
    }

    #[test]
    fn integers_compare_exactly_beyond_float_precision() {
        // Both are 2^53 as a float; as integers they differ.
        let (e, a) = (
            json!(9_007_199_254_740_993i64),
            json!(9_007_199_254_740_992i64),
        );
        assert!(!matches(&e, &a, ArrayMode::Prefix));
        assert!(matches(&e, &e, ArrayMode::Prefix));
        assert!(matches(&json!(1.5), &json!(1.5), ArrayMode::Prefix));
    }

    #[test]
    fn a_prefix_may_be_the_whole_array() {
        assert!(matches(&json!([1, 2]), &json!([1, 2]), ArrayMode::Prefix));
        assert!(!matches(
            &json!([1, 2, 3]),
            &json!([1, 2]),
            ArrayMode::Prefix
        ));
    }

    #[test]
    fn parses_paths() {
        use Segment::{Index, Key};
        assert_eq!(
            path("data[0].guid"),
            [Key("data".into()), Index(0), Key("guid".into())]
        );
        assert_eq!(
            path("data.order_no_api"),
            [Key("data".into()), Key("order_no_api".into())]
        );
        assert_eq!(path("[2][-1]"), [Index(2), Index(-1)]);
        assert_eq!(path(""), []);
        for bad in [
            "data..guid",
            "data[x]",
            "data[0",
            "data]",
            "data[0]guid",
            ".data",
        ] {
            assert!(parse_path(bad).is_err(), "{bad} should not parse");
        }
        assert_eq!(render_path(&path("data[0].ip[-1].ip")), "data[0].ip[-1].ip");
    }

    #[test]
    fn looks_up_paths() {
        let doc = json!({"data": [{"guid": "7", "ip": [{"ip": "a"}, {"ip": "b"}]}], "code": 0});
        let at = |p: &str| lookup(&doc, &path(p)).cloned();
        assert_eq!(at("data[0].guid"), Some(json!("7")));
        assert_eq!(at("data.0.guid"), Some(json!("7")));
        assert_eq!(at("data[0].ip[-1].ip"), Some(json!("b")));
        assert_eq!(at("code"), Some(json!(0)));
        assert_eq!(at(""), Some(doc.clone()));
        assert_eq!(at("data[1].guid"), None);
        assert_eq!(at("data[0].ip[-3]"), None);
        assert_eq!(at("code.x"), None);
        assert_eq!(at("data.guid"), None);
    }

    fn check_subset(expected: Value, actual: Value, mode: ArrayMode) -> Vec<String> {
        subset(&expected, &actual, mode, "data")
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn subset_objects() {
        let actual = json!({"a": "1", "b": {"c": null, "d": 2}});
        assert!(check_subset(json!({}), actual.clone(), ArrayMode::Prefix).is_empty());
        assert!(
            check_subset(json!({"b": {"d": 2.0}}), actual.clone(), ArrayMode::Prefix).is_empty()
        );
        assert!(
            check_subset(json!({"b": {"c": null}}), actual.clone(), ArrayMode::Prefix).is_empty()
        );
        assert_eq!(
            check_subset(json!({"a": 1}), actual.clone(), ArrayMode::Prefix),
            [r#"at data.a: expected 1, got "1""#]
        );
        assert_eq!(
            check_subset(json!({"x": "1", "b": {"d": 3}}), actual, ArrayMode::Prefix),
            [
                r#"at data.x: expected "1", got nothing (no such key)"#,
                "at data.b.d: expected 3, got 2"
            ]
        );
    }

    #[test]
    fn subset_arrays_prefix() {
        let actual = json!([{"k": "a", "n": 1}, {"k": "b"}, {"k": "c"}]);
        assert!(check_subset(json!([]), actual.clone(), ArrayMode::Prefix).is_empty());
        assert!(check_subset(
            json!([{"k": "a"}, {"k": "b"}]),
            actual.clone(),
            ArrayMode::Prefix
        )
        .is_empty());
        assert_eq!(
            check_subset(json!([{"k": "b"}]), actual.clone(), ArrayMode::Prefix),
            [r#"at data[0].k: expected "b", got "a""#]
        );
        let long = check_subset(json!([{}, {}, {}, {}]), actual, ArrayMode::Prefix);
        assert_eq!(long.len(), 1);
        assert!(long[0].starts_with("at data: expected at least 4 elements, got 3 elements"));
    }

    #[test]
    fn subset_arrays_anywhere() {
        let actual = json!([{"k": "a"}, {"k": "b"}, {"k": "b"}]);
        assert!(check_subset(
            json!([{"k": "b"}, {"k": "a"}]),
            actual.clone(),
            ArrayMode::Anywhere
        )
        .is_empty());
        assert!(check_subset(
            json!([{"k": "b"}, {"k": "b"}]),
            actual.clone(),
            ArrayMode::Anywhere
        )
        .is_empty());
        let three_b = check_subset(
            json!([{"k": "b"}, {"k": "b"}, {"k": "b"}]),
            actual.clone(),
            ArrayMode::Anywhere,
        );
        assert_eq!(three_b.len(), 1);
        assert!(three_b[0].starts_with(r#"at data[?2]: expected an element matching {"k":"b"}"#));
        assert!(
            !check_subset(json!({"x": [1]}), json!({"x": [2, 3]}), ArrayMode::Anywhere).is_empty()
        );
        assert!(
            check_subset(json!({"x": [3]}), json!({"x": [2, 3]}), ArrayMode::Anywhere).is_empty()
        );
    }

    #[test]
    fn subset_type_mismatches() {
        assert_eq!(
            check_subset(json!({"a": 1}), json!([1]), ArrayMode::Prefix),
            [r#"at data: expected {"a":1}, got [1]"#]
        );
        assert_eq!(
            check_subset(json!(["1"]), json!("1"), ArrayMode::Prefix),
            [r#"at data: expected ["1"], got "1""#]
        );
        assert_eq!(
            check_subset(json!(null), json!("x"), ArrayMode::Prefix),
            [r#"at data: expected null, got "x""#]
        );
    }

    #[test]
    fn long_values_are_cut() {
        let long = Value::String("x".repeat(1000));
        assert!(show(&long).chars().count() < 260);
        assert!(show(&long).ends_with('…'));
    }
}
