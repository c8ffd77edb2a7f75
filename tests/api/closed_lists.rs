//! The closed lists of docs/contract.md against the running server (issue
//! 18, item 7): the keys of every control `GET` answer, and the journal
//! reasons and timeline kinds a real run produces. (The lists are also
//! checked against the code's own lists by unit tests.)

use serde_json::{json, Value};

use crate::helpers::*;

const CONTRACT: &str = include_str!("../../docs/contract.md");

/// The rows of the first table under `heading` in docs/contract.md, as
/// cells with the backticks of the first one removed.
fn rows(heading: &str) -> Vec<Vec<String>> {
    let mut lines = CONTRACT.lines().skip_while(|l| l.trim() != heading).skip(1);
    lines
        .by_ref()
        .take_while(|l| !l.starts_with('#'))
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            let mut cells: Vec<String> = l
                .trim_matches('|')
                .split('|')
                .map(|c| c.trim().to_string())
                .collect();
            if let Some(first) = cells.first_mut() {
                *first = first.trim_matches('`').to_string();
            }
            cells
        })
        .collect()
}

/// The backticked words of a cell.
fn spans(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

#[tokio::test]
async fn every_control_get_answers_the_wrapper_the_contract_lists() {
    let app = TestApp::spawn().await;
    let table = rows("### Answer wrappers");
    assert!(table.len() >= 12, "{table:?}");
    for row in &table {
        let path = row[0]
            .strip_prefix("GET ")
            .unwrap_or_else(|| panic!("not a GET: {row:?}"))
            .replace("{guid}", EXAMPLE_GUID);
        let (status, body) = app.control("GET", &path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        let documented = spans(&row[1]);
        assert_eq!(keys(&body), documented, "GET {path}: {body}");
    }
}

#[tokio::test]
async fn the_journal_reasons_a_fault_makes_are_the_ones_listed() {
    let app = TestApp::spawn().await;
    let listed: Vec<String> = rows("### Journal reasons")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    assert_eq!(listed, ["http_<status>", "dropped"]);
    app.control_ok(
        "POST",
        "/_mock/faults",
        Some(json!({"action": "getzones", "times": 1, "effect": {"kind": "http", "status": 503}})),
    )
    .await;
    app.control_ok(
        "POST",
        "/_mock/faults",
        Some(json!({"action": "getzones", "times": 1, "effect": {"kind": "drop"}})),
    )
    .await;
    let _ = app.engine.call("getzones", json!({})).await;
    let _ = app.engine.call("getzones", json!({})).await;
    let reasons: Vec<Value> = app
        .control_ok("GET", "/_mock/requests?action=getzones", None)
        .await["requests"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| e["reason"].clone())
        .collect();
    // Newest first.
    assert_eq!(reasons, [json!("dropped"), json!("http_503")]);
}

#[tokio::test]
async fn a_refund_leaves_a_purged_transition_of_a_listed_kind() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    let kinds: Vec<String> = rows("### Timeline kinds")
        .into_iter()
        .map(|r| r[0].clone())
        .collect();
    let guid = app.create_running().await;
    app.ok("stop", json!({"guid": guid})).await;
    let seen =
        |list: Vec<Value>| -> Vec<String> { list.iter().map(|t| text(&t["kind"])).collect() };
    let before = seen(app.pending().await);
    assert!(
        before.iter().all(|k| kinds.contains(k)),
        "{before:?} not in {kinds:?}"
    );
    app.ok(
        "refund",
        json!({"module": "common", "guid": guid, "productType": "baremetal"}),
    )
    .await;
    let after: Vec<String> = app
        .pending()
        .await
        .into_iter()
        .filter(|t| t["guid"] == guid.as_str())
        .map(|t| text(&t["kind"]))
        .collect();
    assert_eq!(after, ["purged"]);
    assert!(kinds.contains(&"purged".to_string()));
}
