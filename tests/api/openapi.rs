//! The OpenAPI document of the control API (`GET /_mock/openapi.json`)
//! against the router's source, the README's control table and
//! docs/contract.md: a route the document lacks, an operation the router
//! lacks, or a path the prose names that the document does not, fails here.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::helpers::TestApp;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn document(app: &TestApp) -> Value {
    let resp = app
        .http
        .get(format!("{}/_mock/openapi.json", app.url()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(resp.status(), 200);
    assert_eq!(
        resp.headers()["content-type"].to_str().ok(),
        Some("application/json")
    );
    resp.json().await.unwrap_or_else(|e| panic!("{e}"))
}

/// `{userid}`, `{id}`, `{snapshot}` … all read `{}`: prose names a
/// parameter as it likes. A trailing `/` is the same page.
fn normal(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    if out.len() > 1 {
        out = out.trim_end_matches('/').to_string();
    }
    out
}

/// Every `(METHOD, path)` of the document.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for m in METHODS {
            if item.get(m).is_some() {
                ops.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

/// `.route("PATH", get(a).post(b))` calls in a source file, with the
/// methods of each: the router as written.
fn routes_in(text: &str, prefix: &str) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    for (i, _) in flat.match_indices(".route(") {
        let rest = &flat[i + ".route(".len()..];
        let (path, methods) = match rest.split_once(',') {
            Some(parts) => parts,
            None => continue,
        };
        let path = path.trim();
        let path = match path {
            "PAGE_PATH" => "/_mock/ui".to_string(),
            p => p.trim_matches('"').to_string(),
        };
        // The call's own parentheses: up to the `)` that closes `.route(`.
        let mut depth = 1;
        let mut end = methods.len();
        for (j, c) in methods.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = j;
                        break;
                    }
                }
                _ => {}
            }
        }
        let methods = &methods[..end];
        for m in METHODS.iter().chain(["any"].iter()) {
            let called = methods
                .match_indices(&format!("{m}("))
                .any(|(k, _)| k == 0 || !methods[..k].ends_with(char::is_alphanumeric));
            if called {
                found.insert((m.to_uppercase(), format!("{prefix}{path}")));
            }
        }
    }
    found
}

fn source(file: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file))
        .unwrap_or_else(|e| panic!("{file}: {e}"))
}

/// The control routes as the source declares them (under `/_mock`; the
/// `/ns/{ns}/_mock` copies are the document's second server).
fn router_operations() -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    let admin = source("src/admin/mod.rs");
    // `engine_routes()` is nested under `/_mock`; `router()` is absolute.
    let (engine_part, root_part) = admin
        .split_once("pub fn router()")
        .unwrap_or_else(|| panic!("src/admin/mod.rs has no router()"));
    ops.extend(routes_in(engine_part, "/_mock"));
    ops.extend(routes_in(root_part, ""));
    for file in [
        "src/admin/views.rs",
        "src/admin/call.rs",
        "src/admin/events.rs",
    ] {
        ops.extend(routes_in(&source(file), "/_mock"));
    }
    // The dashboard's files; `/` only redirects to it.
    ops.extend(
        routes_in(&source("src/ui/mod.rs"), "")
            .into_iter()
            .filter(|(_, p)| p.starts_with("/_mock")),
    );
    ops
}

