//! `apayun-mock drift` (feature `cli`): asks a real engine and the mock the
//! same read-only questions and compares the shapes of their answers; and
//! `seed pull` ([`pull`]), which mirrors an account's catalog into a
//! seed-data folder.
//!
//! - this file: the probes (which read-only action, which pages, which
//!   sample), gathering answers from one side, comparing per probe, and
//!   the subcommand itself;
//! - `shape`: shapes and their differences (pure);
//! - `redact`: what is redacted before anything is printed or written;
//! - `record`: `--save` and `--recorded`;
//! - `report`: the table, the JSON and the JUnit reports.

pub(crate) mod pull;
mod record;
mod redact;
mod report;
mod shape;

use std::process::ExitCode;

use serde_json::{json, Map, Value};

use crate::actions::ActionName;
use crate::args::DriftArgs;
use crate::client::Client;
use crate::mock::MockEngine;
use crate::protocol::sign;

use report::{ActionReport, Report};
use shape::{DriftKind, Finding, Shape};

/// One question drift asks, on each side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Probe {
    Zones,
    Lines,
    Harddisks,
    Products,
    /// Every page of `getsystems`.
    Systems,
    /// `sync_baremetal`, paged.
    InstancePages,
    /// `sync_baremetal` with a `guid`, for each instance of the sample.
    InstanceOne,
    /// `degrade_ip_list` for the same sample.
    DegradeIpList,
}

impl Probe {
    pub const ALL: [Probe; 8] = [
        Probe::Zones,
        Probe::Lines,
        Probe::Harddisks,
        Probe::Products,
        Probe::Systems,
        Probe::InstancePages,
        Probe::InstanceOne,
        Probe::DegradeIpList,
    ];

    pub fn action(self) -> ActionName {
        match self {
            Probe::Zones => ActionName::GetZones,
            Probe::Lines => ActionName::SyncLine,
            Probe::Harddisks => ActionName::SyncHarddisk,
            Probe::Products => ActionName::SyncProduct,
            Probe::Systems => ActionName::GetSystems,
            Probe::InstancePages | Probe::InstanceOne => ActionName::SyncBaremetal,
            Probe::DegradeIpList => ActionName::DegradeIpList,
        }
    }

    /// The probe's name in reports and recordings.
    pub fn id(self) -> &'static str {
        match self {
            Probe::InstancePages => "sync_baremetal",
            Probe::InstanceOne => "sync_baremetal_guid",
            other => other.action().wire(),
        }
    }

    /// How a report heads the probe.
    pub fn title(self) -> &'static str {
        match self {
            Probe::InstancePages => "sync_baremetal (paged)",
            Probe::InstanceOne => "sync_baremetal (one guid)",
            other => other.action().wire(),
        }
    }

    pub fn from_id(id: &str) -> Option<Probe> {
        Probe::ALL.into_iter().find(|p| p.id() == id)
    }
}

/// One answer: what was asked (the action's own parameters, never the
/// common ones with the sign) and what came back, already redacted.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub probe: Probe,
    pub params: Map<String, Value>,
    pub http_status: u16,
    pub body: Body,
}

#[derive(Debug, Clone)]
pub enum Body {
    Json(Value),
    /// Not JSON: XML (redacted) or other text.
    Text(String),
}

impl Exchange {
    fn json(&self) -> Option<&Value> {
        match &self.body {
            Body::Json(v) => Some(v),
            Body::Text(_) => None,
        }
    }

    /// The envelope's `code` as a number, when it has one.
    fn code(&self) -> Option<i64> {
        let code = self.json()?.get("code")?;
        code.as_i64()
            .or_else(|| code.as_str().and_then(|s| s.trim().parse().ok()))
    }

    /// An answer whose data can be compared: JSON with `code` 0 (or a
    /// `code` that is not a number, which the shape comparison reports).
    fn comparable(&self) -> Option<&Value> {
        let v = self.json()?;
        match self.code() {
            Some(0) | None => Some(v),
            Some(_) => None,
        }
    }

