//! Security properties (issue 6): the control API refuses non-loopback
//! clients unless they bring the admin token; API keys never reach the
//! server's log, the journal or the callback log; and the sign (and admin
//! token) comparisons are constant-time.
//!
//! The non-loopback check runs the real binary bound to `0.0.0.0` inside a
//! private network namespace (`unshare --net`) that has one extra address
//! on its own loopback device, and calls the control API through that
//! address, so the server sees a non-loopback peer while no packet leaves
//! the namespace. Where namespaces are not allowed, the same table is
//! checked on the guard function itself (as the unit test in
//! `src/admin/guard.rs` does).

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use apayun_mock::client::Client;
use apayun_mock::test_support::admin::admin_allowed;
use apayun_mock::test_support::fixtures::required_create_params;
use apayun_mock::test_support::protocol::sign::{sign, sign_matches};
use serde_json::{json, Value};

mod common;

const KEY_1: &str = "mock-api-key";
const KEY_2: &str = "mock-api-key-2";
/// An address that exists only inside the test's own network namespace.
const NS_ADDR: &str = "10.213.0.1";
const TOKEN: &str = "s3cret-admin-token";

/// Runs the binary in a fresh network namespace and calls `/_mock/clock`
/// through the namespace's non-loopback address (with and without the
/// token) and through 127.0.0.1. Prints `== NAME` before each raw answer.
const NETNS_SCRIPT: &str = r#"
set -u
ip link set lo up || exit 90
ip addr add "$NS_ADDR/32" dev lo || exit 90
call() { # name host port [header]
  exec 3<>"/dev/tcp/$2/$3" || { echo "== $1"; echo "connect failed"; return; }
  printf 'GET /_mock/clock HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s\r\n' "${4:-}" >&3
  echo "== $1"; timeout 5 cat <&3; echo; exec 3<&-
}
serve() { # out [extra args]
  out=$1; shift
  "$BIN" serve --bind 0.0.0.0 --port 0 "$@" >"$out" 2>/dev/null &
  pid=$!
  for _ in $(seq 1 100); do grep -q listening "$out" && break; sleep 0.05; done
  port=$(sed -n 's/^listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$out")
}
serve "$TMP/a.out"
call plain_nonloopback "$NS_ADDR" "$port"
call plain_nonloopback_with_bearer "$NS_ADDR" "$port" "Authorization: Bearer $TOKEN"$'\r\n'
call plain_loopback 127.0.0.1 "$port"
kill "$pid"; wait "$pid" 2>/dev/null
serve "$TMP/b.out" --admin-token "$TOKEN"
call token_nonloopback_without "$NS_ADDR" "$port"
call token_nonloopback_with "$NS_ADDR" "$port" "Authorization: Bearer $TOKEN"$'\r\n'
call token_nonloopback_wrong "$NS_ADDR" "$port" "Authorization: Bearer nope"$'\r\n'
call token_loopback_without 127.0.0.1 "$port"
kill "$pid"; wait "$pid" 2>/dev/null
echo "== done"
"#;

/// `name → (status, X-Mock-Error)` from the script's output.
fn answers(output: &str) -> Vec<(String, u16, Option<String>)> {
    output
        .split("== ")
        .skip(1)
        .filter_map(|part| {
            let (name, rest) = part.split_once('\n')?;
            let status = rest
                .lines()
                .next()
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let reason = rest
                .lines()
                .find(|l| l.to_ascii_lowercase().starts_with("x-mock-error:"))
                .map(|l| l[13..].trim().to_string());
            Some((name.trim().to_string(), status, reason))
        })
        .collect()
}

fn namespaces_work() -> bool {
    Command::new("unshare")
        .args(["--net", "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
        && Command::new("ip")
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

#[test]
fn control_api_refuses_non_loopback_clients_without_the_token() {
    // The guard's own table, always (the netns run below adds the real server).
    let check = |peer: &str, token: Option<&str>, auth: Option<&str>| {
        admin_allowed(peer.parse().ok(), token, auth)
            .map_err(|e| (e.status.as_u16(), e.reason.as_str()))
    };
    assert_eq!(
        check("10.213.0.1", None, None),
        Err((403, "admin_loopback_only"))
    );
    assert_eq!(
        check("10.213.0.1", None, Some("Bearer x")),
        Err((403, "admin_loopback_only"))
    );
    assert_eq!(check("127.0.0.1", None, None), Ok(()));
    assert_eq!(
        check("10.213.0.1", Some(TOKEN), Some(&format!("Bearer {TOKEN}"))),
        Ok(())
    );
    assert_eq!(
        check("10.213.0.1", Some(TOKEN), None),
        Err((401, "admin_token_required"))
    );

    if !namespaces_work() {
        eprintln!(
            "network namespaces are not available here: checked the guard function only \
             (see also the unit test in src/admin/guard.rs)"
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new("unshare");
    common::clear_settings(&mut cmd);
    let out = cmd
        .args(["--net", "bash", "-c", NETNS_SCRIPT])
        .env("BIN", common::BIN)
        .env("NS_ADDR", NS_ADDR)
        .env("TOKEN", TOKEN)
        .env("TMP", tmp.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("unshare: {e}"));
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success() && text.contains("== done"),
        "netns script failed ({}): {text}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    let got = answers(&text);
    eprintln!("control API through {NS_ADDR} in a private namespace: {got:?}");
    let want: &[(&str, u16, Option<&str>)] = &[
        ("plain_nonloopback", 403, Some("admin_loopback_only")),
        (
            "plain_nonloopback_with_bearer",
            403,
            Some("admin_loopback_only"),
        ),
        ("plain_loopback", 200, None),
        (
            "token_nonloopback_without",
            401,
            Some("admin_token_required"),
        ),
        ("token_nonloopback_with", 200, None),
        ("token_nonloopback_wrong", 401, Some("admin_token_required")),
        ("token_loopback_without", 401, Some("admin_token_required")),
    ];
    for (name, status, reason) in want {
        let found = got
            .iter()
            .find(|(n, _, _)| n == name)
            .unwrap_or_else(|| panic!("no answer for {name}: {text}"));
        assert_eq!(found.1, *status, "{name}: {text}");
        assert_eq!(found.2.as_deref(), *reason, "{name}: {text}");
    }
}

/// A loopback listener that answers every callback with 200 and keeps its body.
async fn callback_sink() -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let app = axum::Router::new().route(
        "/callback",
        axum::routing::post(move |body: String| {
            let log = log.clone();
            async move {
                log.lock().unwrap_or_else(|p| p.into_inner()).push(body);
                "ok"
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/callback"), seen)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_never_reach_logs_journal_or_callbacks() {
    // The most talkative log level, stderr captured.
    let mut child = common::command()
        .args(["serve", "--port", "0", "--timings", "fast"])
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{e}"));
    let stderr = Arc::new(Mutex::new(String::new()));
    let mut err = child.stderr.take().unwrap_or_else(|| panic!("no stderr"));
    let sink = stderr.clone();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        *sink.lock().unwrap_or_else(|p| p.into_inner()) = text;
    });
    let out = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    let mut first = String::new();
    let mut lines = BufReader::new(out);
    let _ = lines.read_line(&mut first);
    let base = first
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_string();
    assert!(base.starts_with("http://127.0.0.1:"), "{base}");

    let http = reqwest::Client::new();
    let (callback_url, callbacks_seen) = callback_sink().await;
    let put = http
        .put(format!("{base}/_mock/users/1/callback"))
        .json(&json!({ "url": callback_url }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(put.status().as_u16(), 200);

    let user1 = Client::new(&base, "1", KEY_1);
    let user2 = Client::new(&base, "2", KEY_2);
    let wrong_key = Client::new(&base, "1", KEY_2); // user 2's key for user 1
    let bad_key = Client::new(&base, "1", "not-the-key");
    let created = user1
        .call("create", required_create_params("security-1"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(created.code(), 0, "{}", created.text);
    assert_eq!(
        user2
            .call("getzones", json!({}))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .code(),
        0
    );
    for client in [&wrong_key, &bad_key] {
        let a = client
            .call("getzones", json!({}))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(a.code(), 1);
        assert!(
            matches!(a.reason.as_deref(), Some("sign_invalid" | "key_mismatch")),
            "{:?}",
            a.reason
        );
    }
    // A bad sign's diagnostic header shows the canonical string, key masked.
    let mut pairs = user1.signed_pairs("getzones", &json!({}));
    for (k, v) in pairs.iter_mut() {
        if k == "sign" {
            *v = "0".repeat(32);
        }
    }
    let resp = http
        .post(format!("{base}/api"))
        .form(&pairs)
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let sign_input = resp
        .headers()
        .get("x-mock-sign-input")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(sign_input.contains("***"), "{sign_input:?}");
    assert!(!sign_input.contains(KEY_1), "{sign_input:?}");

    // Wait for the provisioned callback (signed with user 1's key).
    let callbacks = {
        let mut text = String::new();
        for _ in 0..100 {
            text = http
                .get(format!("{base}/_mock/callbacks"))
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"))
                .text()
                .await
                .unwrap_or_default();
            if text.contains("\"delivered\":true") {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        text
    };
    assert!(callbacks.contains("provisioned"), "{callbacks}");
    let journal = http
        .get(format!("{base}/_mock/requests"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    let journal_lines = http
        .get(format!("{base}/_mock/requests?format=jsonl"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .text()
        .await
        .unwrap_or_default();
    assert!(journal.contains("sign_invalid") || journal.contains("key_mismatch"));

    let pid = child.id().to_string();
    let _ = Command::new("kill").args(["-TERM", &pid]).status();
    let _ = child.wait();
    let _ = reader.join();
    let log = stderr.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(log.contains("api"), "expected request logs in: {log}");
    let posted = callbacks_seen
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .join("\n");
    assert!(posted.contains("sign="), "no callback reached the sink");
    for (what, text) in [
        ("the server log", &log),
        ("the journal", &journal),
        ("the journal (jsonl)", &journal_lines),
        ("the callback log", &callbacks),
        ("the callback requests", &posted),
    ] {
        // "mock-api-key" is also a prefix of user 2's key, so this covers both.
        for key in [KEY_1, KEY_2, "not-the-key"] {
            assert!(!text.contains(key), "{key} appears in {what}");
        }
    }
}

#[test]
fn sign_compare_is_constant_time() {
    let expected = sign("baremetal", "getzones", "1", KEY_1, "1732779600");
    assert!(sign_matches(&expected, &expected));
    assert!(sign_matches(&expected.to_uppercase(), &expected));
    // Equal length, one character different (first, middle, last).
    for i in [0, 16, 31] {
        let mut other: Vec<u8> = expected.clone().into_bytes();
        other[i] = if other[i] == b'0' { b'1' } else { b'0' };
        let other = String::from_utf8(other).unwrap_or_default();
        assert_eq!(other.len(), expected.len());
        assert!(!sign_matches(&other, &expected), "{other}");
    }
    // Different lengths, including a prefix and an extension.
    assert!(!sign_matches(&expected[..31], &expected));
    assert!(!sign_matches(&format!("{expected}0"), &expected));
    assert!(!sign_matches("", &expected));

    // The source uses subtle's constant-time equality, not `==`.
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let source = std::fs::read_to_string(root.join("src/protocol/sign.rs")).unwrap_or_default();
    assert!(source.contains("use subtle::ConstantTimeEq"), "sign.rs");
    let body = source
        .split("pub fn sign_matches")
        .nth(1)
        .and_then(|rest| rest.split("\n}\n").next())
        .unwrap_or_else(|| panic!("no sign_matches in src/protocol/sign.rs"));
    assert!(
        body.contains(".ct_eq("),
        "sign_matches must use ct_eq: {body}"
    );
    assert!(
        !body.contains("given == expected") && !body.contains("== expected.as_bytes()"),
        "sign_matches compares with ==: {body}"
    );
    // So does the admin token check.
    let guard = std::fs::read_to_string(root.join("src/admin/guard.rs")).unwrap_or_default();
    assert!(
        guard.contains("ct_eq("),
        "the admin token compare must use ct_eq"
    );
}

/// The journal masks every secret field a request may carry.
#[test]
fn journal_masks_secret_fields() {
    let mut params = serde_json::Map::new();
    for (k, v) in [
        ("loginPassword", "c2VjcmV0"),
        ("api_key", KEY_1),
        ("key", KEY_2),
        ("guid", "1"),
    ] {
        params.insert(k.to_string(), Value::String(v.to_string()));
    }
    let masked = serde_json::to_string(&apayun_mock::test_support::protocol::mask::Masked(&params))
        .unwrap_or_default();
    assert!(
        !masked.contains(KEY_1) && !masked.contains("c2VjcmV0"),
        "{masked}"
    );
    assert!(masked.contains("\"guid\":\"1\""), "{masked}");
}
