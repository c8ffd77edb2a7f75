//! Scenario files end to end: every file shipped in `scenarios/` passes
//! against a fresh in-process engine; a broken scenario fails with a
//! report that names its step and the mismatch; `apayun-mock scenario run`
//! exits 0 on a good file and non-zero on a bad one.

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

use apayun_mock::test_support::fixtures::create_params_with;
use apayun_mock::test_support::scenario::{run_file, run_paths, Options, ScenarioReport, Summary};

mod common;

fn shipped() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

/// Runs scenarios in-process; returns the summary and the printed report.
async fn run(paths: &[PathBuf]) -> (Summary, String) {
    let mut out = Vec::new();
    let summary = run_paths(paths, &Options::default(), &mut out).await;
    (summary, String::from_utf8_lossy(&out).into_owned())
}

async fn run_one(path: &Path) -> (ScenarioReport, String) {
    let mut out = Vec::new();
    let report = run_file(path, &Options::default(), &mut out).await;
    (report, String::from_utf8_lossy(&out).into_owned())
}

fn write(dir: &tempfile::TempDir, name: &str, yaml: &str) -> PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, yaml).unwrap_or_else(|e| panic!("cannot write {name}: {e}"));
    path
}

const GOOD: &str = r#"
name: good
engine: {timings: fast, rng_seed: 7}
steps:
  - id: zones
    call: getzones
    expect:
      data: {zones: [{guid: "1625139389577044"}]}
  - call: sync_baremetal
    params: {guid: "1708330228791024"}
    expect:
      data: {baremetal: {guid: "1708330228791024", order_status: "1"}}
"#;

/// Step 3 expects the example instance to be stopped while it runs.
const BROKEN: &str = r#"
name: broken
engine: {timings: default}
steps:
  - call: getzones
  - clock: {advance: 10}
  - id: wrong
    description: expects a stopped instance
    call: sync_baremetal
    params: {guid: "1708330228791024"}
    expect:
      data: {baremetal: {run_status: "-1"}}
  - description: never runs
    call: getzones
"#;

#[tokio::test]
async fn every_shipped_scenario_passes() {
    let files = shipped();
    assert!(
        files.len() >= 12,
        "expected the shipped scenarios, found {files:?}"
    );
    let (summary, report) = run(&files).await;
    assert_eq!(summary.failed(), 0, "failed scenarios:\n{report}");
    assert_eq!(summary.passed(), files.len(), "{report}");
    assert!(
        report.ends_with(&format!("{} passed, 0 failed\n", files.len())),
        "{report}"
    );
}

#[tokio::test]
async fn shipped_scenarios_cover_every_fault_kind() {
    let all: String = shipped()
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap_or_default())
        .collect();
    for kind in ["error", "http", "delay", "drop", "stall"] {
        assert!(
            all.contains(&format!("kind: {kind}")),
            "no scenario uses a {kind} fault"
        );
    }
    for action in [
        "getzones",
        "sync_line",
        "getsystems",
        "sync_harddisk",
        "sync_product",
        "create",
        "stop",
        "start",
        "restart",
        "setpass",
        "install",
        "renew",
        "upgrade",
        "degrade",
        "degrade_cancel",
        "refund",
    ] {
        assert!(
            all.contains(&format!("call: {action}\n")),
            "no scenario calls {action}"
        );
    }
}

