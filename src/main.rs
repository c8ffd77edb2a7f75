//! The `apayun-mock` binary: the library's command line (feature `cli`).

use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    apayun_mock::cli::main().await
}
