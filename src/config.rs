//! How the engine is configured: [`ServeConfig`], shared by `serve`, the
//! library API and scenarios. The command line's clap parsing of it lives
//! in `args.rs`, behind the `cli` feature.

use std::net::IpAddr;
use std::path::PathBuf;

/// How the engine behaves; shared by `serve`, the library API and scenarios.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Port to listen on; 0 lets the system pick one (the first stdout line tells which).
    pub port: u16,
    /// Address to bind.
    pub bind: IpAddr,
    /// Keep state in this SQLite file (WAL mode) instead of memory; it survives restarts.
    pub db: Option<PathBuf>,
    /// How a `--db` file is flushed: `off` survives the server being killed
    /// but not the machine losing power (a fixture's trade-off, and 1.5–2×
    /// faster writes); `normal` or `full` for SQLite's stronger guarantees.
    pub db_sync: DbSync,
    /// Load seed data from this folder instead of the compiled-in default set.
    pub seed_data: Option<PathBuf>,
    /// Accept requests without `version`, `system_type` and `vtime`.
    pub lenient: bool,
    /// Allowed distance in seconds between `time` and the real clock; 0 disables the check.
    pub time_skew: u64,
    /// Require `Authorization: Bearer TOKEN` on `/_mock`, and allow non-loopback clients with it.
    pub admin_token: Option<String>,
    /// Serve the control API to every client, not only loopback ones (behind
    /// a container's published port no client is loopback); an admin token
    /// still locks it. The container image sets this.
    pub admin_open: bool,
    /// The engine's time zone for business times, in seconds east of UTC
    /// (`--utc-offset +08:00` is 28800).
    pub utc_offset: i32,
    /// Seed for every generated value (GUIDs, order numbers), so runs repeat.
    pub rng_seed: Option<u64>,
    /// Transition timing profile from the seed's `timings.json` (`default`, `fast`, …).
    pub timings: String,
    /// Largest accepted request body in bytes.
    pub max_body: usize,
    /// Largest accepted number of form fields in one request.
    pub max_fields: usize,
    /// Entries kept in the request journal (oldest dropped first).
    pub journal_size: usize,
    /// Most namespaces (`/ns/{name}/…`) alive at once, `default` included.
    /// A namespace costs about 160 KiB of memory (see docs/performance.md).
    pub max_namespaces: usize,
    /// Delete a namespace (never `default`) unused for this long, e.g.
    /// `30m`, `24h`, `7d` or seconds; `0` keeps namespaces forever.
    pub namespace_idle_ttl: std::time::Duration,
    /// How long a request's line and headers may take to arrive, counted
    /// from a new connection's accept or a request's first byte; `0` waits
    /// forever. A late request that has begun is answered 408.
    pub header_timeout: std::time::Duration,
    /// How long a request's body may take to arrive once its headers are
    /// in; `0` waits forever. A late body is answered 408.
    pub body_timeout: std::time::Duration,
    /// How long a kept-alive connection may wait for its next request, and
    /// an answer for its client to read on; `0` waits forever.
    pub idle_timeout: std::time::Duration,
    /// Most connections served at once; further ones wait in the listen
    /// queue until one closes. `0` takes every connection.
    pub max_connections: usize,
}

/// The default `--header-timeout`.
pub const DEFAULT_HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The default `--body-timeout`.
pub const DEFAULT_BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// The default `--idle-timeout`.
pub const DEFAULT_IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
/// The default `--max-connections`.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;

/// The default `--max-namespaces`.
pub const DEFAULT_MAX_NAMESPACES: usize = 10_000;

impl Default for ServeConfig {
    fn default() -> Self {
        ServeConfig {
            port: 0,
            bind: IpAddr::from([127, 0, 0, 1]),
            db: None,
            db_sync: DbSync::default(),
            seed_data: None,
            lenient: false,
            time_skew: 300,
            admin_token: None,
            admin_open: false,
            utc_offset: 8 * 3600,
            rng_seed: None,
            timings: "default".to_string(),
            max_body: 1 << 20,
            max_fields: 1000,
            journal_size: 10_000,
            max_namespaces: DEFAULT_MAX_NAMESPACES,
            namespace_idle_ttl: std::time::Duration::from_secs(24 * 3600),
            header_timeout: DEFAULT_HEADER_TIMEOUT,
            body_timeout: DEFAULT_BODY_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
        }
    }
}

/// SQLite's `synchronous` setting for a `--db` file (WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum DbSync {
    /// Hand writes to the operating system and go on: safe when the server
    /// dies, not when the machine does.
    #[default]
    Off,
    /// Sync the WAL at checkpoints.
    Normal,
    /// Sync the WAL at every commit.
    Full,
}

impl DbSync {
    /// The `PRAGMA synchronous` value.
    pub fn pragma(self) -> &'static str {
        match self {
            DbSync::Off => "OFF",
            DbSync::Normal => "NORMAL",
            DbSync::Full => "FULL",
        }
    }
}
