//! Authentication over HTTP: every refusal of `/api` before an action runs —
//! missing common fields, strict-mode fields, the member, the sign, the time
//! window and the module/action names — each with code 1, its own
//! `X-Mock-Error` reason and a message that names the problem.

use apayun_mock::test_support::protocol::sign;
use apayun_mock::test_support::protocol::Reason;
use apayun_mock::MockEngine;
use serde_json::{json, Value};

use crate::common::raw::Raw;
use crate::helpers::{wall_seconds, TestApp, EXAMPLE_GUID};

const KEY_1: &str = "mock-api-key";
const KEY_2: &str = "mock-api-key-2";

fn today() -> String {
    chrono::Utc::now().format("%Y%m%d").to_string()
}

/// A complete, correctly signed request as raw form pairs.
fn signed(module: &str, action: &str, userid: &str, key: &str, time: i64) -> Vec<(String, String)> {
    let time = time.to_string();
    let sign = sign::sign(module, action, userid, key, &time);
    [
        ("module", module),
        ("action", action),
        ("userid", userid),
        ("time", time.as_str()),
        ("sign", sign.as_str()),
        ("version", "9.9.9"),
        ("system_type", "zkeys_web"),
        ("vtime", today().as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// `getzones` as userid 1, signed now.
fn base() -> Vec<(String, String)> {
    signed("baremetal", "getzones", "1", KEY_1, wall_seconds())
}

fn without(mut pairs: Vec<(String, String)>, key: &str) -> Vec<(String, String)> {
    pairs.retain(|(k, _)| k != key);
    pairs
}

fn with(mut pairs: Vec<(String, String)>, key: &str, value: &str) -> Vec<(String, String)> {
    pairs.retain(|(k, _)| k != key);
    pairs.push((key.to_string(), value.to_string()));
    pairs
}

/// Posts form pairs to `/api`; the answer must be JSON.
async fn post(app: &TestApp, pairs: &[(String, String)]) -> Raw {
    let resp = app
        .http
        .post(format!("{}/api", app.url()))
        .form(pairs)
        .send()
        .await
        .unwrap_or_else(|e| panic!("post {pairs:?}: {e}"));
    let raw = Raw::read(resp).await;
    raw.json();
    raw
}

/// The request must be refused with `reason` and a message containing every
/// one of `words`.
async fn check(app: &TestApp, pairs: Vec<(String, String)>, reason: &str, words: &[&str]) {
    let raw = post(app, &pairs).await;
    assert_eq!(
        raw.status, 200,
        "business errors are HTTP 200: {:?}",
        raw.body
    );
    assert_eq!(raw.body["code"], 1, "{pairs:?} → {}", raw.body);
    assert_eq!(raw.body["data"], json!({}), "{pairs:?} → {}", raw.body);
    assert_eq!(
        raw.reason.as_deref(),
        Some(reason),
        "{pairs:?} → {}",
        raw.body
    );
    for w in words {
        assert!(
            raw.message().contains(w),
            "message {:?} should name {w:?} (request {pairs:?})",
            raw.message()
        );
    }
}

/// The request must succeed.
async fn accepted(app: &TestApp, pairs: Vec<(String, String)>) -> Value {
    let raw = post(app, &pairs).await;
    assert_eq!(
        (raw.status, raw.body["code"].clone(), raw.reason.clone()),
        (200, json!(0), None),
        "{pairs:?} should be accepted: {}",
        raw.body
    );
    raw.body["data"].clone()
}

#[tokio::test]
async fn the_base_request_is_accepted() {
    let app = TestApp::spawn().await;
    let data = accepted(&app, base()).await;
    assert!(data["zones"].is_array(), "{data}");
}

#[tokio::test]
async fn each_common_field_is_required() {
    let app = TestApp::spawn().await;
    for field in ["module", "action", "userid", "time", "sign"] {
        check(
            &app,
            without(base(), field),
            Reason::MissingParam.as_str(),
            &[field],
        )
        .await;
        check(
            &app,
            with(base(), field, ""),
            Reason::MissingParam.as_str(),
            &[field],
        )
        .await;
        check(
            &app,
            with(base(), field, "   "),
            Reason::MissingParam.as_str(),
            &[field],
        )
        .await;
    }
    check(&app, Vec::new(), Reason::MissingParam.as_str(), &["module"]).await;
}

#[tokio::test]
async fn strict_mode_requires_version_system_type_and_vtime() {
    let app = TestApp::spawn().await;
    check(
        &app,
        without(base(), "version"),
        Reason::MissingParam.as_str(),
        &["version"],
    )
    .await;
    check(
        &app,
        with(base(), "version", ""),
        Reason::MissingParam.as_str(),
        &["version"],
    )
    .await;
    check(
        &app,
        without(base(), "system_type"),
        Reason::MissingParam.as_str(),
        &["system_type"],
    )
    .await;
    check(
        &app,
        without(base(), "vtime"),
        Reason::MissingParam.as_str(),
        &["vtime"],
    )
    .await;
    let bare = without(without(without(base(), "version"), "system_type"), "vtime");
    check(&app, bare, Reason::MissingParam.as_str(), &["version"]).await;
}

#[tokio::test]
async fn version_and_system_type_aliases_are_accepted() {
    let app = TestApp::spawn().await;
    let aliased = |version: bool, system_type: bool| {
        let mut p = base();
        if version {
            p = with(without(p, "version"), "__version__", "9.9.9");
        }
        if system_type {
            p = with(
                without(p, "system_type"),
                "__system_type__",
                "zkeys_agent_multi",
            );
        }
        p
    };
    accepted(&app, aliased(true, false)).await;
    accepted(&app, aliased(false, true)).await;
    accepted(&app, aliased(true, true)).await;
    // An empty alias is as good as none.
    let empty = with(without(base(), "version"), "__version__", "");
    check(&app, empty, Reason::MissingParam.as_str(), &["version"]).await;
}

#[tokio::test]
async fn vtime_must_be_a_yyyymmdd_date() {
    let app = TestApp::spawn().await;
    for bad in [
        "2022-03-03",
        "20221340",
        "20220230",
        "2022030",
        "202203031",
        "abcdefgh",
    ] {
        check(
            &app,
            with(base(), "vtime", bad),
            Reason::BadParam.as_str(),
            &["vtime", bad],
        )
        .await;
    }
    // The document's own degrade example sends an old date: only the form is checked.
    for good in ["20220303", "20210713", "20240229"] {
        accepted(&app, with(base(), "vtime", good)).await;
    }
}

#[tokio::test]
async fn lenient_mode_accepts_requests_without_strict_fields() {
    let app = TestApp::with(MockEngine::builder().rng_seed(42).lenient(true)).await;
    let bare = without(without(without(base(), "version"), "system_type"), "vtime");
    accepted(&app, bare.clone()).await;
    // The common fields are still required.
    check(
        &app,
        without(bare, "sign"),
        Reason::MissingParam.as_str(),
        &["sign"],
    )
    .await;
}

#[tokio::test]
async fn time_must_be_an_integer() {
    let app = TestApp::spawn().await;
    for bad in ["yesterday", "1.5e9", "17327796OO"] {
        check(
            &app,
            with(base(), "time", bad),
            Reason::BadParam.as_str(),
            &["time", bad],
        )
        .await;
    }
}

#[tokio::test]
async fn unknown_member_is_refused() {
    let app = TestApp::spawn().await;
    check(
        &app,
        signed("baremetal", "getzones", "99", KEY_1, wall_seconds()),
        Reason::UnknownUser.as_str(),
        &["99"],
    )
    .await;
}

#[tokio::test]
async fn another_members_key_is_a_key_mismatch() {
    let app = TestApp::spawn().await;
    let pairs = signed("baremetal", "getzones", "1", KEY_2, wall_seconds());
    check(
        &app,
        pairs.clone(),
        Reason::KeyMismatch.as_str(),
        &["秘钥", "1", "2"],
    )
    .await;
    // The same key is fine for its own member.
    accepted(
        &app,
        signed("baremetal", "getzones", "2", KEY_2, wall_seconds()),
    )
    .await;
    // And user 1's key does not pass for user 2.
    check(
        &app,
        signed("baremetal", "getzones", "2", KEY_1, wall_seconds()),
        Reason::KeyMismatch.as_str(),
        &["秘钥"],
    )
    .await;
}

#[tokio::test]
async fn a_bad_sign_shows_the_masked_canonical_string() {
    let app = TestApp::spawn().await;
    let time = wall_seconds();
    let wrong = sign::sign(
        "baremetal",
        "getzones",
        "1",
        "not-the-key",
        &time.to_string(),
    );
    let raw = post(&app, &with(base_at(time), "sign", &wrong)).await;
    assert_eq!(raw.body["code"], 1, "{}", raw.body);
    assert_eq!(raw.reason.as_deref(), Some(Reason::SignInvalid.as_str()));
    assert!(raw.message().contains("签名错误"), "{}", raw.message());
    assert!(raw.message().contains("md5"), "{}", raw.message());
    assert_eq!(
        raw.header("x-mock-sign-input").as_deref(),
        Some(format!("baremetalzkeys.api@2019getzones1***{time}").as_str())
    );
    // The key itself never shows.
    assert!(!raw
        .header("x-mock-sign-input")
        .unwrap_or_default()
        .contains(KEY_1));
}

fn base_at(time: i64) -> Vec<(String, String)> {
    signed("baremetal", "getzones", "1", KEY_1, time)
}

#[tokio::test]
async fn signs_that_differ_in_one_part_are_refused() {
    let app = TestApp::spawn().await;
    let t = wall_seconds();
    let ts = t.to_string();
    // Each sign is made over a canonical string that differs from the request in one part.
    let cases = [
        sign::sign("common", "getzones", "1", KEY_1, &ts),
        sign::sign("baremetal", "sync_line", "1", KEY_1, &ts),
        sign::sign("baremetal", "getzones", "11", KEY_1, &ts),
        sign::sign("baremetal", "getzones", "1", KEY_1, &(t + 1).to_string()),
        sign::md5_hex(&format!("baremetalgetzones1{KEY_1}{ts}")),
        "0".repeat(32),
        "not-even-hex".to_string(),
        sign::sign("baremetal", "getzones", "1", KEY_1, &ts)[..31].to_string(),
    ];
    for bad in cases {
        check(
            &app,
            with(base_at(t), "sign", &bad),
            Reason::SignInvalid.as_str(),
            &["签名错误"],
        )
        .await;
    }
}

#[tokio::test]
async fn sign_comparison_ignores_case() {
    let app = TestApp::spawn().await;
    let t = wall_seconds();
    let upper = sign::sign("baremetal", "getzones", "1", KEY_1, &t.to_string()).to_uppercase();
    assert!(upper.chars().any(|c| c.is_ascii_uppercase()), "{upper}");
    accepted(&app, with(base_at(t), "sign", &upper)).await;
}

#[tokio::test]
async fn time_outside_the_window_is_refused() {
    let app = TestApp::spawn().await;
    for offset in [-310, 310, -3600, 86_400] {
        check(
            &app,
            base_at(wall_seconds() + offset),
            Reason::TimeSkew.as_str(),
            &["300", "时间"],
        )
        .await;
    }
    check(
        &app,
        base_at(1_732_779_600),
        Reason::TimeSkew.as_str(),
        &["1732779600"],
    )
    .await;
    for offset in [-290, -60, 0, 60, 290] {
        accepted(&app, base_at(wall_seconds() + offset)).await;
    }
}

#[tokio::test]
async fn time_skew_zero_disables_the_check() {
    let app = TestApp::with(
        MockEngine::builder()
            .rng_seed(42)
            .config(|c| c.time_skew = 0),
    )
    .await;
    for time in [1_732_779_600, 1_471_331_587, wall_seconds() + 86_400] {
        accepted(&app, base_at(time)).await;
    }
}

#[tokio::test]
async fn a_configured_window_is_used() {
    let app = TestApp::with(
        MockEngine::builder()
            .rng_seed(42)
            .config(|c| c.time_skew = 30),
    )
    .await;
    accepted(&app, base_at(wall_seconds() - 10)).await;
    check(
        &app,
        base_at(wall_seconds() - 120),
        Reason::TimeSkew.as_str(),
        &["30"],
    )
    .await;
}

#[tokio::test]
async fn unknown_module_is_refused() {
    let app = TestApp::spawn().await;
    for module in ["cloud", "Baremetal", "server"] {
        check(
            &app,
            signed(module, "getzones", "1", KEY_1, wall_seconds()),
            Reason::UnknownModule.as_str(),
            &[module],
        )
        .await;
    }
}

#[tokio::test]
async fn unknown_action_is_refused() {
    let app = TestApp::spawn().await;
    for action in ["nosuch", "GETZONES", "sync_server"] {
        check(
            &app,
            signed("baremetal", action, "1", KEY_1, wall_seconds()),
            Reason::UnknownAction.as_str(),
            &[action],
        )
        .await;
    }
    // A baremetal action under module common is refused too.
    check(
        &app,
        signed("common", "getzones", "1", KEY_1, wall_seconds()),
        Reason::UnknownAction.as_str(),
        &["getzones", "baremetal"],
    )
    .await;
}

fn refund_pairs(module: &str) -> Vec<(String, String)> {
    let mut p = signed(module, "refund", "1", KEY_1, wall_seconds());
    p.push(("guid".into(), EXAMPLE_GUID.into()));
    p.push(("productType".into(), "baremetal".into()));
    p
}

#[tokio::test]
async fn refund_needs_module_common() {
    let app = TestApp::spawn().await;
    check(
        &app,
        refund_pairs("baremetal"),
        Reason::UnknownAction.as_str(),
        &["refund", "common"],
    )
    .await;
    // Nothing happened to the instance.
    assert_eq!(app.instance(EXAMPLE_GUID).await["order_status"], "1");
    // A sign over module baremetal does not pass for module common.
    let mut mixed = refund_pairs("common");
    let t = mixed
        .iter()
        .find(|(k, _)| k == "time")
        .map(|(_, v)| v.clone());
    let bad = sign::sign("baremetal", "refund", "1", KEY_1, &t.unwrap_or_default());
    mixed = with(mixed, "sign", &bad);
    check(&app, mixed, Reason::SignInvalid.as_str(), &["签名错误"]).await;
    assert_eq!(app.instance(EXAMPLE_GUID).await["order_status"], "1");

    assert_eq!(accepted(&app, refund_pairs("common")).await, json!({}));
    assert_eq!(app.instance(EXAMPLE_GUID).await["order_status"], "-2");
}

#[tokio::test]
async fn refusals_are_journaled_with_their_reason() {
    let app = TestApp::spawn().await;
    let t = wall_seconds();
    check(
        &app,
        with(base_at(t), "sign", &"f".repeat(32)),
        Reason::SignInvalid.as_str(),
        &[],
    )
    .await;
    let (status, journal) = app.control("GET", "/_mock/requests?limit=1", None).await;
    assert_eq!(status, 200, "{journal}");
    let entry = &journal["requests"][0];
    assert_eq!(entry["reason"], Reason::SignInvalid.as_str(), "{entry}");
    assert_eq!(entry["code"], 1, "{entry}");
    assert_eq!(
        entry["sign_input"],
        format!("baremetalzkeys.api@2019getzones1***{t}"),
        "{entry}"
    );
}
