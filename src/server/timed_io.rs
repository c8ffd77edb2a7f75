//! One connection's socket as hyper sees it. [`TimedIo`] adds what hyper's
//! HTTP/1 server does not do itself, or does bare:
//!
//! - **Idle and header time-outs.** A connection waiting for its next
//!   request is closed after `--idle-timeout`; a request's line and headers
//!   must arrive within `--header-timeout` of its first byte (of the accept,
//!   for a connection's first request), else it is answered 408
//!   `header_timeout` and closed. hyper has one timer for both, counted from
//!   the end of the previous answer.
//! - **An answer its client does not read** (a write stuck for
//!   `--idle-timeout`) closes the connection.
//! - **hyper's own answers.** On a request it cannot parse hyper writes a
//!   bare 400, 414 or 431 (no body, no `X-Mock-Error`). Those are the only
//!   bytes it writes while no request is with the router, so every write
//!   made then is taken in and replaced by the engine's envelope (or the
//!   control API's JSON error, for a `/_mock` path) with the same status
//!   and a reason.
//!
//! Whether a request is with the router the connection's service tells
//! through [`Exchanges`]; the rest is seen in the bytes.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::task::AtomicWaker;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

use crate::api::envelope;
use crate::api::error::ApiError;
use crate::protocol::Reason;

/// Most header fields in a request (hyper's default, set explicitly).
pub const MAX_HEADERS: usize = 100;
/// hyper's read buffer, which a request's line and headers must fit in
/// (hyper's default: 8 KiB + 100 × 4 KiB).
pub const MAX_HEAD_BYTES: usize = 8192 + 4096 * 100;
/// hyper's longest request target.
pub const MAX_URI_BYTES: usize = u16::MAX as usize - 1;

/// The requests of one connection the router has started and finished:
/// the service counts, the socket reads the counts.
#[derive(Debug, Default)]
pub struct Exchanges {
    started: AtomicU64,
    finished: AtomicU64,
    /// The connection's task, woken when a request finishes so the idle
    /// time-out starts without waiting for other news.
    waker: AtomicWaker,
}

impl Exchanges {
    /// A request handed to the router; it is finished when the guard drops
    /// (with its answer's body, or with the call if the answer never came).
    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.started.fetch_add(1, Ordering::SeqCst);
        InFlight(self.clone())
    }

    fn counts(&self) -> (u64, u64) {
        // `finished` first: a request that finishes in between is then
        // seen as still running, never as finished before it started.
        let finished = self.finished.load(Ordering::SeqCst);
        (self.started.load(Ordering::SeqCst), finished)
    }
}

/// A request with the router, or its answer going out.
#[derive(Debug)]
pub struct InFlight(Arc<Exchanges>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.finished.fetch_add(1, Ordering::SeqCst);
        self.0.waker.wake();
    }
}

/// The socket's time-outs; `None` waits forever.
#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header: Option<Duration>,
    pub idle: Option<Duration>,
}

/// Where the connection is, as its reads see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// No byte of the next request yet. On a new connection the header
    /// time-out counts from the accept.
    Waiting {
        deadline: Option<Instant>,
        fresh: bool,
    },
    /// Bytes of a request that the router does not have yet.
    Head { deadline: Option<Instant> },
    /// The router has the request, or its answer is going out.
    Busy,
    /// Timed out: reads end.
    Closed,
}

/// The first bytes of a request kept, to tell a `/_mock` path.
const KEPT_START: usize = 96;
/// The most of hyper's own answer kept (its head: status line and a few
/// short headers).
const KEPT_ANSWER: usize = 1024;

pub struct TimedIo {
    stream: TcpStream,
    exchanges: Arc<Exchanges>,
    timeouts: Timeouts,
    phase: Phase,
    /// `started` when last looked at.
    seen_started: u64,
    /// An answer finished since hyper's last flush: its bytes may still be
    /// on their way, and pass.
    answer_pending: bool,
    read_timer: Option<Pin<Box<Sleep>>>,
    write_timer: Option<Pin<Box<Sleep>>>,
    /// When the write now stuck must have moved.
    write_deadline: Option<Instant>,
    request_start: Vec<u8>,
    /// hyper's own answer, taken in until its head is complete.
    taken: Vec<u8>,
    /// The answer written instead, and how much of it is out.
    out: Vec<u8>,
    out_at: usize,
    /// hyper's own answer has been replaced; anything more it writes is dropped.
    replaced: bool,
}

