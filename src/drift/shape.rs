//! The shape of answers and how two shapes differ: every path's JSON types
//! (with numeric strings and empty strings told apart), the key set of
//! every object, array elements merged, and the values seen where the
//! document gives a closed set. No I/O: values in, findings out.

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value;

use super::redact::is_numeric;
use crate::domain::state::{
    ActStatus, DegradeStatus, IpStatus, LockStatus, OrderStatus, PushStatus, RunStatus,
    UpgradeStatus,
};

/// A JSON type, as a path of an answer holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    Null,
    Bool,
    Number,
    String,
    Array,
    Object,
}

impl JsonType {
    pub fn of(value: &Value) -> JsonType {
        match value {
            Value::Null => JsonType::Null,
            Value::Bool(_) => JsonType::Bool,
            Value::Number(_) => JsonType::Number,
            Value::String(_) => JsonType::String,
            Value::Array(_) => JsonType::Array,
            Value::Object(_) => JsonType::Object,
        }
    }

    fn word(self) -> &'static str {
        match self {
            JsonType::Null => "null",
            JsonType::Bool => "bool",
            JsonType::Number => "number",
            JsonType::String => "string",
            JsonType::Array => "array",
            JsonType::Object => "object",
        }
    }
}

/// Most distinct values kept per path: enough for a closed set, bounded
/// for a free-text field.
const VALUE_CAP: usize = 64;

/// What the answers hold at one path.
#[derive(Debug, Default, Clone)]
pub struct Facts {
    pub types: BTreeSet<JsonType>,
    strings: usize,
    numeric_strings: usize,
    empty_strings: usize,
    /// The first value seen that says something (not null, not empty),
    /// or the first value at all while there is none.
    sample: Option<Value>,
    telling_sample: bool,
    /// Distinct scalar values as text (`"1"` and `1` are both `1`).
    values: BTreeSet<String>,
}

impl Facts {
    fn add(&mut self, value: &Value) {
        self.types.insert(JsonType::of(value));
        if let Value::String(s) = value {
            self.strings += 1;
            if s.is_empty() {
                self.empty_strings += 1;
            } else if is_numeric(s) {
                self.numeric_strings += 1;
            }
        }
        let telling = match value {
            Value::Null => false,
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => true,
        };
        // The first telling value; an empty one only until there is one.
        if telling && !self.telling_sample {
            self.sample = Some(value.clone());
            self.telling_sample = true;
        } else if self.sample.is_none() {
            self.sample = Some(value.clone());
        }
        let text = match value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        if let Some(t) = text {
            if self.values.len() < VALUE_CAP {
                self.values.insert(t);
            }
        }
    }

    fn all_numeric(&self) -> bool {
        self.strings > 0 && self.numeric_strings == self.strings
    }

    fn has_empty(&self) -> bool {
        self.empty_strings > 0
    }

    /// The types as a person reads them: `numeric string`, `""`, `null|string`.
    pub fn describe(&self) -> String {
        self.types
            .iter()
            .map(|t| match t {
                JsonType::String if self.strings == self.empty_strings => "\"\"".to_string(),
                JsonType::String if self.all_numeric() => "numeric string".to_string(),
                other => other.word().to_string(),
            })
            .collect::<Vec<_>>()
            .join("|")
    }

