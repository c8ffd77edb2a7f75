//! The scenario file format: a YAML document that names the engine to
//! start and lists the steps to run against it — signed calls with their
//! expectations, and control actions (clock, faults, snapshots, reset,
//! any `/_mock` call, journal checks). Loading checks the whole file, so a
//! typo fails before any step runs. The README's "Scenario files" section
//! is the user's reference; the parsing here is its source of truth.

use std::path::Path;

use serde::de::Deserializer;
use serde::Deserialize;
use serde_json::Value;

use super::matcher::parse_path;
use crate::faults::{Checked, Spec};

/// A whole scenario file.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: Option<String>,
    /// Settings for the in-process engine (ignored with `--url`).
    pub engine: EngineOptions,
    /// The member calls are signed as, unless a step says otherwise.
    pub userid: String,
    pub key: String,
    pub steps: Vec<Step>,
}

/// How the in-process engine starts; absent fields keep the defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineOptions {
    /// Timing profile: `default`, `fast`, or one of the seed's.
    pub timings: Option<String>,
    pub rng_seed: Option<u64>,
    pub lenient: Option<bool>,
}

impl EngineOptions {
    pub fn is_empty(&self) -> bool {
        *self == EngineOptions::default()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Names the step's answer for `${id.path}` in later steps.
    pub id: Option<String>,
    pub description: Option<String>,
    pub kind: StepKind,
    /// `name: path` pairs, in file order, read from the step's answer once it passes.
    pub capture: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StepKind {
    /// Boxed: a call is much larger than the other kinds.
    Call(Box<CallStep>),
    Clock(ClockOp),
    /// A fault rule (docs/contract.md, "Control API payloads"), posted to
    /// `/_mock/faults`. Boxed: a rule is much larger than the other kinds.
    Fault(Box<FaultStep>),
    ClearFaults,
    Snapshot(String),
    Restore(String),
    Reset,
    Control(Control),
    ExpectJournal(JournalExpect),
    /// A new namespace copied from the current one (or one of its
    /// snapshots); the steps after it run in the new namespace.
    Fork(ForkStep),
}

/// A fault rule: as written, since it is posted after `${…}` interpolation
/// like every other step's values, and as the control API reads it, parsed
/// and checked when the file loads.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultStep {
    pub rule: Value,
    /// The rule checked, its action parsed: a typo fails the file.
    pub spec: Checked,
}

/// `fork: {name: t1, snapshot: fixture}`; both fields optional.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForkStep {
    /// The new namespace's name; the server picks one when absent.
    #[serde(default, deserialize_with = "optional_scalar_string")]
    pub name: Option<String>,
    /// Copy this snapshot of the current namespace instead of its state now.
    #[serde(default, deserialize_with = "optional_scalar_string")]
    pub snapshot: Option<String>,
}

/// One signed call to `/api`.
#[derive(Debug, Clone, PartialEq)]
pub struct CallStep {
    pub action: String,
    /// A JSON object; nested maps and lists become PHP brackets in a form.
    pub params: Value,
    /// Sign as another member (or with a wrong key).
    pub identity: Option<Identity>,
    pub encoding: Encoding,
    pub expect: Expect,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    #[serde(deserialize_with = "scalar_string")]
    pub userid: String,
    #[serde(deserialize_with = "scalar_string")]
    pub key: String,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Encoding {
    /// `application/x-www-form-urlencoded`, PHP `http_build_query` nesting.
    #[default]
    Form,
    /// `application/json`, nested values as JSON.
    Json,
}

/// What a call's answer must show. With none of `code`, `status`,
/// `reason` and `transport_error` given, `code: 0` is expected.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// HTTP status.
    pub status: Option<u16>,
    /// The envelope's `code`.
    pub code: Option<i64>,
    /// The `X-Mock-Error` header; `null` means it must be absent.
    #[serde(default, deserialize_with = "present")]
    pub reason: Option<Option<String>>,
    /// The envelope's `message`, exactly.
    pub message: Option<String>,
    pub message_contains: Option<String>,
    /// Subset of `data`; arrays match their first N elements in order.
    pub data: Option<Value>,
    /// Subset of `data`; array elements match anywhere, in any order.
    pub data_contains: Option<Value>,
    /// `path: n` — the array, object or string at `path` (from the
    /// envelope's root, as `data.zones`) has exactly n elements.
    #[serde(default, deserialize_with = "ordered_counts")]
    pub len: Vec<(String, usize)>,
    /// The raw body contains this text (for XML or HTTP-fault bodies).
    pub body_contains: Option<String>,
    /// The call gets no answer (a `drop` fault).
    #[serde(default)]
    pub transport_error: bool,
    /// The answer took at least this long (a `delay` fault).
    pub min_latency_ms: Option<u64>,
}

