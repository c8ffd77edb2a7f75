//! The accept loop: at most `--max-connections` connections at once, each
//! served by hyper's HTTP/1 server over a [`TimedIo`], and graceful
//! shutdown. In place of `axum::serve`, which has neither time-outs nor a
//! cap.
//!
//! At the cap the loop stops accepting: new connections wait in the
//! kernel's listen queue (their TCP handshake done) and are served in turn
//! as others close — at the latest when a time-out reaps an idle or slow
//! one. Nobody is refused, and a flood of idle sockets holds a slot for at
//! most `--header-timeout` each.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::TokioIo;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower_service::Service;

use super::body::BodyDeadline;
use super::timed_io::{Exchanges, InFlight, TimedIo, Timeouts, MAX_HEADERS};
use crate::config::ServeConfig;

/// The connection limits of `serve`.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    pub header_timeout: Option<Duration>,
    pub body_timeout: Option<Duration>,
    pub idle_timeout: Option<Duration>,
    /// `None`: no cap.
    pub max_connections: Option<usize>,
}

impl ConnectionLimits {
    /// The configuration's limits; a zero means none.
    pub fn of(config: &ServeConfig) -> ConnectionLimits {
        let some = |d: Duration| (!d.is_zero()).then_some(d);
        ConnectionLimits {
            header_timeout: some(config.header_timeout),
            body_timeout: some(config.body_timeout),
            idle_timeout: some(config.idle_timeout),
            max_connections: (config.max_connections > 0).then_some(config.max_connections),
        }
    }
}

/// Serves `router` on `listener` until `stop` resolves, then stops
/// accepting, lets every connection finish what it is doing (an idle one
/// closes at once) and returns when all are gone.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    stop: impl Future<Output = ()>,
) {
    let slots = limits
        .max_connections
        .map(|n| Arc::new(Semaphore::new(n.min(Semaphore::MAX_PERMITS))));
    let (closing, closed) = watch::channel(());
    let mut stop = pin!(stop);
    let mut warned_full = false;
    loop {
        let slot = match &slots {
            None => None,
            Some(slots) => {
                if slots.available_permits() == 0 && !warned_full {
                    tracing::warn!(
                        max_connections = limits.max_connections.unwrap_or_default(),
                        "at the connection cap: new connections wait until one closes"
                    );
                }
                warned_full = slots.available_permits() == 0;
                tokio::select! {
                    slot = slots.clone().acquire_owned() => match slot {
                        Ok(slot) => Some(slot),
                        Err(_) => break,
                    },
                    _ = &mut stop => break,
                }
            }
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    accept_failed(e).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        tokio::spawn(connection(
            stream,
            remote,
            router.clone(),
            limits,
            closed.clone(),
            slot,
        ));
    }
    drop(listener);
    drop(closed);
    // Every connection's task holds a receiver: tell them, then wait until
    // the last one is gone.
    let _ = closing.send(());
    closing.closed().await;
}

/// Serves one connection until it closes, or until shutdown lets it finish.
async fn connection(
    stream: TcpStream,
    remote: SocketAddr,
    router: Router,
    limits: ConnectionLimits,
    mut closing: watch::Receiver<()>,
    slot: Option<OwnedSemaphorePermit>,
) {
    let exchanges = Arc::new(Exchanges::default());
    let timeouts = Timeouts {
        header: limits.header_timeout,
        idle: limits.idle_timeout,
    };
    let io = TokioIo::new(TimedIo::new(stream, exchanges.clone(), timeouts));
    let body_timeout = limits.body_timeout;
    let service =
        hyper::service::service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
            let in_flight = exchanges.begin();
            let mut request = request.map(Body::new);
            request.extensions_mut().insert(ConnectInfo(remote));
            if let Some(after) = body_timeout {
                request.extensions_mut().insert(BodyDeadline {
                    at: tokio::time::Instant::now() + after,
                    after,
                });
            }
            let answer = router.clone().call(request);
            async move {
                let response = match answer.await {
                    Ok(response) => response,
                    Err(never) => match never {},
                };
                Ok::<_, Infallible>(response.map(|body| Counted {
                    body,
                    _in_flight: in_flight,
                }))
            }
        });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder.max_headers(MAX_HEADERS);
    let mut served = pin!(builder.serve_connection(io, service));
    let result = tokio::select! {
        result = served.as_mut() => result,
        _ = closing.changed() => {
            served.as_mut().graceful_shutdown();
            served.await
        }
    };
    if let Err(e) = result {
        tracing::debug!(%remote, error = %e, "connection ended");
    }
    drop(slot);
}

/// Accepting failed. Running out of file descriptors (`EMFILE`) lasts a
/// while, so the loop pauses; a connection reset before it was accepted
/// does not.
async fn accept_failed(e: std::io::Error) {
    use std::io::ErrorKind;
    if matches!(
        e.kind(),
        ErrorKind::ConnectionRefused | ErrorKind::ConnectionAborted | ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %e, "accept failed; pausing for 1 s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// An answer's body, holding its request's [`InFlight`] until hyper has
/// taken the last of it.
struct Counted {
    body: Body,
    _in_flight: InFlight,
}

impl http_body::Body for Counted {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        std::pin::Pin::new(&mut self.get_mut().body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}
