//! Tidy checks over the source tree: every Rust file opens with a `//!`
//! line saying what it owns, only `store/` writes SQL statements, only
//! `clock.rs` reads the system time, nothing below the HTTP edge
//! imports axum, hyper or an edge module, the modules below the edge
//! import one another without a cycle, `protocol/` imports nothing of
//! the crate and no rusqlite, no function in `src/` runs over 60 lines
//! unless it is a marked table, and only `engine/` and `store/` lock the
//! store. (No `unwrap()`/`expect()`/`panic!`
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
    let code = blank_literals(text);
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

/// The longest a function in `src/` may run, from its `fn` line to its
/// closing brace (issue 22, item 6).
const MOST_LINES_IN_A_FUNCTION: usize = 60;

/// The comment that lets a declarative table (one row per line: a list of
/// cases, a schema) run longer. It stands in the comment and attribute
/// lines directly above the function, next to the comment saying what the
/// table lists.
const TABLE_MARKER: &str = "// tidy: table";

/// Every function in one parsed file with its first line (the `fn`
/// keyword's) and its last (the closing brace's): free functions, methods
/// and trait defaults, nested ones too.
#[derive(Default)]
struct FunctionSpans(Vec<(String, usize, usize)>);

impl FunctionSpans {
    fn record(&mut self, sig: &syn::Signature, block: &syn::Block) {
        let first = sig.fn_token.span.start().line;
        let last = block.brace_token.span.close().end().line;
        self.0.push((sig.ident.to_string(), first, last));
    }
}

impl<'ast> syn::visit::Visit<'ast> for FunctionSpans {
    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        self.record(&item.sig, &item.block);
        syn::visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        self.record(&item.sig, &item.block);
        syn::visit::visit_impl_item_fn(self, item);
    }

    fn visit_trait_item_fn(&mut self, item: &'ast syn::TraitItemFn) {
        if let Some(block) = &item.default {
            self.record(&item.sig, block);
        }
        syn::visit::visit_trait_item_fn(self, item);
    }
}

/// Whether the comment and attribute lines directly above line `first`
/// (1-based) carry the table marker.
fn marked_as_table(lines: &[&str], first: usize) -> bool {
    lines[..first.saturating_sub(1)]
        .iter()
        .rev()
        .map(|l| l.trim())
        .take_while(|l| l.starts_with("//") || l.starts_with("#[") || l.starts_with("#!["))
        .any(|l| l == TABLE_MARKER)
}

/// `path:line name (N lines)` for each unmarked function of `text` over
/// the limit.
fn long_functions(path: &str, text: &str) -> Vec<String> {
    let file = syn::parse_file(text).unwrap_or_else(|e| panic!("{path} does not parse: {e}"));
    let mut spans = FunctionSpans::default();
    syn::visit::Visit::visit_file(&mut spans, &file);
    let lines: Vec<&str> = text.lines().collect();
    spans
        .0
        .into_iter()
        .map(|(name, first, last)| (name, first, last - first + 1))
        .filter(|(_, _, length)| *length > MOST_LINES_IN_A_FUNCTION)
        .filter(|(_, first, _)| !marked_as_table(&lines, *first))
        .map(|(name, first, length)| format!("{path}:{first} {name} ({length} lines)"))
        .collect()
}

#[test]
fn no_function_in_src_runs_over_sixty_lines() {
    let offenders: Vec<String> = files("src")
        .into_iter()
        .flat_map(|(path, text)| long_functions(&path, &text))
        .collect();
    assert!(
        offenders.is_empty(),
        "functions over {MOST_LINES_IN_A_FUNCTION} lines (split them, or mark a \
         declarative table with `{TABLE_MARKER}`): {offenders:#?}"
    );
}

#[test]
fn the_function_length_check_counts_from_fn_to_closing_brace() {
    let body = |n: usize| "    let _ = \"}\"; // {\n".repeat(n);
    let long = format!("/// Doc.\n#[inline]\nfn long() {{\n{}}}\n", body(59));
    assert_eq!(long_functions("x.rs", &long), ["x.rs:3 long (61 lines)"]);
    let fits = format!("fn fits() {{\n{}}}\n", body(58));
    assert!(long_functions("x.rs", &fits).is_empty());
    let method = format!("impl X {{\n    fn m(&self) {{\n{}    }}\n}}\n", body(60));
    assert_eq!(long_functions("x.rs", &method), ["x.rs:2 m (62 lines)"]);
    let table = format!("// A table: one row per case.\n{TABLE_MARKER}\n#[test]\n{long}");
    assert!(long_functions("x.rs", &table).is_empty());
}

