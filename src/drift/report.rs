//! What `drift` reports: a table grouped by action for a person, JSON for
//! a bug report, JUnit XML (one test case per action) for CI.

use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use quick_xml::Writer;
use serde_json::{json, Value};

use super::shape::{Finding, Severity};
use super::Probe;

/// One action's comparison.
#[derive(Debug, Clone)]
pub struct ActionReport {
    pub probe: Probe,
    pub mock_answers: usize,
    pub engine_answers: usize,
    pub findings: Vec<Finding>,
    /// Why something was not compared.
    pub notes: Vec<String>,
}

impl ActionReport {
    fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }

    fn summary(&self) -> String {
        let (e, w) = (self.count(Severity::Error), self.count(Severity::Warning));
        match (e, w) {
            (0, 0) if self.notes.is_empty() => "same shape".into(),
            (0, 0) => "not compared".into(),
            _ => counted(e, w),
        }
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn counted(errors: usize, warnings: usize) -> String {
    match (errors, warnings) {
        (e, 0) => plural(e, "error"),
        (0, w) => plural(w, "warning"),
        (e, w) => format!("{}, {}", plural(e, "error"), plural(w, "warning")),
    }
}

/// The whole comparison.
#[derive(Debug, Clone)]
pub struct Report {
    /// The engine as the report names it (its URL without credentials,
    /// or the recording's folder).
    pub engine: String,
    pub mock: String,
    pub actions: Vec<ActionReport>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.actions.iter().map(|a| a.count(Severity::Error)).sum()
    }

    pub fn warnings(&self) -> usize {
        self.actions
            .iter()
            .map(|a| a.count(Severity::Warning))
            .sum()
    }

    /// The table a person reads: one block per action, a row per finding
    /// with the path, what the mock has, what the engine has and one
    /// redacted sample.
    pub fn table(&self) -> String {
        let mut out = format!("drift: {} against {}\n\n", self.engine, self.mock);
        let title_width = self
            .actions
            .iter()
            .map(|a| a.probe.title().len())
            .max()
            .unwrap_or(0);
        for a in &self.actions {
            out.push_str(&format!(
                "{:<title_width$}  {:<22}  {}\n",
                a.probe.title(),
                format!(
                    "answers: mock {}, engine {}",
                    a.mock_answers, a.engine_answers
                ),
                a.summary()
            ));
            for note in &a.notes {
                out.push_str(&format!("    {note}\n"));
            }
            if a.findings.is_empty() {
                continue;
            }
            out.push_str(&findings_table(a));
        }
        let (e, w) = (self.errors(), self.warnings());
        out.push('\n');
        if e + w == 0 {
            out.push_str("No difference in shape.\n");
        } else {
            out.push_str(&format!(
                "{}.\n  error:   the engine lacks a field the mock sends, sends another type, \
                 or another envelope\n  warning: the engine sends a field or a value the mock \
                 does not know\n\
                 Is the mock wrong? Report the drift with the JSON report attached \
                 (--json FILE;\nit holds shapes and redacted samples only).\n",
                counted(e, w)
            ));
        }
        out
    }

    pub fn json(&self) -> Value {
        json!({
            "tool": "apayun-mock drift",
            "version": env!("CARGO_PKG_VERSION"),
            "engine": self.engine,
            "mock": self.mock,
            "errors": self.errors(),
            "warnings": self.warnings(),
            "actions": self.actions.iter().map(|a| json!({
                "action": a.probe.id(),
                "title": a.probe.title(),
                "answers": {"mock": a.mock_answers, "engine": a.engine_answers},
                "errors": a.count(Severity::Error),
                "warnings": a.count(Severity::Warning),
                "findings": a.findings,
                "notes": a.notes,
            })).collect::<Vec<_>>(),
        })
    }

    /// JUnit XML: a test case per action, failing when it has errors;
    /// warnings go to its `system-out`.
    pub fn junit(&self) -> String {
        let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
        // Writing to a Vec cannot fail; the results are ignored on purpose.
        let _ = w.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)));
        let failures = self
            .actions
            .iter()
            .filter(|a| a.count(Severity::Error) > 0)
            .count()
            .to_string();
        let tests = self.actions.len().to_string();
        let mut suites = BytesStart::new("testsuites");
        suites.push_attribute(("name", "apayun-mock drift"));
        suites.push_attribute(("tests", tests.as_str()));
        suites.push_attribute(("failures", failures.as_str()));
        let _ = w.write_event(Event::Start(suites));
        let mut suite = BytesStart::new("testsuite");
        let suite_name = format!("drift: {} against {}", self.engine, self.mock);
        suite.push_attribute(("name", suite_name.as_str()));
        suite.push_attribute(("tests", tests.as_str()));
        suite.push_attribute(("failures", failures.as_str()));
        suite.push_attribute(("errors", "0"));
        let _ = w.write_event(Event::Start(suite));
        for a in &self.actions {
            junit_case(&mut w, a);
        }
        let _ = w.write_event(Event::End(BytesEnd::new("testsuite")));
        let _ = w.write_event(Event::End(BytesEnd::new("testsuites")));
        String::from_utf8_lossy(&w.into_inner()).into_owned() + "\n"
    }
}

