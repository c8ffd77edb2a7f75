//! The `apayun-mock` binary: `serve` (first stdout line, port from flag or
//! environment, graceful SIGTERM), `call` (pretty JSON, XML, exit codes,
//! `X-Mock-Error` on stderr) and `sign`. Every child process is killed by a
//! guard when its test ends.

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use md5::{Digest, Md5};
use serde_json::Value;

mod common;

use common::{command, Server, BIN};

/// A plain HTTP/1.1 request over a socket; returns the status line and body.
fn http(url: &str, method: &str, path: &str, body: &str) -> (String, String) {
    let host = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap_or_else(|e| panic!("timeout: {e}"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("write: {e}"));
    let mut text = String::new();
    stream
        .read_to_string(&mut text)
        .unwrap_or_else(|e| panic!("read: {e}"));
    let status = text.lines().next().unwrap_or_default().to_string();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

fn run(args: &[&str]) -> Output {
    command()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN} {args:?}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn md5_hex(s: &str) -> String {
    hex::encode(Md5::digest(s.as_bytes()))
}

#[test]
fn serve_prints_its_address_first_and_answers() {
    let server = Server::start(&["--port", "0"], &[]);
    assert!(
        server
            .first_line
            .starts_with("listening on http://127.0.0.1:"),
        "{}",
        server.first_line
    );
    assert_ne!(server.port(), 0);
    let (status, body) = http(&server.url, "GET", "/_mock/health", "");
    assert!(status.contains("200"), "{status}");
    assert!(body.contains(r#"{"status":"ok","version":"#), "{body}");
    // /api answers with the engine's envelope.
    let (status, body) = http(&server.url, "POST", "/api", "module=baremetal");
    assert!(status.contains("200"), "{status}");
    assert!(body.contains(r#""code":1"#), "{body}");
}

#[test]
fn the_port_comes_from_the_environment() {
    // Without the variable the port would be the default 8080; with 0 the
    // system picks one, and the first line says which.
    let server = Server::start(&[], &[("APAYUN_MOCK_PORT", "0")]);
    assert!(
        server
            .first_line
            .starts_with("listening on http://127.0.0.1:"),
        "{}",
        server.first_line
    );
    assert!(![0, 8080].contains(&server.port()), "{}", server.first_line);
    let (status, _) = http(&server.url, "GET", "/_mock/health", "");
    assert!(status.contains("200"), "{status}");
}

#[test]
fn db_sync_is_a_flag_and_an_environment_variable() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let db = dir.path().join("state.db");
    let db = db.to_string_lossy();
    // Each setting, from the flag, the environment or the default, opens the same file.
    for (args, env) in [
        (vec!["--db-sync", "full"], vec![]),
        (vec![], vec![("APAYUN_MOCK_DB_SYNC", "normal")]),
        (vec![], vec![]),
    ] {
        let mut all = vec!["--port", "0", "--db", &db];
        all.extend(args);
        let server = Server::start(&all, &env);
        let (status, body) = http(&server.url, "GET", "/_mock/health", "");
        assert!(status.contains("200"), "{all:?} {env:?}: {status} {body}");
    }
    let out = run(&["serve", "--port", "0", "--db-sync", "sometimes"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    for value in ["off", "normal", "full"] {
        assert!(err.contains(value), "the error lists {value}: {err}");
    }
}

#[test]
fn sigterm_stops_the_server_gracefully() {
    let mut server = Server::start(&["--port", "0"], &[]);
    let (status, _) = http(&server.url, "GET", "/_mock/health", "");
    assert!(status.contains("200"), "{status}");
    let kill = Command::new("kill")
        .args(["-TERM", &server.pid().to_string()])
        .status()
        .unwrap_or_else(|e| panic!("kill: {e}"));
    assert!(kill.success(), "kill -TERM failed");
    let exit = server.wait_exit(Duration::from_secs(30));
    assert!(exit.success(), "exit status after SIGTERM: {exit:?}");
    assert!(
        TcpStream::connect(server.url.trim_start_matches("http://")).is_err(),
        "the port is closed"
    );
}

#[test]
fn call_prints_pretty_json_and_exits_zero() {
    let server = Server::start(&["--port", "0"], &[]);
    let out = run(&["call", "getzones", "--url", &server.url]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "{:?} {stdout} {}",
        out.status,
        text(&out.stderr)
    );
    assert!(
        stdout.starts_with("{\n  \"code\": 0,\n"),
        "pretty: {stdout}"
    );
    let v: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(v["message"], "success");
    assert_eq!(v["data"]["zones"][1]["name"], "中国内蒙");
    assert!(
        !text(&out.stderr).contains("X-Mock-Error"),
        "{}",
        text(&out.stderr)
    );
    // Parameters as key=value, with PHP brackets.
    let out = run(&[
        "call",
        "getsystems",
        "page_mode=2",
        "page_length=3",
        "--url",
        &server.url,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let v: Value = serde_json::from_str(&text(&out.stdout)).unwrap_or_default();
    assert_eq!(
        v["data"]["systems"].as_array().map(Vec::len),
        Some(3),
        "{v}"
    );
}

#[test]
fn call_with_a_failing_action_exits_one() {
    let server = Server::start(&["--port", "0"], &[]);
    let check = |args: &[&str], reason: &str| {
        let mut all = vec!["call"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--url", &server.url]);
        let out = run(&all);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{args:?}: {}",
            text(&out.stdout)
        );
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!("X-Mock-Error: {reason}")),
            "{args:?}: {stderr}"
        );
        let v: Value = serde_json::from_str(&text(&out.stdout)).unwrap_or_default();
        assert_eq!(v["code"], 1, "{args:?}: {}", text(&out.stdout));
    };
    check(&["stop", "guid=999"], "not_found");
    check(&["nosuch"], "unknown_action");
    check(&["getzones", "--key", "wrong"], "sign_invalid");
    check(&["getzones", "--userid", "99"], "unknown_user");
}

#[test]
fn call_cannot_reach_exits_two() {
    // A port this test holds (bound, never listening): nobody else can take
    // it meanwhile, and a connection to it is refused.
    let socket = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("socket: {e}"));
    socket
        .bind("127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("bind: {e}"));
    let port = socket
        .local_addr()
        .unwrap_or_else(|e| panic!("address: {e}"))
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = run(&["call", "getzones", "--url", &url]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("cannot reach"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn call_xml_prints_the_xml() {
    let server = Server::start(&["--port", "0"], &[]);
    let out = run(&["call", "getzones", "--xml", "--url", &server.url]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout} {}", text(&out.stderr));
    assert!(stdout.starts_with("<?xml"), "{stdout}");
    assert!(
        stdout.contains("<response><code>0</code><message>success</message><data><zones><item>"),
        "{stdout}"
    );
    let out = run(&["call", "stop", "guid=999", "--xml", "--url", &server.url]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("<code>1</code>"),
        "{}",
        text(&out.stdout)
    );
    assert!(text(&out.stderr).contains("X-Mock-Error: not_found"));
}

#[test]
fn sign_prints_the_md5_and_its_canonical_string() {
    let check = |args: &[&str], canonical: &str, masked: &str| {
        let mut all = vec!["sign"];
        all.extend_from_slice(args);
        let out = run(&all);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let stdout = text(&out.stdout);
        let line = |label: &str| {
            stdout
                .lines()
                .find_map(|l| l.strip_prefix(label))
                .map(str::trim)
                .unwrap_or_else(|| panic!("{args:?}: no {label:?} line in {stdout}"))
                .to_string()
        };
        assert_eq!(line("sign:"), md5_hex(canonical), "{args:?}");
        assert_eq!(line("canonical:"), canonical, "{args:?}");
        assert_eq!(line("masked:"), masked, "{args:?}");
        assert_eq!(
            stdout.lines().next().map(|l| l.starts_with("sign:")),
            Some(true)
        );
    };
    check(
        &["getzones", "--time", "1732779600"],
        "baremetalzkeys.api@2019getzones1mock-api-key1732779600",
        "baremetalzkeys.api@2019getzones1***1732779600",
    );
    check(
        &["refund", "--time", "1732779600"],
        "commonzkeys.api@2019refund1mock-api-key1732779600",
        "commonzkeys.api@2019refund1***1732779600",
    );
    check(
        &[
            "stop",
            "--time",
            "1",
            "--userid",
            "2",
            "--key",
            "mock-api-key-2",
        ],
        "baremetalzkeys.api@2019stop2mock-api-key-21",
        "baremetalzkeys.api@2019stop2***1",
    );
    assert_eq!(
        md5_hex("baremetalzkeys.api@2019getzones1mock-api-key1732779600"),
        apayun_mock::test_support::protocol::sign::sign(
            "baremetal",
            "getzones",
            "1",
            "mock-api-key",
            "1732779600"
        )
    );
}