#[tokio::test]
async fn a_broken_scenario_names_the_step_and_the_mismatch() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = write(&dir, "broken.yaml", BROKEN);
    let (report, out) = run_one(&path).await;
    assert!(!report.passed(), "{out}");
    assert_eq!(report.steps_passed, 2, "{out}");
    let failure = report
        .failure
        .clone()
        .unwrap_or_else(|| panic!("no failure in {out}"));
    assert_eq!(failure.step, 3, "{out}");
    assert_eq!(
        failure.label,
        "step 3 [wrong] expects a stopped instance: call sync_baremetal"
    );
    assert_eq!(
        failure.problems.first().map(String::as_str),
        Some(r#"at data.baremetal.run_status: expected "-1", got "1""#),
        "{out}"
    );
    assert!(
        failure.problems.iter().any(|p| p == "X-Mock-Error: (none)"),
        "{out}"
    );
    assert!(
        out.contains("  FAIL  step 3 [wrong] expects a stopped instance"),
        "{out}"
    );
    assert!(out.contains("(1 later steps not run)"), "{out}");
    assert!(!out.contains("never runs"), "{out}");
    assert!(out.contains("FAIL  broken (step 3 of 4)"), "{out}");
}

#[tokio::test]
async fn failures_show_the_mock_error_reason() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = write(
        &dir,
        "reason.yaml",
        "name: reason\nsteps:\n  - call: stop\n    params: {guid: \"999\"}\n",
    );
    let (report, out) = run_one(&path).await;
    let problems = report.failure.map(|f| f.problems).unwrap_or_default();
    assert_eq!(
        problems.first().map(String::as_str),
        Some("at code: expected 0, got 1"),
        "{out}"
    );
    assert!(
        problems.iter().any(|p| p == "X-Mock-Error: not_found"),
        "{out}"
    );
}

#[tokio::test]
async fn a_run_goes_on_after_a_failed_or_unloadable_file() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let files = [
        write(&dir, "1-broken.yaml", BROKEN),
        write(
            &dir,
            "2-typo.yaml",
            "name: typo\nsteps:\n  - call: getzones\n    expct: {code: 0}\n",
        ),
        write(&dir, "3-good.yaml", GOOD),
        dir.path().join("4-missing.yaml"),
    ];
    let (summary, out) = run(&files).await;
    assert_eq!((summary.passed(), summary.failed()), (1, 3), "{out}");
    assert!(out.contains("PASS  good (2 steps)"), "{out}");
    assert!(out.contains("unknown field `expct`"), "{out}");
    assert!(out.contains("4-missing.yaml: cannot load"), "{out}");
    assert!(out.ends_with("1 passed, 3 failed\n"), "{out}");
    let (folder, out) = run(&[dir.path().to_path_buf()]).await;
    assert_eq!((folder.passed(), folder.failed()), (1, 2), "{out}");
}

#[tokio::test]
async fn an_engine_that_cannot_start_fails_the_scenario() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = write(
        &dir,
        "timings.yaml",
        "name: t\nengine: {timings: no-such-profile}\nsteps:\n  - call: getzones\n",
    );
    let (report, out) = run_one(&path).await;
    assert_eq!(report.failure.map(|f| f.step), Some(0), "{out}");
    assert!(out.contains("did not start"), "{out}");
}

fn cli(args: &[&str]) -> std::process::Output {
    common::command()
        .arg("scenario")
        .arg("run")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run the binary: {e}"))
}

#[test]
fn cli_exit_status_follows_the_result() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let good = write(&dir, "good.yaml", GOOD);
    let bad = write(&dir, "bad.yaml", BROKEN);
    let path = |p: &PathBuf| p.to_string_lossy().into_owned();

    let ok = cli(&[&path(&good)]);
    let stdout = String::from_utf8_lossy(&ok.stdout);
    assert_eq!(ok.status.code(), Some(0), "{stdout}");
    assert!(stdout.ends_with("1 passed, 0 failed\n"), "{stdout}");

    let failed = cli(&[&path(&good), &path(&bad)]);
    let stdout = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(r#"at data.baremetal.run_status: expected "-1", got "1""#),
        "{stdout}"
    );
    assert!(stdout.ends_with("1 passed, 1 failed\n"), "{stdout}");
}

