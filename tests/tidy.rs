//! Tidy checks over the source tree: every Rust file opens with a `//!`
//! line saying what it owns, only `store/` writes SQL statements, only
//! `clock.rs` reads the system time, nothing below the HTTP edge
//! imports axum, hyper or an edge module, and only `engine/` and `store/`
//! lock the store. (No `unwrap()`/`expect()`/`panic!`
//! in non-test code is clippy's job: see `[lints.clippy]` in Cargo.toml.)

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

/// The HTTP edge: these files may speak HTTP and import one another.
/// Everything else in `src/` is below it. `lib.rs` is the crate root: it
/// declares every module and re-exports `MockEngine`.
const EDGE: &[&str] = &[
    "src/api/",
    "src/admin/",
    "src/ui/",
    "src/scenario/",
    "src/drift/",
    "src/server/",
    "src/client.rs",
    "src/control.rs",
    "src/cli.rs",
    "src/args.rs",
    "src/mock.rs",
    "src/main.rs",
    "src/lib.rs",
    // Re-exports, for this repository's tests, of every layer.
    "src/test_support.rs",
];

/// The modules of the edge, as a lower file would name them.
const EDGE_MODULES: &[&str] = &[
    "api", "admin", "server", "client", "control", "cli", "args", "mock", "scenario", "ui", "drift",
];

