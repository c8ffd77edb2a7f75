//! The namespace registry: every engine of this process by name. A new
//! namespace is a copy of a prepared image of the seed (built once at
//! start), a fork of another namespace, or of one of its snapshots; an
//! unused one is deleted after `--namespace-idle-ttl`.
//!
//! Architecture invariant: the registry's lock is held only to look up,
//! insert or remove an entry — never while an engine is opened, copied or
//! dropped — so making or deleting a namespace never blocks calls to others.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::clock;
use crate::config::ServeConfig;
use crate::engine::{Engine, EngineError, Settings};
use crate::protocol::Reason;
use crate::scheduler::Scheduler;
use crate::seed::Seed;
use crate::store::Template;

pub const DEFAULT_NAMESPACE: &str = "default";

/// Why the registry refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    #[error("命名空间名称无效：{0:?}（以字母或数字开头，可含 -、_、.，最长 64）")]
    BadName(String),
    #[error(
        "命名空间数量已达上限 {0}（--max-namespaces / APAYUN_MOCK_MAX_NAMESPACES）：请先删除不用的命名空间，或调高上限"
    )]
    Limit(usize),
    #[error("namespace {0:?} already exists")]
    Exists(String),
    #[error("no namespace {0:?}")]
    NotFound(String),
    #[error("namespace {namespace:?} has no snapshot {snapshot:?}")]
    NoSnapshot { namespace: String, snapshot: String },
    #[error("the default namespace cannot be deleted; use POST /_mock/reset")]
    Default,
    #[error("cannot open the namespace: {0}")]
    Open(String),
}

impl RegistryError {
    /// The stable reason (`X-Mock-Error`, and the control API's `error`).
    pub fn reason(&self) -> Reason {
        match self {
            RegistryError::BadName(_) => Reason::BadNamespace,
            RegistryError::Limit(_) => Reason::NamespaceLimit,
            RegistryError::Exists(_) => Reason::NamespaceExists,
            RegistryError::NotFound(_) => Reason::UnknownNamespace,
            RegistryError::NoSnapshot { .. } => Reason::UnknownSnapshot,
            RegistryError::Default => Reason::DefaultNamespace,
            RegistryError::Open(_) => Reason::NamespaceUnavailable,
        }
    }
}

/// An engine that could not be made or copied: the namespace is unavailable.
impl From<EngineError> for RegistryError {
    fn from(e: EngineError) -> RegistryError {
        RegistryError::Open(e.to_string())
    }
}

/// Whether a namespace name is acceptable in a URL and a log.
pub fn valid_namespace(name: &str) -> bool {
    name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
}

/// What a new namespace starts from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The seed, as a fresh engine.
    Seed,
    /// Another namespace's current state: database, clock, pending transitions.
    Namespace(String),
    /// A named snapshot of a namespace.
    Snapshot { namespace: String, snapshot: String },
}

/// One namespace and its bookkeeping.
struct Slot {
    engine: Arc<Engine>,
    id: u64,
    /// Wall-clock milliseconds.
    created: i64,
    last_used: AtomicI64,
}

impl Slot {
    fn touch(&self) {
        self.last_used
            .store(clock::wall_millis(), Ordering::Relaxed);
    }
}

/// A namespace as `GET /_mock/namespaces` lists it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NamespaceInfo {
    pub name: String,
    /// Real time it was made, and last called, in the engine's zone.
    pub created: String,
    pub last_used: String,
    pub idle_seconds: i64,
    /// Instances in its database, every member, deleted ones included.
    pub instances: i64,
    /// Approximate memory: its database plus its journal.
    pub bytes: u64,
}

/// `GET /_mock/namespaces`.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct NamespaceList {
    pub namespaces: Vec<NamespaceInfo>,
    /// `--max-namespaces`.
    pub max: u64,
    /// `--namespace-idle-ttl` in seconds (0: kept for ever).
    pub idle_ttl_seconds: u64,
}

/// Every engine of this process, by namespace.
pub struct Registry {
    slots: Mutex<BTreeMap<String, Arc<Slot>>>,
    pub config: ServeConfig,
    pub settings: Arc<Settings>,
    pub seed: Arc<Seed>,
    /// The seed, loaded and validated once, as a database image.
    template: Arc<Template>,
    scheduler: Scheduler,
    next_id: AtomicU64,
    /// Set when the server stops, so that endless streams (SSE) end.
    pub closing: crate::events::Closing,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registry").finish_non_exhaustive()
    }
}