impl TimedIo {
    pub fn new(stream: TcpStream, exchanges: Arc<Exchanges>, timeouts: Timeouts) -> TimedIo {
        TimedIo {
            stream,
            exchanges,
            timeouts,
            phase: Phase::Waiting {
                deadline: timeouts.header.map(|d| Instant::now() + d),
                fresh: true,
            },
            seen_started: 0,
            answer_pending: false,
            read_timer: None,
            write_timer: None,
            write_deadline: None,
            request_start: Vec::new(),
            taken: Vec::new(),
            out: Vec::new(),
            out_at: 0,
            replaced: false,
        }
    }

    /// Brings the phase up to date with the router's counts.
    fn sync(&mut self) {
        let (started, finished) = self.exchanges.counts();
        if self.phase == Phase::Closed {
            return;
        }
        if started != finished {
            self.phase = Phase::Busy;
        } else if self.phase == Phase::Busy || started != self.seen_started {
            self.phase = Phase::Waiting {
                deadline: self.timeouts.idle.map(|d| Instant::now() + d),
                fresh: false,
            };
            self.answer_pending = true;
            self.request_start.clear();
        }
        self.seen_started = started;
    }

    /// Bytes of a request came in.
    fn arrived(&mut self, bytes: &[u8]) {
        match self.phase {
            Phase::Waiting { deadline, fresh } => {
                let deadline = if fresh {
                    deadline
                } else {
                    self.timeouts.header.map(|d| Instant::now() + d)
                };
                self.phase = Phase::Head { deadline };
            }
            Phase::Head { .. } => {}
            Phase::Busy | Phase::Closed => return,
        }
        if self.request_start.len() < KEPT_START {
            let room = KEPT_START - self.request_start.len();
            self.request_start
                .extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
    }

    /// Is hyper writing an answer of its own (no request with the router,
    /// the last answer flushed)?
    fn writing_its_own(&self) -> bool {
        self.replaced || (self.phase != Phase::Busy && !self.answer_pending)
    }

    /// Takes in what hyper writes of its own answer; once its head is
    /// complete, the envelope to send instead is ready.
    fn take_in(&mut self, bytes: &[u8]) {
        if self.replaced {
            return;
        }
        if self.taken.len() < KEPT_ANSWER {
            let room = KEPT_ANSWER - self.taken.len();
            self.taken
                .extend_from_slice(&bytes[..bytes.len().min(room)]);
        }
        let complete = self.taken.windows(4).any(|w| w == b"\r\n\r\n");
        if complete || self.taken.len() >= KEPT_ANSWER {
            let status = answer_status(&self.taken).unwrap_or(400);
            tracing::debug!(status, "a request the HTTP parser refused");
            self.out = own_answer(status, is_control_path(&self.request_start), None);
            self.out_at = 0;
            self.replaced = true;
        }
    }

    /// Writes what is left of the answer sent instead of hyper's.
    fn poll_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.out_at < self.out.len() {
            let n = std::task::ready!(
                Pin::new(&mut self.stream).poll_write(cx, &self.out[self.out_at..])
            )?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.out_at += n;
        }
        Poll::Ready(Ok(()))
    }

    /// A read that found nothing: has the phase's deadline passed?
    fn read_deadline(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let deadline = match self.phase {
            Phase::Waiting { deadline, .. } | Phase::Head { deadline } => deadline,
            Phase::Busy => None,
            Phase::Closed => return Poll::Ready(Ok(())),
        };
        let Some(deadline) = deadline else {
            return Poll::Pending;
        };
        if !expired(&mut self.read_timer, deadline, cx) {
            return Poll::Pending;
        }
        let waiting = matches!(self.phase, Phase::Waiting { .. });
        self.phase = Phase::Closed;
        if waiting {
            // Nothing was asked: the connection ends as a kept-alive one
            // does, without an answer a client could take for its next
            // request's.
            tracing::debug!("connection closed: no request within its time-out");
            return Poll::Ready(Ok(()));
        }
        tracing::debug!("connection closed: a request's headers came too late");
        self.out = own_answer(
            408,
            is_control_path(&self.request_start),
            self.timeouts.header,
        );
        self.out_at = 0;
        self.replaced = true;
        std::task::ready!(self.poll_out(cx))?;
        Poll::Ready(Err(io::ErrorKind::TimedOut.into()))
    }