    /// The sample as compact JSON, cut to a length a table can show.
    pub fn sample_text(&self) -> Option<String> {
        let value = self.sample.as_ref()?;
        let text = match value {
            Value::Array(_) | Value::Object(_) => return None,
            other => other.to_string(),
        };
        Some(shorten(&text, 48))
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(max - 1).collect();
    cut.push('…');
    cut
}

/// The merged shape of one or more answers: facts by path, in the order
/// paths were first seen. A path is `data.zones[].guid`: `[]` stands for
/// every element of an array, `{}` for every value of an object whose keys
/// are all numbers (an id map such as `boot_menu_contents`, whose keys are
/// data, not fields).
#[derive(Debug, Default, Clone)]
pub struct Shape {
    paths: IndexMap<String, Facts>,
}

impl Shape {
    pub fn add(&mut self, value: &Value) {
        self.walk(String::new(), value);
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    pub fn get(&self, path: &str) -> Option<&Facts> {
        self.paths.get(path)
    }

    fn walk(&mut self, path: String, value: &Value) {
        self.paths.entry(path.clone()).or_default().add(value);
        match value {
            Value::Object(map) if is_id_map(map) => {
                for v in map.values() {
                    self.walk(format!("{path}{{}}"), v);
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    let child = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    self.walk(child, v);
                }
            }
            Value::Array(items) => {
                for v in items {
                    self.walk(format!("{path}[]"), v);
                }
            }
            _ => {}
        }
    }
}

fn is_id_map(map: &serde_json::Map<String, Value>) -> bool {
    !map.is_empty()
        && map
            .keys()
            .all(|k| !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()))
}

/// The container a path is part of: `data.zones[]` for
/// `data.zones[].guid`, `data.zones` for `data.zones[]`, the root for `code`.
fn parent_of(path: &str) -> Option<&str> {
    if path.is_empty() {
        return None;
    }
    if let Some(p) = path.strip_suffix("[]").or_else(|| path.strip_suffix("{}")) {
        return Some(p);
    }
    Some(path.rfind('.').map_or("", |i| &path[..i]))
}

/// How bad a difference is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// What kind of difference, from the engine's side: the engine lacks a
/// field the mock sends, sends one the mock does not, sends another type…
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftKind {
    /// The mock sends the field, the engine does not.
    Missing,
    /// The engine sends a field the mock does not.
    Extra,
    /// Another JSON type.
    Type,
    /// A number against a numeric string, either way round.
    NumberVsNumericString,
    /// `null` against `""`, either way round.
    NullVsEmptyString,
    /// The envelope: `code`, HTTP status, XML or text instead of JSON.
    Envelope,
    /// A value of a closed set that the mock does not know.
    UnknownValue,
}

impl DriftKind {
    pub fn severity(self) -> Severity {
        match self {
            DriftKind::Extra | DriftKind::UnknownValue => Severity::Warning,
            _ => Severity::Error,
        }
    }

    pub fn word(self) -> &'static str {
        match self {
            DriftKind::Missing => "missing field",
            DriftKind::Extra => "extra field",
            DriftKind::Type => "type",
            DriftKind::NumberVsNumericString => "number vs numeric string",
            DriftKind::NullVsEmptyString => "null vs \"\"",
            DriftKind::Envelope => "envelope",
            DriftKind::UnknownValue => "unknown value",
        }
    }
}

/// One difference at one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub kind: DriftKind,
    /// The path (`data.zones[].max_year`); `(answer)` for the whole answer.
    pub path: String,
    /// What the mock has there.
    pub mock: String,
    /// What the engine has there.
    pub engine: String,
    /// One redacted value from the side that has the path (the engine's
    /// when both have it).
    pub sample: Option<String>,
}

impl Finding {
    pub fn new(kind: DriftKind, path: &str, mock: String, engine: String) -> Finding {
        Finding {
            severity: kind.severity(),
            kind,
            path: if path.is_empty() {
                "(answer)".to_string()
            } else {
                path.to_string()
            },
            mock,
            engine,
            sample: None,
        }
    }

    fn with_sample(mut self, sample: Option<String>) -> Finding {
        self.sample = sample;
        self
    }
}

/// Whether `path` can be compared: its container holds an object on both
/// sides (for a field), or elements on both sides (for `[]`/`{}`), all the
/// way up. An empty array on one side says nothing about its elements.
fn comparable(path: &str, mock: &Shape, engine: &Shape) -> bool {
    let Some(parent) = parent_of(path) else {
        return true;
    };
    let element = path.ends_with("[]") || path.ends_with("{}");
    if element {
        return mock.get(path).is_some()
            && engine.get(path).is_some()
            && comparable(parent, mock, engine);
    }
    let object_on = |s: &Shape| {
        s.get(parent)
            .is_some_and(|f| f.types.contains(&JsonType::Object))
    };
    object_on(mock) && object_on(engine) && comparable(parent, mock, engine)
}

/// Every difference between the mock's shape and the engine's.
pub fn compare(mock: &Shape, engine: &Shape) -> Vec<Finding> {
    let mut findings = Vec::new();
    let paths = mock
        .paths
        .keys()
        .chain(engine.paths.keys().filter(|p| !mock.paths.contains_key(*p)));
    for path in paths {
        if !comparable(path, mock, engine) {
            continue;
        }
        match (mock.get(path), engine.get(path)) {
            (Some(m), None) => findings.push(
                Finding::new(DriftKind::Missing, path, m.describe(), "(absent)".into())
                    .with_sample(m.sample_text()),
            ),
            (None, Some(e)) => findings.push(
                Finding::new(DriftKind::Extra, path, "(absent)".into(), e.describe())
                    .with_sample(e.sample_text()),
            ),
            (Some(m), Some(e)) => {
                findings.extend(type_change(path, m, e));
                findings.extend(unknown_values(path, e));
            }
            (None, None) => {}
        }
    }
    findings
}

