//! Command-line and environment configuration (clap). Every flag has an
//! `APAYUN_MOCK_*` environment variable, and doc comments become `--help`.

use std::net::IpAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

/// A faithful mock of the ZKEYS (阿帕云) engine's bare-metal reseller API.
#[derive(Debug, Parser)]
#[command(name = "apayun-mock", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Start the engine and serve `POST /api` and the `/_mock` control API.
    Serve(ServeConfig),
    /// Sign and send one request to a running engine, and pretty-print the answer.
    Call(CallArgs),
    /// Print the sign and the canonical string it hashes, for given parameters.
    Sign(SignArgs),
    /// Run scenario files (YAML): calls with expectations, clock moves, faults.
    Scenario(ScenarioArgs),
}

/// How the engine behaves; shared by `serve`, the library API and scenarios.
#[derive(Debug, Clone, Args)]
pub struct ServeConfig {
    /// Port to listen on; 0 lets the system pick one (the first stdout line tells which).
    #[arg(long, env = "APAYUN_MOCK_PORT", default_value_t = 8080)]
    pub port: u16,
    /// Address to bind.
    #[arg(long, env = "APAYUN_MOCK_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// Keep state in this SQLite file (WAL mode) instead of memory; it survives restarts.
    #[arg(long, env = "APAYUN_MOCK_DB")]
    pub db: Option<PathBuf>,
    /// How a `--db` file is flushed: `off` survives the server being killed
    /// but not the machine losing power (a fixture's trade-off, and 1.5–2×
    /// faster writes); `normal` or `full` for SQLite's stronger guarantees.
    #[arg(long, env = "APAYUN_MOCK_DB_SYNC", value_enum, default_value_t = DbSync::default())]
    pub db_sync: DbSync,
    /// Load seed data from this folder instead of the compiled-in default set.
    #[arg(long, env = "APAYUN_MOCK_SEED_DATA")]
    pub seed_data: Option<PathBuf>,
    /// Accept requests without `version`, `system_type` and `vtime`.
    #[arg(long, env = "APAYUN_MOCK_LENIENT")]
    pub lenient: bool,
    /// Allowed distance in seconds between `time` and the real clock; 0 disables the check.
    #[arg(long, env = "APAYUN_MOCK_TIME_SKEW", default_value_t = 300)]
    pub time_skew: u64,
    /// Require `Authorization: Bearer TOKEN` on `/_mock`, and allow non-loopback clients with it.
    #[arg(long, env = "APAYUN_MOCK_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// The engine's time zone for business times, as `+08:00`.
    #[arg(long, env = "APAYUN_MOCK_UTC_OFFSET", default_value = "+08:00", value_parser = parse_utc_offset)]
    pub utc_offset: i32,
    /// Seed for every generated value (GUIDs, order numbers), so runs repeat.
    #[arg(long, env = "APAYUN_MOCK_RNG_SEED")]
    pub rng_seed: Option<u64>,
    /// Transition timing profile from the seed's `timings.json` (`default`, `fast`, …).
    #[arg(long, env = "APAYUN_MOCK_TIMINGS", default_value = "default")]
    pub timings: String,
    /// Largest accepted request body in bytes.
    #[arg(long, env = "APAYUN_MOCK_MAX_BODY", default_value_t = 1 << 20)]
    pub max_body: usize,
    /// Largest accepted number of form fields in one request.
    #[arg(long, env = "APAYUN_MOCK_MAX_FIELDS", default_value_t = 1000)]
    pub max_fields: usize,
    /// Entries kept in the request journal (oldest dropped first).
    #[arg(long, env = "APAYUN_MOCK_JOURNAL_SIZE", default_value_t = 10_000)]
    pub journal_size: usize,
    /// Most namespaces (`/ns/{name}/…`) alive at once, `default` included.
    /// An idle namespace costs about 200 KiB (see docs/performance.md).
    #[arg(long, env = "APAYUN_MOCK_MAX_NAMESPACES", default_value_t = DEFAULT_MAX_NAMESPACES)]
    pub max_namespaces: usize,
    /// Delete a namespace (never `default`) unused for this long, e.g.
    /// `30m`, `24h`, `7d` or seconds; `0` keeps namespaces forever.
    #[arg(long, env = "APAYUN_MOCK_NAMESPACE_IDLE_TTL", default_value = "24h", value_parser = parse_duration)]
    pub namespace_idle_ttl: std::time::Duration,
}