#[test]
fn the_route_reader_sees_every_form() {
    let text = r#"Router::new()
        .route("/a", get(x))
        .route(
            "/b",
            post(add).get(list).delete(clear),
        )
        .route("/c/{id}", delete(remove_it))
        .route(PAGE_PATH, get(index))"#;
    let got = routes_in(text, "/_mock");
    let want: BTreeSet<(String, String)> = [
        ("GET", "/_mock/a"),
        ("POST", "/_mock/b"),
        ("GET", "/_mock/b"),
        ("DELETE", "/_mock/b"),
        ("DELETE", "/_mock/c/{id}"),
        ("GET", "/_mock/_mock/ui"),
    ]
    .iter()
    .map(|(m, p)| (m.to_string(), p.to_string()))
    .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn the_document_and_the_router_name_the_same_operations() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let documented = operations(&doc);
    let routed = router_operations();
    assert!(
        routed.len() > 30,
        "the route reader found too little: {routed:?}"
    );
    let undocumented: Vec<_> = routed.difference(&documented).collect();
    let unrouted: Vec<_> = documented.difference(&routed).collect();
    assert!(
        undocumented.is_empty() && unrouted.is_empty(),
        "routes the document lacks: {undocumented:?}\noperations no route serves: {unrouted:?}"
    );
    // And the server answers each one (no 404 `unknown_control_call`, no 405).
    for (method, path) in &documented {
        if path.ends_with("/events") {
            continue; // a stream that stays open
        }
        let url = format!("{}{}", app.url(), path.replace(['{', '}'], ""));
        let req = app
            .http
            .request(method.parse().unwrap_or_default(), &url)
            .header("content-type", "application/json")
            .body("{}");
        let resp = req.send().await.unwrap_or_else(|e| panic!("{e}"));
        let status = resp.status().as_u16();
        let reason = resp
            .headers()
            .get("x-mock-error")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        assert!(
            status != 405 && reason != "unknown_control_call",
            "{method} {path}: {status} {reason}"
        );
    }
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_ids_errors_security_and_links() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    let error = &doc["components"]["schemas"]["ControlErrorBody"];
    assert_eq!(error["required"], serde_json::json!(["error", "message"]));
    let mut ids = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for m in METHODS {
            let Some(op) = item.get(m) else { continue };
            let id = op["operationId"].as_str().unwrap_or_default();
            assert!(!id.is_empty(), "{m} {path} has no operationId");
            assert!(ids.insert(id.to_string()), "operationId {id} twice");
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{m} {path}"));
            let open = op["security"] == serde_json::json!([{}]);
            if !open {
                for status in ["401", "403"] {
                    assert!(responses.contains_key(status), "{m} {path} lacks {status}");
                }
            }
            if op.get("requestBody").is_some() {
                for status in ["400", "413"] {
                    assert!(responses.contains_key(status), "{m} {path} lacks {status}");
                }
            }
            for (status, r) in responses {
                if status.starts_with('4') {
                    assert_eq!(
                        r["content"]["application/json"]["schema"]["$ref"],
                        "#/components/schemas/ControlErrorBody",
                        "{m} {path} {status}"
                    );
                }
            }
        }
    }
    // The resources with a life cycle link their answer to what can follow.
    let links = |path: &str, method: &str, status: &str| -> Vec<String> {
        doc["paths"][path][method]["responses"][status]["links"]
            .as_object()
            .map(|l| {
                l.values()
                    .map(|v| v["operationId"].as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        links("/_mock/namespaces", "post", "201"),
        ["delete_namespace"]
    );
    assert_eq!(links("/_mock/faults", "post", "201"), ["remove_fault"]);
    let snap = links("/_mock/snapshots", "post", "201");
    assert!(
        snap.contains(&"restore_snapshot".to_string())
            && snap.contains(&"delete_snapshot".to_string())
    );
    for id in [
        "delete_namespace",
        "remove_fault",
        "restore_snapshot",
        "delete_snapshot",
    ] {
        assert!(
            ids.contains(id),
            "a link points at {id}, which no operation is"
        );
    }
    // Answers name their required fields.
    let clock = &doc["components"]["schemas"]["ClockView"];
    assert_eq!(
        clock["required"],
        serde_json::json!(["now", "offset_seconds", "frozen"])
    );
}

/// `/_mock/…` paths in a piece of prose (query strings cut off).
fn prose_paths(text: &str) -> BTreeSet<String> {
    let mut paths = BTreeSet::new();
    for (i, _) in text.match_indices("/_mock/") {
        // Not the tail of `/ns/{name}/_mock/…`: those are the same calls.
        let rest = &text[i..];
        let end = rest
            .find(|c: char| !(c.is_alphanumeric() || "/_{}.-".contains(c)))
            .unwrap_or(rest.len());
        let path = &rest[..end];
        if path.len() > "/_mock/".len() {
            paths.insert(normal(path));
        }
    }
    paths
}

#[tokio::test]
async fn the_readme_table_and_the_contract_name_the_documented_paths() {
    let app = TestApp::spawn().await;
    let doc = document(&app).await;
    let documented: BTreeSet<String> = doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(p, _)| normal(p))
        .collect();
    let readme = source("README.md");
    let section = readme
        .split("## The control API")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .unwrap_or_else(|| panic!("README.md has no control API section"));
    let table: String = section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .collect::<Vec<_>>()
        .join("\n");
    let in_table = prose_paths(&table);
    let missing: Vec<_> = documented.difference(&in_table).collect();
    let extra: Vec<_> = in_table.difference(&documented).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "README control table lacks {missing:?}; names paths the document does not: {extra:?}"
    );
    let contract = source("docs/contract.md");
    let unknown: Vec<_> = prose_paths(&contract)
        .into_iter()
        .filter(|p| !documented.contains(p))
        .collect();
    assert!(
        unknown.is_empty(),
        "docs/contract.md names {unknown:?}, which the document lacks"
    );
}