/// `text` with its comments and its string and char literals blanked out
/// (each character a space, newlines kept, so offsets and lines stay), for
/// checks that must not see a path or a brace inside a string or a comment.
fn blank_literals(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = c.clone();
    let ident = |ch: char| ch.is_alphanumeric() || ch == '_';
    let blank = |out: &mut Vec<char>, from: usize, to: usize| {
        for ch in &mut out[from..to.min(c.len())] {
            if *ch != '\n' {
                *ch = ' ';
            }
        }
    };
    let mut i = 0;
    while i < c.len() {
        let before_is_ident = i > 0 && ident(c[i - 1]);
        let start = i;
        if c[i] == '/' && c.get(i + 1) == Some(&'/') {
            while i < c.len() && c[i] != '\n' {
                i += 1;
            }
        } else if c[i] == '/' && c.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < c.len() {
                if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c[i] == 'r'
            && (!before_is_ident || (i == 1 || !ident(c[i - 2])) && c[i - 1] == 'b')
            && matches!(c.get(i + 1), Some('#') | Some('"'))
        {
            // A raw string: r"…", r#"…"#, br#"…"#.
            let hashes = c[i + 1..].iter().take_while(|ch| **ch == '#').count();
            if c.get(i + 1 + hashes) != Some(&'"') {
                i += 1;
                continue;
            }
            i += hashes + 2;
            while i < c.len() {
                if c[i] == '"'
                    && c[i + 1..]
                        .iter()
                        .take(hashes)
                        .filter(|h| **h == '#')
                        .count()
                        == hashes
                {
                    i += hashes + 1;
                    break;
                }
                i += 1;
            }
        } else if c[i] == '"' {
            i += 1;
            while i < c.len() && c[i] != '"' {
                i += if c[i] == '\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c[i] == '\''
            && (!before_is_ident || c[i - 1] == 'b' && (i == 1 || !ident(c[i - 2])))
        {
            // A char or byte literal ('x', b'{', '\n', '\'', '\u{7f}'), not a
            // lifetime ('a).
            if c.get(i + 1) == Some(&'\\') {
                i += 3;
                while i < c.len() && c[i] != '\'' {
                    i += 1;
                }
                i += 1;
            } else if c.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                continue;
            }
        } else {
            i += 1;
            continue;
        }
        blank(&mut out, start, i);
    }
    out.into_iter().collect()
}

/// The top-level module of `src/` a file belongs to (a node of the import
/// graph): `engine` for `src/engine/call.rs`, `faults` for `src/faults.rs`;
/// `None` for the crate roots `lib.rs` and `main.rs`.
fn node_of(path: &str) -> Option<String> {
    let rest = path.strip_prefix("src/")?;
    match rest.split_once('/') {
        Some((dir, _)) => Some(dir.to_string()),
        None if rest == "lib.rs" || rest == "main.rs" => None,
        None => Some(rest.trim_end_matches(".rs").to_string()),
    }
}

/// A file's module path in the crate: `["engine", "call"]` for
/// `src/engine/call.rs`, `["engine"]` for `src/engine/mod.rs`.
fn module_path(path: &str) -> Vec<String> {
    let rest = path.strip_prefix("src/").unwrap_or(path);
    let mut parts: Vec<String> = rest
        .trim_end_matches(".rs")
        .split('/')
        .map(str::to_string)
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

/// The top-level modules a file names, each with the line: every
/// `crate::x` (and `crate::{x, y}`) and every `super::` chain that climbs
/// to the crate root (through the file's own inline `mod`s), outside
/// comments and literals. Names that are no module of `modules` are left out.
fn crate_imports(path: &str, text: &str, modules: &[String]) -> Vec<(usize, String)> {
    let code = blank_literals(text);
    let chars: Vec<(usize, char)> = code.char_indices().collect();
    let line_of = |i: usize| code[..i].matches('\n').count() + 1;
    let starts_word = |i: usize| {
        !code[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '$' || c == ':')
    };
    // Inline modules open at each offset: `mod tests {` pushes `tests`.
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut found = Vec::new();
    let push = |at: usize, rest: &str, found: &mut Vec<(usize, String)>| {
        for root in crate_roots(rest) {
            if modules.contains(&root) {
                found.push((line_of(at), root));
            }
        }
    };
    for &(i, ch) in &chars {
        match ch {
            '{' => {
                depth += 1;
                // `mod name {` just before this brace.
                let head = code[..i].trim_end();
                let name: String = head
                    .chars()
                    .rev()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                let before = head[..head.len() - name.len()].trim_end();
                if !name.is_empty() && before.ends_with("mod") && starts_word(before.len() - 3) {
                    inline.push((name, depth));
                }
            }
            '}' => {
                if inline.last().is_some_and(|(_, d)| *d == depth) {
                    inline.pop();
                }
                depth = depth.saturating_sub(1);
            }
            _ => {}
        }
        let rest = &code[i..];
        if rest.starts_with("crate::") && starts_word(i) {
            push(i, &rest["crate::".len()..], &mut found);
        } else if rest.starts_with("super::") && starts_word(i) {
            let mut at = module_path(path);
            at.extend(inline.iter().map(|(n, _)| n.clone()));
            let mut tail = rest;
            while let Some(t) = tail.strip_prefix("super::") {
                at.pop();
                tail = t;
            }
            if at.is_empty() {
                push(i, tail, &mut found);
            }
        }
    }
    found
}

/// Which top-level module names which: `from → to → "path:line"` (the
/// first place seen), over `files` of `src/`.
type Graph = std::collections::BTreeMap<String, std::collections::BTreeMap<String, String>>;

fn import_graph(files: &[(String, String)]) -> Graph {
    let mut modules: Vec<String> = files.iter().filter_map(|(p, _)| node_of(p)).collect();
    modules.sort();
    modules.dedup();
    let mut graph = Graph::new();
    for (path, text) in files {
        let Some(from) = node_of(path) else { continue };
        let edges = graph.entry(from.clone()).or_default();
        for (line, to) in crate_imports(path, text, &modules) {
            if to != from {
                edges.entry(to).or_insert_with(|| format!("{path}:{line}"));
            }
        }
    }
    graph
}

/// Every cycle among the nodes `keep` accepts, one per edge that closes
/// one, written `a -> b (src/a.rs:3) -> a (src/b.rs:9)`.
fn cycles(graph: &Graph, keep: impl Fn(&str) -> bool) -> Vec<String> {
    fn visit(
        node: &str,
        graph: &Graph,
        keep: &dyn Fn(&str) -> bool,
        stack: &mut Vec<String>,
        done: &mut std::collections::BTreeSet<String>,
        found: &mut Vec<String>,
    ) {
        stack.push(node.to_string());
        for (to, at) in graph.get(node).into_iter().flatten() {
            if !keep(to) || done.contains(to) {
                continue;
            }
            if let Some(start) = stack.iter().position(|n| n == to) {
                let mut text = stack[start].clone();
                for pair in stack[start..].windows(2) {
                    text += &format!(" -> {} ({})", pair[1], graph[&pair[0]][&pair[1]]);
                }
                found.push(format!("{text} -> {to} ({at})"));
            } else {
                visit(to, graph, keep, stack, done, found);
            }
        }
        stack.pop();
        done.insert(node.to_string());
    }
    let mut done = std::collections::BTreeSet::new();
    let mut found = Vec::new();
    for node in graph.keys().filter(|n| keep(n)) {
        if !done.contains(node) {
            visit(node, graph, &keep, &mut Vec::new(), &mut done, &mut found);
        }
    }
    found
}

/// The modules that must import one another without a cycle: everything
/// below the HTTP edge. (The edge's own modules lean on each other —
/// `server` reads bodies for `api` and `admin`, which it routes — and
/// `test_support` re-exports every layer.)
fn below_the_edge(node: &str) -> bool {
    !EDGE_MODULES.contains(&node) && node != "test_support"
}

#[test]
fn no_import_cycles_between_top_level_modules() {
    let graph = import_graph(&files("src"));
    // The check sees the layers it guards.
    for (from, to) in [
        ("engine", "scheduler"),
        ("engine", "store"),
        ("api", "engine"),
    ] {
        assert!(
            graph.get(from).is_some_and(|e| e.contains_key(to)),
            "the import graph misses {from} -> {to}: {graph:#?}"
        );
    }
    let found = cycles(&graph, below_the_edge);
    assert!(
        found.is_empty(),
        "import cycles below the HTTP edge (each module may import only \
         those below it; docs/ARCHITECTURE.md):\n{}",
        found.join("\n")
    );
}

#[test]
fn the_import_cycle_check_sees_every_form() {
    let file = |p: &str, t: &str| (p.to_string(), t.to_string());
    let modules: Vec<String> = ["engine", "scheduler", "store", "protocol"]
        .map(String::from)
        .to_vec();
    let names = |path: &str, text: &str| -> Vec<String> {
        crate_imports(path, text, &modules)
            .into_iter()
            .map(|(_, m)| m)
            .collect()
    };
    assert_eq!(
        names("src/scheduler.rs", "use crate::engine::Engine;"),
        ["engine"]
    );
    assert_eq!(
        names(
            "src/engine/call.rs",
            "use crate::{store::{self, x}, protocol};"
        ),
        ["store", "protocol"]
    );
    // `super::` climbs through the file and its inline modules.
    assert_eq!(
        names("src/faults.rs", "use super::engine::Engine;"),
        ["engine"]
    );
    assert_eq!(
        names("src/engine/call.rs", "use super::super::store;"),
        ["store"]
    );
    assert!(names("src/engine/call.rs", "use super::Engine;").is_empty());
    assert!(names("src/faults.rs", "mod tests {\n    use super::*;\n}").is_empty());
    assert_eq!(
        names("src/faults.rs", "mod a { fn f() {} }\nuse super::store;"),
        ["store"]
    );
    // Braces in literals do not open or close an inline module.
    assert_eq!(
        names(
            "src/api/decode.rs",
            "mod tests {\n let a = b'{'; let q = '\\''; let u = '\\u{7b}';\n}\nuse super::super::engine;"
        ),
        ["engine"]
    );
    // Not imports: comments, strings, chars, other names.
    assert!(names(
        "src/store/mod.rs",
        "// crate::engine\n/* crate::engine */ let s = \"crate::engine {\";\n\
         let c = '{'; let r = r#\"crate::engine\"#; let x = mycrate::engine::y;"
    )
    .is_empty());
    assert_eq!(
        names(
            "src/store/mod.rs",
            "let c = '{';\nmod tests {\n}\nuse super::engine;"
        ),
        ["engine"]
    );
    // A cycle is found, named with where each edge is, and the edge's own
    // leaning on each other is not one.
    let graph = import_graph(&[
        file("src/scheduler.rs", "use crate::engine::Engine;"),
        file(
            "src/engine/mod.rs",
            "use crate::scheduler::Timer;\nuse crate::store;",
        ),
        file("src/store/mod.rs", "use crate::protocol::Refusal;"),
        file("src/protocol/mod.rs", "pub mod refusal;"),
        file("src/server/mod.rs", "use crate::api;"),
        file("src/api/mod.rs", "use crate::server::body;"),
    ]);
    assert_eq!(
        cycles(&graph, below_the_edge),
        ["engine -> scheduler (src/engine/mod.rs:1) -> engine (src/scheduler.rs:1)"]
    );
    assert_eq!(cycles(&graph, |_| true).len(), 2);
    let acyclic = import_graph(&[
        file("src/engine/mod.rs", "use crate::scheduler::Timer;"),
        file("src/scheduler.rs", "pub trait Due {}"),
    ]);
    assert!(cycles(&acyclic, |_| true).is_empty());
}

#[test]
fn protocol_knows_neither_the_clock_nor_rusqlite() {
    let all = files("src");
    let graph = import_graph(&all);
    let imports: Vec<String> = graph
        .get("protocol")
        .into_iter()
        .flatten()
        .map(|(to, at)| format!("{at}: crate::{to}"))
        .collect();
    assert!(
        imports.is_empty(),
        "src/protocol/ is below everything: it imports nothing of the crate, \
         the clock included: {imports:#?}"
    );
    let rusqlite: Vec<String> = all
        .iter()
        .filter(|(path, _)| path.starts_with("src/protocol/"))
        .flat_map(|(path, text)| {
            let code = blank_literals(text);
            code.lines()
                .enumerate()
                .filter(|(_, l)| l.contains("rusqlite"))
                .map(|(i, _)| format!("{path}:{}", i + 1))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        rusqlite.is_empty(),
        "src/protocol/ names rusqlite (a database error becomes a Refusal in \
         src/store/error.rs): {rusqlite:#?}"
    );
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
    let code = blank_literals(text);
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
