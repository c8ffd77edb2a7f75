//! Connections over raw sockets: what the HTTP stack refuses before a route
//! sees the request comes as an envelope with a reason (400, 408, 413, 414,
//! 431); header, body and idle time-outs close slow and silent sockets,
//! and a client that stops reading its answer; at the connection cap a
//! normal client waits for a slot and is served.
//! Time-outs are wall-clock (the simulated clock has no say in sockets):
//! the tests use short ones, and every read is bounded.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use apayun_mock::MockEngine;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::raw::Raw;
use crate::helpers::TestApp;

/// The longest any read here waits: far past every time-out the tests set.
const BOUND: Duration = Duration::from_secs(10);

fn addr(app: &TestApp) -> SocketAddr {
    app.url()
        .trim_start_matches("http://")
        .parse()
        .unwrap_or_else(|e| panic!("address: {e}"))
}

/// Reads until the server closes, within [`BOUND`]; the bytes read.
async fn read_to_close(socket: &mut TcpStream) -> Vec<u8> {
    let mut got = Vec::new();
    let read = tokio::time::timeout(BOUND, async {
        let mut buf = [0u8; 8192];
        loop {
            match socket.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    assert!(
        read.is_ok(),
        "the server kept the socket open past {BOUND:?}"
    );
    got
}

/// Sends `request` on a new connection and reads the one answer.
async fn exchange(app: &TestApp, request: &[u8]) -> Raw {
    let mut socket = TcpStream::connect(addr(app)).await.expect("connect");
    socket.write_all(request).await.expect("send");
    let started = Instant::now();
    let got = read_to_close(&mut socket).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?} for {:?}…: {:?}",
        started.elapsed(),
        String::from_utf8_lossy(&request[..request.len().min(60)]),
        String::from_utf8_lossy(&got)
    );
    Raw::parse(&got)
}

/// An engine with these socket limits.
async fn with_limits(
    header: Duration,
    body: Duration,
    idle: Duration,
    max_connections: usize,
) -> TestApp {
    TestApp::with(MockEngine::builder().config(move |c| {
        c.header_timeout = header;
        c.body_timeout = body;
        c.idle_timeout = idle;
        c.max_connections = max_connections;
    }))
    .await
}

#[tokio::test]
async fn what_hyper_refuses_comes_as_an_envelope_with_a_reason() {
    let app = TestApp::spawn().await;
    // A request line that is not HTTP.
    exchange(&app, b"NOT A REQUEST\r\n\r\n")
        .await
        .assert_envelope(400, "bad_request");
    exchange(
        &app,
        b"GET /api HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    )
    .await
    .assert_envelope(400, "bad_request");
    // A request target over hyper's 65,534 bytes.
    let long = format!(
        "GET /api?{} HTTP/1.1\r\nHost: x\r\n\r\n",
        "a".repeat(70_000)
    );
    exchange(&app, long.as_bytes())
        .await
        .assert_envelope(414, "uri_too_long");
    // 101 header fields, on /api and on the control API.
    let many: String = (0..101).map(|i| format!("X-H{i}: v\r\n")).collect();
    let api = format!("POST /api HTTP/1.1\r\n{many}\r\n");
    exchange(&app, api.as_bytes())
        .await
        .assert_envelope(431, "headers_too_large");
    let control = format!("GET /_mock/requests HTTP/1.1\r\n{many}\r\n");
    exchange(&app, control.as_bytes())
        .await
        .assert_control(431, "headers_too_large");
    let namespaced = format!("GET /ns/t1/_mock/health HTTP/1.1\r\n{many}\r\n");
    exchange(&app, namespaced.as_bytes())
        .await
        .assert_control(431, "headers_too_large");
    // One header over hyper's ~408 KiB read buffer.
    let huge = format!(
        "GET /_mock/health HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "b".repeat(500_000)
    );
    exchange(&app, huge.as_bytes())
        .await
        .assert_control(431, "headers_too_large");
    // 100 header fields are still a request.
    let hundred: String = (0..98).map(|i| format!("X-H{i}: v\r\n")).collect();
    let fine =
        format!("GET /_mock/health HTTP/1.1\r\nHost: x\r\n{hundred}Connection: close\r\n\r\n");
    let answer = exchange(&app, fine.as_bytes()).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.json()["status"], "ok");
}

#[tokio::test]
async fn a_broken_chunked_body_is_400_and_a_huge_declared_one_413_at_once() {
    let app = TestApp::spawn().await;
    let chunked = |path: &str| {
        format!(
            "POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"
        )
    };
    exchange(&app, chunked("/api").as_bytes())
        .await
        .assert_envelope(400, "bad_request");
    exchange(&app, chunked("/_mock/faults").as_bytes())
        .await
        .assert_control(400, "bad_request");
    // Ten gigabytes declared, three bytes sent: refused without waiting.
    let started = Instant::now();
    let huge = b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\nabc";
    exchange(&app, huge)
        .await
        .assert_envelope(413, "body_too_large");
    let huge = b"POST /_mock/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 10000000000\r\n\r\nabc";
    exchange(&app, huge)
        .await
        .assert_control(413, "body_too_large");
    assert!(started.elapsed() < Duration::from_secs(5));
    // Nothing of it reached the engine's state.
    let (_, faults) = app.control("GET", "/_mock/faults", None).await;
    assert_eq!(faults["faults"], json!([]));
}

#[tokio::test]
async fn a_late_head_is_408_and_a_silent_socket_is_closed() {
    let limit = Duration::from_millis(300);
    let app = with_limits(limit, Duration::from_secs(30), Duration::from_secs(30), 0).await;
    // Headers begun and never finished: 408 once the time-out passes.
    let started = Instant::now();
    let mut socket = TcpStream::connect(addr(&app)).await.expect("connect");
    socket
        .write_all(b"POST /api HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("send");
    let answer = Raw::parse(&read_to_close(&mut socket).await);
    answer.assert_envelope(408, "header_timeout");
    assert!(started.elapsed() >= limit, "{:?}", started.elapsed());
    let mut socket = TcpStream::connect(addr(&app)).await.expect("connect");
    socket
        .write_all(b"GET /_mock/requests HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("send");
    Raw::parse(&read_to_close(&mut socket).await).assert_control(408, "header_timeout");
    // A connection that never says anything is closed without an answer.
    let started = Instant::now();
    let mut silent = TcpStream::connect(addr(&app)).await.expect("connect");
    assert_eq!(read_to_close(&mut silent).await, b"");
    assert!(started.elapsed() >= limit, "{:?}", started.elapsed());
    // A header trickled a byte at a time still has to be in on time.
    let started = Instant::now();
    let mut slow = TcpStream::connect(addr(&app)).await.expect("connect");
    let trickle = async {
        for byte in b"GET /_mock/health HTTP/1.1\r\nX-Slow: aaaaaaaaaaaaaaaaaaaaaaaa" {
            if slow.write_all(&[*byte]).await.is_err() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let _ = tokio::time::timeout(BOUND, trickle).await;
    Raw::parse(&read_to_close(&mut slow).await).assert_control(408, "header_timeout");
    assert!(started.elapsed() < limit * 10, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_late_body_is_408_body_timeout() {
    let limit = Duration::from_millis(300);
    let app = with_limits(Duration::from_secs(30), limit, Duration::from_secs(30), 0).await;
    let started = Instant::now();
    let request = b"POST /api HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nabc";
    exchange(&app, request)
        .await
        .assert_envelope(408, "body_timeout");
    assert!(started.elapsed() >= limit, "{:?}", started.elapsed());
    let request = b"POST /_mock/faults HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{";
    exchange(&app, request)
        .await
        .assert_control(408, "body_timeout");
    // The refused call is journaled, and changed nothing.
    let entries = app.engine.requests("").await.expect("journal");
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0]["reason"], "body_timeout");
}

#[tokio::test]
async fn a_kept_alive_connection_is_closed_when_idle() {
    let idle = Duration::from_millis(300);
    let app = with_limits(Duration::from_secs(30), Duration::from_secs(30), idle, 0).await;
    let mut socket = TcpStream::connect(addr(&app)).await.expect("connect");
    let request = b"GET /_mock/health HTTP/1.1\r\nHost: x\r\n\r\n";
    // Two requests on the one connection, then silence.
    for _ in 0..2 {
        socket.write_all(request).await.expect("send");
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while !String::from_utf8_lossy(&got).contains("\"ok\"") {
            let n = tokio::time::timeout(BOUND, socket.read(&mut buf))
                .await
                .expect("an answer in time")
                .expect("read");
            assert!(n > 0, "closed early: {:?}", String::from_utf8_lossy(&got));
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got.starts_with(b"HTTP/1.1 200"), "{got:?}");
    }
    let started = Instant::now();
    assert_eq!(read_to_close(&mut socket).await, b"");
    assert!(started.elapsed() >= idle / 2, "{:?}", started.elapsed());
}

/// Opens `n` connections that say nothing, or begin a request and stall.
async fn hold(app: &TestApp, n: usize) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for i in 0..n {
        let mut socket = TcpStream::connect(addr(app)).await.expect("connect");
        if i % 2 == 1 {
            socket
                .write_all(b"POST /api HTTP/1.1\r\nHost: x\r\n")
                .await
                .expect("send");
        }
        held.push(socket);
    }
    held
}

#[tokio::test]
async fn below_the_cap_slow_sockets_do_not_hold_up_a_normal_client() {
    let limit = Duration::from_secs(3);
    let app = with_limits(limit, limit, limit, 16).await;
    let mut held = hold(&app, 12).await;
    let started = Instant::now();
    app.ok("getzones", json!({})).await;
    assert!(started.elapsed() < limit, "{:?}", started.elapsed());
    // And the slow ones are closed within their time-out.
    for socket in &mut held {
        let bytes = read_to_close(socket).await;
        assert!(
            bytes.is_empty() || bytes.starts_with(b"HTTP/1.1 408"),
            "{bytes:?}"
        );
    }
    assert!(started.elapsed() < limit * 3, "{:?}", started.elapsed());
}

#[tokio::test]
async fn at_the_cap_a_normal_client_waits_until_a_slow_socket_is_reaped() {
    let limit = Duration::from_millis(600);
    let app = with_limits(limit, limit, limit, 4).await;
    let mut held = hold(&app, 4).await;
    let started = Instant::now();
    // Every slot is held: the call (on a connection of its own) waits in
    // the listen queue until the time-out frees one, then is served.
    let fresh = app.engine.client_for("1", "mock-api-key");
    let zones = tokio::time::timeout(BOUND, fresh.call("getzones", json!({})))
        .await
        .expect("served once a slot freed")
        .expect("answered");
    assert_eq!(zones.code(), 0, "{}", zones.text);
    let waited = started.elapsed();
    assert!(
        waited >= limit / 2,
        "served at once despite the cap: {waited:?}"
    );
    for socket in &mut held {
        let bytes = read_to_close(socket).await;
        assert!(
            bytes.is_empty() || bytes.starts_with(b"HTTP/1.1 408"),
            "{bytes:?}"
        );
    }
    // Once they are gone, calls go through again without a wait for a
    // slot (the bound allows for a loaded machine, not for a time-out).
    let started = Instant::now();
    app.ok("getzones", json!({})).await;
    assert!(started.elapsed() < limit * 3, "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_client_that_stops_reading_its_answer_is_disconnected() {
    let idle = Duration::from_millis(400);
    let app = with_limits(Duration::from_secs(30), Duration::from_secs(30), idle, 0).await;
    // An answer far larger than what the two sockets can buffer between
    // them (a small receive window here; the server's send buffer grows to
    // a few MiB at most): ~1,200 sync_product entries, ~7 MB.
    for _ in 0..1200 {
        app.ok("sync_product", json!({})).await;
    }
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("small window");
    let mut socket = socket.connect(addr(&app)).await.expect("connect");
    socket
        .write_all(b"GET /_mock/requests?limit=1200 HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("send");
    // Not reading: the server's writes stall, and after the idle time-out
    // it gives up on the connection. Reading afterwards finds what was
    // buffered, then the end, short of the whole answer. The wait starts
    // once the answer has begun (`peek` takes nothing from the window), so
    // a slow start on a loaded machine does not eat into it.
    let mut first = [0u8; 1];
    let began = tokio::time::timeout(BOUND, socket.peek(&mut first)).await;
    assert!(matches!(began, Ok(Ok(1))), "no answer began: {began:?}");
    tokio::time::sleep(idle * 8).await;
    let got = read_to_close(&mut socket).await;
    assert!(
        got.starts_with(b"HTTP/1.1 200"),
        "{:?}",
        &got[..got.len().min(200)]
    );
    assert!(
        !got.ends_with(b"}\r\n0\r\n\r\n") && !got.ends_with(b"}"),
        "the whole answer arrived: the stalled write was not cut off"
    );
    assert!(got.len() < 7_000_000, "{} bytes arrived", got.len());
}
