//! Every check of the scenario runner can fail: each file in
//! `tests/fixtures/scenarios-failing/` satisfies one check, then breaks it
//! in its last step. A check that never fails leaves the file passing; one
//! that always fails stops it early; either way the report below differs.

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use apayun_mock::test_support::scenario::{run_file, run_paths, Options};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/scenarios-failing")
        .join(name)
}

/// Runs one failing fixture and checks the step that failed, its label, and
/// that the first problem starts with `problem`.
async fn check(name: &str, step: usize, label: &str, problem: &str) {
    let mut out = Vec::new();
    let report = run_file(&fixture(name), &Options::default(), &mut out).await;
    let out = String::from_utf8_lossy(&out);
    let failure = report
        .failure
        .unwrap_or_else(|| panic!("{name} should fail but passed:\n{out}"));
    assert_eq!(
        (failure.step, report.steps_passed, report.steps),
        (step, step - 1, step),
        "{name}: the last step should be the one that fails:\n{out}"
    );
    assert_eq!(failure.label, label, "{name}:\n{out}");
    let first = failure.problems.first().cloned().unwrap_or_default();
    assert!(
        first.starts_with(problem),
        "{name}: first problem {first:?} should start with {problem:?}:\n{out}"
    );
    assert!(
        out.contains(&format!("  FAIL  {label}\n        {first}")),
        "{name}: the printed report shows the step and the problem:\n{out}"
    );
}

#[tokio::test]
async fn journal_count() {
    check(
        "journal-count.yaml",
        5,
        "step 5 one getzones too many: journal ?action=getzones",
        "journal: expected 3 entries, got 2",
    )
    .await;
}

#[tokio::test]
async fn message_contains() {
    check(
        "message-contains.yaml",
        2,
        "step 2 a text the message does not hold: call stop",
        r#"at message: expected text containing "no such words", got "#,
    )
    .await;
}

#[tokio::test]
async fn len_of_a_call_answer() {
    check(
        "call-len.yaml",
        2,
        "step 2 one system too many: call getsystems",
        "at data.systems (length): expected 4, got 3",
    )
    .await;
}

#[tokio::test]
async fn len_of_a_control_answer() {
    check(
        "control-len.yaml",
        4,
        "step 4 the rule is still there: control GET /_mock/faults",
        "at faults (length): expected 0, got 1",
    )
    .await;
}

#[tokio::test]
async fn body_contains() {
    check(
        "body-contains.yaml",
        2,
        "step 2 an element the answer does not have: call getzones",
        r#"body: expected it to contain "<no-such-element>""#,
    )
    .await;
}

#[tokio::test]
async fn min_latency_ms() {
    check(
        "min-latency.yaml",
        3,
        "step 3 an undelayed call is not a minute slow: call getzones",
        "latency: expected at least 60000 ms, got ",
    )
    .await;
}

#[tokio::test]
async fn every_failing_fixture_is_checked_and_fails() {
    let dir = fixture("");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".yaml"))
        .collect();
    names.sort();
    // Each file has its own test above; a new file needs one too.
    assert_eq!(
        names,
        [
            "body-contains.yaml",
            "call-len.yaml",
            "control-len.yaml",
            "journal-count.yaml",
            "message-contains.yaml",
            "min-latency.yaml",
        ]
    );
    let mut out = Vec::new();
    let summary = run_paths(&[dir], &Options::default(), &mut out).await;
    let out = String::from_utf8_lossy(&out);
    assert_eq!((summary.passed(), summary.failed()), (0, 6), "{out}");
}
