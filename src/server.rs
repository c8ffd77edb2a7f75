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
    /// Set when the server stops, so that endless streams (SSE) end.
    pub closing: crate::events::Closing,
}

/// Whether a namespace name is acceptable in a URL and a log.
pub fn valid_namespace(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

impl Registry {
    /// The engine of a namespace, created from the seed on first use.
    pub async fn engine(&self, name: &str) -> Result<Arc<Engine>, ApiError> {
        if !valid_namespace(name) {
            return Err(ApiError::new(
                "bad_namespace",
                format!("命名空间名称无效：{name:?}（以字母或数字开头，可含 -、_、.，最长 64）"),
            )
            .with_status(axum::http::StatusCode::BAD_REQUEST));
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
        closing: Default::default(),
    });
    registry.insert(engine).await;
    Ok(registry)
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
        .fallback(not_found)
        .with_state(registry)
}

pub(crate) async fn not_found(uri: axum::http::Uri) -> axum::response::Response {
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
    let closing = registry.closing.clone();
    let task = tokio::spawn(async move {
        let result = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = rx.await;
                closing.close();
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