/// With `--url` the scenario runs against that engine, and engine options
/// (which only an in-process engine can take) are noted as ignored, only
/// when the file gives some.
#[tokio::test]
async fn with_a_url_engine_options_are_noted_only_when_given() {
    let engine = apayun_mock::MockEngine::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let opts = Options {
        url: Some(engine.base_url()),
    };
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let plain = write(
        &dir,
        "plain.yaml",
        "name: plain\nsteps:\n  - call: getzones\n",
    );
    let with = write(
        &dir,
        "with.yaml",
        "name: with options\nengine: {rng_seed: 1}\nsteps:\n  - call: getzones\n",
    );
    for (path, noted) in [(plain, false), (with, true)] {
        let mut out = Vec::new();
        let report = run_file(&path, &opts, &mut out).await;
        let text = String::from_utf8_lossy(&out).into_owned();
        assert!(report.passed(), "{text}");
        assert_eq!(
            text.contains("engine options are ignored with --url"),
            noted,
            "{}: {text}",
            path.display()
        );
    }
    let journal = engine.requests("action=getzones").await.unwrap_or_default();
    assert_eq!(journal.len(), 2, "both ran against the given engine");
}

/// A failed step says how many later steps did not run, and says nothing
/// when it was the last.
#[tokio::test]
async fn a_failure_counts_the_steps_left_only_when_there_are_some() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad_call = "  - call: getzones\n    expect: {code: 1}\n";
    let early = write(
        &dir,
        "early.yaml",
        &format!("name: early\nsteps:\n{bad_call}  - call: getzones\n"),
    );
    let last = write(
        &dir,
        "last.yaml",
        &format!("name: last\nsteps:\n  - call: getzones\n{bad_call}"),
    );
    let (report, text) = run_one(&early).await;
    assert_eq!(report.failure.map(|f| f.step), Some(1), "{text}");
    assert!(text.contains("(1 later steps not run)"), "{text}");
    let (report, text) = run_one(&last).await;
    assert_eq!(report.failure.map(|f| f.step), Some(2), "{text}");
    assert!(!text.contains("later steps not run"), "{text}");
}

/// A failure report shows the answer, cut at 600 characters with "…" when
/// it is longer, and whole when it is not.
#[tokio::test]
async fn a_failure_shows_the_answer_cut_only_when_long() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let long = write(
        &dir,
        "long.yaml",
        "name: long\nsteps:\n  - call: sync_product\n    expect: {code: 1}\n",
    );
    let short = write(
        &dir,
        "short.yaml",
        "name: short\nsteps:\n  - call: sync_baremetal\n    params: {guid: \"1\"}\n",
    );
    let answer_line = |text: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with("answer: HTTP"))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no answer line in {text}"))
    };
    let (_, text) = run_one(&long).await;
    let line = answer_line(&text);
    assert!(line.ends_with('…'), "{line}");
    let (_, text) = run_one(&short).await;
    let line = answer_line(&text);
    assert!(line.ends_with('}'), "{line}");
}

/// A `fork` step copies the namespace the run is in: with `--url …/ns/src`
/// the copy holds what `src` holds, and the steps after it run in the copy.
#[tokio::test]
async fn a_fork_copies_the_namespace_of_the_url() {
    let engine = apayun_mock::MockEngine::start()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let src = engine.namespace_client("src");
    let made = src
        .call(
            "create",
            create_params_with(
                "fork-url-1",
                serde_json::json!({"buyRemarks": null, "clientOrderNo": null, "clientUserId": null}),
            ),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let guid = made.data()[0]["guid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!guid.is_empty(), "{}", made.text);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let yaml = format!(
        "name: fork from the url's namespace\nsteps:\n  - fork: {{name: copied}}\n  \
         - call: sync_baremetal\n    params: {{guid: \"{guid}\"}}\n"
    );
    let path = write(&dir, "fork.yaml", &yaml);
    let opts = Options {
        url: Some(format!("{}/ns/src", engine.base_url())),
    };
    let mut out = Vec::new();
    let report = run_file(&path, &opts, &mut out).await;
    let text = String::from_utf8_lossy(&out).into_owned();
    assert!(report.passed(), "{text}");
    assert!(text.contains("now in namespace copied"), "{text}");
    let journal = engine
        .control(
            "GET",
            "/ns/copied/_mock/requests?action=sync_baremetal",
            None,
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        journal.1["requests"].as_array().map(Vec::len),
        Some(1),
        "{journal:?}"
    );
}

/// A dropped connection fails a call that did not expect one.
#[tokio::test]
async fn an_unexpected_dropped_connection_fails_the_step() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = write(
        &dir,
        "dropped.yaml",
        "name: dropped\nsteps:\n  - fault: {action: getzones, effect: {kind: drop}}\n  \
         - call: getzones\n",
    );
    let (report, text) = run_one(&path).await;
    let failure = report.failure.unwrap_or_else(|| panic!("passed: {text}"));
    assert_eq!(failure.step, 2, "{text}");
    assert!(
        failure
            .problems
            .iter()
            .any(|p| p.starts_with("transport error")),
        "{text}"
    );
}

