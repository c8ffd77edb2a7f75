//! The command line (clap, behind the `cli` feature): every flag has an
//! `APAYUN_MOCK_*` environment variable, and doc comments become `--help`.
//! `serve`'s flags parse into [`ServeArgs`], which becomes a [`ServeConfig`].

use std::ffi::OsStr;
use std::net::IpAddr;
use std::path::PathBuf;

use clap::builder::TypedValueParser;
use clap::{Args, Parser, Subcommand};

use crate::config::{DbSync, ServeConfig, DEFAULT_MAX_NAMESPACES};

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
    Serve(ServeArgs),
    /// Sign and send one request to a running engine, and pretty-print the answer.
    Call(CallArgs),
    /// Print the sign and the canonical string it hashes, for given parameters.
    Sign(SignArgs),
    /// Run scenario files (YAML): calls with expectations, clock moves, faults.
    Scenario(ScenarioArgs),
    /// Exit 0 when a running engine's `/_mock/health` answers ok, 1 with a
    /// one-line reason otherwise (the container image's health check).
    Health(HealthArgs),
    /// Compare the shapes of a real engine's answers with the mock's, using
    /// read-only actions only (it never sends a write).
    #[command(long_about = DRIFT_ABOUT)]
    Drift(DriftArgs),
    /// Seed data from a real engine: `seed pull` mirrors an account's catalog.
    Seed(SeedArgs),
}

/// `serve`'s flags: the clap face of [`ServeConfig`].
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
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
    #[arg(long, env = "APAYUN_MOCK_LENIENT", value_parser = Switch)]
    pub lenient: bool,
    /// Allowed distance in seconds between `time` and the real clock; 0 disables the check.
    #[arg(long, env = "APAYUN_MOCK_TIME_SKEW", default_value_t = 300)]
    pub time_skew: u64,
    /// Require `Authorization: Bearer TOKEN` on `/_mock`, and allow non-loopback clients with it.
    #[arg(long, env = "APAYUN_MOCK_ADMIN_TOKEN")]
    pub admin_token: Option<String>,
    /// Serve the control API to every client, not only loopback ones (behind
    /// a container's published port no client is loopback); an admin token
    /// still locks it. The container image sets this.
    #[arg(long, env = "APAYUN_MOCK_ADMIN_OPEN", value_parser = Switch)]
    pub admin_open: bool,
    /// The engine's time zone for business times, as `+08:00` or `-05:00`.
    // A leading `-` is a value here, not a flag: `--utc-offset -05:00`.
    #[arg(long, env = "APAYUN_MOCK_UTC_OFFSET", default_value = "+08:00",
          value_parser = parse_utc_offset, allow_hyphen_values = true)]
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
    /// A namespace costs about 160 KiB of memory (see docs/performance.md).
    #[arg(long, env = "APAYUN_MOCK_MAX_NAMESPACES", default_value_t = DEFAULT_MAX_NAMESPACES)]
    pub max_namespaces: usize,
    /// Delete a namespace (never `default`) unused for this long, e.g.
    /// `30m`, `24h`, `7d` or seconds; `0` keeps namespaces forever.
    #[arg(long, env = "APAYUN_MOCK_NAMESPACE_IDLE_TTL", default_value = "24h", value_parser = parse_duration)]
    pub namespace_idle_ttl: std::time::Duration,
}

impl From<ServeArgs> for ServeConfig {
    fn from(a: ServeArgs) -> ServeConfig {
        ServeConfig {
            port: a.port,
            bind: a.bind,
            db: a.db,
            db_sync: a.db_sync,
            seed_data: a.seed_data,
            lenient: a.lenient,
            time_skew: a.time_skew,
            admin_token: a.admin_token,
            admin_open: a.admin_open,
            utc_offset: a.utc_offset,
            rng_seed: a.rng_seed,
            timings: a.timings,
            max_body: a.max_body,
            max_fields: a.max_fields,
            journal_size: a.journal_size,
            max_namespaces: a.max_namespaces,
            namespace_idle_ttl: a.namespace_idle_ttl,
        }
    }
}

