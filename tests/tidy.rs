//! Tidy checks over the source tree: every Rust file opens with a `//!`
//! line saying what it owns, only `store/` writes SQL statements, and only
//! `clock.rs` reads the system time. (No `unwrap()`/`expect()`/`panic!` in
//! non-test code is clippy's job: see `[lints.clippy]` in Cargo.toml.)

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "target") {
                continue;
            }
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn files(sub: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    rust_files(&root.join(sub), &mut paths);
    paths
        .into_iter()
        .map(|p| {
            let text = std::fs::read_to_string(&p).unwrap_or_default();
            (
                p.strip_prefix(root).unwrap_or(&p).display().to_string(),
                text,
            )
        })
        .collect()
}

#[test]
fn every_rust_file_starts_with_a_module_doc() {
    let mut missing = Vec::new();
    for sub in ["src", "tests", "bench/src", "fuzz/fuzz_targets"] {
        for (path, text) in files(sub) {
            if !text.trim_start().starts_with("//!") {
                missing.push(path);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "files without a leading //! line: {missing:?}"
    );
}

#[test]
fn only_store_writes_sql() {
    let keywords = ["SELECT ", "INSERT ", "UPDATE ", "DELETE FROM"];
    let offenders: Vec<String> = files("src")
        .into_iter()
        .filter(|(path, _)| !path.starts_with("src/store"))
        .flat_map(|(path, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, l)| l.contains('"') && keywords.iter().any(|k| l.contains(k)))
                .map(|(i, l)| format!("{path}:{}: {}", i + 1, l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "SQL outside src/store: {offenders:#?}"
    );
}

#[test]
fn only_the_clock_reads_system_time() {
    let offenders: Vec<String> = files("src")
        .into_iter()
        .filter(|(path, _)| path != "src/clock.rs")
        .flat_map(|(path, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, l)| {
                    l.contains("SystemTime::now")
                        || l.contains("Utc::now")
                        || l.contains("Local::now")
                })
                .map(|(i, l)| format!("{path}:{}: {}", i + 1, l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "system time read outside src/clock.rs: {offenders:#?}"
    );
}

#[test]
fn domain_does_no_io() {
    let forbidden = [
        "rusqlite",
        "reqwest",
        "tokio",
        "axum",
        "std::fs",
        "std::net::Tcp",
    ];
    let offenders: Vec<String> = files("src/domain")
        .into_iter()
        .flat_map(|(path, text)| {
            forbidden
                .iter()
                .filter(|f| text.contains(**f))
                .map(|f| format!("{path} uses {f}"))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(offenders.is_empty(), "I/O in src/domain: {offenders:?}");
}
