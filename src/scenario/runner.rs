//! Runs scenarios: starts an in-process engine per file (or talks to the
//! engine at a given base URL), runs the steps in order, prints one line
//! per step and, on a failure, what differed, then stops that scenario and
//! goes on with the next file.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{json, Map, Value};

use super::matcher::{lookup_str, show, subset, ArrayMode, Mismatch};
use super::model::{
    CallStep, ClockOp, Control, Encoding, EngineOptions, Expect, ForkStep, JournalExpect, Scenario,
    Step, StepKind,
};
use super::vars::Scope;
use crate::client::Client;
use crate::control::{segment, ControlClient, ControlError};
use crate::mock::MockEngine;
use crate::protocol::control::NewNamespace;

/// Where scenarios run.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A running engine's base URL (`http://127.0.0.1:8080`, or a namespace
    /// `…/ns/NAME`); `None` starts an in-process engine for each scenario.
    pub url: Option<String>,
}

/// The first failed step of a scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct StepFailure {
    /// 1-based; 0 when the scenario failed before its first step (a file
    /// that does not load, an engine that does not start).
    pub step: usize,
    pub label: String,
    /// Each mismatch or error, one line each.
    pub problems: Vec<String>,
}

/// How one scenario went.
#[derive(Debug, Clone, PartialEq)]
pub struct ScenarioReport {
    pub file: Option<PathBuf>,
    pub name: String,
    pub steps: usize,
    pub steps_passed: usize,
    pub failure: Option<StepFailure>,
}

impl ScenarioReport {
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }
}

/// Every scenario of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    pub scenarios: Vec<ScenarioReport>,
}

impl Summary {
    pub fn passed(&self) -> usize {
        self.scenarios.iter().filter(|s| s.passed()).count()
    }

    pub fn failed(&self) -> usize {
        self.scenarios.len() - self.passed()
    }

    /// `N passed, M failed`, counting scenarios.
    pub fn line(&self) -> String {
        format!("{} passed, {} failed", self.passed(), self.failed())
    }
}

/// Scenario files in `paths`: files as given, folders as their `*.yaml`
/// and `*.yml` files in name order.
pub fn expand_paths(paths: &[PathBuf]) -> Vec<Result<PathBuf, (PathBuf, String)>> {
    let mut out = Vec::new();
    for path in paths {
        if !path.is_dir() {
            out.push(Ok(path.clone()));
            continue;
        }
        match std::fs::read_dir(path) {
            Ok(entries) => {
                let mut files: Vec<PathBuf> = entries
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|p| {
                        p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml")
                    })
                    .collect();
                files.sort();
                if files.is_empty() {
                    out.push(Err((path.clone(), "no .yaml files in this folder".into())));
                }
                out.extend(files.into_iter().map(Ok));
            }
            Err(e) => out.push(Err((path.clone(), format!("cannot read folder: {e}")))),
        }
    }
    out
}

fn print(out: &mut (dyn Write + Send), text: &str) {
    // The report is best effort: a closed stdout must not stop the run.
    let _ = writeln!(out, "{text}");
}

fn load_failure(path: &Path, name: String, message: String) -> ScenarioReport {
    ScenarioReport {
        file: Some(path.to_path_buf()),
        name,
        steps: 0,
        steps_passed: 0,
        failure: Some(StepFailure {
            step: 0,
            label: "load".to_string(),
            problems: vec![message],
        }),
    }
}

/// Runs every scenario file (folders expanded) in order, printing the
/// report and a final `N passed, M failed` line.
pub async fn run_paths(paths: &[PathBuf], opts: &Options, out: &mut (dyn Write + Send)) -> Summary {
    let mut summary = Summary::default();
    for entry in expand_paths(paths) {
        let report = match entry {
            Ok(path) => run_file(&path, opts, out).await,
            Err((path, message)) => {
                print(out, &format!("FAIL  {}: {message}", path.display()));
                load_failure(&path, path.display().to_string(), message)
            }
        };
        summary.scenarios.push(report);
    }
    print(out, &summary.line());
    summary
}

