//! The command line (feature `cli`): parse it, set up logging, run the
//! subcommand; and the `call`, `sign` and `health` subcommands — a quick way
//! to talk to an engine by hand, to see what a sign is made of, and to probe
//! a running engine where there is no curl (the container image's health
//! check). `drift` and `seed pull` live in `drift/`.

use std::process::ExitCode;

use clap::Parser;
use serde_json::Value;

use crate::actions::{module_of, Module};
use crate::args::{CallArgs, Cli, Command, HealthArgs, SeedCommand, SignArgs};
use crate::client::{self, Client};
use crate::control::{ControlClient, ControlError};
use crate::protocol::control::Health;
use crate::protocol::sign;
use crate::{drift, scenario, server};

/// The binary's `main`: parses the command line and runs it.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The server logs one line per request; the client commands only warnings.
    let default_level = match cli.command {
        Command::Serve(_) => "info",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .init();
    match cli.command {
        Command::Serve(args) => {
            let config = args.into();
            let seed = match server::load_seed(&config) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("apayun-mock: {e}");
                    return ExitCode::from(2);
                }
            };
            match server::serve(config, seed).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("apayun-mock: {e}");
                    ExitCode::from(2)
                }
            }
        }
        Command::Call(args) => call(args).await,
        Command::Sign(args) => sign(args),
        Command::Scenario(args) => scenario::cli(args).await,
        Command::Health(args) => health(args).await,
        Command::Drift(args) => drift::cli(args).await,
        Command::Seed(args) => match args.command {
            SeedCommand::Pull(pull) => drift::pull::cli(pull).await,
        },
    }
}

/// `apayun-mock call ACTION key=value…`: signs, sends, pretty-prints.
/// Exits 0 when the answer is HTTP 200 with `code` 0; 1 when the engine
/// refused, answered another HTTP status, or closed the connection without
/// an answer; 2 when it cannot be reached or the arguments are wrong.
async fn call(args: CallArgs) -> ExitCode {
    let mut params = match client::params_from_words(&args.params) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("apayun-mock call: {e}");
            return ExitCode::from(2);
        }
    };
    if args.xml {
        if let Value::Object(m) = &mut params {
            m.insert("dataType".into(), Value::String("xml".into()));
        }
    }
    let client = Client::new(&args.client.url, &args.client.userid, &args.client.key);
    let answer = match client.call(&args.action, params).await {
        Ok(a) => a,
        // Nobody listens there (or no such host): the engine was not reached.
        Err(e) if e.is_connect() || e.is_builder() => {
            eprintln!(
                "apayun-mock call: cannot reach {}: {}",
                args.client.url,
                crate::client::error_chain(&e)
            );
            return ExitCode::from(2);
        }
        // The engine took the request and closed the connection without a
        // (complete) answer, as a `drop` fault does.
        Err(e) => {
            eprintln!(
                "apayun-mock call: {} closed the connection without an answer: {}",
                args.client.url,
                crate::client::error_chain(&e)
            );
            return ExitCode::from(1);
        }
    };
    print_answer(&answer, args.xml);
    if answer.status == 200 && (args.xml || answer.code() == 0) && answer.reason.is_none() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Shows an answer: its HTTP status when not 200 and its `X-Mock-Error`
/// on stderr, its body (JSON pretty-printed) on stdout.
fn print_answer(answer: &client::Answer, xml: bool) {
    // Anything but 200 is not the engine's envelope (an `http` fault, a 404,
    // a 413): say so, whatever the body holds.
    if answer.status != 200 {
        let phrase = axum::http::StatusCode::from_u16(answer.status)
            .ok()
            .and_then(|s| s.canonical_reason())
            .unwrap_or("");
        eprintln!("HTTP {} {phrase}", answer.status);
    }
    if let Some(reason) = &answer.reason {
        eprintln!("X-Mock-Error: {reason}");
    }
    let json = answer.json();
    if answer.text.is_empty() {
        eprintln!("(empty body)");
    } else if xml || json.is_null() {
        println!("{}", answer.text);
    } else {
        println!(
            "{}",
            serde_json::to_string_pretty(&json).unwrap_or_else(|_| answer.text.clone())
        );
    }
}

/// `apayun-mock sign ACTION`: prints the sign, the time and the canonical string.
fn sign(args: SignArgs) -> ExitCode {
    let time = args
        .time
        .unwrap_or_else(crate::clock::wall_seconds)
        .to_string();
    // The default module follows the action (`refund` is `common`).
    let module = if args.module == Module::Baremetal.wire() {
        module_of(&args.action).to_string()
    } else {
        args.module
    };
    println!(
        "sign:      {}",
        sign::sign(&module, &args.action, &args.userid, &args.key, &time)
    );
    println!("time:      {time}");
    println!("module:    {module}");
    println!(
        "canonical: {}",
        sign::canonical(&module, &args.action, &args.userid, &args.key, &time)
    );
    println!(
        "masked:    {}",
        sign::masked_canonical(&module, &args.action, &args.userid, &time)
    );
    ExitCode::SUCCESS
}

/// How long `health` waits for an answer: a health check must fail, not hang.
const HEALTH_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(3);

/// `apayun-mock health [--url URL]`: exits 0 when `/_mock/health` answers
/// ok, 1 with a one-line reason on stderr otherwise.
async fn health(args: HealthArgs) -> ExitCode {
    match check_health(&args.base_url()).await {
        Ok(()) => {
            println!("ok");
            ExitCode::SUCCESS
        }
        Err(reason) => {
            eprintln!("apayun-mock health: {reason}");
            ExitCode::from(1)
        }
    }
}

/// Why the engine at `base` is not healthy, in one line.
pub async fn check_health(base: &str) -> Result<(), String> {
    // No proxy: the engine is usually on loopback, and a CI's HTTP_PROXY
    // would send the probe elsewhere.
    let http = reqwest::Client::builder()
        .timeout(HEALTH_TIMEOUT)
        .no_proxy()
        .build()
        .map_err(|e| one_line(&e))?;
    let control = ControlClient::with_http(base, http);
    let url = format!("{}/_mock/health", control.base_url());
    let answer = control
        .raw("GET", "/_mock/health", None)
        .await
        .map_err(|e| match e {
            ControlError::Http(e) if e.is_timeout() => {
                format!("no answer from {url} within {} s", HEALTH_TIMEOUT.as_secs())
            }
            ControlError::Http(e) if e.is_body() || e.is_decode() => {
                format!("{url}: cannot read the answer: {}", one_line(&e))
            }
            e => format!("cannot reach {url}: {}", one_line(&e)),
        })?;
    let ok = serde_json::from_str::<Health>(&answer.text).is_ok_and(|h| h.status == "ok");
    if (200..300).contains(&answer.status) && ok {
        return Ok(());
    }
    let mut shown: String = answer
        .text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
        .take(200)
        .collect();
    if shown.is_empty() {
        shown = "(empty body)".into();
    }
    Err(format!("{url} answered HTTP {}: {shown}", answer.status))
}

/// The root cause of an error on one line: reqwest's wrappers repeat the
/// URL and say "client error (Connect)" before the reason that matters.
fn one_line(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string().replace(['\n', '\r'], " ")
}