/// A control step checks its HTTP status: the one given, or any 2xx; and
/// `len` counts a string's characters.
#[tokio::test]
async fn control_steps_check_their_status_and_string_lengths() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let cases = [
        ("control: {path: /_mock/nowhere, expect_status: 404}", None),
        ("control: {path: /_mock/clock, len: {now: 19}}", None),
        (
            "control: {path: /_mock/nowhere, expect_status: 200}",
            Some("HTTP status"),
        ),
        (
            "control: {path: /_mock/nowhere}",
            Some("expected 2xx, got 404"),
        ),
        (
            "control: {path: /_mock/clock, expect_status: 404}",
            Some("HTTP status"),
        ),
        (
            "control: {path: /_mock/clock, len: {now: 5}}",
            Some("now (length)"),
        ),
    ];
    for (i, (step, problem)) in cases.into_iter().enumerate() {
        let path = write(
            &dir,
            &format!("control-{i}.yaml"),
            &format!("name: control {i}\nsteps:\n  - {step}\n"),
        );
        let (report, text) = run_one(&path).await;
        match problem {
            None => assert!(report.passed(), "{step}: {text}"),
            Some(want) => {
                let failure = report
                    .failure
                    .unwrap_or_else(|| panic!("{step} passed: {text}"));
                assert!(
                    failure.problems.iter().any(|p| p.contains(want)),
                    "{step}: {:?}",
                    failure.problems
                );
            }
        }
    }
}

/// A step whose `${…}` names nothing fails with the interpolation's message.
#[tokio::test]
async fn an_unknown_placeholder_fails_with_its_message() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = write(
        &dir,
        "unknown.yaml",
        "name: unknown\nsteps:\n  - control: {path: \"/_mock/baremetal/${nobody}\"}\n",
    );
    let (report, text) = run_one(&path).await;
    let failure = report.failure.unwrap_or_else(|| panic!("passed: {text}"));
    assert_eq!(failure.problems.len(), 1, "{:?}", failure.problems);
    assert!(
        failure.problems[0].contains("nothing is named \"nobody\""),
        "{:?}",
        failure.problems
    );
}

#[tokio::test]
async fn a_typo_in_a_late_fault_step_stops_the_file_before_its_first_step() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/scenarios-invalid/fault-typo.yaml");
    let (report, out) = run_one(&path).await;
    assert_eq!(report.steps_passed, 0, "{out}");
    assert!(
        out.contains("cannot load: step 3: fault: unknown field `efect`"),
        "{out}"
    );
    assert!(!out.contains("PASS"), "no step ran: {out}");
    // Spelt right, the same file runs every step: the refusal above is the
    // typo's, not the file's.
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    let fixed = write(&dir, "fixed.yaml", &text.replace("efect:", "effect:"));
    let (report, out) = run_one(&fixed).await;
    assert!(report.passed(), "{out}");
    assert_eq!(report.steps_passed, 4, "{out}");
}
