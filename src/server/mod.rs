//! The HTTP server: the router, start-up and graceful shutdown. The
//! namespaces it serves live in [`crate::registry`].
//!
//! - `connection`: the accept loop, the connection cap, hyper per connection.
//! - `timed_io`: the socket as hyper sees it: idle and header time-outs,
//!   hyper's own answers as envelopes.
//! - `body`: reading a request body under its limit and time-out.

pub mod body;
mod connection;
pub mod timed_io;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::any;
use axum::Router;
use tokio::sync::oneshot;

use crate::config::ServeConfig;
use crate::registry::Registry;
use crate::seed::Seed;

/// Loads the seed named by the configuration.
pub fn load_seed(config: &ServeConfig) -> Result<Seed, String> {
    match &config.seed_data {
        Some(dir) => Seed::from_dir(dir),
        None => Seed::default_set(),
    }
    .map_err(|e| e.to_string())
}

/// Builds the registry with its `default` engine (on `--db` when given).
pub async fn registry(config: ServeConfig, seed: Seed) -> Result<Arc<Registry>, String> {
    Registry::start(config, seed).await
}

pub fn router(registry: Arc<Registry>) -> Router {
    Router::new()
        .route("/api", any(crate::api::default_api))
        .route("/ns/{name}/api", any(crate::api::namespaced_api))
        .merge(crate::admin::announce_changes(
            crate::admin::router(),
            registry.clone(),
        ))
        .merge(crate::ui::router())
        .fallback(crate::api::not_found)
        .layer(axum::middleware::map_response(version_header))
        .with_state(registry)
}

/// The header every answer carries with the server's version, so a client
/// library can check it meets its minimum on any call (stripe-mock's way).
pub const VERSION_HEADER: &str = "x-apayun-mock-version";

/// This build's version, as `VERSION_HEADER` and `/_mock/health` give it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Adds [`VERSION_HEADER`] to every answer: `/api`, control calls, the
/// dashboard and the fallback 404 alike.
async fn version_header(mut resp: axum::response::Response) -> axum::response::Response {
    resp.headers_mut().insert(
        VERSION_HEADER,
        axum::http::HeaderValue::from_static(VERSION),
    );
    resp
}

/// A server running in the background of this process.
pub struct Running {
    pub addr: SocketAddr,
    pub registry: Arc<Registry>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting, lets in-flight requests finish, and waits.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Binds and serves in the background.
pub async fn spawn(config: ServeConfig, seed: Seed) -> Result<Running, String> {
    let addr = SocketAddr::new(config.bind, config.port);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let limits = connection::ConnectionLimits::of(&config);
    let registry = registry(config, seed).await?;
    let app = router(registry.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let closing = registry.closing.clone();
    let task = tokio::spawn(connection::serve(listener, app, limits, async move {
        let _ = rx.await;
        closing.close();
    }));
    Ok(Running {
        addr,
        registry,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// How long in-flight requests get after SIGTERM or SIGINT before the
/// process exits anyway. Graceful shutdown alone would wait for every open
/// connection: an idle keep-alive client or a `delay` fault could hold a
/// `podman stop` until its 10 s SIGKILL.
#[cfg(feature = "cli")]
pub const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

/// `apayun-mock serve`: prints `listening on http://…` first, then serves
/// until SIGINT or SIGTERM.
#[cfg(feature = "cli")]
pub async fn serve(config: ServeConfig, seed: Seed) -> Result<(), String> {
    let stop = shutdown_signal();
    let open = match (config.admin_open, config.admin_token.is_some()) {
        (false, _) => None,
        (true, false) => Some("the control API is open to every client (--admin-open)"),
        (true, true) => Some(
            "the control API is open to every client that sends the admin token (--admin-open)",
        ),
    };
    let running = spawn(config, seed).await?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", running.base_url());
        let _ = out.flush();
    }
    if let Some(line) = open {
        tracing::warn!("{line}");
    }
    stop.await;
    tracing::info!("shutting down");
    if tokio::time::timeout(SHUTDOWN_GRACE, running.stop())
        .await
        .is_err()
    {
        tracing::info!(
            grace_ms = SHUTDOWN_GRACE.as_millis() as u64,
            "connections still open after the grace period are closed"
        );
    }
    Ok(())
}

/// Resolves on SIGTERM or SIGINT. The handlers are installed when this is
/// called, not when it is first awaited: as PID 1 in a container a signal
/// with no handler is ignored, so they go in before start-up work.
#[cfg(feature = "cli")]
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, Signal, SignalKind};
        async fn next(signal: Option<Signal>) {
            match signal {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        if term.is_none() || int.is_none() {
            tracing::warn!("cannot install a SIGTERM or SIGINT handler");
        }
        async move {
            tokio::select! {
                _ = next(term) => {},
                _ = next(int) => {},
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}
