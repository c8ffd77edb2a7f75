//! What running in a container needs from the binary (issue 11): the
//! `health` subcommand, booleans and offsets written as CI files write them,
//! `/_mock/health` open to every client, the control API opened by
//! `--admin-open` (and still locked by a token), and a stop within a second
//! of SIGTERM however many connections are open. Every child process is
//! killed by a guard when its test ends.
//!
//! Non-loopback clients are real: the binary runs bound to `0.0.0.0` inside
//! a private network namespace (`unshare --net`) with one extra address on
//! its loopback device, as `tests/security.rs` does. Where namespaces are
//! not allowed, the guard function is checked instead.

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use apayun_mock::test_support::admin::admin_access;

mod common;

use common::{command, BIN};

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = command();
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {BIN} {args:?}: {e}"))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `serve --port 0 ARGS…`, killed when dropped.
fn start(args: &[&str], env: &[(&str, &str)]) -> common::Server {
    let mut all = vec!["--port", "0"];
    all.extend_from_slice(args);
    common::Server::start(&all, env)
}

/// One HTTP/1.1 request over a fresh socket (closed after): status and body.
fn http(url: &str, method: &str, path: &str, headers: &[&str], body: &str) -> (u16, String) {
    let host = url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(host).unwrap_or_else(|e| panic!("connect {host}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap_or_else(|e| panic!("timeout: {e}"));
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n{extra}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream
        .write_all(request.as_bytes())
        .unwrap_or_else(|e| panic!("write: {e}"));
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer
        .lines()
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

/// A port nothing listens on (bound, then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// A one-shot HTTP server that answers its first connection with `answer`.
fn one_answer(answer: &'static str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let addr = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("addr: {e}"));
    std::thread::spawn(move || {
        if let Ok((mut stream, _)) = listener.accept() {
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = [0u8; 4096];
            let _ = stream.read(&mut buf);
            let _ = stream.write_all(answer.as_bytes());
        }
    });
    format!("http://{addr}")
}

fn assert_one_line_failure(out: &Output, what: &str, contains: &[&str]) {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "{what}: one line: {stderr:?}");
    assert!(
        stderr.starts_with("apayun-mock health: "),
        "{what}: {stderr}"
    );
    for part in contains {
        assert!(stderr.contains(part), "{what}: {part:?} in {stderr}");
    }
    assert!(
        text(&out.stdout).is_empty(),
        "{what}: {}",
        text(&out.stdout)
    );
}

#[test]
fn health_exits_zero_when_the_engine_answers_ok() {
    let server = start(&[], &[]);
    let out = run(&["health", "--url", &server.url], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "ok\n");
    // A trailing slash is fine.
    let out = run(&["health", "--url", &format!("{}/", server.url)], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // Without --url: 127.0.0.1 on the port `serve` reads, as in the image.
    let out = run(
        &["health"],
        &[("APAYUN_MOCK_PORT", &server.port().to_string())],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A namespace's health check works the same way.
    let out = run(
        &["health", "--url", &format!("{}/ns/ci-1", server.url)],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn health_exits_one_with_a_line_when_nothing_listens() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let out = run(&["health", "--url", &url], &[]);
    assert_one_line_failure(
        &out,
        "nothing listening",
        &[
            &format!("cannot reach {url}/_mock/health"),
            "onnection refused",
        ],
    );
    let out = run(&["health", "--url", "not a url"], &[]);
    assert_one_line_failure(&out, "bad url", &["cannot reach"]);
}

#[test]
fn health_exits_one_when_the_answer_is_not_ok() {
    let cases: [(&str, &'static str, &[&str]); 3] = [
        (
            "a 503",
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 8\r\nConnection: close\r\n\r\nbusy\nnow",
            &["answered HTTP 503: busy now"],
        ),
        (
            "another server's 200",
            "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nConnection: close\r\n\r\n<html></html",
            &["answered HTTP 200: <html></html"],
        ),
        (
            "a status that is not ok",
            "HTTP/1.1 200 OK\r\nContent-Length: 23\r\nConnection: close\r\n\r\n{\"status\":\"starting\"}\n\n",
            &[r#"answered HTTP 200: {"status":"starting"}"#],
        ),
    ];
    for (what, answer, contains) in cases {
        let url = one_answer(answer);
        let out = run(&["health", "--url", &url], &[]);
        assert_one_line_failure(&out, what, contains);
    }
}

#[test]
fn health_answers_every_client_without_a_token() {
    let server = start(&["--admin-token", "s3cret"], &[]);
    let check = |path: &str, auth: &[&str], want: u16| {
        let (status, body) = http(&server.url, "GET", path, auth, "");
        assert_eq!(status, want, "{path} {auth:?}: {body}");
        body
    };
    let body = check("/_mock/health", &[], 200);
    assert_eq!(
        body,
        format!(
            r#"{{"status":"ok","version":"{}"}}"#,
            env!("CARGO_PKG_VERSION")
        )
    );
    check("/_mock/health", &["Authorization: Bearer wrong"], 200);
    check("/ns/fresh/_mock/health", &[], 200);
    let body = check("/ns/-bad/_mock/health", &[], 400);
    assert!(body.contains("bad_namespace"), "{body}");
    // Everything else stays locked.
    check("/_mock/clock", &[], 401);
    check("/ns/fresh/_mock/clock", &[], 401);
    // The open health check created no namespace.
    let (_, listed) = http(
        &server.url,
        "GET",
        "/_mock/namespaces",
        &["Authorization: Bearer s3cret"],
        "",
    );
    assert!(!listed.contains("fresh"), "{listed}");
    // And the health subcommand needs no token either.
    let out = run(&["health", "--url", &server.url], &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// A signed `getzones` without `version`, `system_type` and `vtime`: only a
/// lenient engine answers code 0.
fn bare_getzones_code(url: &str) -> String {
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
        .to_string();
    let sign = apayun_mock::test_support::protocol::sign::sign(
        "baremetal",
        "getzones",
        "1",
        "mock-api-key",
        &time,
    );
    let body = format!("module=baremetal&action=getzones&userid=1&time={time}&sign={sign}");
    let (status, answer) = http(url, "POST", "/api", &[], &body);
    assert_eq!(status, 200, "{answer}");
    let v: serde_json::Value =
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
    v["code"].to_string()
}

#[test]
fn boolean_environment_variables_accept_what_ci_files_write() {
    for (value, lenient) in [
        ("1", true),
        ("true", true),
        ("TRUE", true),
        ("yes", true),
        ("Yes", true),
        ("on", true),
        ("ON", true),
        ("0", false),
        ("false", false),
        ("False", false),
        ("no", false),
        ("off", false),
        ("OFF", false),
        ("", false),
    ] {
        let server = start(&[], &[("APAYUN_MOCK_LENIENT", value)]);
        let want = if lenient { "0" } else { "1" };
        assert_eq!(
            bare_getzones_code(&server.url),
            want,
            "APAYUN_MOCK_LENIENT={value}"
        );
    }
    // The flag itself still needs no value.
    let server = start(&["--lenient"], &[]);
    assert_eq!(bare_getzones_code(&server.url), "0");
}

#[test]
fn a_bad_boolean_is_refused_with_the_accepted_spellings() {
    for var in ["APAYUN_MOCK_LENIENT", "APAYUN_MOCK_ADMIN_OPEN"] {
        for bad in ["maybe", "2", "enabled"] {
            let out = run(&["serve", "--port", "0"], &[(var, bad)]);
            let stderr = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{var}={bad}: {stderr}");
            assert!(stderr.contains(var), "{var}={bad}: {stderr}");
            assert!(
                stderr.contains(&format!("{bad:?}")),
                "{var}={bad}: {stderr}"
            );
            assert!(
                stderr.contains("1/0, true/false, yes/no or on/off"),
                "{var}={bad}: {stderr}"
            );
        }
    }
}

/// The engine's `now` minus the real UTC time, in seconds.
fn zone_offset_seen(url: &str) -> i64 {
    let (status, body) = http(url, "GET", "/_mock/clock", &[], "");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}"));
    let now = v["now"].as_str().unwrap_or_default();
    let local = chrono::NaiveDateTime::parse_from_str(now, "%Y-%m-%d %H:%M:%S")
        .unwrap_or_else(|e| panic!("{e}: {now}"));
    (local - chrono::Utc::now().naive_utc()).num_seconds()
}

#[test]
fn a_negative_utc_offset_may_follow_the_flag_after_a_space() {
    let near = |seen: i64, want: i64| (seen - want).abs() <= 120;
    for (args, env, want) in [
        (vec!["--utc-offset", "-05:00"], vec![], -5 * 3600),
        (vec!["--utc-offset", "-03:30"], vec![], -(3 * 3600 + 1800)),
        (vec!["--utc-offset=-05:00"], vec![], -5 * 3600),
        (vec!["--utc-offset", "+09:00"], vec![], 9 * 3600),
        (
            vec![],
            vec![("APAYUN_MOCK_UTC_OFFSET", "-05:00")],
            -5 * 3600,
        ),
        (vec![], vec![], 8 * 3600),
    ] {
        let server = start(&args, &env);
        let seen = zone_offset_seen(&server.url);
        assert!(near(seen, want), "{args:?} {env:?}: {seen} s, want {want}");
    }
    // A malformed offset is still refused, not taken for a flag.
    let out = run(&["serve", "--port", "0", "--utc-offset", "-5"], &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("expected an offset like +08:00"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn sigterm_stops_within_a_second_with_connections_open() {
    let mut server = start(&[], &[]);
    let host = server.url.trim_start_matches("http://").to_string();
    // An idle keep-alive connection, after one answered request.
    let mut idle = TcpStream::connect(&host).unwrap_or_else(|e| panic!("{e}"));
    idle.write_all(format!("GET /_mock/health HTTP/1.1\r\nHost: {host}\r\n\r\n").as_bytes())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut buf = [0u8; 512];
    let n = idle.read(&mut buf).unwrap_or_default();
    assert!(text(&buf[..n]).contains("200 OK"), "{}", text(&buf[..n]));
    // A request whose headers never finish.
    let mut half = TcpStream::connect(&host).unwrap_or_else(|e| panic!("{e}"));
    half.write_all(b"POST /api HTTP/1.1\r\nHost: x\r\n")
        .unwrap_or_else(|e| panic!("{e}"));
    // A call held for a minute by a delay fault.
    let (status, body) = http(
        &server.url,
        "POST",
        "/_mock/faults",
        &[],
        r#"{"action":"getzones","effect":{"kind":"delay","ms":60000}}"#,
    );
    assert_eq!(status, 201, "{body}");
    let url = server.url.clone();
    std::thread::spawn(move || {
        let _ = run(&["call", "getzones", "--url", &url], &[]);
    });
    // The signal comes once the delayed call is in flight (the rule fired).
    let fired = (0..500).any(|_| {
        let (_, faults) = http(&server.url, "GET", "/_mock/faults", &[], "");
        let fired = faults.contains(r#""fired":1"#);
        if !fired {
            std::thread::sleep(Duration::from_millis(20));
        }
        fired
    });
    assert!(fired, "the delayed call never reached the server");
    let stopped = server.terminate(Duration::from_secs(10));
    let (took, success) = stopped.unwrap_or_else(|| panic!("still running 10 s after SIGTERM"));
    assert!(success, "exit status after SIGTERM");
    // 1 s is the container's promise; the bound leaves room for a loaded machine.
    assert!(took < Duration::from_secs(3), "stopped after {took:?}");
    assert!(TcpStream::connect(&host).is_err(), "the port is closed");
    drop((idle, half));
}

/// Calls the control API through a non-loopback address inside a private
/// network namespace: `== NAME` then the raw answer, for each call, and
/// the server's log for the `--admin-open` start.
const NETNS_SCRIPT: &str = r#"
set -u
ip link set lo up || exit 90
ip addr add "$NS_ADDR/32" dev lo || exit 90
call() { # name path [header]
  exec 3<>"/dev/tcp/$NS_ADDR/$port" || { echo "== $1"; echo "connect failed"; return; }
  printf 'GET %s HTTP/1.1\r\nHost: test\r\nConnection: close\r\n%s\r\n' "$2" "${3:-}" >&3
  echo "== $1"; timeout 5 cat <&3; echo; exec 3<&-
}
serve() { # out err [extra args]
  out=$1; err=$2; shift 2
  "$BIN" serve --bind 0.0.0.0 --port 0 "$@" >"$out" 2>"$err" &
  pid=$!
  for _ in $(seq 1 100); do grep -q listening "$out" && break; sleep 0.05; done
  port=$(sed -n 's/^listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$out")
}
serve "$TMP/a.out" "$TMP/a.err"
call closed_clock /_mock/clock
call closed_health /_mock/health
kill "$pid"; wait "$pid" 2>/dev/null
serve "$TMP/b.out" "$TMP/b.err" --admin-open
call open_clock /_mock/clock
call open_reset_get /_mock/requests
kill "$pid"; wait "$pid" 2>/dev/null
APAYUN_MOCK_ADMIN_OPEN=yes serve "$TMP/c.out" "$TMP/c.err" --admin-token "$TOKEN"
call open_token_without /_mock/clock
call open_token_with /_mock/clock "Authorization: Bearer $TOKEN"$'\r\n'
call open_token_health /_mock/health
kill "$pid"; wait "$pid" 2>/dev/null
echo "== log_open"; cat "$TMP/b.err"
echo "== log_open_token"; cat "$TMP/c.err"
echo "== log_closed"; cat "$TMP/a.err"
echo "== done"
"#;

fn namespaces_work() -> bool {
    let ok = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    ok("unshare", &["--net", "true"]) && ok("ip", &["-V"])
}

#[test]
fn admin_open_serves_non_loopback_clients_unless_a_token_locks_it() {
    let check = |open: bool, token: Option<&str>, auth: Option<&str>| {
        admin_access(open, "10.213.0.2".parse().ok(), token, auth).map_err(|e| e.reason.as_str())
    };
    assert_eq!(check(false, None, None), Err("admin_loopback_only"));
    assert_eq!(check(true, None, None), Ok(()));
    assert_eq!(check(true, Some("t"), None), Err("admin_token_required"));
    assert_eq!(check(true, Some("t"), Some("Bearer t")), Ok(()));
    if !namespaces_work() {
        eprintln!("network namespaces are not available here: checked the guard function only");
        return;
    }
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new("unshare");
    common::clear_settings(&mut cmd);
    let out = cmd
        .args(["--net", "bash", "-c", NETNS_SCRIPT])
        .env("BIN", BIN)
        .env("NS_ADDR", "10.213.0.2")
        .env("TOKEN", "s3cret")
        .env("TMP", tmp.path())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("unshare: {e}"));
    let all = text(&out.stdout);
    assert!(
        out.status.success() && all.contains("== done"),
        "netns script failed ({}): {all}\n{}",
        out.status,
        text(&out.stderr)
    );
    let part = |name: &str| -> String {
        all.split(&format!("== {name}\n"))
            .nth(1)
            .and_then(|rest| rest.split("\n== ").next())
            .unwrap_or_else(|| panic!("no {name} in {all}"))
            .to_string()
    };
    let status = |name: &str| -> u16 {
        part(name)
            .lines()
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    for (name, want) in [
        ("closed_clock", 403),
        ("closed_health", 200),
        ("open_clock", 200),
        ("open_reset_get", 200),
        ("open_token_without", 401),
        ("open_token_with", 200),
        ("open_token_health", 200),
    ] {
        assert_eq!(status(name), want, "{name}: {all}");
    }
    assert!(
        part("closed_clock").contains("--admin-open"),
        "the refusal names the flag: {all}"
    );
    // One line on start says the control API is open; none when it is not.
    let said = |name: &str| {
        part(name)
            .lines()
            .filter(|l| l.contains("control API is open"))
            .count()
    };
    assert_eq!(said("log_open"), 1, "{all}");
    assert_eq!(said("log_open_token"), 1, "{all}");
    assert!(part("log_open_token").contains("admin token"), "{all}");
    assert_eq!(said("log_closed"), 0, "{all}");
}