/// The default `--max-namespaces`.
pub const DEFAULT_MAX_NAMESPACES: usize = 10_000;

/// `--namespace-idle-ttl`: humantime's `30m`, `24h`, `1h 30m`, or plain seconds.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(seconds));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}; expected e.g. 30m, 24h, 7d, or a number of seconds"))
}

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
            utc_offset: 8 * 3600,
            rng_seed: None,
            timings: "default".to_string(),
            max_body: 1 << 20,
            max_fields: 1000,
            journal_size: 10_000,
            max_namespaces: DEFAULT_MAX_NAMESPACES,
            namespace_idle_ttl: std::time::Duration::from_secs(24 * 3600),
        }
    }
}

/// SQLite's `synchronous` setting for a `--db` file (WAL mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
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

/// Where and as whom a client talks to an engine.
#[derive(Debug, Clone, Args)]
pub struct ClientArgs {
    /// Base URL of the engine.
    #[arg(long, env = "APAYUN_MOCK_URL", default_value = "http://127.0.0.1:8080")]
    pub url: String,
    /// Member id (`userid`).
    #[arg(long, env = "APAYUN_MOCK_USERID", default_value = "1")]
    pub userid: String,
    /// API key of that member.
    #[arg(long, env = "APAYUN_MOCK_KEY", default_value = "mock-api-key")]
    pub key: String,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    /// The upstream action, e.g. `getzones`, `create`, `refund`.
    pub action: String,
    /// Request parameters as `key=value`; PHP brackets (`param[0][item]=ip`) nest.
    pub params: Vec<String>,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Ask for the XML rendering (`dataType=xml`) and print it as received.
    #[arg(long)]
    pub xml: bool,
}

#[derive(Debug, Args)]
pub struct SignArgs {
    /// The upstream action.
    pub action: String,
    /// Module; `refund` uses `common`.
    #[arg(long, default_value = "baremetal")]
    pub module: String,
    /// Member id (`userid`) the sign is made for.
    #[arg(long, default_value = "1")]
    pub userid: String,
    /// API key of that member (it goes into the sign, never on the wire).
    #[arg(long, default_value = "mock-api-key")]
    pub key: String,
    /// UNIX time to sign; defaults to now.
    #[arg(long)]
    pub time: Option<i64>,
}

#[derive(Debug, Args)]
pub struct ScenarioArgs {
    #[command(subcommand)]
    pub command: ScenarioCommand,
}

#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Run scenario files in order; exits 1 when a step of any of them fails.
    Run(ScenarioRunArgs),
}

#[derive(Debug, Args)]
pub struct ScenarioRunArgs {
    /// Scenario files (`.yaml`), or folders of them.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Run against the engine at this base URL instead of a fresh in-process engine per file.
    #[arg(long, env = "APAYUN_MOCK_SCENARIO_URL")]
    pub url: Option<String>,
}

/// Parses `+08:00`, `-05:30` or `Z` into seconds east of UTC.
pub fn parse_utc_offset(text: &str) -> Result<i32, String> {
    let text = text.trim();
    if text == "Z" || text == "z" {
        return Ok(0);
    }
    let bad = || format!("expected an offset like +08:00, got {text:?}");
    let (sign, rest) = match text.as_bytes().first() {
        Some(b'+') => (1, &text[1..]),
        Some(b'-') => (-1, &text[1..]),
        _ => return Err(bad()),
    };
    let (h, m) = rest.split_once(':').ok_or_else(bad)?;
    let h: i32 = h.parse().map_err(|_| bad())?;
    let m: i32 = m.parse().map_err(|_| bad())?;
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return Err(bad());
    }
    Ok(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::parse_utc_offset;

    #[test]
    fn utc_offsets() {
        assert_eq!(parse_utc_offset("+08:00"), Ok(28800));
        assert_eq!(parse_utc_offset("-05:30"), Ok(-19800));
        assert_eq!(parse_utc_offset("Z"), Ok(0));
        assert!(parse_utc_offset("08:00").is_err());
        assert!(parse_utc_offset("+25:00").is_err());
    }
}