/// Loads and runs one scenario file.
pub async fn run_file(path: &Path, opts: &Options, out: &mut (dyn Write + Send)) -> ScenarioReport {
    match Scenario::load(path) {
        Ok(scenario) => run_scenario(&scenario, Some(path), opts, out).await,
        Err(message) => {
            print(
                out,
                &format!("FAIL  {}: cannot load: {message}", path.display()),
            );
            load_failure(path, path.display().to_string(), message)
        }
    }
}

async fn start_engine(options: &EngineOptions) -> Result<MockEngine, String> {
    let mut builder = MockEngine::builder();
    if let Some(t) = &options.timings {
        builder = builder.timings(t);
    }
    if let Some(seed) = options.rng_seed {
        builder = builder.rng_seed(seed);
    }
    if let Some(lenient) = options.lenient {
        builder = builder.lenient(lenient);
    }
    builder.start().await.map_err(|e| e.to_string())
}

/// Runs one scenario, stopping at its first failed step.
pub async fn run_scenario(
    scenario: &Scenario,
    file: Option<&Path>,
    opts: &Options,
    out: &mut (dyn Write + Send),
) -> ScenarioReport {
    let report = ScenarioReport {
        file: file.map(Path::to_path_buf),
        name: scenario.name.clone(),
        steps: scenario.steps.len(),
        steps_passed: 0,
        failure: None,
    };
    let place = file
        .map(|f| format!(" ({})", f.display()))
        .unwrap_or_default();
    print(out, &format!("scenario {}{place}", scenario.name));
    if let Some(d) = &scenario.description {
        print(out, &format!("  {}", d.trim().replace('\n', "\n  ")));
    }
    let engine = match engine_for(scenario, opts, out).await {
        Ok(engine) => engine,
        Err(problem) => return failed_to_start(scenario, report, "start engine", problem, out),
    };
    let base = match (&opts.url, &engine) {
        (Some(url), _) => url.trim_end_matches('/').to_string(),
        (None, Some(e)) => e.base_url(),
        (None, None) => String::new(),
    };
    let mut session = match Session::new(base, scenario) {
        Ok(s) => s,
        Err(e) => return failed_to_start(scenario, report, "http client", e, out),
    };
    let report = session.run_steps(scenario, report, out).await;
    if let Some(e) = engine {
        e.stop().await;
    }
    match &report.failure {
        None => print(
            out,
            &format!("PASS  {} ({} steps)", scenario.name, report.steps),
        ),
        Some(f) => print(
            out,
            &format!(
                "FAIL  {} (step {} of {})",
                scenario.name, f.step, report.steps
            ),
        ),
    }
    report
}

/// The in-process engine a scenario runs against; `None` with `--url`,
/// which ignores the scenario's engine options.
async fn engine_for(
    scenario: &Scenario,
    opts: &Options,
    out: &mut (dyn Write + Send),
) -> Result<Option<MockEngine>, String> {
    if opts.url.is_some() {
        if !scenario.engine.is_empty() {
            print(out, "  note: engine options are ignored with --url");
        }
        return Ok(None);
    }
    start_engine(&scenario.engine)
        .await
        .map(Some)
        .map_err(|e| format!("the in-process engine did not start: {e}"))
}

/// The report of a scenario that failed before its first step, as "step 0".
fn failed_to_start(
    scenario: &Scenario,
    mut report: ScenarioReport,
    label: &str,
    problem: String,
    out: &mut (dyn Write + Send),
) -> ScenarioReport {
    print(out, &format!("  FAIL  {problem}"));
    print(out, &format!("FAIL  {}", scenario.name));
    report.failure = Some(StepFailure {
        step: 0,
        label: label.to_string(),
        problems: vec![problem],
    });
    report
}

