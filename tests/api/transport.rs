//! Transport: the three body encodings mean the same request, XML answers,
//! body limits and malformed bodies, methods and paths, and PHP-style JSON
//! escaping — everything about `/api` that comes before an action.

use apayun_mock::test_support::protocol::sign;
use apayun_mock::test_support::protocol::Reason;
use serde_json::{json, Value};

use crate::common::raw::Raw;
use crate::helpers::{keys, TestApp, EXAMPLE_GUID};

async fn raw(app: &TestApp, content_type: &str, body: impl Into<reqwest::Body>) -> Raw {
    Raw::read(app.post_raw(content_type, body).await).await
}

/// Posts form pairs and keeps the headers.
async fn form(app: &TestApp, pairs: &[(String, String)]) -> Raw {
    let body = serde_urlencoded::to_string(pairs).unwrap_or_else(|e| panic!("encode: {e}"));
    raw(app, "application/x-www-form-urlencoded", body).await
}

/// The signed common fields of userid 1 for `action`.
fn common(app: &TestApp, action: &str) -> Vec<(String, String)> {
    app.client().signed_pairs(action, &json!({}))
}

fn pair(k: &str, v: &str) -> (String, String) {
    (k.to_string(), v.to_string())
}

/// A refusal before any action: HTTP `status`, the JSON envelope, `reason`.
fn check_refused(answer: &Raw, status: u16, reason: &str, words: &[&str]) {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert!(
        answer.content_type.starts_with("application/json"),
        "{}",
        answer.content_type
    );
    let body = answer.json();
    assert_eq!(body["code"], 1, "{body}");
    assert_eq!(body["data"], json!({}), "{body}");
    assert_eq!(answer.reason.as_deref(), Some(reason), "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    for w in words {
        assert!(message.contains(w), "message {message:?} should name {w:?}");
    }
}

// ---------------------------------------------------------------------------
// Three encodings, one request.

/// Two days from now in the engine's zone (UTC+08:00), as the engine writes
/// times; the same for every engine of a test, so their answers compare.
fn future_date() -> String {
    let zone = chrono::FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| panic!("zone"));
    (chrono::Utc::now().with_timezone(&zone) + chrono::Duration::days(2))
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn signed_fields(action: &str) -> Vec<(String, Value)> {
    let time = chrono::Utc::now().timestamp();
    let sign = sign::sign("baremetal", action, "1", "mock-api-key", &time.to_string());
    vec![
        ("module".into(), json!("baremetal")),
        ("action".into(), json!(action)),
        ("userid".into(), json!("1")),
        ("time".into(), json!(time.to_string())),
        ("sign".into(), json!(sign)),
        ("version".into(), json!("9.9.9")),
        ("system_type".into(), json!("zkeys_web")),
        (
            "vtime".into(),
            json!(chrono::Utc::now().format("%Y%m%d").to_string()),
        ),
        ("guid".into(), json!(EXAMPLE_GUID)),
    ]
}

fn flat(fields: &[(String, Value)]) -> Vec<(String, String)> {
    fields
        .iter()
        .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect()
}

#[derive(Clone, Copy, Debug)]
enum Encoding {
    /// `param[0][item]=bandwidth&param[1][value][0]=…`
    FormIndexed,
    /// As `FormIndexed`, but the IP list is appended with `value[]`.
    FormAppend,
    /// `application/json` with the same object.
    Json,
    /// `param=[{"item":…}]` inside a form.
    FormJsonString,
}

