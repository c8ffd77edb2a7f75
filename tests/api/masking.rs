//! Secrets in the journal (issue 10, A5): a password or key is masked by
//! its name at any depth of the params — inside a JSON body's nested
//! elements, in PHP bracket fields, and in a JSON string inside a form
//! field — as `GET /_mock/requests` shows them.

use serde_json::{json, Value};

use crate::helpers::{TestApp, EXAMPLE_GUID};

const SECRETS: &[&str] = &["c2VjcmV0LTE=", "hunter2-deep", "k3y-in-json-text", "pl41n"];

async fn journal_text(app: &TestApp) -> String {
    let (status, body) = app.control("GET", "/_mock/requests", None).await;
    assert_eq!(status, 200, "{body}");
    let resp = app
        .http
        .get(format!("{}/_mock/requests?format=jsonl", app.url()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("jsonl: {e}"));
    format!("{body}\n{}", resp.text().await.unwrap_or_default())
}

#[tokio::test]
async fn secrets_are_masked_at_any_depth() {
    let app = TestApp::spawn().await;
    // A JSON body: `loginPassword` inside a degrade `param` element.
    let mut body: serde_json::Map<String, Value> = app
        .client()
        .signed_pairs("degrade", &json!({"guid": EXAMPLE_GUID}))
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    body.insert(
        "param".into(),
        json!([{"item": "bandwidth", "value": "5", "loginPassword": SECRETS[0]}]),
    );
    let resp = app
        .post_raw("application/json", Value::Object(body).to_string())
        .await;
    assert_eq!(resp.status().as_u16(), 200);
    // PHP bracket fields, nested two deep, and a JSON string in a form field.
    app.call(
        "setpass",
        json!({
            "guid": EXAMPLE_GUID,
            "password": SECRETS[3],
            "extra": {"inner": [{"root_password": SECRETS[1]}]},
            "param": format!(r#"[{{"item":"ip","api_key":"{}"}}]"#, SECRETS[2]),
        }),
    )
    .await;
    let text = journal_text(&app).await;
    for secret in SECRETS {
        assert!(
            !text.contains(secret),
            "{secret} shows in the journal: {text}"
        );
    }
    let entries = app.engine.requests("").await.unwrap_or_default();
    let setpass = &entries[0]["params"];
    assert_eq!(setpass["password"], "***", "{setpass}");
    assert_eq!(
        setpass["extra"]["inner"][0]["root_password"], "***",
        "{setpass}"
    );
    assert_eq!(
        setpass["param"], r#"[{"item":"ip","api_key":"***"}]"#,
        "{setpass}"
    );
    let degrade = &entries[1]["params"];
    assert_eq!(
        degrade["param"],
        json!([{"item": "bandwidth", "value": "5", "loginPassword": "***"}])
    );
    // What is not a secret stays readable, the sign included.
    assert_eq!(degrade["guid"], EXAMPLE_GUID);
    assert_eq!(degrade["sign"].as_str().map(str::len), Some(32));
}
