//! Tidy checks over the documentation: the repository never cites files it
//! does not hold (the upstream API document and the spec notes that lived
//! beside it; docs/contract.md replaces both), and every relative link in
//! README.md and docs/*.md reaches a file, and a heading, that exists.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

/// Citations of files outside the repository. Built with `concat!` so that
/// this file does not cite them itself.
const OUTSIDE: [&str; 3] = [
    concat!("BEHAVIOUR", ".md"),
    concat!("BEHAVIOUR ", "§"),
    concat!("baremetal-api", ".txt"),
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every file under `dir`, skipping build output and git's own files.
fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// `(file, line number, needle)` for every citation of an outside file in
/// the text files under the repository root.
fn outside_citations() -> Vec<(String, usize, &'static str)> {
    let mut files = Vec::new();
    walk(root(), &mut files);
    let mut found = Vec::new();
    for path in files {
        // Binary files (images, fuzz inputs) cannot hold a citation.
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for (n, line) in text.lines().enumerate() {
            for needle in OUTSIDE {
                if line.contains(needle) {
                    found.push((relative(&path), n + 1, needle));
                }
            }
        }
    }
    found
}

#[test]
fn nothing_cites_files_outside_the_repository() {
    let found = outside_citations();
    assert!(
        found.is_empty(),
        "cite docs/contract.md or docs/fidelity.md instead: {found:?}"
    );
}

#[test]
fn the_citation_check_sees_every_part_of_the_repository() {
    // A walk that silently skipped a folder would pass vacuously.
    let mut files = Vec::new();
    walk(root(), &mut files);
    let names: Vec<String> = files.iter().map(|p| relative(p)).collect();
    for expected in [
        "README.md",
        "docs/fidelity.md",
        "docs/contract.md",
        "src/lib.rs",
        "tests/api/main.rs",
        "scenarios/01-catalog-browse.yaml",
        "bench/Cargo.toml",
        "fuzz/Cargo.toml",
    ] {
        assert!(names.iter().any(|n| n == expected), "{expected} not walked");
    }
    assert!(
        !names.iter().any(|n| n.starts_with("target/")),
        "target/ must be skipped"
    );
}

/// The markdown files whose links are checked.
fn markdown_files() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md")];
    if let Ok(entries) = std::fs::read_dir(root().join("docs")) {
        let mut docs: Vec<PathBuf> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "md"))
            .collect();
        docs.sort();
        files.extend(docs);
    }
    files
}

/// The lines of a markdown text outside fenced code blocks, with inline
/// code spans blanked out: code shows `a[0](b)` as text, not as a link.
fn prose_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut fence: Option<&str> = None;
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let marker = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m));
        match (fence, marker) {
            (None, Some(m)) => fence = Some(m),
            (Some(open), Some(m)) if open == m => fence = None,
            (None, None) => out.push((n + 1, without_code_spans(line))),
            _ => {}
        }
    }
    out
}

fn without_code_spans(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_code = false;
    for c in line.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(' ');
        } else {
            out.push(if in_code { ' ' } else { c });
        }
    }
    out
}

/// The targets of the inline links and images on a line: `[text](target)`
/// and `[text](target "title")`.
fn link_targets(line: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find("](") {
        let after = &rest[at + 2..];
        let mut depth = 0usize;
        let mut end = None;
        for (i, c) in after.char_indices() {
            match c {
                '(' => depth += 1,
                ')' if depth == 0 => {
                    end = Some(i);
                    break;
                }
                ')' => depth -= 1,
                _ => {}
            }
        }
        let Some(end) = end else {
            break;
        };
        let inner = after[..end].trim();
        let target = inner.split_whitespace().next().unwrap_or_default();
        targets.push(
            target
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_string(),
        );
        rest = &after[end..];
    }
    targets
}