    /// A write that could not go on: has its client stopped reading for
    /// the idle time-out?
    fn write_stuck(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let Some(idle) = self.timeouts.idle else {
            return Poll::Pending;
        };
        let deadline = *self
            .write_deadline
            .get_or_insert_with(|| Instant::now() + idle);
        if expired(&mut self.write_timer, deadline, cx) {
            tracing::debug!("connection closed: its client stopped reading the answer");
            return Poll::Ready(Err(io::ErrorKind::TimedOut.into()));
        }
        Poll::Pending
    }
}

/// Polls a timer set to `deadline` (made or moved as needed).
fn expired(timer: &mut Option<Pin<Box<Sleep>>>, deadline: Instant, cx: &mut Context<'_>) -> bool {
    let sleep = timer.get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
    if sleep.deadline() != deadline {
        sleep.as_mut().reset(deadline);
    }
    sleep.as_mut().poll(cx).is_ready()
}

impl AsyncRead for TimedIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.exchanges.waker.register(cx.waker());
        this.sync();
        if this.phase == Phase::Closed {
            // A 408 still going out goes first; then the reads end.
            std::task::ready!(this.poll_out(cx))?;
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                let got = &buf.filled()[before..];
                if !got.is_empty() {
                    this.arrived(got);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.read_deadline(cx),
        }
    }
}

