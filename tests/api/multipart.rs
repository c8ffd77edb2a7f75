//! What a PHP client sends (issue 10, A1–A2): `multipart/form-data` is a
//! form, as PHP's curl sends it for an array `CURLOPT_POSTFIELDS`, with PHP
//! bracket names and the same limits; a content type from which PHP fills
//! no `$_POST` is refused with a reason that names it. Checked with a
//! hand-built body and with real php-cli + php-curl.

use std::path::Path;
use std::process::Command;

use apayun_mock::test_support::protocol::Reason;
use apayun_mock::MockEngine;
use serde_json::{json, Value};

use crate::helpers::{TestApp, EXAMPLE_GUID};

const BOUNDARY: &str = "----apayun7MA4YWxkTrZu0gW";

/// One part per pair, as PHP's curl writes them; `file` parts carry a
/// `filename`, as `CURLFile` does.
fn multipart(pairs: &[(String, String)], file: Option<(&str, &[u8])>) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in pairs {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n")
                .as_bytes(),
        );
        body.extend_from_slice(value.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    if let Some((name, bytes)) = file {
        body.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"x.bin\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

/// Posts `body` to `path` with `content_type` (none when `None`); returns
/// HTTP status, `X-Mock-Error` and the JSON answer.
async fn post(
    app: &TestApp,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (u16, Option<String>, Value) {
    let mut request = app.http.post(format!("{}{path}", app.url())).body(body);
    if let Some(ct) = content_type {
        request = request.header("content-type", ct);
    }
    let resp = request.send().await.unwrap_or_else(|e| panic!("post: {e}"));
    let status = resp.status().as_u16();
    let reason = crate::helpers::reason_of(&resp);
    let text = resp.text().await.unwrap_or_default();
    let answer = serde_json::from_str(&text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"));
    (status, reason, answer)
}

fn multipart_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// Two days from now in the engine's zone, for degrade dates.
fn future_date() -> String {
    let zone = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| panic!("zone"));
    (chrono::Utc::now().with_timezone(&zone) + chrono::Duration::days(2))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[tokio::test]
async fn a_hand_built_multipart_body_is_a_form_with_php_brackets() {
    let app = TestApp::spawn().await;
    let date = future_date();
    let degrade = json!({
        "guid": EXAMPLE_GUID,
        "param": [
            {"item": "bandwidth", "value": "5", "date": date},
            {"item": "ip", "value": ["114.114.8.16-23"], "date": date},
        ],
    });
    let pairs = app.client().signed_pairs("degrade", &degrade);
    assert!(
        pairs.iter().any(|(k, _)| k == "param[1][value][0]"),
        "{pairs:?}"
    );
    let (status, why, answer) = post(
        &app,
        "/api",
        Some(&multipart_type()),
        multipart(&pairs, Some(("param[9]", b"not a field"))),
    )
    .await;
    assert_eq!(
        (status, why, &answer["code"]),
        (200, None, &json!(0)),
        "{answer}"
    );
    assert_eq!(
        answer["data"]["data"].as_object().map(|m| m.len()),
        Some(2),
        "{answer}"
    );
    // The journal shows the nested param, and nothing of the file part.
    let entry = &app
        .engine
        .requests("action=degrade")
        .await
        .unwrap_or_default()[0];
    assert_eq!(
        entry["params"]["param"][1]["value"],
        json!(["114.114.8.16-23"])
    );
    assert_eq!(entry["params"]["param"].as_array().map(Vec::len), Some(2));

    // The same in a namespace.
    let pairs = app.client().signed_pairs("getzones", &json!({}));
    let (_, why, answer) = post(
        &app,
        "/ns/multipart/api",
        Some(&multipart_type()),
        multipart(&pairs, None),
    )
    .await;
    assert_eq!((why, &answer["code"]), (None, &json!(0)), "{answer}");
}

#[tokio::test]
async fn multipart_has_the_limits_of_a_form() {
    let app = TestApp::with(MockEngine::builder().config(|c| {
        c.max_fields = 12;
        c.max_body = 4096;
    }))
    .await;
    let mut pairs = app.client().signed_pairs("getzones", &json!({}));
    let (_, why, answer) = post(
        &app,
        "/api",
        Some(&multipart_type()),
        multipart(&pairs, None),
    )
    .await;
    assert_eq!((why, &answer["code"]), (None, &json!(0)), "{answer}");
    for i in 0..5 {
        pairs.push((format!("extra[{i}]"), "1".into()));
    }
    let (status, why, _) = post(
        &app,
        "/api",
        Some(&multipart_type()),
        multipart(&pairs, None),
    )
    .await;
    assert_eq!(
        (status, why.as_deref()),
        (200, Some(Reason::TooManyFields.as_str()))
    );
    // A file part is not a field, but its bytes count against the body limit.
    let pairs = app.client().signed_pairs("getzones", &json!({}));
    let big = vec![b'x'; 5000];
    let (status, why, _) = post(
        &app,
        "/api",
        Some(&multipart_type()),
        multipart(&pairs, Some(("f", &big))),
    )
    .await;
    assert_eq!(
        (status, why.as_deref()),
        (413, Some(Reason::BodyTooLarge.as_str()))
    );
}

#[tokio::test]
async fn content_types_php_does_not_read_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let before = app.ok("sync_baremetal", json!({})).await["total_number"].clone();
    let pairs = app
        .client()
        .signed_pairs("create", &TestApp::create_request(1));
    let form = serde_urlencoded::to_string(&pairs).unwrap_or_default();
    for (ct, named) in [
        (Some("text/plain"), "text/plain"),
        (
            Some("application/xml; charset=utf-8"),
            "application/xml; charset=utf-8",
        ),
        (Some("image/png"), "image/png"),
        (None, "Content-Type"),
    ] {
        let (status, why, answer) = post(&app, "/api", ct, form.clone().into_bytes()).await;
        assert_eq!(status, 200, "{ct:?}: {answer}");
        assert_eq!(
            why.as_deref(),
            Some(Reason::UnsupportedContentType.as_str()),
            "{ct:?}"
        );
        assert_eq!((&answer["code"], &answer["data"]), (&json!(1), &json!({})));
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(message.contains(named), "{ct:?}: {message}");
    }
    let after = app.ok("sync_baremetal", json!({})).await["total_number"].clone();
    assert_eq!(before, after, "a refused create made an instance");

    // The encodings PHP reads, and JSON, still work.
    let (_, why, answer) = post(
        &app,
        "/api",
        Some("application/x-www-form-urlencoded; charset=UTF-8"),
        form.into_bytes(),
    )
    .await;
    assert_eq!((why, &answer["code"]), (None, &json!(0)), "{answer}");
    let object: serde_json::Map<String, Value> = app
        .client()
        .signed_pairs("getzones", &json!({}))
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    for ct in [Some("application/json"), None] {
        let body = Value::Object(object.clone()).to_string().into_bytes();
        let (_, why, answer) = post(&app, "/api", ct, body).await;
        assert_eq!(
            (why, &answer["code"]),
            (None, &json!(0)),
            "{ct:?}: {answer}"
        );
    }
}

/// Runs `tests/php/multipart.php` with real php-cli and php-curl. CI
/// installs both (`.ci/run`); without them this test fails and says so.
#[tokio::test]
async fn php_curl_with_an_array_postfields_is_understood() {
    let app = TestApp::spawn().await;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/php/multipart.php");
    let url = app.url();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("php")
            .arg(script)
            .arg(url)
            .arg(EXAMPLE_GUID)
            .output()
    })
    .await
    .unwrap_or_else(|e| panic!("join: {e}"))
    .unwrap_or_else(|e| panic!("cannot run php ({e}): install php-cli and php-curl"));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "php failed ({}): {stderr} (php-cli and php-curl are needed)",
        output.status
    );
    let out: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|e| panic!("php printed no JSON ({e}): {stderr}"));
    for call in ["getzones", "create", "degrade"] {
        let sent = out[call]["content_type"].as_str().unwrap_or_default();
        assert!(
            sent.starts_with("multipart/form-data; boundary="),
            "{call}: {sent}"
        );
        assert_eq!(out[call]["answer"]["code"], 0, "{call}: {}", out[call]);
    }
    assert_eq!(out["create"]["answer"]["data"][0]["order_status"], "0");
    let degrade = &app
        .engine
        .requests("action=degrade")
        .await
        .unwrap_or_default()[0];
    assert_eq!(
        degrade["params"]["param"][1],
        json!({"item":"ip","value":["114.114.8.16-23"],"date":degrade["params"]["param"][1]["date"]})
    );
    let create = &app
        .engine
        .requests("action=create")
        .await
        .unwrap_or_default()[0];
    assert_eq!(create["params"]["buyRemarks"], "from php-curl");
    assert_eq!(create["params"]["loginPassword"], "***");
    // The CURLFile part went where PHP puts it, `$_FILES`: not in the params.
    let getzones = &app
        .engine
        .requests("action=getzones")
        .await
        .unwrap_or_default()[0];
    assert_eq!(getzones["params"].get("upload"), None, "{getzones}");
}