/// `text` without comments: a `//` at the start of a line or after a
/// space ends the code on that line (a URL's `://` does not).
fn code_of(text: &str) -> String {
    text.lines()
        .map(|line| {
            let cut = line
                .match_indices("//")
                .find(|(i, _)| *i == 0 || line[..*i].ends_with(char::is_whitespace))
                .map_or(line.len(), |(i, _)| i);
            &line[..cut]
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The first segment of every path that `crate::` starts at `rest`:
/// `api` for `crate::api::x`, `api` and `engine` for `crate::{api::x, engine}`.
fn crate_roots(rest: &str) -> Vec<String> {
    let Some(group) = rest.strip_prefix('{') else {
        let name: String = rest
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        return vec![name];
    };
    let (mut depth, mut roots, mut item) = (0usize, Vec::new(), String::new());
    for c in group.chars() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => break,
            '}' => depth -= 1,
            ',' if depth == 0 => roots.push(std::mem::take(&mut item)),
            _ if depth == 0 => item.push(c),
            _ => {}
        }
    }
    roots.push(item);
    roots
        .iter()
        .filter_map(|i| i.split("::").next())
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .collect()
}

/// What an edge-free file must not name: `axum`/`hyper` paths and the
/// edge modules, each with the line it is on.
fn edge_imports(text: &str) -> Vec<(usize, String)> {
    let code = code_of(text);
    let line_of = |i: usize| code[..i].matches('\n').count() + 1;
    let mut found = Vec::new();
    for krate in ["axum", "hyper"] {
        for (i, _) in code.match_indices(krate) {
            let before = code[..i].chars().next_back();
            let after = &code[i + krate.len()..];
            let starts_path = !before.is_some_and(|c| c.is_alphanumeric() || c == '_');
            if starts_path && (after.starts_with("::") || after.starts_with(';')) {
                found.push((line_of(i), krate.to_string()));
            }
        }
    }
    for (i, _) in code.match_indices("crate::") {
        for root in crate_roots(&code[i + "crate::".len()..]) {
            if EDGE_MODULES.contains(&root.as_str()) {
                found.push((line_of(i), format!("crate::{root}")));
            }
        }
    }
    found
}

#[test]
fn nothing_below_the_http_edge_imports_it() {
    let offenders: Vec<String> = files("src")
        .into_iter()
        .filter(|(path, _)| !EDGE.iter().any(|edge| path.starts_with(edge)))
        .flat_map(|(path, text)| {
            edge_imports(&text)
                .into_iter()
                .map(move |(line, what)| format!("{path}:{line}: {what}"))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "below the HTTP edge, files import axum, hyper or an edge module: {offenders:#?}"
    );
}

#[test]
fn the_edge_import_check_sees_every_form() {
    let check = |text: &str, want: &[&str]| {
        let got: Vec<String> = edge_imports(text).into_iter().map(|(_, w)| w).collect();
        assert_eq!(got, want, "{text}");
    };
    check("use axum::body::Bytes;", &["axum"]);
    check("let r = hyper::Request::new(());", &["hyper"]);
    check("use crate::api::error::ApiError;", &["crate::api"]);
    check(
        "use crate::{\n    engine,\n    server::Registry,\n};",
        &["crate::server"],
    );
    check("use crate::{a::{b, c}, ui};", &["crate::ui"]);
    check("x(crate::cli::run());", &["crate::cli"]);
    // Not imports: comments, other names, lower modules, URLs.
    check("// crate::api::handle does that", &[]);
    check("let s = \"http://x\"; // axum::serve", &[]);
    check("use crate::engine::lane;\nuse crate::apis;", &[]);
    check("let maxum = 1; let axum_like = 2;", &[]);
}

/// Where the store may be locked: the engine owns its store and hides the
/// lock (`engine/handle.rs` runs control operations on a blocking thread,
/// `engine/lane.rs` the `/api` calls), and `store/` is the store.
const STORE_OWNERS: &[&str] = &["src/engine/", "src/store/"];

/// What a file outside [`STORE_OWNERS`] must not do, each with its line:
/// call the engine's store accessor (`.store()`, whose `lock()` and
/// `write()` reach the connection), name the `Store` type, or name
/// `rusqlite::Connection` (the rules layer works on the `Transaction` the
/// engine lends it, which only the store's owner can open). Comments, and
/// unit tests (from `#[cfg(test)]` on), are not looked at.
fn store_locks(text: &str) -> Vec<(usize, String)> {
    let text = text.split("#[cfg(test)]").next().unwrap_or_default();
    let code = code_of(text);
    let line_of = |i: usize| code[..i].matches('\n').count() + 1;
    let ident = |c: char| c.is_alphanumeric() || c == '_';
    let words = |word: &'static str| {
        code.match_indices(word)
            .filter(|(i, _)| {
                !code[..*i].ends_with(ident) && !code[i + word.len()..].starts_with(ident)
            })
            .map(|(i, _)| i)
            .collect::<Vec<_>>()
    };
    let mut found: Vec<(usize, String)> = Vec::new();
    for (i, _) in code.match_indices(".store()") {
        found.push((line_of(i), ".store()".to_string()));
    }
    for i in words("Store") {
        found.push((line_of(i), "Store".to_string()));
    }
    // `Connection` is rusqlite's when the file names rusqlite (hyper has one too).
    if code.contains("rusqlite") {
        for i in words("Connection") {
            found.push((line_of(i), "rusqlite::Connection".to_string()));
        }
    }
    found.sort();
    found
}

#[test]
fn only_engine_locks_the_store() {
    let offenders: Vec<String> = files("src")
        .into_iter()
        .filter(|(path, _)| !STORE_OWNERS.iter().any(|o| path.starts_with(o)))
        .flat_map(|(path, text)| {
            store_locks(&text)
                .into_iter()
                .map(move |(line, what)| format!("{path}:{line}: {what}"))
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "outside src/engine/ and src/store/, files reach the store's lock \
         (call the engine's methods, or its EngineHandle, instead): {offenders:#?}"
    );
}

#[test]
fn the_store_lock_check_sees_every_form() {
    let check = |text: &str, want: &[&str]| {
        let got: Vec<String> = store_locks(text).into_iter().map(|(_, w)| w).collect();
        assert_eq!(got, want, "{text}");
    };
    check("let conn = engine.store().lock();", &[".store()"]);
    check("engine.store().write(|tx| f(tx))", &[".store()"]);
    check("use crate::store::{self, Store};", &["Store"]);
    check("fn f(s: &crate::store::Store) {}", &["Store"]);
    check("use rusqlite::Connection;", &["rusqlite::Connection"]);
    check(
        "fn f(c: &rusqlite::Connection) {}",
        &["rusqlite::Connection"],
    );
    check(
        "use rusqlite::{params, Connection};",
        &["rusqlite::Connection"],
    );
    // Not the store's lock: a borrowed transaction, other names, comments, tests.
    check("use rusqlite::Transaction;\nfn f(tx: &Transaction) {}", &[]);
    check(
        "let s = self.journal().lock(); // engine.store().lock()",
        &[],
    );
    check(
        "let n = x.stored(); let k = Stores; ErrorKind::ConnectionReset;",
        &[],
    );
    check("use hyper::server::conn::http1::Connection;", &[]);
    check(
        "#[cfg(test)]\nmod tests { fn t() { engine.store().lock(); } }",
        &[],
    );
}
