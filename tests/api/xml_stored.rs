//! XML answers stay XML whatever was stored (issue 10, A3): a `create`
//! whose `buyRemarks` holds characters XML 1.0 forbids (NUL, `\x01`,
//! `\x1b`, U+FFFE, U+FFFF…) answers with `dataType=xml`, and later
//! `sync_baremetal` answers, that a conforming parser (roxmltree) reads;
//! those characters read back as U+FFFD, everything else as stored.

use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use serde_json::json;

use crate::helpers::TestApp;

fn stored_text() -> impl Strategy<Value = String> {
    let special = prop::sample::select(vec![
        '\0', '\x01', '\x08', '\x1b', '\x7f', '\u{85}', '\u{FFFE}', '\u{FFFF}', '\r', '\n', '\t',
        '<', '&', ']', '>', '中',
    ]);
    prop::collection::vec(prop_oneof![any::<char>(), special], 1..12).prop_map(String::from_iter)
}

/// What an XML 1.0 parser reads back for `text`.
fn as_xml_reads(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '\t'
            | '\n'
            | '\r'
            | '\u{20}'..='\u{D7FF}'
            | '\u{E000}'..='\u{FFFD}'
            | '\u{10000}'.. => c,
            _ => '\u{FFFD}',
        })
        .collect()
}

/// Parses an XML answer; every `buy_remarks` element's text.
fn remarks(xml: &str) -> Result<Vec<String>, String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("{e}: {xml:?}"))?;
    Ok(doc
        .descendants()
        .filter(|n| n.has_tag_name("buy_remarks"))
        .map(|n| n.text().unwrap_or_default().to_string())
        .collect())
}

async fn xml_call(app: &TestApp, action: &str, mut params: serde_json::Value) -> String {
    params["dataType"] = json!("xml");
    let answer = app.call(action, params).await;
    answer.text
}

#[test]
fn xml_answers_parse_whatever_was_stored() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let app = runtime.block_on(TestApp::spawn());
    let mut runner = TestRunner::new(Config::with_cases(48));
    let result = runner.run(&stored_text(), |text| {
        runtime.block_on(async {
            // Back to the seed state, so that stock never runs out.
            app.control("POST", "/_mock/reset", None).await;
            let mut params = TestApp::create_request(1);
            params["buyRemarks"] = json!(text);
            let created = xml_call(&app, "create", params).await;
            let code = roxmltree::Document::parse(&created)
                .map_err(|e| TestCaseError::fail(format!("create: {e}: {created:?}")))?
                .descendants()
                .find(|n| n.has_tag_name("guid"))
                .and_then(|n| n.text().map(str::to_string));
            let Some(guid) = code else {
                return Err(TestCaseError::fail(format!("no guid: {created}")));
            };
            let want = as_xml_reads(&text);
            let single = xml_call(&app, "sync_baremetal", json!({ "guid": guid })).await;
            prop_assert_eq!(
                remarks(&single).map_err(TestCaseError::fail)?,
                vec![want.clone()]
            );
            let list = xml_call(&app, "sync_baremetal", json!({})).await;
            let listed = remarks(&list).map_err(TestCaseError::fail)?;
            prop_assert!(listed.contains(&want), "{:?} not in {:?}", want, listed);
            // An error that quotes the input is XML too.
            let missing = xml_call(&app, "sync_baremetal", json!({ "guid": text })).await;
            roxmltree::Document::parse(&missing)
                .map_err(|e| TestCaseError::fail(format!("error answer: {e}: {missing:?}")))?;
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