async fn send_degrade(app: &TestApp, encoding: Encoding, date: &str) -> Raw {
    let fields = signed_fields("degrade");
    let param = json!([
        {"item": "bandwidth", "value": "1", "date": date},
        {"item": "ip", "value": ["114.114.8.16-23"], "date": date},
        {"item": "defense", "value": "5", "date": date},
    ]);
    match encoding {
        Encoding::FormIndexed | Encoding::FormAppend => {
            let mut pairs = flat(&fields);
            let ip_key = match encoding {
                Encoding::FormAppend => "param[1][value][]",
                _ => "param[1][value][0]",
            };
            pairs.extend([
                pair("param[0][item]", "bandwidth"),
                pair("param[0][value]", "1"),
                pair("param[0][date]", date),
                pair("param[1][item]", "ip"),
                pair(ip_key, "114.114.8.16-23"),
                pair("param[1][date]", date),
                pair("param[2][item]", "defense"),
                pair("param[2][value]", "5"),
                pair("param[2][date]", date),
            ]);
            form(app, &pairs).await
        }
        Encoding::Json => {
            let mut body: serde_json::Map<String, Value> = fields.into_iter().collect();
            body.insert("param".into(), param);
            raw(app, "application/json", Value::Object(body).to_string()).await
        }
        Encoding::FormJsonString => {
            let mut pairs = flat(&fields);
            pairs.push(pair("param", &param.to_string()));
            form(app, &pairs).await
        }
    }
}

/// What a degrade leaves behind, without the times that depend on the wall clock.
async fn degrade_outcome(app: &TestApp) -> Value {
    let inst = app.instance(EXAMPLE_GUID).await;
    let degrades: Vec<Value> = inst["degrades"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|mut d| {
            if let Some(m) = d.as_object_mut() {
                m.remove("create_time");
            }
            d
        })
        .collect();
    json!({"degrades": degrades, "bandwidth": inst["bandwidth"], "ipnum": inst["ipnum"]})
}

async fn journaled_params(app: &TestApp) -> Value {
    let (_, journal) = app
        .control("GET", "/_mock/requests?action=degrade&limit=1", None)
        .await;
    let mut params = journal["requests"][0]["params"].clone();
    if let Some(m) = params.as_object_mut() {
        m.remove("time");
        m.remove("sign");
        m.remove("vtime");
    }
    params
}

#[tokio::test]
async fn three_encodings_mean_the_same_request() {
    let date = future_date();
    let mut results = Vec::new();
    for encoding in [
        Encoding::FormIndexed,
        Encoding::FormAppend,
        Encoding::Json,
        Encoding::FormJsonString,
    ] {
        let app = TestApp::spawn().await;
        let answer = send_degrade(&app, encoding, &date).await;
        assert_eq!(answer.status, 200, "{encoding:?}: {}", answer.text);
        let body = answer.json();
        assert_eq!(body["code"], 0, "{encoding:?}: {body}");
        assert_eq!(
            keys(&body["data"]["data"]),
            ["bandwidth", "ip", "defense"],
            "{encoding:?}: {body}"
        );
        let outcome = degrade_outcome(&app).await;
        assert_eq!(
            outcome["degrades"].as_array().map(Vec::len),
            Some(3),
            "{encoding:?}: {outcome}"
        );
        assert_eq!(outcome["degrades"][0]["apply_time"], date, "{outcome}");
        results.push((
            encoding,
            body["data"].clone(),
            outcome,
            journaled_params(&app).await,
        ));
    }
    let (_, data0, outcome0, params0) = &results[0];
    assert_eq!(
        params0["param"][1]["value"],
        json!(["114.114.8.16-23"]),
        "{params0}"
    );
    for (encoding, data, outcome, params) in &results[1..] {
        // Same seed, same request: the same GUIDs and the same records.
        assert_eq!(data, data0, "{encoding:?}: answer differs");
        assert_eq!(outcome, outcome0, "{encoding:?}: effect differs");
        let mut params = params.clone();
        if let Encoding::FormJsonString = encoding {
            // The field stays a string in the journal; it decodes to the same list.
            let text = params["param"].as_str().unwrap_or_default().to_string();
            params["param"] = serde_json::from_str(&text).unwrap_or_default();
        }
        assert_eq!(&params, params0, "{encoding:?}: decoded params differ");
    }
}

