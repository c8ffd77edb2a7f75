//! The CLI tells the truth about what came back: `call` through the real
//! binary against a served engine, and `--help` describing every argument.

use std::process::Output;

use serde_json::json;

use crate::common;
use crate::helpers::TestApp;

/// Runs the binary with no `APAYUN_MOCK_*` variable nor proxy set.
async fn run(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        common::command()
            .args(&args)
            .output()
            .unwrap_or_else(|e| panic!("cannot run the binary: {e}"))
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"))
}

fn words(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

struct Seen {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

async fn call(url: &str, action: &str) -> Seen {
    let out = run(words(&["call", action, "--url", url])).await;
    Seen {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

async fn fault(app: &TestApp, effect: serde_json::Value) {
    app.control("DELETE", "/_mock/faults", None).await;
    let (status, body) = app
        .control(
            "POST",
            "/_mock/faults",
            Some(json!({"action": "getzones", "effect": effect})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

#[tokio::test]
async fn call_shows_the_http_outcome() {
    let app = TestApp::spawn().await;
    let url = app.url();

    let ok = call(&url, "getzones").await;
    assert_eq!(ok.code, Some(0), "{}", ok.stderr);
    assert!(ok.stdout.contains("\"zones\""), "{}", ok.stdout);

    // An HTTP fault with an empty body: the status, and that nothing came.
    fault(&app, json!({"kind": "http", "status": 503, "body": ""})).await;
    let empty = call(&url, "getzones").await;
    assert_eq!(empty.code, Some(1));
    assert!(
        empty.stderr.contains("HTTP 503 Service Unavailable"),
        "{}",
        empty.stderr
    );
    assert!(empty.stderr.contains("(empty body)"), "{}", empty.stderr);
    assert_eq!(empty.stdout.trim(), "", "{}", empty.stdout);

    // With a body, the body is shown as it came.
    fault(
        &app,
        json!({"kind": "http", "status": 502, "body": "<h1>bad gateway</h1>"}),
    )
    .await;
    let html = call(&url, "getzones").await;
    assert_eq!(html.code, Some(1));
    assert!(
        html.stderr.contains("HTTP 502 Bad Gateway"),
        "{}",
        html.stderr
    );
    assert!(
        html.stdout.contains("<h1>bad gateway</h1>"),
        "{}",
        html.stdout
    );

    // A dropped connection: the server is up, it answered nothing.
    fault(&app, json!({"kind": "drop"})).await;
    let dropped = call(&url, "getzones").await;
    assert_eq!(dropped.code, Some(1), "{}", dropped.stderr);
    assert!(
        dropped
            .stderr
            .contains("closed the connection without an answer"),
        "{}",
        dropped.stderr
    );
    assert!(
        !dropped.stderr.contains("cannot reach"),
        "{}",
        dropped.stderr
    );

    // Nobody listening: that one is "cannot reach", exit 2.
    drop(app);
    let gone = call(&url, "getzones").await;
    assert_eq!(gone.code, Some(2), "{}", gone.stderr);
    assert!(gone.stderr.contains("cannot reach"), "{}", gone.stderr);
}

/// Every argument of every subcommand has a description in `--help`.
#[tokio::test]
async fn every_help_describes_every_argument() {
    for sub in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["call", "--help"],
        vec!["sign", "--help"],
        vec!["scenario", "--help"],
        vec!["scenario", "run", "--help"],
    ] {
        let out = run(words(&sub)).await;
        assert_eq!(out.status.code(), Some(0), "{sub:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let lines: Vec<&str> = text.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let item = line.trim_start();
            // An argument line: `--flag <VALUE>`, `<ARG>` or `[ARG]`, indented
            // by 2 to 6 (a description under it is indented deeper).
            let indent = line.len() - item.len();
            let is_arg = item.starts_with('-') || item.starts_with('<') || item.starts_with('[');
            if !is_arg || !(2..=6).contains(&indent) {
                continue;
            }
            // Its description follows after two spaces (`[default: …]` and
            // `[env: …]` alone describe nothing), or on the next line, deeper.
            let inline = item.split_once("  ").map(|(_, rest)| rest.trim());
            let described = match inline {
                Some(rest) => !rest.is_empty() && !rest.starts_with('['),
                None => lines.get(i + 1).is_some_and(|next| {
                    let indent = |l: &str| l.len() - l.trim_start().len();
                    let body = next.trim_start();
                    indent(next) > indent(line)
                        && !body.is_empty()
                        && !body.starts_with('-')
                        && !body.starts_with('[')
                }),
            };
            assert!(described, "{sub:?}: undescribed argument {line:?}\n{text}");
        }
    }
    let sign = run(words(&["sign", "--help"])).await;
    let text = String::from_utf8_lossy(&sign.stdout).into_owned();
    for flag in ["--userid", "--key"] {
        assert!(
            text.lines().any(|l| l.contains(flag)
                && l.trim_start()
                    .split_once("  ")
                    .is_some_and(|(_, rest)| !rest.trim().starts_with('['))),
            "{flag}: {text}"
        );
    }
}