/// `--namespace-idle-ttl`: humantime's `30m`, `24h`, `1h 30m`, or plain seconds.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(seconds));
    }
    humantime::parse_duration(text)
        .map_err(|e| format!("{e}; expected e.g. 30m, 24h, 7d, or a number of seconds"))
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

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Base URL of the engine; without it, `http://127.0.0.1:PORT` with the
    /// port `serve` reads (`APAYUN_MOCK_PORT`, else 8080).
    #[arg(long)]
    pub url: Option<String>,
    /// The port for the default URL.
    #[arg(long, env = "APAYUN_MOCK_PORT", default_value_t = 8080, hide = true)]
    pub port: u16,
}

impl HealthArgs {
    /// The base URL to probe.
    pub fn base_url(&self) -> String {
        match &self.url {
            Some(url) => url.trim_end_matches('/').to_string(),
            None => format!("http://127.0.0.1:{}", self.port),
        }
    }
}

/// `drift --help`'s description.
const DRIFT_ABOUT: &str = "\
Compare the shapes of a real engine's answers with the mock's: the key set
of every object, the JSON type at each path (a numeric string against a
number, null against \"\" are differences of their own), the elements of
arrays merged, and values of the document's closed sets the mock does not
know. A missing field, a changed type or an envelope difference is an
error; an extra field or an unknown value is a warning.

It sends read-only actions only, never a write: getzones, sync_line,
sync_harddisk, sync_product, every page of getsystems, sync_baremetal
(paged, then single for a sample of GUIDs) and degrade_ip_list for the same
sample. Keys, signs, passwords, ipmi_* credentials, ssh_public_key, the end
customer's auth_* fields and client_user_id are redacted before anything is
printed or written.

Exit code: 0 without errors (warnings allowed), 1 with errors, 2 when the
engine cannot be reached or refuses the sign, or a recording cannot be read.";

/// `apayun-mock drift`: where the engine is (or its recording), what to
/// compare it with, and where the reports go.
#[derive(Debug, Args)]
pub struct DriftArgs {
    /// The engine's base URL, the part before `/api` (as for `call --url`).
    #[arg(
        long,
        env = "APAYUN_MOCK_DRIFT_URL",
        required_unless_present = "recorded",
        conflicts_with = "recorded"
    )]
    pub url: Option<String>,
    /// Member id (`userid`) on the engine.
    #[arg(
        long,
        env = "APAYUN_MOCK_DRIFT_USERID",
        required_unless_present = "recorded"
    )]
    pub userid: Option<String>,
    /// API key of that member (it goes into the sign, never on the wire or in a report).
    #[arg(
        long,
        env = "APAYUN_MOCK_DRIFT_KEY",
        required_unless_present = "recorded",
        hide_env_values = true
    )]
    pub key: Option<String>,
    /// Compare with the mock at this base URL instead of an in-process mock.
    #[arg(long, value_name = "URL")]
    pub against: Option<String>,
    /// Member id on the `--against` mock.
    #[arg(long, default_value = "1")]
    pub against_userid: String,
    /// API key on the `--against` mock.
    #[arg(long, default_value = "mock-api-key")]
    pub against_key: String,
    /// Seed data of the in-process mock (default: the compiled-in set).
    #[arg(long, value_name = "DIR", conflicts_with = "against")]
    pub seed_data: Option<PathBuf>,
    /// Compare with the engine answers saved in DIR by `--save`: no
    /// credentials, no network.
    #[arg(long, value_name = "DIR")]
    pub recorded: Option<PathBuf>,
    /// Save the engine's answers, redacted, in DIR (for `--recorded`).
    #[arg(long, value_name = "DIR", conflicts_with = "recorded")]
    pub save: Option<PathBuf>,
    /// Write the report as JSON to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write the report as JUnit XML to FILE (one test case per action).
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// How many instances get the single `sync_baremetal` and `degrade_ip_list`.
    #[arg(long, default_value_t = 3)]
    pub sample: usize,
    /// Most pages read of `getsystems` and of `sync_baremetal`.
    #[arg(long, default_value_t = 20)]
    pub max_pages: u32,
}

#[derive(Debug, Args)]
pub struct SeedArgs {
    #[command(subcommand)]
    pub command: SeedCommand,
}