/// PHP's curl cannot send a nested array as multipart: it sends the word
/// `Array` (with a notice). The refusal says to flatten `param` to bracket
/// names, which the next call does (docs/fidelity.md, Content types).
#[tokio::test]
async fn a_nested_array_curl_could_not_send_is_refused_saying_how_to_flatten_it() {
    let app = TestApp::spawn().await;
    let client = app.client();
    let mut pairs = client.signed_pairs("degrade", &json!({"guid": EXAMPLE_GUID}));
    pairs.push(("param".into(), "Array".into()));
    let (status, reason, answer) = post(
        &app,
        "/api",
        Some(&multipart_type()),
        multipart(&pairs, None),
    )
    .await;
    assert_eq!(
        (status, reason.as_deref()),
        (200, Some("bad_param")),
        "{answer}"
    );
    let message = answer["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("Array") && message.contains("param[0][item]"),
        "{message}"
    );
    let mut flat = client.signed_pairs("degrade", &json!({"guid": EXAMPLE_GUID}));
    flat.push(("param[0][item]".into(), "bandwidth".into()));
    flat.push(("param[0][value]".into(), "5".into()));
    flat.push(("param[0][date]".into(), future_date()));
    let (_, reason, answer) = post(
        &app,
        "/api",
        Some(&multipart_type()),
        multipart(&flat, None),
    )
    .await;
    assert_eq!((reason, &answer["code"]), (None, &json!(0)), "{answer}");
}