impl Registry {
    /// Builds the registry with its `default` engine (on `--db` when given)
    /// and, when `--namespace-idle-ttl` is set, its sweeper.
    pub async fn start(config: ServeConfig, seed: Seed) -> Result<Arc<Registry>, String> {
        let settings = Arc::new(Settings::from_config(&config, &seed).map_err(|e| e.to_string())?);
        let seed = Arc::new(seed);
        let (s, sd, db) = (settings.clone(), seed.clone(), config.db.clone());
        let (template, default) = tokio::task::spawn_blocking(move || {
            let clock = clock::Clock::new(s.utc_offset);
            let template = Template::build(&sd, clock.now(), clock.zone())
                .map_err(|e| format!("cannot load seed: {e}"))?;
            let engine = match db.as_deref() {
                Some(path) => Engine::open(DEFAULT_NAMESPACE, s, sd, Some(path)),
                None => Engine::from_template(DEFAULT_NAMESPACE, s, sd, &template),
            }
            .map_err(|e| e.to_string())?;
            Ok::<_, String>((template, engine))
        })
        .await
        .map_err(|e| e.to_string())??;
        let registry = Arc::new(Registry {
            slots: Mutex::new(BTreeMap::new()),
            config,
            settings,
            seed,
            template: Arc::new(template),
            scheduler: Scheduler::new(),
            next_id: AtomicU64::new(1),
            closing: Default::default(),
        });
        registry
            .adopt(DEFAULT_NAMESPACE, default)
            .map_err(|e| e.to_string())?;
        if let Some(ttl) = registry.idle_ttl() {
            tokio::spawn(sweep_loop(Arc::downgrade(&registry), ttl));
        }
        registry.refill();
        Ok(registry)
    }