impl Expect {
    /// The envelope code this expectation wants, explicit or implied.
    pub fn wanted_code(&self) -> Option<i64> {
        if self.code.is_some() {
            return self.code;
        }
        let says_otherwise = self.status.is_some() || self.reason.is_some() || self.transport_error;
        (!says_otherwise).then_some(0)
    }
}

/// A move of the simulated clock.
#[derive(Debug, Clone, PartialEq)]
pub enum ClockOp {
    /// Seconds forward; due transitions run before the step ends.
    Advance(u64),
    /// Jump to `YYYY-MM-DD HH:MM:SS` (interpolated, so `${end}` works).
    Set(String),
    Freeze,
    Resume,
}

/// Any control call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    #[serde(default = "default_method")]
    pub method: String,
    /// Below the base URL, as `/_mock/timeline`.
    pub path: String,
    pub body: Option<Value>,
    /// HTTP status; absent means any 2xx.
    pub expect_status: Option<u16>,
    /// Subset of the JSON answer (arrays: first N elements, in order).
    pub expect: Option<Value>,
    /// `path: n` — the list (or map, or string) at `path` has n elements.
    #[serde(default, deserialize_with = "ordered_counts")]
    pub len: Vec<(String, usize)>,
}

fn default_method() -> String {
    "GET".to_string()
}

/// A check of the request journal (newest entry first).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JournalExpect {
    /// The query string of `GET /_mock/requests`, as `action=create&limit=3`.
    #[serde(default)]
    pub query: String,
    /// Exactly this many entries come back.
    pub count: Option<usize>,
    /// Subsets of the first entries, newest first.
    pub entries: Option<Value>,
}

/// A step as written: every key any kind may use.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    id: Option<String>,
    #[serde(alias = "name")]
    description: Option<String>,
    call: Option<String>,
    params: Option<Value>,
    #[serde(rename = "as")]
    identity: Option<Identity>,
    encoding: Option<Encoding>,
    expect: Option<Expect>,
    #[serde(default, deserialize_with = "ordered_strings")]
    capture: Vec<(String, String)>,
    clock: Option<Value>,
    fault: Option<Value>,
    clear_faults: Option<bool>,
    #[serde(default, deserialize_with = "optional_scalar_string")]
    snapshot: Option<String>,
    #[serde(default, deserialize_with = "optional_scalar_string")]
    restore: Option<String>,
    reset: Option<bool>,
    control: Option<Control>,
    expect_journal: Option<JournalExpect>,
    fork: Option<ForkStep>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    name: String,
    description: Option<String>,
    #[serde(default)]
    engine: EngineOptions,
    #[serde(default, deserialize_with = "optional_scalar_string")]
    userid: Option<String>,
    #[serde(default, deserialize_with = "optional_scalar_string")]
    key: Option<String>,
    steps: Vec<RawStep>,
}

/// Tells `reason: null` (must be absent) from no `reason` at all.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A map as `(key, value)` pairs in file order.
fn ordered<'de, D: Deserializer<'de>, T>(
    d: D,
    convert: impl Fn(Value) -> Option<T>,
    what: &str,
) -> Result<Vec<(String, T)>, D::Error> {
    let map = serde_json::Map::<String, Value>::deserialize(d)?;
    map.into_iter()
        .map(|(k, v)| match convert(v.clone()) {
            Some(t) => Ok((k, t)),
            None => Err(serde::de::Error::custom(format!(
                "{k}: expected {what}, got {v}"
            ))),
        })
        .collect()
}

