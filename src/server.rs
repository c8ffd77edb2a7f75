//! The HTTP server: the router, start-up and graceful shutdown. The
//! namespaces it serves live in [`crate::registry`].

use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::any;
use axum::Router;
use tokio::sync::oneshot;

use crate::api::error::{reason, ApiError};
use crate::config::ServeConfig;
use crate::seed::Seed;

use crate::registry::RegistryError;
pub use crate::registry::{valid_namespace, Registry, DEFAULT_NAMESPACE};

/// Segment `index` of a URL path, percent-decoded with invalid UTF-8 shown
/// as U+FFFD: the name a refusal shows when axum could not decode it.
pub fn lossy_segment(path: &str, index: usize) -> String {
    let raw = path.split('/').nth(index).unwrap_or_default();
    percent_encoding::percent_decode_str(raw)
        .decode_utf8_lossy()
        .into_owned()
}

/// The refusal of a namespace name that is not UTF-8 (axum's path
/// extractors reject it before any handler sees a name).
pub fn undecodable_namespace(path: &str, index: usize) -> RegistryError {
    RegistryError::BadName(lossy_segment(path, index))
}

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
        .merge(crate::admin::router())
        .fallback(not_found)
        .with_state(registry)
}

async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
    let err = ApiError::new(
        reason::NOT_FOUND,
        format!("没有这个地址：{uri}（引擎接口为 POST /api）"),
    )
    .with_status(axum::http::StatusCode::NOT_FOUND);
    crate::api::envelope::respond_error(&err, crate::api::envelope::Format::Json)
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
    let registry = registry(config, seed).await?;
    let app = router(registry.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
        if let Err(e) = result {
            tracing::error!(error = %e, "server stopped");
        }
    });
    Ok(Running {
        addr,
        registry,
        shutdown: Some(tx),
        task: Some(task),
    })
}

/// `apayun-mock serve`: prints `listening on http://…` first, then serves
/// until SIGINT or SIGTERM.
pub async fn serve(config: ServeConfig, seed: Seed) -> Result<(), String> {
    let running = spawn(config, seed).await?;
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", running.base_url());
        let _ = out.flush();
    }
    shutdown_signal().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