impl AsyncWrite for TimedIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.sync();
        if this.writing_its_own() {
            this.take_in(buf);
            // hyper's bytes count as written; the envelope goes out as the
            // socket takes it (and at the latest on flush or shutdown).
            if let Poll::Ready(Err(e)) = this.poll_out(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        match Pin::new(&mut this.stream).poll_write(cx, buf) {
            Poll::Pending => this.write_stuck(cx),
            done => {
                this.write_deadline = None;
                done
            }
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.sync();
        if this.writing_its_own() {
            let mut total = 0;
            for buf in bufs {
                this.take_in(buf);
                total += buf.len();
            }
            if let Poll::Ready(Err(e)) = this.poll_out(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(total));
        }
        match Pin::new(&mut this.stream).poll_write_vectored(cx, bufs) {
            Poll::Pending => this.write_stuck(cx),
            done => {
                this.write_deadline = None;
                done
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.sync();
        std::task::ready!(this.poll_out(cx))?;
        let flushed = std::task::ready!(Pin::new(&mut this.stream).poll_flush(cx));
        if flushed.is_ok() {
            // hyper flushes once its buffer is out: the last answer is sent.
            this.answer_pending = false;
        }
        Poll::Ready(flushed)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        std::task::ready!(this.poll_out(cx))?;
        Pin::new(&mut this.stream).poll_shutdown(cx)
    }
}

/// The status of an answer's head (`HTTP/1.1 431 …`).
fn answer_status(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\r').next()?;
    let code = line.split(|&b| b == b' ').nth(1)?;
    std::str::from_utf8(code).ok()?.parse().ok()
}

/// Does the request that began with `start` address the control API
/// (`/_mock…` or `/ns/{name}/_mock…`)?
fn is_control_path(start: &[u8]) -> bool {
    let text = String::from_utf8_lossy(start);
    let text = text.trim_start_matches(['\r', '\n']);
    let Some((_, rest)) = text.split_once(' ') else {
        return false;
    };
    let path = rest.split([' ', '?']).next().unwrap_or_default();
    let under_mock = |p: &str| p == "/_mock" || p.starts_with("/_mock/");
    match path.strip_prefix("/ns/") {
        Some(rest) => rest
            .split_once('/')
            .is_some_and(|(_, tail)| under_mock(&format!("/{tail}"))),
        None => under_mock(path),
    }
}

/// The answer sent instead of hyper's own `status` (or for a late head,
/// 408): the engine's envelope, or the control API's JSON error, with the
/// reason in `X-Mock-Error`, closing the connection.
pub fn own_answer(status: u16, control: bool, header_timeout: Option<Duration>) -> Vec<u8> {
    let waited = header_timeout.map_or_else(String::new, crate::server::body::show_duration);
    let (reason, phrase, engine_text, control_text) = match status {
        408 => (
            Reason::HeaderTimeout,
            "Request Timeout",
            format!("请求头未在 {waited} 内到齐"),
            format!("the request line and headers did not arrive within {waited} (--header-timeout)"),
        ),
        414 => (
            Reason::UriTooLong,
            "URI Too Long",
            format!("请求地址过长：最多 {MAX_URI_BYTES} 字节"),
            format!("the request target is longer than {MAX_URI_BYTES} bytes"),
        ),
        431 => (
            Reason::HeadersTooLarge,
            "Request Header Fields Too Large",
            format!("请求头过大：最多 {MAX_HEADERS} 个字段，请求行与请求头合计最多 {MAX_HEAD_BYTES} 字节"),
            format!("more than {MAX_HEADERS} header fields, or a request line and headers over {MAX_HEAD_BYTES} bytes"),
        ),
        _ => (
            Reason::BadRequest,
            "Bad Request",
            "请求不是有效的 HTTP/1.1：请求行或请求头无法解析".to_string(),
            "the request is not valid HTTP/1.1: its request line or a header cannot be parsed"
                .to_string(),
        ),
    };
    let status = if reason == Reason::BadRequest {
        400
    } else {
        status
    };
    let body = if control {
        json!({"error": reason.as_str(), "message": control_text}).to_string()
    } else {
        envelope::php_json(&envelope::failure(&ApiError::new(reason, engine_text)))
    };
    let mut answer = format!(
        "HTTP/1.1 {status} {phrase}\r\ncontent-type: application/json{}\r\n{}: {}\r\n{}: {}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        if control { "" } else { "; charset=utf-8" },
        envelope::ERROR_HEADER,
        reason.as_str(),
        crate::server::VERSION_HEADER,
        crate::server::VERSION,
        body.len(),
    )
    .into_bytes();
    answer.extend_from_slice(body.as_bytes());
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_paths() {
        for yes in [
            "GET /_mock/requests HTTP/1.1",
            "POST /_mock HTTP/1.1",
            "GET /ns/t1/_mock/health?x=1 HTTP/1.1",
            "\r\nGET /_mock/clock HTTP/1.1",
        ] {
            assert!(is_control_path(yes.as_bytes()), "{yes:?}");
        }
        for no in [
            "POST /api HTTP/1.1",
            "GET /_mockery HTTP/1.1",
            "GET /ns/t1/api HTTP/1.1",
            "GET /ns/_mock HTTP/1.1",
            "garbage",
            "",
        ] {
            assert!(!is_control_path(no.as_bytes()), "{no:?}");
        }
    }

    #[test]
    fn statuses_of_answer_heads() {
        assert_eq!(
            answer_status(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"),
            Some(431)
        );
        assert_eq!(
            answer_status(b"HTTP/1.1 400 Bad Request\r\n\r\n"),
            Some(400)
        );
        assert_eq!(answer_status(b"junk"), None);
    }

    #[test]
    fn own_answers_are_envelopes_with_their_reason() {
        let text = String::from_utf8(own_answer(414, false, None)).unwrap_or_default();
        assert!(text.starts_with("HTTP/1.1 414 URI Too Long\r\n"), "{text}");
        assert!(
            text.contains("\r\nx-mock-error: uri_too_long\r\n"),
            "{text}"
        );
        // Like every other answer, it names the server's version.
        assert!(
            text.contains(&format!(
                "\r\nx-apayun-mock-version: {}\r\n",
                crate::server::VERSION
            )),
            "{text}"
        );
        let body = text.split("\r\n\r\n").nth(1).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(value["code"], 1);
        let control = String::from_utf8(own_answer(505, true, None)).unwrap_or_default();
        assert!(
            control.starts_with("HTTP/1.1 400 Bad Request\r\n"),
            "{control}"
        );
        let body = control.split("\r\n\r\n").nth(1).unwrap_or_default();
        let value: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
        assert_eq!(value["error"], "bad_request");
    }
}