/// `step 3 [create] buy one server: call create`.
fn step_label(number: usize, step: &Step) -> String {
    let mut label = format!("step {number}");
    if let Some(id) = &step.id {
        label.push_str(&format!(" [{id}]"));
    }
    if let Some(d) = &step.description {
        label.push_str(&format!(" {d}"));
    }
    let what = match &step.kind {
        StepKind::Call(c) => format!("call {}", c.action),
        StepKind::Clock(ClockOp::Advance(s)) => format!("clock advance {s}s"),
        StepKind::Clock(ClockOp::Set(t)) => format!("clock set {t}"),
        StepKind::Clock(ClockOp::Freeze) => "clock freeze".to_string(),
        StepKind::Clock(ClockOp::Resume) => "clock resume".to_string(),
        StepKind::Fault(f) => format!("fault {}", show(&f.rule)),
        StepKind::ClearFaults => "clear faults".to_string(),
        StepKind::Snapshot(n) => format!("snapshot {n}"),
        StepKind::Restore(n) => format!("restore {n}"),
        StepKind::Reset => "reset".to_string(),
        StepKind::Control(c) => format!("control {} {}", c.method, c.path),
        StepKind::ExpectJournal(j) => format!("journal ?{}", j.query),
        StepKind::Fork(f) => match &f.snapshot {
            Some(snap) => format!("fork snapshot {snap}"),
            None => "fork".to_string(),
        },
    };
    format!("{label}: {what}")
}

/// One HTTP answer, from `/api` or `/_mock`.
struct HttpAnswer {
    status: u16,
    /// `X-Mock-Error`.
    reason: Option<String>,
    text: String,
    latency: Duration,
}

impl HttpAnswer {
    /// The body as JSON, or as a JSON string when it is not JSON.
    fn doc(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or_else(|_| Value::String(self.text.clone()))
    }

    /// Lines that show what came back, for a failure report.
    fn evidence(&self) -> Vec<String> {
        // Re-rendered JSON shows Chinese messages as text, not \u escapes.
        let text = match serde_json::from_str::<Value>(&self.text) {
            Ok(v) => v.to_string(),
            Err(_) => self.text.clone(),
        };
        let body: String = text.chars().take(600).collect();
        let cut = if text.chars().count() > 600 {
            "…"
        } else {
            ""
        };
        vec![
            format!(
                "X-Mock-Error: {}",
                self.reason.as_deref().unwrap_or("(none)")
            ),
            format!("answer: HTTP {} {body}{cut}", self.status),
        ]
    }
}

struct Session {
    base: String,
    http: reqwest::Client,
    userid: String,
    key: String,
    scope: Scope,
}

type StepResult = Result<String, Vec<String>>;