/// A type the engine sends at `path` that the mock never does. (A type
/// only the mock shows is not reported: the engine's answers are a sample,
/// and a value the sample did not hit is no difference.)
fn type_change(path: &str, m: &Facts, e: &Facts) -> Option<Finding> {
    let new: Vec<JsonType> = e.types.difference(&m.types).copied().collect();
    if new.is_empty() {
        return None;
    }
    let has = |t: JsonType| new.contains(&t);
    let mock_has = |t: JsonType| m.types.contains(&t);
    let kind = if (has(JsonType::Number) && mock_has(JsonType::String) && m.all_numeric())
        || (has(JsonType::String) && mock_has(JsonType::Number) && e.all_numeric())
    {
        DriftKind::NumberVsNumericString
    } else if (has(JsonType::Null) && mock_has(JsonType::String) && m.has_empty())
        || (has(JsonType::String) && mock_has(JsonType::Null) && e.has_empty())
    {
        DriftKind::NullVsEmptyString
    } else {
        DriftKind::Type
    };
    Some(Finding::new(kind, path, m.describe(), e.describe()).with_sample(e.sample_text()))
}

/// A closed set of values the document gives a field, as the mock knows it.
struct ClosedSet {
    /// The last segments of the path, e.g. `["ip[]", "status"]`.
    suffix: &'static [&'static str],
    values: Vec<String>,
}

fn closed(suffix: &'static [&'static str], values: Vec<String>) -> ClosedSet {
    ClosedSet { suffix, values }
}

fn codes(list: Vec<i64>) -> Vec<String> {
    list.into_iter().map(|c| c.to_string()).collect()
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|w| w.to_string()).collect()
}

/// The fields the document lists as closed sets, with the values the mock
/// knows. The state codes come from the mock's own types.
fn closed_sets() -> Vec<ClosedSet> {
    vec![
        closed(&["order_status"], codes(OrderStatus::codes())),
        closed(&["run_status"], codes(RunStatus::codes())),
        closed(&["act_status"], codes(ActStatus::codes())),
        closed(&["push_status"], codes(PushStatus::codes())),
        closed(&["lock_status"], codes(LockStatus::codes())),
        closed(
            &["net_type"],
            words(&["ip", "gateway", "network", "broadcast"]),
        ),
        closed(&["ip[]", "status"], codes(IpStatus::codes())),
        closed(&["degrades[]", "status"], codes(DegradeStatus::codes())),
        closed(&["upgrade[]", "status"], codes(UpgradeStatus::codes())),
        closed(
            &["upgrade[]", "type"],
            words(&["bandwidth", "defense", "ipnum"]),
        ),
        closed(
            &["degrades[]", "item"],
            words(&["bandwidth", "defense", "ip"]),
        ),
        // Lines, hard disks and products: 0 hidden/disabled, 1 shown, -1 deleted.
        closed(&["data[]", "status"], words(&["-1", "0", "1"])),
        closed(&["line_type"], words(&["niaoyun", "local", "zkeys"])),
        closed(&["stock_type"], words(&["0", "1"])),
        closed(&["is_default"], words(&["0", "1"])),
    ]
}

fn segments(path: &str) -> Vec<&str> {
    // `a.b[].c` splits as `a`, `b[]`, `c`.
    path.split('.').collect()
}