/// `name: path` pairs.
fn ordered_strings<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    ordered(d, |v| v.as_str().map(str::to_string), "a path")
}

/// `path: n` pairs.
fn ordered_counts<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, usize)>, D::Error> {
    ordered(d, |v| v.as_u64().map(|n| n as usize), "a count")
}

/// A string, or a number written without quotes (`userid: 1`).
fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    match Value::deserialize(d)? {
        Value::String(s) => Ok(s),
        Value::Number(n) => Ok(n.to_string()),
        other => Err(serde::de::Error::custom(format!(
            "expected a string, got {other}"
        ))),
    }
}

fn optional_scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    scalar_string(d).map(Some)
}

/// Parses `90`, `30s`, `5m`, `2h`, `32d`, `1w`, or sums like `1d2h30m`.
pub fn parse_duration(value: &Value) -> Result<u64, String> {
    let bad = || format!("expected seconds or a duration like 30s, 5m, 2h, 32d, 1d2h; got {value}");
    match value {
        Value::Number(n) => n.as_u64().ok_or_else(bad),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(n) = s.parse::<u64>() {
                return Ok(n);
            }
            let mut total: u64 = 0;
            let mut digits = String::new();
            for c in s.chars() {
                if c.is_ascii_digit() {
                    digits.push(c);
                    continue;
                }
                let unit = match c {
                    's' => 1,
                    'm' => 60,
                    'h' => 3600,
                    'd' => 86_400,
                    'w' => 604_800,
                    _ => return Err(bad()),
                };
                let n: u64 = digits.parse().map_err(|_| bad())?;
                total = n
                    .checked_mul(unit)
                    .and_then(|x| total.checked_add(x))
                    .ok_or_else(bad)?;
                digits.clear();
            }
            if !digits.is_empty() || s.is_empty() {
                return Err(bad());
            }
            Ok(total)
        }
        _ => Err(bad()),
    }
}