    fn data(&self) -> Option<&Value> {
        self.comparable()?.get("data")
    }
}

/// How far one side is read.
#[derive(Debug, Clone, Copy)]
pub struct DriftLimits {
    pub sample: usize,
    pub max_pages: u32,
}

/// Why one side could not be asked: drift then exits 2.
#[derive(Debug)]
pub enum GatherError {
    /// Nothing answers at the URL.
    Unreachable(String),
    /// The first call was refused: the sign, the member, the time.
    Refused {
        message: String,
        reason: Option<String>,
        sign_input: String,
    },
    /// Anything else: a dropped connection, a page that is not the engine.
    Failed(String),
}

/// How long one answer may take: an engine that hangs fails the run
/// (exit 2) rather than holding a CI job.
const ANSWER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// One side: a signed client and the secrets its answers must not show.
pub struct Side {
    pub name: String,
    pub client: Client,
    pub secrets: Vec<String>,
}

impl Side {
    /// Asks one read-only question; the answer is redacted before it is
    /// returned.
    async fn ask(&self, probe: Probe, params: Value) -> Result<Exchange, GatherError> {
        let action = probe.action();
        // The one guard for "never a write": every probe is read-only in
        // the action table, and a unit test says so.
        if !action.read_only() {
            return Err(GatherError::Failed(format!(
                "{} is not a read-only action; drift never sends it",
                action.wire()
            )));
        }
        let pairs = self.client.signed_pairs(action.wire(), &params);
        let answer = tokio::time::timeout(ANSWER_TIMEOUT, self.client.post_form(&pairs))
            .await
            .map_err(|_| {
                GatherError::Failed(format!(
                    "{} gave no answer to {} within {} s",
                    self.name,
                    action.wire(),
                    ANSWER_TIMEOUT.as_secs()
                ))
            })?
            .map_err(|e| {
                let why = redact::scrub(&crate::client::error_chain(&e), &self.secrets);
                if e.is_connect() || e.is_builder() {
                    GatherError::Unreachable(format!("cannot reach {}: {why}", self.name))
                } else {
                    GatherError::Failed(format!(
                        "{} gave no answer to {}: {why}",
                        self.name,
                        action.wire()
                    ))
                }
            })?;
        let text = redact::scrub(&answer.text, &self.secrets);
        let body = match serde_json::from_str::<Value>(&text) {
            Ok(mut v) => {
                redact::redact(&mut v);
                Body::Json(v)
            }
            Err(_) if text.trim_start().starts_with('<') => Body::Text(redact::redact_xml(&text)),
            Err(_) => Body::Text(text.chars().take(2000).collect()),
        };
        let exchange = Exchange {
            probe,
            params: params.as_object().cloned().unwrap_or_default(),
            http_status: answer.status,
            body,
        };
        if probe == Probe::Zones {
            self.check_first(&exchange, &pairs, answer.reason)?;
        }
        Ok(exchange)
    }