/// Values the engine sends at `path` that the field's closed set lacks.
fn unknown_values(path: &str, e: &Facts) -> Option<Finding> {
    let segs = segments(path);
    let set = closed_sets()
        .into_iter()
        .find(|c| segs.ends_with(c.suffix))?;
    let unknown: Vec<String> = e
        .values
        .iter()
        .filter(|v| !set.values.contains(v))
        .map(|v| format!("{v:?}"))
        .collect();
    if unknown.is_empty() {
        return None;
    }
    // The values are the engine column; a sample would repeat them.
    Some(Finding::new(
        DriftKind::UnknownValue,
        path,
        format!("one of {}", set.values.join(", ")),
        unknown.join(", "),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn shape(values: &[Value]) -> Shape {
        let mut s = Shape::default();
        for v in values {
            s.add(v);
        }
        s
    }

    /// Each finding as `severity kind path: mock -> engine`.
    fn check(mock: &[Value], engine: &[Value], expect: &[&str]) {
        let got: Vec<String> = compare(&shape(mock), &shape(engine))
            .iter()
            .map(|f| {
                format!(
                    "{} {} {}: {} -> {}",
                    f.severity.word(),
                    f.kind.word(),
                    f.path,
                    f.mock,
                    f.engine
                )
            })
            .collect();
        assert_eq!(got, expect, "mock {mock:?} engine {engine:?}");
    }

    #[test]
    fn same_shape_different_values() {
        check(
            &[json!({"code":0,"data":{"zones":[{"guid":"1","name":"a"}]}})],
            &[
                json!({"code":0,"data":{"zones":[{"guid":"2","name":"深圳"},{"guid":"3","name":""}]}}),
            ],
            &[],
        );
    }

    #[test]
    fn numeric_string_against_number() {
        check(
            &[json!({"max_year":"3"})],
            &[json!({"max_year":3})],
            &["error number vs numeric string max_year: numeric string -> number"],
        );
        check(
            &[json!({"total_page":1})],
            &[json!({"total_page":"1"})],
            &["error number vs numeric string total_page: number -> numeric string"],
        );
        // A string that is no number against a number is a plain type change.
        check(
            &[json!({"a":1})],
            &[json!({"a":"x"})],
            &["error type a: number -> string"],
        );
    }

    #[test]
    fn null_against_empty_string() {
        check(
            &[json!({"buy_remarks":""})],
            &[json!({"buy_remarks":null})],
            &["error null vs \"\" buy_remarks: \"\" -> null"],
        );
        check(
            &[json!({"code":null})],
            &[json!({"code":""})],
            &["error null vs \"\" code: null -> \"\""],
        );
        // A null the mock also sends somewhere is no difference.
        check(
            &[json!({"a":null}), json!({"a":""})],
            &[json!({"a":null})],
            &[],
        );
        // A type only the mock shows is not reported: the engine's answers
        // are a sample.
        check(
            &[json!({"a":null}), json!({"a":"x"})],
            &[json!({"a":"y"})],
            &[],
        );
    }

    #[test]
    fn missing_and_extra_fields() {
        check(
            &[json!({"a":"1","b":{"c":"2"}})],
            &[json!({"a":"1","d":"x"})],
            &[
                "error missing field b: object -> (absent)",
                "warning extra field d: (absent) -> string",
            ],
        );
    }

    #[test]
    fn array_elements_merge() {
        // A field in one element of the mock's array is a field of the
        // elements; the engine's elements lack it everywhere.
        check(
            &[json!({"data":[{"a":"1"},{"a":"2","b":"x"}]})],
            &[json!({"data":[{"a":"1"}]})],
            &["error missing field data[].b: string -> (absent)"],
        );
        // The engine's elements, merged, hold every field somewhere: fine.
        check(
            &[json!({"data":[{"a":"1","b":"x"}]})],
            &[json!({"data":[{"a":"1"},{"b":"y"}]})],
            &[],
        );
        // An empty array says nothing about its elements.
        check(&[json!({"data":[{"a":"1"}]})], &[json!({"data":[]})], &[]);
        // An object where the mock has an array: one finding, not one per child.
        check(
            &[json!({"upgrade":[{"a":"1"}]})],
            &[json!({"upgrade":{"a":"1"}})],
            &["error type upgrade: array -> object"],
        );
    }

    #[test]
    fn id_maps_compare_their_values() {
        check(
            &[json!({"boot_menu_contents":{"19":"","250":""}})],
            &[json!({"boot_menu_contents":{"7":""}})],
            &[],
        );
        check(
            &[json!({"boot_menu_contents":{"19":""}})],
            &[json!({"boot_menu_contents":{"7":0}})],
            &["error type boot_menu_contents{}: \"\" -> number"],
        );
    }

    #[test]
    fn closed_sets_from_the_document() {
        check(
            &[json!({"data":{"baremetal":{"run_status":"1","order_status":"1"}}})],
            &[json!({"data":{"baremetal":{"run_status":"7","order_status":"-2"}}})],
            &["warning unknown value data.baremetal.run_status: one of -2, -1, 1 -> \"7\""],
        );
        check(
            &[json!({"ip":[{"net_type":"ip","status":"1"}]})],
            &[json!({"ip":[{"net_type":"ipv6","status":"-1"}]})],
            &["warning unknown value ip[].net_type: one of ip, gateway, network, broadcast -> \"ipv6\""],
        );
        // `status` means another set in each context.
        check(
            &[json!({"degrades":[{"status":"0"}],"upgrade":[{"status":"1"}]})],
            &[json!({"degrades":[{"status":"-1"}],"upgrade":[{"status":"-1"}]})],
            &["warning unknown value upgrade[].status: one of 0, 1 -> \"-1\""],
        );
        check(
            &[json!({"data":[{"status":"1","act_status":0}]})],
            &[json!({"data":[{"status":"2","act_status":6}]})],
            &["warning unknown value data[].status: one of -1, 0, 1 -> \"2\""],
        );
    }
}