impl Session {
    fn new(base: String, scenario: &Scenario) -> Result<Session, String> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Session {
            base,
            http,
            userid: scenario.userid.clone(),
            key: scenario.key.clone(),
            scope: Scope::new(),
        })
    }

    /// Runs the steps in order, printing a line for each, up to the first
    /// that fails.
    async fn run_steps(
        &mut self,
        scenario: &Scenario,
        mut report: ScenarioReport,
        out: &mut (dyn Write + Send),
    ) -> ScenarioReport {
        for (i, step) in scenario.steps.iter().enumerate() {
            let label = step_label(i + 1, step);
            match self.run_step(step).await {
                Ok(note) => {
                    report.steps_passed += 1;
                    print(out, &format!("  PASS  {label}{note}"));
                }
                Err(problems) => {
                    print(out, &format!("  FAIL  {label}"));
                    for p in &problems {
                        print(out, &format!("        {}", p.replace('\n', "\n        ")));
                    }
                    let left = scenario.steps.len() - i - 1;
                    if left > 0 {
                        print(out, &format!("        ({left} later steps not run)"));
                    }
                    report.failure = Some(StepFailure {
                        step: i + 1,
                        label,
                        problems,
                    });
                    break;
                }
            }
        }
        report
    }

    /// Runs a step; `Ok` carries a short note for the PASS line.
    async fn run_step(&mut self, step: &Step) -> StepResult {
        let (doc, note) = match &step.kind {
            StepKind::Call(call) => self.call(call).await?,
            StepKind::Control(control) => self.control_step(control).await?,
            StepKind::Clock(op) => self.clock(op).await?,
            StepKind::Fault(f) => {
                let rule = self.scope.interpolate(&f.rule).map_err(one)?;
                let doc = self.control_ok("POST", "/_mock/faults", Some(rule)).await?;
                let id = doc.get("id").map(show).unwrap_or_default();
                (doc, format!(" (rule {id})"))
            }
            StepKind::ClearFaults => (
                self.control_ok("DELETE", "/_mock/faults", None).await?,
                String::new(),
            ),
            StepKind::Reset => (
                self.control_ok("POST", "/_mock/reset", None).await?,
                String::new(),
            ),
            StepKind::Snapshot(name) => {
                let name = self.scope.interpolate_text(name).map_err(one)?;
                let doc = self
                    .control_ok("POST", "/_mock/snapshots", Some(json!({"name": name})))
                    .await?;
                (doc, String::new())
            }
            StepKind::Restore(name) => {
                let name = self.scope.interpolate_text(name).map_err(one)?;
                let path = format!("/_mock/snapshots/{}/restore", segment(&name));
                (self.control_ok("POST", &path, None).await?, String::new())
            }
            StepKind::Fork(fork) => self.fork(fork).await?,
            StepKind::ExpectJournal(j) => self.expect_journal(j).await?,
        };
        self.remember(step, &doc)?;
        Ok(note)
    }

    /// Moves, sets, freezes or resumes the engine's clock.
    async fn clock(&self, op: &ClockOp) -> Result<(Value, String), Vec<String>> {
        let (path, body) = match op {
            ClockOp::Advance(s) => ("/_mock/clock/advance", json!({"seconds": s})),
            ClockOp::Set(t) => (
                "/_mock/clock/set",
                json!({"now": self.scope.interpolate_text(t).map_err(one)?}),
            ),
            ClockOp::Freeze => ("/_mock/clock/freeze", json!({})),
            ClockOp::Resume => ("/_mock/clock/resume", json!({})),
        };
        let doc = self.control_ok("POST", path, Some(body)).await?;
        let now = doc.get("now").and_then(Value::as_str).unwrap_or("?");
        let note = format!(" (now {now})");
        Ok((doc, note))
    }

    /// Reads every journal entry the query matches and checks their count
    /// and contents.
    async fn expect_journal(&self, j: &JournalExpect) -> Result<(Value, String), Vec<String>> {
        let query = self.scope.interpolate_text(&j.query).map_err(one)?;
        // Every matching entry, page after page, unless the query
        // names its own `limit` or `before`.
        let mut pages = crate::client::JournalPages::new(&query);
        let mut all = Vec::new();
        let mut doc = Value::Null;
        while let Some(path) = pages.next_path() {
            doc = self.control_ok("GET", &path, None).await?;
            all.extend(pages.take(&doc));
        }
        let entries = Value::Array(all);
        if let Value::Object(map) = &mut doc {
            map.insert("requests".to_string(), entries.clone());
        }
        let mut problems = Vec::new();
        let n = entries.as_array().map_or(0, Vec::len);
        if let Some(count) = j.count {
            if n != count {
                problems.push(format!("journal: expected {count} entries, got {n}"));
            }
        }
        if let Some(want) = &j.entries {
            let want = self.scope.interpolate(want).map_err(one)?;
            problems.extend(
                subset(&want, &entries, ArrayMode::Prefix, "requests")
                    .iter()
                    .map(Mismatch::to_string),
            );
        }
        if !problems.is_empty() {
            problems.push(format!("journal: {}", show(&entries)));
            return Err(problems);
        }
        Ok((doc, format!(" ({n} entries)")))
    }

    /// Makes a namespace from the current one and moves the session into it.
    async fn fork(&mut self, fork: &ForkStep) -> Result<(Value, String), Vec<String>> {
        let one = |e: String| vec![e];
        // The session's base is the server root or `root/ns/NAME`.
        let control = self.control_client();
        let current = match self.base.rsplit_once("/ns/") {
            Some((_, name)) if !name.is_empty() && !name.contains('/') => {
                percent_encoding::percent_decode_str(name)
                    .decode_utf8_lossy()
                    .into_owned()
            }
            _ => "default".to_string(),
        };
        let mut new = NewNamespace {
            from: Some(current),
            ..NewNamespace::default()
        };
        if let Some(name) = &fork.name {
            new.name = Some(self.scope.interpolate_text(name).map_err(one)?);
        }
        if let Some(snap) = &fork.snapshot {
            new.from_snapshot = Some(self.scope.interpolate_text(snap).map_err(one)?);
        }
        let made = control.create_namespace(&new).await.map_err(|e| match e {
            ControlError::Refused { status, body } => {
                vec![format!("POST /_mock/namespaces answered {status}: {body}")]
            }
            other => vec![format!("POST /_mock/namespaces: {other}")],
        })?;
        self.base = control.namespace(&made.name).base_url().to_string();
        let doc = serde_json::to_value(&made).unwrap_or(Value::Null);
        Ok((doc, format!(" (now in namespace {})", made.name)))
    }

    /// The control API of the session's current namespace.
    fn control_client(&self) -> ControlClient {
        ControlClient::with_http(&self.base, self.http.clone())
    }

    /// Records the step's answer under its `id` and runs its captures.
    fn remember(&mut self, step: &Step, doc: &Value) -> Result<(), Vec<String>> {
        if let Some(id) = &step.id {
            self.scope.set(id, doc.clone());
        }
        for (name, path) in &step.capture {
            match lookup_str(doc, path) {
                Ok(Some(v)) => self.scope.set(name, v.clone()),
                Ok(None) => {
                    return Err(vec![
                        format!("capture {name}: nothing at {path}"),
                        format!("answer: {}", show(doc)),
                    ])
                }
                Err(e) => return Err(vec![format!("capture {name}: {e}")]),
            }
        }
        Ok(())
    }

    async fn call(&self, call: &CallStep) -> Result<(Value, String), Vec<String>> {
        let params = self.scope.interpolate(&call.params).map_err(one)?;
        let (userid, key) = match &call.identity {
            Some(who) => (
                self.scope.interpolate_text(&who.userid).map_err(one)?,
                self.scope.interpolate_text(&who.key).map_err(one)?,
            ),
            None => (self.userid.clone(), self.key.clone()),
        };
        let pairs = Client::new(&self.base, &userid, &key).signed_pairs(&call.action, &params);
        let url = format!("{}/api", self.base);
        let request = match call.encoding {
            Encoding::Form => self.http.post(&url).form(&pairs),
            Encoding::Json => self.http.post(&url).json(&json_body(&pairs, &params)),
        };
        let expect = &call.expect;
        let reply = match send(request).await {
            Ok(r) => r,
            Err(e) if expect.transport_error => {
                return Ok((Value::Null, format!(" (no answer, as expected: {e})")))
            }
            Err(e) => return Err(vec![format!("transport error: {e}")]),
        };
        if expect.transport_error {
            let mut problems = vec![format!(
                "expected no answer (a dropped connection), got HTTP {}",
                reply.status
            )];
            problems.extend(reply.evidence());
            return Err(problems);
        }
        let doc = reply.doc();
        let problems = self.check_answer(expect, &reply, &doc)?;
        if !problems.is_empty() {
            let mut all = problems;
            all.extend(reply.evidence());
            return Err(all);
        }
        let code = doc.get("code").map(show).unwrap_or_else(|| "-".into());
        let reason = reply
            .reason
            .as_deref()
            .map(|r| format!(", {r}"))
            .unwrap_or_default();
        Ok((
            doc,
            format!(
                " (HTTP {}, code {code}{reason}, {} ms)",
                reply.status,
                reply.latency.as_millis()
            ),
        ))
    }

    /// Every way the answer differs from the expectation.
    fn check_answer(
        &self,
        expect: &Expect,
        reply: &HttpAnswer,
        doc: &Value,
    ) -> Result<Vec<String>, Vec<String>> {
        let mut problems = self.check_envelope(expect, reply, doc)?;
        problems.extend(self.check_contents(expect, reply, doc)?);
        Ok(problems)
    }

    /// An expected text with the scope's variables filled in.
    fn text(&self, t: &Option<String>) -> Result<Option<String>, Vec<String>> {
        t.as_ref()
            .map(|s| self.scope.interpolate_text(s))
            .transpose()
            .map_err(one)
    }

    /// How the HTTP status, `code`, `X-Mock-Error` and `message` differ
    /// from the expectation.
    fn check_envelope(
        &self,
        expect: &Expect,
        reply: &HttpAnswer,
        doc: &Value,
    ) -> Result<Vec<String>, Vec<String>> {
        let mut problems = Vec::new();
        let mut mismatch = |path: &str, expected: String, actual: String| {
            problems.push(
                Mismatch {
                    path: path.to_string(),
                    expected,
                    actual,
                }
                .to_string(),
            )
        };
        if let Some(status) = expect.status {
            if status != reply.status {
                mismatch("HTTP status", status.to_string(), reply.status.to_string());
            }
        }
        if let Some(code) = expect.wanted_code() {
            let actual = doc.get("code").cloned().unwrap_or(Value::Null);
            if actual.as_i64() != Some(code) {
                mismatch("code", code.to_string(), show(&actual));
            }
        }
        if let Some(want) = &expect.reason {
            let want = self.text(want)?;
            if want != reply.reason {
                let render = |r: &Option<String>| match r {
                    Some(r) => r.clone(),
                    None => "(none)".to_string(),
                };
                mismatch("X-Mock-Error", render(&want), render(&reply.reason));
            }
        }
        let message = doc.get("message").cloned().unwrap_or(Value::Null);
        if let Some(want) = self.text(&expect.message)? {
            if message.as_str() != Some(want.as_str()) {
                mismatch("message", show(&Value::String(want)), show(&message));
            }
        }
        if let Some(want) = self.text(&expect.message_contains)? {
            if !message.as_str().is_some_and(|m| m.contains(&want)) {
                let expected = format!("text containing {want:?}");
                mismatch("message", expected, show(&message));
            }
        }
        Ok(problems)
    }

    /// How `data`, the lengths, the raw body and the latency differ from
    /// the expectation.
    fn check_contents(
        &self,
        expect: &Expect,
        reply: &HttpAnswer,
        doc: &Value,
    ) -> Result<Vec<String>, Vec<String>> {
        let data = doc.get("data").unwrap_or(&Value::Null);
        let mut found = Vec::new();
        if let Some(want) = &expect.data {
            let want = self.scope.interpolate(want).map_err(one)?;
            found.extend(subset(&want, data, ArrayMode::Prefix, "data"));
        }
        if let Some(want) = &expect.data_contains {
            let want = self.scope.interpolate(want).map_err(one)?;
            found.extend(subset(&want, data, ArrayMode::Anywhere, "data"));
        }
        let mut problems: Vec<String> = found.iter().map(Mismatch::to_string).collect();
        problems.extend(check_lengths(&expect.len, doc));
        if let Some(want) = self.text(&expect.body_contains)? {
            if !reply.text.contains(&want) {
                problems.push(format!("body: expected it to contain {want:?}"));
            }
        }
        if let Some(ms) = expect.min_latency_ms {
            if reply.latency < Duration::from_millis(ms) {
                problems.push(format!(
                    "latency: expected at least {ms} ms, got {} ms",
                    reply.latency.as_millis()
                ));
            }
        }
        Ok(problems)
    }

    async fn control_step(&self, control: &Control) -> Result<(Value, String), Vec<String>> {
        let method = self.scope.interpolate_text(&control.method).map_err(one)?;
        let path = self.scope.interpolate_text(&control.path).map_err(one)?;
        let body = match &control.body {
            Some(b) => Some(self.scope.interpolate(b).map_err(one)?),
            None => None,
        };
        let reply = self.control(&method, &path, body).await.map_err(one)?;
        let mut problems = Vec::new();
        match control.expect_status {
            Some(want) if want != reply.status => problems.push(
                Mismatch {
                    path: "HTTP status".into(),
                    expected: want.to_string(),
                    actual: reply.status.to_string(),
                }
                .to_string(),
            ),
            None if !(200..300).contains(&reply.status) => {
                problems.push(format!("HTTP status: expected 2xx, got {}", reply.status))
            }
            _ => {}
        }
        let doc = reply.doc();
        if let Some(want) = &control.expect {
            let want = self.scope.interpolate(want).map_err(one)?;
            problems.extend(
                subset(&want, &doc, ArrayMode::Prefix, "")
                    .iter()
                    .map(Mismatch::to_string),
            );
        }
        problems.extend(check_lengths(&control.len, &doc));
        if !problems.is_empty() {
            problems.extend(reply.evidence());
            return Err(problems);
        }
        Ok((doc, format!(" (HTTP {})", reply.status)))
    }

    async fn control(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<HttpAnswer, String> {
        let started = Instant::now();
        let answer = self
            .control_client()
            .raw(method, path, body.as_ref())
            .await
            .map_err(|e| match e {
                ControlError::Method(_) => format!("not an HTTP method: {method:?}"),
                other => format!("transport error: {other}"),
            })?;
        Ok(HttpAnswer {
            status: answer.status,
            reason: answer.reason,
            text: answer.text,
            latency: started.elapsed(),
        })
    }

    /// A control call that must answer 2xx; returns its JSON.
    async fn control_ok(
        &self,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value, Vec<String>> {
        let reply = self.control(method, path, body).await.map_err(one)?;
        if !(200..300).contains(&reply.status) {
            let mut problems = vec![format!(
                "{method} {path}: expected HTTP 2xx, got {}",
                reply.status
            )];
            problems.extend(reply.evidence());
            return Err(problems);
        }
        Ok(reply.doc())
    }
}

/// `path: n` checks: the list, map or string at each path has n elements.
fn check_lengths(wanted: &[(String, usize)], doc: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, want) in wanted {
        let actual = match lookup_str(doc, path) {
            Ok(Some(Value::Array(a))) => Some(a.len()),
            Ok(Some(Value::Object(m))) => Some(m.len()),
            Ok(Some(Value::String(s))) => Some(s.chars().count()),
            _ => None,
        };
        if actual != Some(*want) {
            problems.push(
                Mismatch {
                    path: format!("{path} (length)"),
                    expected: want.to_string(),
                    actual: actual.map_or_else(|| "no list there".to_string(), |n| n.to_string()),
                }
                .to_string(),
            );
        }
    }
    problems
}