    /// The first answer tells whether the side takes our sign at all.
    fn check_first(
        &self,
        first: &Exchange,
        pairs: &[(String, String)],
        reason: Option<String>,
    ) -> Result<(), GatherError> {
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .unwrap_or("")
        };
        if first.http_status != 200 && first.json().is_none() {
            return Err(GatherError::Failed(format!(
                "{} answered HTTP {} to getzones, not the engine's envelope; \
                 is it the base URL, the part before /api?",
                self.name, first.http_status
            )));
        }
        match first.code() {
            Some(0) | None => Ok(()),
            Some(_) => Err(GatherError::Refused {
                message: first
                    .json()
                    .and_then(|v| v.get("message"))
                    .map(|m| m.as_str().map_or_else(|| m.to_string(), str::to_string))
                    .unwrap_or_default(),
                reason,
                sign_input: sign::masked_canonical(
                    field("module"),
                    field("action"),
                    field("userid"),
                    field("time"),
                ),
            }),
        }
    }

    /// Every answer drift compares, in the order asked.
    pub async fn gather(&self, limits: DriftLimits) -> Result<Vec<Exchange>, GatherError> {
        let mut out = Vec::new();
        for probe in [
            Probe::Zones,
            Probe::Lines,
            Probe::Harddisks,
            Probe::Products,
        ] {
            out.push(self.ask(probe, json!({})).await?);
        }
        for page in 1..=limits.max_pages.max(1) {
            let ex = self
                .ask(
                    Probe::Systems,
                    json!({"page_mode": page.to_string(), "page_length": "50"}),
                )
                .await?;
            let pages = ex.data().and_then(|d| d.get("pages")).and_then(as_int);
            out.push(ex);
            if pages.is_none_or(|p| i64::from(page) >= p) {
                break;
            }
        }
        let mut sample = Vec::new();
        for page in 1..=limits.max_pages.max(1) {
            let ex = self
                .ask(
                    Probe::InstancePages,
                    json!({"page": page.to_string(), "number": "50"}),
                )
                .await?;
            let items: Vec<String> = ex
                .data()
                .and_then(|d| d.get("baremetal"))
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter_map(|i| i.get("guid"))
                        .map(|g| g.as_str().map_or_else(|| g.to_string(), str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            let pages = ex.data().and_then(|d| d.get("total_page")).and_then(as_int);
            out.push(ex);
            let empty = items.is_empty();
            sample.extend(items);
            if empty || pages.is_none_or(|p| i64::from(page) >= p) {
                break;
            }
        }
        sample.truncate(limits.sample);
        for guid in &sample {
            out.push(self.ask(Probe::InstanceOne, json!({"guid": guid})).await?);
            out.push(
                self.ask(Probe::DegradeIpList, json!({"guid": guid}))
                    .await?,
            );
        }
        Ok(out)
    }
}

/// An integer sent as a number or a numeric string.
pub(crate) fn as_int(v: &Value) -> Option<i64> {
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
}

/// A URL without the user and password it may carry, for reports.
pub(crate) fn shown_url(url: &str) -> String {
    let url = url.trim_end_matches('/');
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
    match authority.rfind('@') {
        Some(at) => format!("{scheme}://{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}

/// What an engine side must never show: its key, and the user and
/// password a URL may carry (`https://user:pass@host`).
pub(crate) fn secrets_of(url: &str, key: &str) -> Vec<String> {
    let mut out = vec![key.to_string()];
    if let Some((_, rest)) = url.split_once("://") {
        let authority = &rest[..rest.find('/').unwrap_or(rest.len())];
        if let Some(at) = authority.rfind('@') {
            out.push(authority[..at].to_string());
        }
    }
    out
}

/// Compares each probe's answers from the two sides.
pub fn compare(mock: &[Exchange], engine: &[Exchange]) -> Vec<ActionReport> {
    Probe::ALL
        .into_iter()
        .map(|probe| {
            let of = |list: &[Exchange]| -> Vec<Exchange> {
                list.iter().filter(|e| e.probe == probe).cloned().collect()
            };
            compare_probe(probe, &of(mock), &of(engine))
        })
        .collect()
}

fn compare_probe(probe: Probe, mock: &[Exchange], engine: &[Exchange]) -> ActionReport {
    let mut report = ActionReport {
        probe,
        mock_answers: mock.len(),
        engine_answers: engine.len(),
        findings: Vec::new(),
        notes: Vec::new(),
    };
    let sampled = matches!(probe, Probe::InstanceOne | Probe::DegradeIpList);
    if engine.is_empty() {
        report.notes.push(if sampled {
            "not asked: the engine's list has no instance to sample".into()
        } else {
            "the engine's answers have none of this action".into()
        });
        return report;
    }
    if mock.is_empty() {
        report.notes.push(if sampled {
            "not compared: the mock's list has no instance to sample".into()
        } else {
            "the mock's answers have none of this action".into()
        });
        return report;
    }
    report.findings = envelope_findings(mock, engine);
    let mut mock_shape = Shape::default();
    mock.iter()
        .filter_map(Exchange::comparable)
        .for_each(|v| mock_shape.add(v));
    let mut engine_shape = Shape::default();
    engine
        .iter()
        .filter_map(Exchange::comparable)
        .for_each(|v| engine_shape.add(v));
    if !mock_shape.is_empty() && !engine_shape.is_empty() {
        report
            .findings
            .extend(shape::compare(&mock_shape, &engine_shape));
    } else if engine_shape.is_empty() && mock_shape.is_empty() {
        report
            .notes
            .push("neither side answered with code 0: data not compared".into());
    }
    report
}

/// Differences of the envelope: HTTP status, XML or text for JSON, a
/// `code` the mock does not answer. Each is reported once per probe.
fn envelope_findings(mock: &[Exchange], engine: &[Exchange]) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    let mut push = |f: Finding| {
        if !out.iter().any(|o| o.path == f.path && o.engine == f.engine) {
            out.push(f);
        }
    };
    let mock_codes: Vec<i64> = mock.iter().filter_map(Exchange::code).collect();
    let mock_status: Vec<u16> = mock.iter().map(|e| e.http_status).collect();
    for ex in engine {
        if !mock_status.contains(&ex.http_status) {
            push(Finding::new(
                DriftKind::Envelope,
                "(http status)",
                join_codes(&mock_status),
                ex.http_status.to_string(),
            ));
        }
        match &ex.body {
            Body::Text(text) => {
                let what = if text.trim_start().starts_with('<') {
                    "XML"
                } else {
                    "text, not JSON"
                };
                let mut f = Finding::new(DriftKind::Envelope, "", "JSON".into(), what.into());
                // The XML declaration says nothing; what follows does.
                let shown = match text.trim_start().strip_prefix("<?") {
                    Some(rest) => rest.split_once("?>").map_or(rest, |(_, r)| r),
                    None => text.as_str(),
                };
                f.sample = Some(shown.trim_start().chars().take(48).collect());
                push(f);
            }
            Body::Json(v) => {
                if let Some(code) = ex.code() {
                    if !mock_codes.is_empty() && !mock_codes.contains(&code) {
                        let mut f = Finding::new(
                            DriftKind::Envelope,
                            "code",
                            join_codes(&mock_codes),
                            code.to_string(),
                        );
                        f.sample = v.get("message").map(|m| m.to_string());
                        push(f);
                    }
                }
            }
        }
    }
    out
}

fn join_codes<T: ToString + PartialEq>(list: &[T]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for c in list {
        let t = c.to_string();
        if !seen.contains(&t) {
            seen.push(t);
        }
    }
    seen.join(", ")
}

/// `apayun-mock drift`.
pub async fn cli(args: DriftArgs) -> ExitCode {
    let limits = DriftLimits {
        sample: args.sample,
        max_pages: args.max_pages,
    };
    // The engine's side: live, or a recording.
    let (engine_name, engine) = match engine_side(&args, limits).await {
        Ok(e) => e,
        Err(code) => return code,
    };
    if let Some(dir) = &args.save {
        match record::save(dir, &engine) {
            Ok(n) => eprintln!("apayun-mock drift: saved {n} answers in {}", dir.display()),
            Err(e) => {
                eprintln!("apayun-mock drift: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let mock_name;
    let mock = {
        // The in-process engine, if any, lives until the mock has answered.
        let (side, _in_process) = match mock_side(&args).await {
            Ok(m) => m,
            Err(code) => return code,
        };
        mock_name = side.name.clone();
        match side.gather(limits).await {
            Ok(m) => m,
            Err(e) => return fail("drift", &mock_name, e),
        }
    };
    let report = Report {
        engine: engine_name,
        mock: mock_name,
        actions: compare(&mock, &engine),
    };
    print!("{}", report.table());
    let json = serde_json::to_string_pretty(&report.json()).unwrap_or_default() + "\n";
    for (file, text) in [(&args.json, json), (&args.junit, report.junit())] {
        let Some(file) = file else { continue };
        if let Err(e) = std::fs::write(file, text) {
            eprintln!("apayun-mock drift: cannot write {}: {e}", file.display());
            return ExitCode::from(2);
        }
    }
    if report.errors() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// The mock's side: the one at `--against`, or an in-process engine
/// (returned too, since dropping it stops it).
async fn mock_side(args: &DriftArgs) -> Result<(Side, Option<MockEngine>), ExitCode> {
    if let Some(url) = &args.against {
        let side = Side {
            name: format!("the mock at {}", shown_url(url)),
            client: Client::new(url, &args.against_userid, &args.against_key),
            secrets: Vec::new(),
        };
        return Ok((side, None));
    }
    let mut builder = MockEngine::builder();
    if let Some(dir) = &args.seed_data {
        builder = builder.seed_data(dir);
    }
    let engine = builder.start().await.map_err(|e| {
        eprintln!("apayun-mock drift: the in-process mock did not start: {e}");
        ExitCode::from(2)
    })?;
    let seed = args.seed_data.as_ref().map_or_else(
        || "default seed".to_string(),
        |d| format!("seed {}", d.display()),
    );
    let side = Side {
        name: format!("the in-process mock ({seed})"),
        client: engine.client().clone(),
        secrets: Vec::new(),
    };
    Ok((side, Some(engine)))
}

/// The engine's answers, live or recorded, and how the report names them.
async fn engine_side(
    args: &DriftArgs,
    limits: DriftLimits,
) -> Result<(String, Vec<Exchange>), ExitCode> {
    if let Some(dir) = &args.recorded {
        return match record::load(dir) {
            Ok(list) => Ok((format!("the recording {}", dir.display()), list)),
            Err(e) => {
                eprintln!("apayun-mock drift: {e}");
                Err(ExitCode::from(2))
            }
        };
    }
    // clap requires all three without --recorded.
    let (Some(url), Some(userid), Some(key)) = (&args.url, &args.userid, &args.key) else {
        eprintln!("apayun-mock drift: --url, --userid and --key are required without --recorded");
        return Err(ExitCode::from(2));
    };
    let name = format!("the engine at {}", shown_url(url));
    let side = Side {
        name: name.clone(),
        client: Client::new(url, userid, key),
        secrets: secrets_of(url, key),
    };
    match side.gather(limits).await {
        Ok(list) => Ok((name, list)),
        Err(e) => Err(fail("drift", &name, e)),
    }
}

/// Says why a side could not be asked, with the sign diagnostics the
/// mock's own `sign_invalid` gives, and exits 2.
pub(crate) fn fail(command: &str, name: &str, error: GatherError) -> ExitCode {
    match error {
        GatherError::Unreachable(why) | GatherError::Failed(why) => {
            eprintln!("apayun-mock {command}: {why}");
        }
        GatherError::Refused {
            message,
            reason,
            sign_input,
        } => {
            eprintln!("apayun-mock {command}: {name} refused the first call (getzones): {message}");
            if let Some(r) = reason {
                eprintln!("X-Mock-Error: {r}");
            }
            eprintln!("X-Mock-Sign-Input: {sign_input}");
            if message != sign::SIGN_INVALID_MESSAGE {
                eprintln!("{}", sign::SIGN_INVALID_MESSAGE);
            }
            eprintln!(
                "(the key is shown as {}; `apayun-mock sign getzones --userid ID --key KEY --time T` \
                 prints the sign made from it)",
                crate::protocol::mask::KEY_MASK
            );
        }
    }
    ExitCode::from(2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_probe_is_read_only() {
        for probe in Probe::ALL {
            assert!(probe.action().read_only(), "{probe:?}");
            assert_eq!(Probe::from_id(probe.id()), Some(probe));
        }
    }

    #[test]
    fn urls_lose_their_credentials() {
        assert_eq!(
            shown_url("https://u:p@engine.example/"),
            "https://engine.example"
        );
        assert_eq!(shown_url("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(shown_url("http://host/path@x"), "http://host/path@x");
        assert_eq!(
            secrets_of("https://u:p@engine.example/", "k"),
            ["k".to_string(), "u:p".to_string()]
        );
    }
}
