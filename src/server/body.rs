//! Reading a request body whole: its size limit, its time-out (the deadline
//! the connection gave the request, see [`BodyDeadline`]) and a body whose
//! transfer is broken. `/api` and the control API read every body through
//! [`read_body`], each answering its failures in its own shape.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::StatusCode;
use bytes::BytesMut;
use futures_util::StreamExt;

use crate::protocol::Reason;

/// When a request's body must have arrived: set by the connection when it
/// hands the request to the router (its headers are in), `--body-timeout`
/// later. A request made in process (`POST /_mock/call`) has none.
#[derive(Debug, Clone, Copy)]
pub struct BodyDeadline {
    pub at: tokio::time::Instant,
    /// The `--body-timeout` it was counted with, for the refusal's message.
    pub after: Duration,
}

/// Why a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodyError {
    /// Over the limit: by its `Content-Length`, at once, or as it arrives.
    TooLarge { limit: usize },
    /// Not all there by the deadline.
    TimedOut { after: Duration },
    /// The transfer itself is broken (a malformed chunked encoding, or the
    /// client closed mid-body): hyper's description.
    Broken(String),
}

impl BodyError {
    /// The status and reason every surface answers it with (`/api` and the
    /// control API word the message each in its own language).
    pub fn status_and_reason(&self) -> (StatusCode, Reason) {
        match self {
            BodyError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, Reason::BodyTooLarge),
            BodyError::TimedOut { .. } => (StatusCode::REQUEST_TIMEOUT, Reason::BodyTimeout),
            BodyError::Broken(_) => (StatusCode::BAD_REQUEST, Reason::BadRequest),
        }
    }
}

/// Reads the body of `request`, at most `limit` bytes, by its deadline.
pub async fn read_body(request: Request, limit: usize) -> Result<Bytes, BodyError> {
    let deadline = request.extensions().get::<BodyDeadline>().copied();
    let body = request.into_body();
    // A declared length over the limit is refused before a byte is read:
    // `Content-Length: 10000000000` with 3 bytes sent gets its 413 at once.
    if http_body::Body::size_hint(&body).lower() > limit as u64 {
        return Err(BodyError::TooLarge { limit });
    }
    match deadline {
        None => collect(body, limit).await,
        Some(deadline) => tokio::time::timeout_at(deadline.at, collect(body, limit))
            .await
            .unwrap_or(Err(BodyError::TimedOut {
                after: deadline.after,
            })),
    }
}

async fn collect(body: Body, limit: usize) -> Result<Bytes, BodyError> {
    let mut stream = body.into_data_stream();
    // Most bodies arrive in one chunk, which is kept without a copy.
    let mut first: Option<Bytes> = None;
    let mut joined = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| BodyError::Broken(error_chain(&e)))?;
        let so_far = first.as_ref().map_or(0, Bytes::len) + joined.len();
        if so_far + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        match first.take() {
            None if joined.is_empty() => first = Some(chunk),
            None => joined.extend_from_slice(&chunk),
            Some(earlier) => {
                joined.extend_from_slice(&earlier);
                joined.extend_from_slice(&chunk);
            }
        }
    }
    Ok(first.unwrap_or_else(|| joined.freeze()))
}

/// An error and its causes, `a: b: c`: hyper's own text ("error reading a
/// body from connection") says nothing of what was wrong with it.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// A duration as a refusal's message shows it (`10s`, `500ms`).
pub fn show_duration(d: Duration) -> String {
    humantime::format_duration(d).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(chunks: Vec<&'static [u8]>) -> Request {
        let stream = futures_util::stream::iter(
            chunks
                .into_iter()
                .map(|c| Ok::<_, std::io::Error>(Bytes::from_static(c))),
        );
        Request::new(Body::from_stream(stream))
    }

    #[tokio::test]
    async fn chunks_are_joined_under_the_limit() {
        let got = read_body(request(vec![b"ab", b"cd", b"e"]), 5).await;
        assert_eq!(got, Ok(Bytes::from_static(b"abcde")));
        let got = read_body(request(vec![b"abc"]), 3).await;
        assert_eq!(got, Ok(Bytes::from_static(b"abc")));
        let got = read_body(request(vec![]), 3).await;
        assert_eq!(got, Ok(Bytes::new()));
        let got = read_body(request(vec![b"ab", b"cd"]), 3).await;
        assert_eq!(got, Err(BodyError::TooLarge { limit: 3 }));
    }

    #[tokio::test]
    async fn a_declared_length_over_the_limit_is_refused_unread() {
        let got = read_body(Request::new(Body::from("abcdef")), 3).await;
        assert_eq!(got, Err(BodyError::TooLarge { limit: 3 }));
    }

    #[tokio::test]
    async fn a_body_late_past_its_deadline_times_out() {
        let never = futures_util::stream::pending::<Result<Bytes, std::io::Error>>();
        let mut request = Request::new(Body::from_stream(never));
        let after = Duration::from_millis(20);
        request.extensions_mut().insert(BodyDeadline {
            at: tokio::time::Instant::now() + after,
            after,
        });
        let got = read_body(request, 10).await;
        assert_eq!(got, Err(BodyError::TimedOut { after }));
    }
}