/// One action's findings as aligned columns, with a header row.
fn findings_table(a: &ActionReport) -> String {
    let head = ["difference", "path", "mock", "engine", "sample"];
    let rows: Vec<[String; 5]> = a
        .findings
        .iter()
        .map(|f| {
            [
                format!("{} ({})", f.severity.word(), f.kind.word()),
                f.path.clone(),
                f.mock.clone(),
                f.engine.clone(),
                f.sample.clone().unwrap_or_default(),
            ]
        })
        .collect();
    let width = |i: usize| {
        rows.iter()
            .map(|r| r[i].chars().count())
            .chain([head[i].len()])
            .max()
            .unwrap_or(0)
    };
    let w: Vec<usize> = (0..4).map(width).collect();
    let line = |cells: [&str; 5]| {
        let mut l = String::from("    ");
        for (i, c) in cells.iter().enumerate().take(4) {
            l.push_str(c);
            l.push_str(&" ".repeat(w[i] - c.chars().count() + 2));
        }
        l.push_str(cells[4]);
        l.trim_end().to_string() + "\n"
    };
    let mut out = line(head);
    for r in &rows {
        out.push_str(&line([&r[0], &r[1], &r[2], &r[3], &r[4]]));
    }
    out
}

/// One action's test case: its errors as a failure, its warnings and
/// notes as `system-out`.
fn junit_case(w: &mut Writer<Vec<u8>>, a: &ActionReport) {
    let mut case = BytesStart::new("testcase");
    case.push_attribute(("classname", "drift"));
    case.push_attribute(("name", a.probe.title()));
    let lines = |severity: Severity| -> Vec<String> {
        a.findings
            .iter()
            .filter(|f| f.severity == severity)
            .map(finding_line)
            .collect()
    };
    let errors = lines(Severity::Error);
    let mut out = lines(Severity::Warning);
    out.extend(a.notes.iter().cloned());
    if errors.is_empty() && out.is_empty() {
        let _ = w.write_event(Event::Empty(case));
        return;
    }
    let _ = w.write_event(Event::Start(case));
    if !errors.is_empty() {
        let mut failure = BytesStart::new("failure");
        let message = plural(errors.len(), "error");
        failure.push_attribute(("message", message.as_str()));
        failure.push_attribute(("type", "drift"));
        let _ = w.write_event(Event::Start(failure));
        let _ = w.write_event(Event::Text(BytesText::new(&errors.join("\n"))));
        let _ = w.write_event(Event::End(BytesEnd::new("failure")));
    }
    if !out.is_empty() {
        let _ = w.write_event(Event::Start(BytesStart::new("system-out")));
        let _ = w.write_event(Event::Text(BytesText::new(&out.join("\n"))));
        let _ = w.write_event(Event::End(BytesEnd::new("system-out")));
    }
    let _ = w.write_event(Event::End(BytesEnd::new("testcase")));
}

fn finding_line(f: &Finding) -> String {
    let mut line = format!(
        "{} ({}) {}: mock {}, engine {}",
        f.severity.word(),
        f.kind.word(),
        f.path,
        f.mock,
        f.engine
    );
    if let Some(s) = &f.sample {
        line.push_str(&format!(", sample {s}"));
    }
    line
}