    fn slots(&self) -> MutexGuard<'_, BTreeMap<String, Arc<Slot>>> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn idle_ttl(&self) -> Option<Duration> {
        let ttl = self.config.namespace_idle_ttl;
        (!ttl.is_zero()).then_some(ttl)
    }

    /// Starts a new engine and files it under `name`, unless the name was
    /// taken meanwhile (then the new engine is dropped and the name's
    /// engine returned) or the cap is reached.
    fn adopt(&self, name: &str, engine: Engine) -> Result<Arc<Engine>, RegistryError> {
        let engine = Arc::new(engine);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let now = clock::wall_millis();
        let slot = Arc::new(Slot {
            engine: engine.clone(),
            id,
            created: now,
            last_used: AtomicI64::new(now),
        });
        {
            let mut slots = self.slots();
            if slots.contains_key(name) {
                return Err(RegistryError::Exists(name.to_string()));
            }
            if slots.len() >= self.config.max_namespaces && name != DEFAULT_NAMESPACE {
                return Err(RegistryError::Limit(self.config.max_namespaces));
            }
            slots.insert(name.to_string(), slot);
        }
        engine.start(self.scheduler.attach(id, &engine));
        Ok(engine)
    }

    fn check_room(&self, name: &str) -> Result<(), RegistryError> {
        if !valid_namespace(name) {
            return Err(RegistryError::BadName(name.to_string()));
        }
        if self.slots().len() >= self.config.max_namespaces {
            return Err(RegistryError::Limit(self.config.max_namespaces));
        }
        Ok(())
    }

    /// The engine of a namespace, made from the seed on first use.
    pub async fn engine(&self, name: &str) -> Result<Arc<Engine>, RegistryError> {
        if let Some(slot) = self.slots().get(name) {
            slot.touch();
            return Ok(slot.engine.clone());
        }
        self.check_room(name)?;
        let engine = self.open(name.to_string(), None).await?;
        match self.adopt(name, engine) {
            // Two first calls raced: both use the engine filed first.
            Err(RegistryError::Exists(_)) => self
                .slots()
                .get(name)
                .map(|s| s.engine.clone())
                .ok_or_else(|| RegistryError::NotFound(name.to_string())),
            other => other,
        }
    }

    /// Opens an engine on a blocking thread, from the seed image or from
    /// `image` (a copy of another engine's database).
    async fn open(&self, name: String, image: Option<Vec<u8>>) -> Result<Engine, RegistryError> {
        let (settings, seed, template) = (
            self.settings.clone(),
            self.seed.clone(),
            self.template.clone(),
        );
        let from_seed = image.is_none();
        if from_seed {
            if let Some(engine) = Engine::from_ready(&name, &settings, &seed, &template) {
                self.refill();
                return Ok(engine);
            }
        }
        let engine = tokio::task::spawn_blocking(move || match image {
            None => Engine::from_template(&name, settings, seed, &template),
            Some(bytes) => Engine::from_image(&name, settings, seed, &bytes),
        })
        .await
        .map_err(|e| RegistryError::Open(e.to_string()))??;
        if from_seed {
            self.refill();
        }
        Ok(engine)
    }

    /// Opens seed copies ahead of need on a blocking thread, when fewer
    /// than the template keeps are waiting.
    fn refill(&self) {
        if !self.template.wants_refill() {
            return;
        }
        let (template, seed, offset) = (
            self.template.clone(),
            self.seed.clone(),
            self.settings.utc_offset,
        );
        tokio::task::spawn_blocking(move || {
            // The time a fresh engine's clock would read (see `Engine::from_template`).
            let now = || clock::Clock::new(offset).now();
            if let Err(error) = template.refill(&seed, now) {
                tracing::warn!(%error, "cannot open seed copies ahead");
            }
        });
    }

    /// Makes a namespace from `origin`; without a name, picks a unique one.
    pub async fn create(
        &self,
        name: Option<&str>,
        origin: Origin,
    ) -> Result<(String, Arc<Engine>), RegistryError> {
        let name = match name {
            Some(n) => n.to_string(),
            None => self.unique_name(),
        };
        self.check_room(&name)?;
        if self.slots().contains_key(&name) {
            return Err(RegistryError::Exists(name));
        }
        let image = match &origin {
            Origin::Seed => None,
            Origin::Namespace(source) => {
                let engine = self.source(source)?;
                Some(
                    tokio::task::spawn_blocking(move || engine.image())
                        .await
                        .map_err(|e| RegistryError::Open(e.to_string()))??,
                )
            }
            Origin::Snapshot {
                namespace,
                snapshot,
            } => {
                let engine = self.source(namespace)?;
                let snap = snapshot.clone();
                let image = tokio::task::spawn_blocking(move || engine.snapshot_image(&snap))
                    .await
                    .map_err(|e| RegistryError::Open(e.to_string()))??;
                Some(image.ok_or_else(|| RegistryError::NoSnapshot {
                    namespace: namespace.clone(),
                    snapshot: snapshot.clone(),
                })?)
            }
        };
        let engine = self.open(name.clone(), image).await?;
        let engine = self.adopt(&name, engine)?;
        tracing::info!(namespace = %name, ?origin, "namespace created");
        Ok((name, engine))
    }

    fn source(&self, name: &str) -> Result<Arc<Engine>, RegistryError> {
        let slots = self.slots();
        let slot = slots
            .get(name)
            .ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
        slot.touch();
        Ok(slot.engine.clone())
    }

    fn unique_name(&self) -> String {
        let slots = self.slots();
        loop {
            let name = format!("ns-{:08x}", rand::random::<u32>());
            if !slots.contains_key(&name) {
                return name;
            }
        }
    }

    /// An existing engine, without making one or counting as a use.
    pub async fn existing(&self, name: &str) -> Option<Arc<Engine>> {
        self.slots().get(name).map(|s| s.engine.clone())
    }

    /// Every namespace with its times, instance count and approximate size.
    pub async fn list(&self) -> Vec<NamespaceInfo> {
        let slots: Vec<(String, Arc<Slot>)> = self
            .slots()
            .iter()
            .map(|(n, s)| (n.clone(), s.clone()))
            .collect();
        tokio::task::spawn_blocking(move || {
            let now = clock::wall_millis();
            slots
                .into_iter()
                .map(|(name, slot)| {
                    let (instances, bytes) = slot.engine.footprint();
                    let last = slot.last_used.load(Ordering::Relaxed);
                    let zone = slot.engine.clock().zone();
                    let fmt = |ms: i64| clock::format_time(ms.div_euclid(1000), zone);
                    NamespaceInfo {
                        name,
                        created: fmt(slot.created),
                        last_used: fmt(last),
                        idle_seconds: (now - last).max(0) / 1000,
                        instances,
                        bytes,
                    }
                })
                .collect()
        })
        .await
        .unwrap_or_default()
    }

    /// Deletes a namespace (never `default`); its engine is dropped off the
    /// lock, once calls in flight on it have finished.
    pub async fn remove(&self, name: &str) -> Result<(), RegistryError> {
        if name == DEFAULT_NAMESPACE {
            return Err(RegistryError::Default);
        }
        let slot = self
            .slots()
            .remove(name)
            .ok_or_else(|| RegistryError::NotFound(name.to_string()))?;
        self.scheduler.detach(slot.id);
        drop(slot);
        Ok(())
    }

    /// Deletes namespaces unused for the idle TTL; returns when the next
    /// one could expire.
    fn sweep(&self, ttl: Duration) -> Instant {
        let ttl_ms = ttl.as_millis() as i64;
        let now = clock::wall_millis();
        let mut expired = Vec::new();
        let mut next = now + ttl_ms;
        {
            let mut slots = self.slots();
            slots.retain(|name, slot| {
                if name == DEFAULT_NAMESPACE {
                    return true;
                }
                let last = slot.last_used.load(Ordering::Relaxed);
                if now - last >= ttl_ms {
                    expired.push((name.clone(), slot.clone(), now - last));
                    false
                } else {
                    next = next.min(last + ttl_ms);
                    true
                }
            });
        }
        for (name, slot, idle) in expired {
            self.scheduler.detach(slot.id);
            tracing::info!(
                namespace = %name,
                idle_seconds = idle / 1000,
                "namespace deleted after --namespace-idle-ttl"
            );
        }
        Instant::now()
            + Duration::from_millis((next - now).max(0) as u64)
            + Duration::from_millis(5)
    }
}

/// Wakes when the next namespace could expire; never polls.
async fn sweep_loop(registry: Weak<Registry>, ttl: Duration) {
    loop {
        let next = match registry.upgrade() {
            Some(r) => r.sweep(ttl),
            None => return,
        };
        tokio::time::sleep_until(tokio::time::Instant::from_std(next)).await;
    }
}
