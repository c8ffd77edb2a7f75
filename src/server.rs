//! The HTTP server: the router, the namespace registry, start-up and
//! graceful shutdown.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::routing::any;
use axum::Router;
use tokio::sync::{oneshot, Mutex};

use crate::api::error::{reason, ApiError};
use crate::config::ServeConfig;
use crate::engine::{Engine, Settings};
use crate::seed::Seed;

pub const DEFAULT_NAMESPACE: &str = "default";

/// Every engine of this process, by namespace.
pub struct Registry {
    engines: Mutex<BTreeMap<String, Arc<Engine>>>,
    pub config: ServeConfig,
    pub settings: Arc<Settings>,
    pub seed: Arc<Seed>,
}

/// Whether a namespace name is acceptable in a URL and a log.
pub fn valid_namespace(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// The refusal of a namespace name, alike for `/api` and `/_mock`.
pub fn bad_namespace(name: &str) -> ApiError {
    ApiError::new(
        "bad_namespace",
        format!("命名空间名称无效：{name:?}（以字母或数字开头，可含 -、_、.，最长 64）"),
    )
    .with_status(axum::http::StatusCode::BAD_REQUEST)
}

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
pub fn undecodable_namespace(path: &str, index: usize) -> ApiError {
    bad_namespace(&lossy_segment(path, index))
}

impl Registry {
    /// The engine of a namespace, created from the seed on first use.
    pub async fn engine(&self, name: &str) -> Result<Arc<Engine>, ApiError> {
        if !valid_namespace(name) {
            return Err(bad_namespace(name));
        }
        let mut engines = self.engines.lock().await;
        if let Some(e) = engines.get(name) {
            return Ok(e.clone());
        }
        if engines.len() >= self.config.max_namespaces {
            return Err(ApiError::new(
                "namespace_limit",
                format!(
                    "命名空间数量已达上限 {}：请先删除不用的命名空间",
                    self.config.max_namespaces
                ),
            )
            .with_status(axum::http::StatusCode::TOO_MANY_REQUESTS));
        }
        let (settings, seed, owned) = (self.settings.clone(), self.seed.clone(), name.to_string());
        let engine =
            tokio::task::spawn_blocking(move || Engine::open(&owned, settings, seed, None))
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::internal)?;
        let engine = Arc::new(engine);
        engine.start();
        engines.insert(name.to_string(), engine.clone());
        Ok(engine)
    }

    /// An existing engine, without creating one.
    pub async fn existing(&self, name: &str) -> Option<Arc<Engine>> {
        self.engines.lock().await.get(name).cloned()
    }

    pub async fn names(&self) -> Vec<String> {
        self.engines.lock().await.keys().cloned().collect()
    }

    /// Drops a namespace (never `default`); its tasks stop with it.
    pub async fn remove(&self, name: &str) -> bool {
        name != DEFAULT_NAMESPACE && self.engines.lock().await.remove(name).is_some()
    }

    pub async fn insert(&self, engine: Arc<Engine>) {
        self.engines
            .lock()
            .await
            .insert(engine.name.clone(), engine);
    }
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
    let settings = Arc::new(Settings::from_config(&config, &seed)?);
    let seed = Arc::new(seed);
    let (s, sd, db) = (settings.clone(), seed.clone(), config.db.clone());
    let engine =
        tokio::task::spawn_blocking(move || Engine::open(DEFAULT_NAMESPACE, s, sd, db.as_deref()))
            .await
            .map_err(|e| e.to_string())??;
    let engine = Arc::new(engine);
    engine.start();
    let registry = Arc::new(Registry {
        engines: Mutex::new(BTreeMap::new()),
        config,
        settings,
        seed,
    });
    registry.insert(engine).await;
    Ok(registry)
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
    // Listen for the signals before saying we listen: a supervisor may send
    // SIGTERM as soon as it reads the line, and a signal that comes before
    // its handler would kill the process without a clean stop.
    let shutdown = shutdown_signal();
    {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "listening on {}", running.base_url());
        let _ = out.flush();
    }
    shutdown.await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}

/// Installs the SIGINT and SIGTERM handlers at once; the future it returns
/// completes on the first of them.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    let mut ctrl_c = Box::pin(tokio::signal::ctrl_c());
    // Polled once so that its handler is installed now, not at the first
    // await (a `ctrl_c` future that already finished must not be awaited again).
    let interrupted = futures_util::FutureExt::now_or_never(ctrl_c.as_mut()).is_some();
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    async move {
        if interrupted {
            return;
        }
        #[cfg(unix)]
        let term = async move {
            match term {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! {
            _ = ctrl_c => {},
            _ = term => {},
        }
    }
}