#[tokio::test]
async fn a_json_body_may_carry_numbers() {
    let app = TestApp::spawn().await;
    let time = chrono::Utc::now().timestamp();
    let body = json!({
        "module": "baremetal",
        "action": "getsystems",
        "userid": 1,
        "time": time,
        "sign": sign::sign("baremetal", "getsystems", "1", "mock-api-key", &time.to_string()),
        "version": "9.9.9",
        "system_type": "zkeys_web",
        "vtime": 20210713,
        "page_mode": 2,
        "page_length": 3,
    });
    let answer = raw(&app, "application/json", body.to_string()).await;
    let data = &answer.json()["data"];
    assert_eq!(answer.json()["code"], 0, "{}", answer.text);
    assert_eq!(data["systems"].as_array().map(Vec::len), Some(3), "{data}");
    let page2 = app
        .ok("getsystems", json!({"page_mode": "2", "page_length": "3"}))
        .await;
    assert_eq!(data, &page2);
}

#[tokio::test]
async fn a_json_body_without_content_type_is_json() {
    let app = TestApp::spawn().await;
    let mut body: serde_json::Map<String, Value> = signed_fields("getzones").into_iter().collect();
    body.remove("guid");
    for content_type in ["text/plain", "application/x-www-form-urlencoded"] {
        let answer = raw(&app, content_type, Value::Object(body.clone()).to_string()).await;
        assert_eq!(answer.json()["code"], 0, "{content_type}: {}", answer.text);
    }
}

// ---------------------------------------------------------------------------
// XML.