fn one(message: String) -> Vec<String> {
    vec![message]
}

/// Sends a request and reads the whole answer; a connection closed before
/// the answer is complete is an error here.
async fn send(request: reqwest::RequestBuilder) -> Result<HttpAnswer, reqwest::Error> {
    let started = Instant::now();
    let answer = crate::client::read_answer(request.send().await?).await?;
    Ok(HttpAnswer {
        status: answer.status,
        reason: answer.reason,
        text: answer.text,
        latency: started.elapsed(),
    })
}

/// A JSON body: the signed common fields, then the parameters as given
/// (nested values stay JSON, as in the document's degrade example).
fn json_body(pairs: &[(String, String)], params: &Value) -> Value {
    let mut body = Map::new();
    for (k, v) in pairs {
        if crate::protocol::COMMON_FIELDS.contains(&k.as_str()) {
            body.insert(k.clone(), Value::String(v.clone()));
        }
    }
    if let Value::Object(p) = params {
        for (k, v) in p {
            body.insert(k.clone(), v.clone());
        }
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_bodies_keep_nesting() {
        let params = json!({"guid": "1", "param": [{"item": "bandwidth", "value": 1}]});
        let pairs = Client::new("http://x", "1", "k").signed_pairs("degrade", &params);
        let body = json_body(&pairs, &params);
        assert_eq!(body["module"], "baremetal");
        assert_eq!(body["action"], "degrade");
        assert_eq!(body["param"], json!([{"item": "bandwidth", "value": 1}]));
        assert!(body.get("param[0][item]").is_none());
        assert_eq!(body["sign"].as_str().map(str::len), Some(32));
    }

    #[test]
    fn labels_name_the_step() {
        let scenario = Scenario::from_yaml(
            "name: t\nsteps:\n  - {id: c, description: buy, call: create}\n  - clock: {advance: 30}\n",
        )
        .unwrap();
        assert_eq!(
            step_label(1, &scenario.steps[0]),
            "step 1 [c] buy: call create"
        );
        assert_eq!(
            step_label(2, &scenario.steps[1]),
            "step 2: clock advance 30s"
        );
    }

    #[test]
    fn summary_line_counts_scenarios() {
        let report = |failed: bool| ScenarioReport {
            file: None,
            name: "s".into(),
            steps: 1,
            steps_passed: 0,
            failure: failed.then(|| StepFailure {
                step: 1,
                label: "l".into(),
                problems: vec![],
            }),
        };
        let s = Summary {
            scenarios: vec![report(false), report(true), report(false)],
        };
        assert_eq!(s.line(), "2 passed, 1 failed");
    }
}