#[derive(Debug, Subcommand)]
pub enum SeedCommand {
    /// Write a seed-data folder from an engine account's catalog (read-only
    /// actions only); `serve --seed-data DIR` serves it.
    Pull(SeedPullArgs),
}

#[derive(Debug, Args)]
pub struct SeedPullArgs {
    /// The engine's base URL, the part before `/api`.
    #[arg(long, env = "APAYUN_MOCK_DRIFT_URL")]
    pub url: String,
    /// Member id (`userid`) on the engine; the seed's member gets it too.
    #[arg(long, env = "APAYUN_MOCK_DRIFT_USERID")]
    pub userid: String,
    /// API key of that member (never written: the seed's member gets `mock-api-key`).
    #[arg(long, env = "APAYUN_MOCK_DRIFT_KEY", hide_env_values = true)]
    pub key: String,
    /// The folder to write (created if needed; its seed files are replaced).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Also import the account's instances (redacted; passwords never).
    #[arg(long)]
    pub with_instances: bool,
    /// Stock units made for each product sold from stock (`stock_type` 1).
    #[arg(long, default_value_t = 10)]
    pub stock: u32,
    /// Most pages read of `getsystems` and of `sync_baremetal`.
    #[arg(long, default_value_t = 20)]
    pub max_pages: u32,
}

/// The spellings a boolean flag's environment variable accepts, as CI files
/// write them; any case.
pub const SWITCH_VALUES: &str = "1/0, true/false, yes/no or on/off";

/// Reads a boolean: `1/0`, `true/false`, `yes/no`, `on/off`, in any case;
/// empty is off, as a CI file's `VAR: ""` means "not set".
pub fn parse_switch(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" | "" => Some(false),
        _ => None,
    }
}

/// The value parser of every boolean flag: a flag given on the command line
/// is `true`; its environment variable may say `1`, `yes`, `off`, … and a
/// bad spelling is refused with a message naming the variable.
#[derive(Debug, Clone, Copy)]
pub struct Switch;

impl TypedValueParser for Switch {
    type Value = bool;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &OsStr,
    ) -> Result<bool, clap::Error> {
        let text = value.to_string_lossy();
        parse_switch(&text).ok_or_else(|| {
            let name = arg.map_or_else(
                || "a flag".to_string(),
                |a| {
                    let flag = format!("--{}", a.get_long().unwrap_or_default());
                    match a.get_env() {
                        Some(env) => format!("{flag} ({})", env.to_string_lossy()),
                        None => flag,
                    }
                },
            );
            clap::Error::raw(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid value {text:?} for {name}: expected {SWITCH_VALUES} (any case)\n"),
            )
            .with_cmd(cmd)
        })
    }
}

/// Parses `+08:00`, `-05:30` or `Z` into seconds east of UTC.
// Not chrono's `FixedOffset::from_str`: it takes `+0800` and `+23:00` and
// refuses `Z` and `+8:00`, the other way round from what this flag has
// always accepted.
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
    use super::{parse_switch, parse_utc_offset};

    #[test]
    fn switches() {
        for yes in [
            "1", "true", "TRUE", "True", "yes", "YES", "on", "On", " on ",
        ] {
            assert_eq!(parse_switch(yes), Some(true), "{yes:?}");
        }
        for no in ["0", "false", "FALSE", "no", "No", "off", "OFF", "", " "] {
            assert_eq!(parse_switch(no), Some(false), "{no:?}");
        }
        for bad in ["2", "y", "enabled", "truthy", "-1"] {
            assert_eq!(parse_switch(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn utc_offsets() {
        assert_eq!(parse_utc_offset("+08:00"), Ok(28800));
        assert_eq!(parse_utc_offset("-05:30"), Ok(-19800));
        assert_eq!(parse_utc_offset("Z"), Ok(0));
        assert!(parse_utc_offset("08:00").is_err());
        assert!(parse_utc_offset("+25:00").is_err());
        // Where chrono's offset parser would differ (see parse_utc_offset).
        assert_eq!(parse_utc_offset("+8:00"), Ok(28800));
        assert_eq!(parse_utc_offset("z"), Ok(0));
        assert!(parse_utc_offset("+0800").is_err());
        assert!(parse_utc_offset("+23:00").is_err());
    }
}