#[tokio::test]
async fn data_type_xml_answers_in_xml() {
    let app = TestApp::spawn().await;
    for data_type in ["xml", "XML", "Xml"] {
        let mut pairs = common(&app, "getzones");
        pairs.push(pair("dataType", data_type));
        let answer = form(&app, &pairs).await;
        assert_eq!(answer.status, 200);
        assert!(
            answer.content_type.starts_with("application/xml"),
            "{data_type}: {}",
            answer.content_type
        );
        let text = &answer.text;
        for part in [
            "<?xml",
            "<response><code>0</code><message>success</message><data><zones>",
            "<zones><item><guid>1625139389577044</guid><name>Hyper-V 2</name>",
            "<name>中国内蒙</name>",
            "</zones></data></response>",
        ] {
            assert!(
                text.contains(part),
                "{data_type}: {part:?} missing in {text}"
            );
        }
        assert_eq!(text.matches("<item>").count(), 3, "three zones: {text}");
    }
    // Arrays at the top of data, and objects with numeric keys.
    let mut pairs = common(&app, "getsystems");
    pairs.push(pair("dataType", "xml"));
    let text = form(&app, &pairs).await.text;
    assert!(text.contains("<data><pages>1</pages><items>"), "{text}");
    assert!(
        text.contains(r#"<boot_menu_contents><item key="19"></item><item key="250"></item></boot_menu_contents>"#),
        "{text}"
    );
    assert!(
        text.contains("<lines><item>1665907446560259</item>"),
        "{text}"
    );
    let mut pairs = common(&app, "sync_line");
    pairs.push(pair("dataType", "xml"));
    let text = form(&app, &pairs).await.text;
    assert!(
        text.contains("<data><item><id>1</id><line_type>local</line_type>"),
        "{text}"
    );
    assert!(
        text.contains("<code></code>"),
        "null is an empty element: {text}"
    );
}

#[tokio::test]
async fn json_is_the_default_and_other_data_types() {
    let app = TestApp::spawn().await;
    for data_type in [None, Some("json"), Some("JSON"), Some("yaml"), Some("")] {
        let mut pairs = common(&app, "getzones");
        if let Some(d) = data_type {
            pairs.push(pair("dataType", d));
        }
        let answer = form(&app, &pairs).await;
        assert!(
            answer.content_type.starts_with("application/json"),
            "{data_type:?}: {}",
            answer.content_type
        );
        assert_eq!(answer.json()["code"], 0, "{data_type:?}");
    }
}

#[tokio::test]
async fn errors_come_in_xml_too() {
    let app = TestApp::spawn().await;
    let check = |pairs: Vec<(String, String)>, reason: &'static str, words: &'static [&str]| {
        let app = &app;
        async move {
            let answer = form(app, &pairs).await;
            assert_eq!(answer.status, 200, "{}", answer.text);
            assert!(
                answer.content_type.starts_with("application/xml"),
                "{}",
                answer.content_type
            );
            assert_eq!(answer.reason.as_deref(), Some(reason), "{}", answer.text);
            assert!(
                answer.text.contains("<response><code>1</code><message>"),
                "{}",
                answer.text
            );
            assert!(
                answer.text.contains("<data></data></response>"),
                "{}",
                answer.text
            );
            for w in words {
                assert!(answer.text.contains(w), "{w:?} missing in {}", answer.text);
            }
        }
    };
    // A business error.
    let mut p = app
        .client()
        .signed_pairs("stop", &json!({"guid": "999", "dataType": "xml"}));
    check(p.clone(), Reason::NotFound.as_str(), &["999"]).await;
    // An authentication error.
    p = common(&app, "getzones");
    p.retain(|(k, _)| k != "sign");
    p.push(pair("sign", &"0".repeat(32)));
    p.push(pair("dataType", "XML"));
    check(p, Reason::SignInvalid.as_str(), &["签名错误"]).await;
    // A missing field.
    let mut p = common(&app, "getzones");
    p.retain(|(k, _)| k != "userid");
    p.push(pair("dataType", "xml"));
    check(p, Reason::MissingParam.as_str(), &["userid"]).await;
}

// ---------------------------------------------------------------------------
// Limits and malformed bodies.

const FORM: &str = "application/x-www-form-urlencoded";

#[tokio::test]
async fn a_body_over_one_mebibyte_is_413() {
    let app = TestApp::spawn().await;
    let answer = raw(&app, FORM, vec![b'a'; (1 << 20) + 1]).await;
    check_refused(&answer, 413, Reason::BodyTooLarge.as_str(), &["1048576"]);
    let answer = raw(&app, "application/json", vec![b' '; 3 << 20]).await;
    check_refused(&answer, 413, Reason::BodyTooLarge.as_str(), &["1048576"]);
    // Exactly the limit passes the size check (and then fails on the value's length).
    let mut body = b"a=".to_vec();
    body.resize(1 << 20, b'x');
    let answer = raw(&app, FORM, body).await;
    check_refused(&answer, 200, Reason::ValueTooLong.as_str(), &[]);
}

#[tokio::test]
async fn more_than_a_thousand_fields_are_refused() {
    let app = TestApp::spawn().await;
    let signed = common(&app, "getzones");
    let padded = |total: usize| {
        let mut p = signed.clone();
        let extra = total - p.len();
        p.extend((0..extra).map(|i| pair(&format!("f{i}"), "1")));
        p
    };
    let answer = form(&app, &padded(1000)).await;
    assert_eq!(
        answer.json()["code"],
        0,
        "1000 fields are fine: {}",
        answer.text
    );
    let answer = form(&app, &padded(1001)).await;
    check_refused(&answer, 200, Reason::TooManyFields.as_str(), &["1000"]);
    // Nested fields count one by one.
    let mut p = signed.clone();
    p.extend((0..1000).map(|i| pair(&format!("list[{i}]"), "1")));
    check_refused(
        &form(&app, &p).await,
        200,
        Reason::TooManyFields.as_str(),
        &["1000"],
    );
    // A JSON body's scalars count the same way.
    let list: Vec<Value> = (0..1001).map(|i| json!(i)).collect();
    let answer = raw(&app, "application/json", json!({"list": list}).to_string()).await;
    check_refused(&answer, 200, Reason::TooManyFields.as_str(), &["1000"]);
}

#[tokio::test]
async fn nesting_too_deep_is_refused() {
    let app = TestApp::spawn().await;
    let nested = |levels: usize| {
        let mut p = common(&app, "getzones");
        p.push(pair(&format!("a{}", "[x]".repeat(levels)), "1"));
        p
    };
    // 32 levels in all are allowed; 33 are not.
    let answer = form(&app, &nested(31)).await;
    assert_eq!(answer.json()["code"], 0, "{}", answer.text);
    check_refused(
        &form(&app, &nested(32)).await,
        200,
        Reason::NestingTooDeep.as_str(),
        &["32"],
    );
    check_refused(
        &form(&app, &nested(100)).await,
        200,
        Reason::NestingTooDeep.as_str(),
        &["32"],
    );
    let deep = format!("{{\"a\":{}1{}}}", "[".repeat(40), "]".repeat(40));
    let answer = raw(&app, "application/json", deep).await;
    check_refused(&answer, 200, Reason::NestingTooDeep.as_str(), &["32"]);
}

#[tokio::test]
async fn malformed_bodies_are_bad_body() {
    let app = TestApp::spawn().await;
    let cases: &[(&str, &[u8], &str)] = &[
        (FORM, b"module=\xff\xfe&action=getzones", "UTF-8"),
        (FORM, b"module=%ff%fe&action=getzones", "UTF-8"),
        (FORM, b"%c3%28=1", "UTF-8"),
        ("application/json", b"{\"module\":\"\xff\"}", "JSON"),
        ("application/json", b"{\"module\":\"baremetal\",", "JSON"),
        ("application/json", b"{module: baremetal}", "JSON"),
        ("application/json", b"[1,2,3]", "JSON"),
        ("application/json", b"\"text\"", "JSON"),
        ("application/json", b"", "JSON"),
        (FORM, b"{\"module\":", "JSON"),
    ];
    for (content_type, body, word) in cases {
        let answer = raw(&app, content_type, body.to_vec()).await;
        assert_eq!(
            answer.reason.as_deref(),
            Some(Reason::BadBody.as_str()),
            "{content_type} {:?}: {}",
            String::from_utf8_lossy(body),
            answer.text
        );
        check_refused(&answer, 200, Reason::BadBody.as_str(), &[word]);
    }
}

// ---------------------------------------------------------------------------
// Methods, paths and escaping.

#[tokio::test]
async fn other_methods_on_api_are_405() {
    let app = TestApp::spawn().await;
    for method in ["GET", "PUT", "DELETE", "PATCH"] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_default();
        let resp = app
            .http
            .request(m, format!("{}/api", app.url()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        let answer = Raw::read(resp).await;
        check_refused(
            &answer,
            405,
            Reason::MethodNotAllowed.as_str(),
            &[method, "POST"],
        );
    }
}

#[tokio::test]
async fn unknown_paths_are_404_json() {
    let app = TestApp::spawn().await;
    for (method, path) in [
        ("GET", "/nope"),
        ("POST", "/api/extra"),
        ("POST", "/apis"),
        // `GET /` opens the dashboard (tests/api/dashboard_api.rs).
        ("POST", "/"),
    ] {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap_or_default();
        let resp = app
            .http
            .request(m, format!("{}{path}", app.url()))
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let answer = Raw::read(resp).await;
        check_refused(
            &answer,
            404,
            Reason::NotFound.as_str(),
            &[path, "POST /api"],
        );
        // PHP escapes slashes.
        assert!(
            answer.text.contains(&path.replace('/', "\\/")),
            "{}",
            answer.text
        );
    }
}

#[tokio::test]
async fn json_is_escaped_like_php() {
    let app = TestApp::spawn().await;
    let answer = form(&app, &common(&app, "getzones")).await;
    assert!(
        answer.content_type.starts_with("application/json"),
        "{}",
        answer.content_type
    );
    assert!(
        answer.text.contains(r#""name":"\u4e2d\u56fd\u5185\u8499""#),
        "{}",
        answer.text
    );
    assert!(answer.text.is_ascii(), "no raw UTF-8 in {}", answer.text);
    assert_eq!(answer.json()["data"]["zones"][1]["name"], "中国内蒙");
    // Error messages too.
    let mut p = common(&app, "getzones");
    p.retain(|(k, _)| k != "userid");
    let answer = form(&app, &p).await;
    assert!(answer.text.is_ascii(), "{}", answer.text);
    assert!(
        answer.text.contains(r"\u7f3a\u5c11"),
        "缺少 escaped: {}",
        answer.text
    );
    // Product names with non-ASCII and slashes survive the round trip.
    let answer = form(&app, &common(&app, "sync_line")).await;
    assert!(
        answer.text.contains(r"\u88f84.0ZH-\u88f84.0ZH"),
        "{}",
        answer.text
    );
}
