//! Scenario files: YAML scripts of signed calls with expectations and
//! control actions (clock, faults, snapshots), run by `apayun-mock scenario
//! run FILE…` or from Rust, so a tester can describe a whole lifecycle
//! without writing code.
//!
//! - [`model`]: the file format, parsed and checked before anything runs.
//! - [`matcher`]: JSON paths and the subset match of expectations.
//! - [`vars`]: captured values and `${…}` interpolation.
//! - [`runner`]: runs steps against an engine and prints the report.

pub mod matcher;
pub mod model;
pub mod runner;
pub mod vars;

#[cfg(feature = "cli")]
use std::process::ExitCode;

pub use runner::{run_file, run_paths, Options, ScenarioReport, Summary};

#[cfg(feature = "cli")]
use crate::args::{ScenarioArgs, ScenarioCommand};

/// `apayun-mock scenario run FILE… [--url URL]`: prints the report;
/// exits 0 when every scenario passed, 1 otherwise.
#[cfg(feature = "cli")]
pub async fn cli(args: ScenarioArgs) -> ExitCode {
    match args.command {
        ScenarioCommand::Run(run) => {
            let opts = Options { url: run.url };
            let mut stdout = std::io::stdout();
            let summary = run_paths(&run.files, &opts, &mut stdout).await;
            if summary.failed() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            }
        }
    }
}