fn parse_clock(value: &Value) -> Result<ClockOp, String> {
    let bad = || {
        format!("clock must be freeze, resume, {{advance: SECONDS}} or {{set: \"YYYY-MM-DD HH:MM:SS\"}}; got {value}")
    };
    match value {
        Value::String(s) if s == "freeze" => Ok(ClockOp::Freeze),
        Value::String(s) if s == "resume" => Ok(ClockOp::Resume),
        Value::Object(m) if m.len() == 1 => {
            let (k, v) = m.iter().next().ok_or_else(bad)?;
            match (k.as_str(), v) {
                ("advance", v) => parse_duration(v).map(ClockOp::Advance),
                ("set", Value::String(s)) => Ok(ClockOp::Set(s.clone())),
                ("freeze", Value::Bool(true)) => Ok(ClockOp::Freeze),
                ("resume", Value::Bool(true)) => Ok(ClockOp::Resume),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

impl RawStep {
    fn into_step(self) -> Result<Step, String> {
        // What only a call reads, and whether each is given.
        let companions = [
            ("params", self.params.is_some()),
            ("as", self.identity.is_some()),
            ("encoding", self.encoding.is_some()),
            ("expect", self.expect.is_some()),
        ];
        let (head, given) = self.into_kinds();
        let (kind_name, kind) = the_one_kind(given)?;
        if kind_name != "call" {
            if let Some((field, _)) = companions.iter().find(|(_, here)| *here) {
                return Err(format!("{field} only goes with call, not {kind_name}"));
            }
        }
        check_names(head.id.as_deref(), &head.capture)?;
        Ok(Step {
            id: head.id,
            description: head.description,
            kind: kind?,
            capture: head.capture,
        })
    }

    /// The step's own fields, and its kinds as given.
    fn into_kinds(self) -> (StepHead, GivenKinds) {
        let RawStep {
            id,
            description,
            call,
            params,
            identity,
            encoding,
            expect,
            capture,
            clock,
            fault,
            clear_faults,
            snapshot,
            restore,
            reset,
            control,
            expect_journal,
            fork,
        } = self;
        // The one list of step kinds: each key given, with what it reads as.
        // Every kind is parsed here, so that a typo in any step fails the
        // file before its first step runs.
        let given: GivenKinds = [
            call.map(|action| {
                (
                    "call",
                    call_step(action, params, identity, encoding, expect),
                )
            }),
            clock.map(|v| ("clock", parse_clock(&v).map(StepKind::Clock))),
            fault.map(|v| ("fault", fault_step(v))),
            clear_faults.map(|on| {
                (
                    "clear_faults",
                    switch(on, "clear_faults", StepKind::ClearFaults),
                )
            }),
            snapshot.map(|name| ("snapshot", Ok(StepKind::Snapshot(name)))),
            restore.map(|name| ("restore", Ok(StepKind::Restore(name)))),
            reset.map(|on| ("reset", switch(on, "reset", StepKind::Reset))),
            control.map(|c| ("control", control_step(c))),
            expect_journal.map(|j| ("expect_journal", journal_step(j))),
            fork.map(|f| ("fork", Ok(StepKind::Fork(f)))),
        ]
        .into_iter()
        .flatten()
        .collect();
        let head = StepHead {
            id,
            description,
            capture,
        };
        (head, given)
    }
}

/// What every kind of step has: an id, a description, captures.
struct StepHead {
    id: Option<String>,
    description: Option<String>,
    capture: Vec<(String, String)>,
}

/// A step's kinds as given, each with what it reads as.
type GivenKinds = Vec<(&'static str, Result<StepKind, String>)>;

/// The one step kind given, or why there is not exactly one.
fn the_one_kind(given: GivenKinds) -> Result<(&'static str, Result<StepKind, String>), String> {
    match <[_; 1]>::try_from(given) {
        Ok([one]) => Ok(one),
        Err(given) if given.is_empty() => Err(
            "no step kind: give one of call, clock, fault, clear_faults, \
             snapshot, restore, reset, control, expect_journal, fork"
                .to_string(),
        ),
        Err(many) => {
            let names: Vec<&str> = many.iter().map(|(name, _)| *name).collect();
            Err(format!("one kind per step, got {}", names.join(" and ")))
        }
    }
}

/// A step's id and capture names are plain words; its capture paths parse.
fn check_names(id: Option<&str>, capture: &[(String, String)]) -> Result<(), String> {
    for (name, path) in capture {
        if name.is_empty() || name.contains(['.', '[', ']', '$', '{', '}']) {
            return Err(format!("capture name {name:?} must be a plain word"));
        }
        parse_path(path).map_err(|e| format!("capture {name}: {e}"))?;
    }
    if let Some(id) = id {
        if id.is_empty() || id.contains(['.', '[', ']', '$', '{', '}']) {
            return Err(format!("id {id:?} must be a plain word"));
        }
    }
    Ok(())
}

/// `reset: true` and `clear_faults: true`; `false` is a mistake, not a no-op.
fn switch(on: bool, key: &str, kind: StepKind) -> Result<StepKind, String> {
    if on {
        Ok(kind)
    } else {
        Err(format!("{key}: false does nothing; leave the step out"))
    }
}

fn call_step(
    action: String,
    params: Option<Value>,
    identity: Option<Identity>,
    encoding: Option<Encoding>,
    expect: Option<Expect>,
) -> Result<StepKind, String> {
    let params = match params {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(p @ Value::Object(_)) => p,
        Some(other) => return Err(format!("params must be a map, got {other}")),
    };
    let expect = expect.unwrap_or_default();
    check_expect(&expect)?;
    Ok(StepKind::Call(Box::new(CallStep {
        action,
        params,
        identity,
        encoding: encoding.unwrap_or_default(),
        expect,
    })))
}

/// The rule is read as the control API reads it (`faults::Spec`, with its
/// own checks), so a misspelt field or effect fails the file at load.
fn fault_step(rule: Value) -> Result<StepKind, String> {
    if !rule.is_object() {
        return Err(format!("fault must be a rule map, got Some({rule:?})"));
    }
    let spec: Spec = serde_path_to_error::deserialize(&rule).map_err(|e| {
        let (path, inner) = (e.path().to_string(), e.inner().to_string());
        // An unknown field's path ends in the field the message names.
        let last = path.rsplit('.').next().unwrap_or_default();
        let path = match path.rsplit_once('.') {
            _ if path == "." => None,
            Some((parent, _)) if inner.contains(&format!("`{last}`")) => Some(parent),
            None if inner.contains(&format!("`{last}`")) => None,
            _ => Some(path.as_str()),
        };
        match path {
            Some(path) => format!("fault.{path}: {inner}"),
            None => format!("fault: {inner}"),
        }
    })?;
    let spec = spec.check().map_err(|e| format!("fault: {e}"))?;
    Ok(StepKind::Fault(Box::new(FaultStep { rule, spec })))
}

fn control_step(control: Control) -> Result<StepKind, String> {
    for (path, _) in &control.len {
        parse_path(path).map_err(|e| format!("control.len: {e}"))?;
    }
    if !control.path.starts_with('/') {
        return Err(format!(
            "control path must start with /, got {:?}",
            control.path
        ));
    }
    Ok(StepKind::Control(control))
}

fn journal_step(journal: JournalExpect) -> Result<StepKind, String> {
    if let Some(e) = &journal.entries {
        if !e.is_array() {
            return Err("expect_journal.entries must be a list".to_string());
        }
    }
    Ok(StepKind::ExpectJournal(journal))
}

fn check_expect(expect: &Expect) -> Result<(), String> {
    if expect.transport_error {
        let alone = Expect {
            transport_error: true,
            ..Expect::default()
        };
        if *expect != alone {
            return Err("expect.transport_error: true cannot go with other expectations".into());
        }
    }
    for (path, _) in &expect.len {
        parse_path(path).map_err(|e| format!("expect.len: {e}"))?;
    }
    Ok(())
}

impl Scenario {
    /// Parses and checks a scenario from YAML text.
    pub fn from_yaml(text: &str) -> Result<Scenario, String> {
        let raw: RawScenario = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
        if raw.steps.is_empty() {
            return Err("steps: a scenario needs at least one step".to_string());
        }
        let mut steps = Vec::with_capacity(raw.steps.len());
        for (i, step) in raw.steps.into_iter().enumerate() {
            steps.push(
                step.into_step()
                    .map_err(|e| format!("step {}: {e}", i + 1))?,
            );
        }
        Ok(Scenario {
            name: raw.name,
            description: raw.description,
            engine: raw.engine,
            userid: raw
                .userid
                .unwrap_or_else(|| crate::mock::DEFAULT_USERID.to_string()),
            key: raw
                .key
                .unwrap_or_else(|| crate::mock::DEFAULT_KEY.to_string()),
            steps,
        })
    }

    /// Reads and parses a scenario file.
    pub fn load(path: &Path) -> Result<Scenario, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Scenario::from_yaml(&text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(yaml: &str) -> Result<Scenario, String> {
        Scenario::from_yaml(yaml)
    }

    /// A fault step as the file would give it.
    fn fault(rule: Value) -> StepKind {
        let Ok(spec) = serde_json::from_value::<Spec>(rule.clone()) else {
            panic!("not a rule: {rule}");
        };
        let spec = spec.check().unwrap_or_else(|e| panic!("{e}: {rule}"));
        StepKind::Fault(Box::new(FaultStep { rule, spec }))
    }

    fn one_step(step_yaml: &str) -> Result<Step, String> {
        let text = format!(
            "name: t\nsteps:\n  - {}\n",
            step_yaml.replace('\n', "\n    ")
        );
        parse(&text).map(|mut s| s.steps.remove(0))
    }

    #[test]
    fn a_control_step_defaults_to_get_and_keeps_its_len_checks_in_order() {
        let step =
            one_step("control: {path: /_mock/requests, len: {requests: 2, dropped_list: 0}}");
        let Ok(Step {
            kind: StepKind::Control(control),
            ..
        }) = step
        else {
            panic!("{step:?}")
        };
        assert_eq!(control.method, "GET");
        assert_eq!(
            control.len,
            [("requests".to_string(), 2), ("dropped_list".to_string(), 0)]
        );
        let bad = one_step("control: {path: /_mock/requests, len: {requests: two}}");
        assert!(bad.is_err(), "{bad:?}");
    }

    #[test]
    fn every_clock_form_and_its_refusals() {
        for (yaml, want) in [
            ("clock: freeze", ClockOp::Freeze),
            ("clock: resume", ClockOp::Resume),
            ("clock: {freeze: true}", ClockOp::Freeze),
            ("clock: {resume: true}", ClockOp::Resume),
            ("clock: {advance: 90}", ClockOp::Advance(90)),
        ] {
            match one_step(yaml) {
                Ok(Step {
                    kind: StepKind::Clock(op),
                    ..
                }) => assert_eq!(op, want, "{yaml}"),
                other => panic!("{yaml}: {other:?}"),
            }
        }
        for yaml in [
            "clock: {advance: 30, freeze: true}",
            "clock: {}",
            "clock: stop",
        ] {
            assert!(one_step(yaml).is_err(), "{yaml}");
        }
    }

    #[test]
    fn clear_faults_and_fork_steps() {
        assert!(matches!(
            one_step("clear_faults: true").map(|s| s.kind),
            Ok(StepKind::ClearFaults)
        ));
        assert!(one_step("clear_faults: false").is_err());
        assert_eq!(
            one_step("fork: {name: t1, snapshot: fixture}").map(|s| s.kind),
            Ok(StepKind::Fork(ForkStep {
                name: Some("t1".into()),
                snapshot: Some("fixture".into()),
            }))
        );
        assert_eq!(
            one_step("fork: {}").map(|s| s.kind),
            Ok(StepKind::Fork(ForkStep::default()))
        );
        assert!(one_step("fork: {from: default}").is_err());
    }

    #[test]
    fn transport_error_stands_alone() {
        let alone = one_step("call: getzones\nexpect: {transport_error: true}");
        assert!(alone.is_ok(), "{alone:?}");
        let mixed = one_step("call: getzones\nexpect: {transport_error: true, code: 0}");
        assert!(mixed.is_err(), "{mixed:?}");
    }

    #[test]
    fn engine_options_are_empty_only_when_nothing_is_set() {
        assert!(EngineOptions::default().is_empty());
        for options in [
            EngineOptions {
                rng_seed: Some(1),
                ..EngineOptions::default()
            },
            EngineOptions {
                timings: Some("fast".into()),
                ..EngineOptions::default()
            },
            EngineOptions {
                lenient: Some(false),
                ..EngineOptions::default()
            },
        ] {
            assert!(!options.is_empty(), "{options:?}");
        }
    }

    #[test]
    fn full_call_step() {
        let step = one_step(
            "id: create\ndescription: buy one\ncall: create\nparams:\n  num: 1\n  param:\n    - {item: ip, value: [a, b]}\nas: {userid: 2, key: k2}\nencoding: json\nexpect: {code: 0, data: [{order_status: \"0\"}]}\ncapture: {guid: \"data[0].guid\"}",
        );
        let Ok(step) = step else { panic!("{step:?}") };
        assert_eq!(step.id.as_deref(), Some("create"));
        assert_eq!(step.description.as_deref(), Some("buy one"));
        assert_eq!(
            step.capture,
            [("guid".to_string(), "data[0].guid".to_string())]
        );
        let StepKind::Call(call) = step.kind else {
            panic!("not a call")
        };
        assert_eq!(call.action, "create");
        assert_eq!(
            call.params,
            json!({"num": 1, "param": [{"item": "ip", "value": ["a", "b"]}]})
        );
        assert_eq!(
            call.identity,
            Some(Identity {
                userid: "2".into(),
                key: "k2".into()
            })
        );
        assert_eq!(call.encoding, Encoding::Json);
        assert_eq!(call.expect.data, Some(json!([{"order_status": "0"}])));
        assert_eq!(call.expect.wanted_code(), Some(0));
    }

    #[test]
    fn defaults() {
        let s = parse("name: t\nsteps:\n  - call: getzones\n").unwrap();
        assert_eq!(s.userid, "1");
        assert_eq!(s.key, "mock-api-key");
        assert!(s.engine.is_empty());
        let StepKind::Call(call) = &s.steps[0].kind else {
            panic!("not a call")
        };
        assert_eq!(call.params, json!({}));
        assert_eq!(call.expect.wanted_code(), Some(0));
        assert_eq!(call.expect.reason, None);
    }

    #[test]
    fn reason_null_means_absent() {
        let Ok(step) = one_step("call: getzones\nexpect: {reason: null}") else {
            panic!()
        };
        let StepKind::Call(call) = step.kind else {
            panic!()
        };
        assert_eq!(call.expect.reason, Some(None));
        assert_eq!(call.expect.wanted_code(), None);
    }

    /// A fault step's action is parsed when the file loads: the step holds
    /// the action itself, and a misspelt one fails the file, naming the
    /// actions there are (a rule that could never fire tests nothing).
    #[test]
    fn a_fault_steps_action_is_parsed_at_load() {
        use crate::actions::ActionName;
        let step = one_step("fault: {action: degrade_cancel, userid: \"2\", effect: {kind: drop}}");
        let Ok(Step {
            kind: StepKind::Fault(fault),
            ..
        }) = step
        else {
            panic!("not a fault step: {step:?}");
        };
        assert_eq!(fault.spec.action, Some(ActionName::DegradeCancel));
        assert_eq!(fault.spec.userid.as_deref(), Some("2"));
        assert_eq!(fault.rule["action"], "degrade_cancel");
        let any = one_step("fault: {effect: {kind: stall}}");
        assert!(
            matches!(any, Ok(Step { kind: StepKind::Fault(f), .. }) if f.spec.action.is_none())
        );
        for typo in ["Create", "degrade-cancel", "\"${action}\"", "'create '"] {
            let err = one_step(&format!(
                "fault: {{action: {typo}, effect: {{kind: drop}}}}"
            ))
            .err()
            .unwrap_or_default();
            assert!(err.contains("fault: unknown action"), "{typo}: {err}");
            assert!(err.contains("known: getzones, sync_line"), "{typo}: {err}");
            assert!(err.contains("refund"), "{typo}: {err}");
        }
    }

    #[test]
    fn control_kinds() {
        let cases = [
            (
                "clock: {advance: 30}",
                StepKind::Clock(ClockOp::Advance(30)),
            ),
            (
                "clock: {advance: 1d2h}",
                StepKind::Clock(ClockOp::Advance(93_600)),
            ),
            (
                "clock: {set: \"2030-01-01 00:00:00\"}",
                StepKind::Clock(ClockOp::Set("2030-01-01 00:00:00".into())),
            ),
            ("clock: freeze", StepKind::Clock(ClockOp::Freeze)),
            ("clock: {resume: true}", StepKind::Clock(ClockOp::Resume)),
            (
                "fault: {action: create, effect: {kind: drop}}",
                fault(json!({"action": "create", "effect": {"kind": "drop"}})),
            ),
            ("clear_faults: true", StepKind::ClearFaults),
            ("snapshot: before", StepKind::Snapshot("before".into())),
            ("restore: before", StepKind::Restore("before".into())),
            ("reset: true", StepKind::Reset),
        ];
        for (yaml, want) in cases {
            match one_step(yaml) {
                Ok(step) => assert_eq!(step.kind, want, "{yaml}"),
                Err(e) => panic!("{yaml}: {e}"),
            }
        }
        let Ok(step) = one_step("control: {method: PATCH, path: /_mock/baremetal/1, body: {run_status: -1}, expect_status: 200}") else {
            panic!()
        };
        assert!(
            matches!(step.kind, StepKind::Control(Control { ref method, expect_status: Some(200), .. }) if method == "PATCH")
        );
        let Ok(step) =
            one_step("expect_journal: {query: action=create, count: 2, entries: [{code: 1}]}")
        else {
            panic!()
        };
        assert!(matches!(
            step.kind,
            StepKind::ExpectJournal(JournalExpect { count: Some(2), .. })
        ));
    }

    #[test]
    fn rejects_bad_steps() {
        let cases = [
            ("description: nothing", "no step kind"),
            (
                "call: getzones\nreset: true",
                "one kind per step, got call and reset",
            ),
            (
                "reset: true\nexpect: {code: 0}",
                "expect only goes with call",
            ),
            ("reset: false", "does nothing"),
            ("call: getzones\nexpct: {code: 0}", "unknown field `expct`"),
            ("call: getzones\nexpect: {cod: 0}", "unknown field `cod`"),
            ("call: getzones\nparams: [1]", "params must be a map"),
            (
                "call: getzones\nexpect: {transport_error: true, code: 0}",
                "cannot go with",
            ),
            ("call: getzones\ncapture: {g: \"data[\"}", "capture g"),
            ("call: getzones\ncapture: {a.b: data}", "plain word"),
            ("call: getzones\nid: a.b", "plain word"),
            ("clock: {advance: -5}", "expected seconds"),
            ("clock: {advance: 5x}", "expected seconds"),
            ("clock: later", "clock must be"),
            ("control: {path: _mock/health}", "must start with /"),
            ("expect_journal: {entries: {code: 1}}", "must be a list"),
            ("call: x\nencoding: xml", "unknown variant"),
            (
                "fault: {action: create, efect: {kind: drop}}",
                "fault: unknown field `efect`",
            ),
            (
                "fault: {action: create, effect: {kind: dorp}}",
                "unknown variant `dorp`",
            ),
            (
                "fault: {action: creat, effect: {kind: drop}}",
                "fault: unknown action \"creat\"",
            ),
            (
                "fault: {times: x, effect: {kind: drop}}",
                "fault.times: got \"x\", expected a whole number",
            ),
            ("fault: [1]", "fault must be a rule map"),
        ];
        for (yaml, want) in cases {
            match one_step(yaml) {
                Ok(step) => panic!("{yaml} parsed as {step:?}"),
                Err(e) => assert!(e.contains(want), "{yaml}: {e:?} lacks {want:?}"),
            }
        }
    }

    #[test]
    fn rejects_bad_files() {
        assert!(parse("name: t\nsteps: []\n").is_err_and(|e| e.contains("at least one step")));
        assert!(parse("steps:\n  - reset: true\n").is_err_and(|e| e.contains("name")));
        assert!(
            parse("name: t\nengine: {timing: fast}\nsteps:\n  - reset: true\n")
                .is_err_and(|e| e.contains("timing"))
        );
        let err = parse("name: t\nsteps:\n  - reset: true\n  - clock: soon\n");
        assert!(err.is_err_and(|e| e.starts_with("step 2:")));
    }

    #[test]
    fn durations() {
        for (text, secs) in [
            ("90", 90),
            ("30s", 30),
            ("5m", 300),
            ("2h", 7200),
            ("32d", 2_764_800),
            ("1w", 604_800),
            ("1d2h30m", 95_400),
        ] {
            assert_eq!(parse_duration(&json!(text)), Ok(secs), "{text}");
        }
        assert_eq!(parse_duration(&json!(45)), Ok(45));
        for bad in [
            json!(""),
            json!("d"),
            json!("1.5h"),
            json!(-1),
            json!(true),
            json!("3d4"),
        ] {
            assert!(parse_duration(&bad).is_err(), "{bad}");
        }
    }
}
