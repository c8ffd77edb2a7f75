//! The `apayun-mock` binary: parse the command line, call the library.

use std::process::ExitCode;

use apayun_mock::config::{Cli, Command};
use apayun_mock::{cli, scenario, server};
use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
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
        Command::Serve(config) => {
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
        Command::Call(args) => cli::call(args).await,
        Command::Sign(args) => cli::sign(args),
        Command::Scenario(args) => scenario::cli(args).await,
        Command::Health(args) => cli::health(args).await,
    }
}