/// GitHub's anchor for a heading: lowercase, punctuation dropped (letters,
/// digits, `-` and `_` kept), spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// The anchors a markdown file's headings make; a repeated heading gets
/// `-1`, `-2`, … as on GitHub.
fn anchors(text: &str) -> HashSet<String> {
    let mut seen = HashSet::new();
    for (_, line) in prose_lines(text) {
        let trimmed = line.trim_start();
        let level = trimmed.chars().take_while(|c| *c == '#').count();
        if level == 0 || level > 6 || !trimmed[level..].starts_with(' ') {
            continue;
        }
        let base = slug(trimmed[level..].trim_end_matches('#'));
        let mut anchor = base.clone();
        let mut n = 0;
        while seen.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        seen.insert(anchor);
    }
    seen
}

/// Joins a relative link to the folder of the file it is in, resolving
/// `..`; `None` when it climbs out of the repository.
fn resolve(from: &Path, link: &str) -> Option<PathBuf> {
    let mut path = from.parent()?.strip_prefix(root()).ok()?.to_path_buf();
    for part in Path::new(link).components() {
        match part {
            Component::Normal(p) => path.push(p),
            Component::ParentDir => {
                if !path.pop() {
                    return None;
                }
            }
            Component::CurDir => {}
            _ => return None,
        }
    }
    Some(root().join(path))
}

/// Every broken relative link in README.md and docs/*.md, as
/// `file:line: target (why)`.
fn broken_links() -> Vec<String> {
    let mut broken = Vec::new();
    for file in markdown_files() {
        let Ok(text) = std::fs::read_to_string(&file) else {
            broken.push(format!("{}: unreadable", relative(&file)));
            continue;
        };
        for (n, line) in prose_lines(&text) {
            for target in link_targets(&line) {
                if target.is_empty() || target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (path_part, anchor) = match target.split_once('#') {
                    Some((p, a)) => (p, Some(a)),
                    None => (target.as_str(), None),
                };
                let where_ = format!("{}:{n}: {target}", relative(&file));
                let resolved = if path_part.is_empty() {
                    Some(file.clone())
                } else {
                    resolve(&file, path_part)
                };
                let Some(resolved) = resolved else {
                    broken.push(format!("{where_} (outside the repository)"));
                    continue;
                };
                if !resolved.exists() {
                    broken.push(format!("{where_} (no such file)"));
                    continue;
                }
                let Some(anchor) = anchor else {
                    continue;
                };
                if resolved.extension().is_some_and(|e| e == "md") {
                    let headings = anchors(&std::fs::read_to_string(&resolved).unwrap_or_default());
                    if !headings.contains(anchor) {
                        broken.push(format!("{where_} (no such heading)"));
                    }
                }
            }
        }
    }
    broken
}

#[test]
fn every_relative_markdown_link_reaches_a_file_and_heading() {
    let broken = broken_links();
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

#[test]
fn the_link_reader_finds_links_and_anchors() {
    assert_eq!(
        link_targets("see [a](docs/a.md#x) and ![b](img.png \"t\"), not [c]"),
        ["docs/a.md#x", "img.png"]
    );
    assert_eq!(
        prose_lines("a [x](y)\n```\n[z](w)\n```\n`[q](r)` [s](t)"),
        [
            (1, "a [x](y)".to_string()),
            (5, "         [s](t)".to_string())
        ]
    );
    assert_eq!(
        slug("\"Every example works verbatim\""),
        "every-example-works-verbatim"
    );
    assert_eq!(slug("The clock's range"), "the-clocks-range");
    assert_eq!(slug("`sync_baremetal`"), "sync_baremetal");
    let found = anchors("# A\n## B\n## B\n```\n# C\n```");
    for a in ["a", "b", "b-1"] {
        assert!(found.contains(a), "{a}: {found:?}");
    }
    assert!(!found.contains("c"));
    assert_eq!(
        resolve(&root().join("docs/contract.md"), "../README.md"),
        Some(root().join("README.md"))
    );
    assert_eq!(resolve(&root().join("README.md"), "../outside.md"), None);
}
