//! Property tests of the `/api` body decoder (issue 6): values encoded the
//! way PHP's `http_build_query` does decode back to themselves, the same
//! value sent as JSON decodes the same, arbitrary bytes never panic, and
//! every limit is answered with the engine's envelope and its own reason.
//! The inputs the fuzzers crashed on (`fuzz/regressions/`) replay here
//! through the fuzz harness itself.

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use apayun_mock::client::php_build_query;
use apayun_mock::test_support::actions::{Action, ActionName};
use apayun_mock::test_support::api::decode::decode_body;
use apayun_mock::test_support::protocol::Limits;
use apayun_mock::test_support::protocol::Reason;
use apayun_mock::MockEngine;
use proptest::prelude::*;

mod common;
#[path = "../fuzz/fuzz_targets/harness/mod.rs"]
mod harness;
use common::raw::Raw;
use serde_json::{json, Map, Value};

const FORM: Option<&str> = Some("application/x-www-form-urlencoded");

/// Reasons the decoder itself may give.
const DECODER_REASONS: &[&str] = &[
    Reason::BadBody.as_str(),
    Reason::TooManyFields.as_str(),
    Reason::NestingTooDeep.as_str(),
    Reason::ValueTooLong.as_str(),
    Reason::UnsupportedContentType.as_str(),
];

/// A field name as reseller systems use them (no brackets, not all digits,
/// so PHP's parsing gives the same name back).
fn name() -> impl Strategy<Value = String> {
    "[a-zA-Z_][a-zA-Z0-9_-]{0,10}"
}

/// Any text, including `&`, `=`, `%`, `+`, brackets and non-ASCII.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "\\PC{0,24}",
        "[&=%+\\[\\]{} \"'#?;:/\\\\a-z0-9]{0,16}",
        Just(String::new()),
    ]
}

/// Nested objects and lists of strings. Containers are never empty:
/// `http_build_query` writes nothing for an empty one.
fn nested() -> impl Strategy<Value = Value> {
    text()
        .prop_map(Value::String)
        .prop_recursive(4, 48, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 1..5).prop_map(Value::Array),
                prop::collection::btree_map(name(), inner, 1..5)
                    .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>())),
            ]
        })
}

fn top_level() -> impl Strategy<Value = Value> {
    prop::collection::btree_map(name(), nested(), 1..6)
        .prop_map(|m| Value::Object(m.into_iter().collect::<Map<_, _>>()))
}

fn php_form(value: &Value) -> String {
    let mut pairs = Vec::new();
    php_build_query("", value, &mut pairs);
    serde_urlencoded::to_string(&pairs).unwrap_or_else(|e| panic!("encode: {e}"))
}

const MULTIPART: Option<&str> = Some("multipart/form-data; boundary=--b0und4ry");

/// The `http_build_query` pairs of `value`, one multipart part each.
fn multipart_body(value: &Value) -> Vec<u8> {
    let mut pairs = Vec::new();
    php_build_query("", value, &mut pairs);
    let mut body = Vec::new();
    for (name, text) in pairs {
        body.extend_from_slice(b"----b0und4ry\r\nContent-Disposition: form-data; name=\"");
        body.extend_from_slice(name.as_bytes());
        body.extend_from_slice(b"\"\r\n\r\n");
        body.extend_from_slice(text.as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"----b0und4ry--\r\n");
    body
}

fn decoded(content_type: Option<&str>, body: &[u8]) -> Result<Value, String> {
    decode_body(content_type, body, Limits::default())
        .map(|p| Value::Object(p.0))
        .map_err(|e| format!("{}: {}", e.reason, e.message))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn http_build_query_round_trips(value in top_level()) {
        let body = php_form(&value);
        prop_assert_eq!(decoded(FORM, body.as_bytes()), Ok(value.clone()), "body: {}", body);
        // The same pairs as multipart/form-data (PHP's curl with an array).
        prop_assert_eq!(decoded(MULTIPART, &multipart_body(&value)), Ok(value));
    }

    #[test]
    fn json_body_decodes_the_same(value in top_level()) {
        let form = decoded(FORM, php_form(&value).as_bytes());
        let body = serde_json::to_vec(&value).unwrap_or_default();
        for ct in [Some("application/json"), Some("application/json; charset=utf-8"), None] {
            prop_assert_eq!(decoded(ct, &body), form.clone(), "content type {:?}", ct);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(
        body in prop_oneof![
            prop::collection::vec(any::<u8>(), 0..256),
            prop::collection::vec(prop::sample::select(b"a[]=&%5B%ff{}\":,+x1 0".to_vec()), 0..256),
        ],
        ct in prop::sample::select(vec![None, FORM, Some("application/json"), Some("text/plain")]),
        small in any::<bool>(),
    ) {
        let limits = if small {
            Limits { max_fields: 3, max_depth: 2, max_value_len: 4 }
        } else {
            Limits::default()
        };
        match decode_body(ct, &body, limits) {
            Ok(params) => {
                // Whatever came in, the accessors the actions use cope.
                for key in params.0.keys() {
                    let _ = params.str(key);
                    let _ = params.nested(key);
                }
                for name in ActionName::ALL {
                    if let Err(e) = Action::parse(name.module().wire(), name.wire(), &params) {
                        prop_assert!(!e.reason.as_str().is_empty() && !e.message.is_empty());
                        prop_assert_ne!(e.reason.as_str(), Reason::InternalError.as_str());
                    }
                }
            }
            Err(e) => {
                prop_assert!(DECODER_REASONS.contains(&e.reason.as_str()), "reason {}", e.reason);
                prop_assert!(!e.message.is_empty());
            }
        }
    }
}

#[test]
fn decoder_limits_have_reasons() {
    let limits = Limits::default();
    let err = |ct: Option<&str>, body: &[u8]| {
        decode_body(ct, body, limits)
            .map(|_| ())
            .map_err(|e| e.reason.to_string())
    };
    let many = (0..=limits.max_fields)
        .map(|i| format!("f{i}=1"))
        .collect::<Vec<_>>()
        .join("&");
    assert_eq!(
        err(FORM, many.as_bytes()),
        Err(Reason::TooManyFields.as_str().into())
    );
    let many_json = serde_json::to_vec(&Value::Array(vec![json!(1); limits.max_fields + 1]))
        .map(|list| [b"{\"a\":".as_slice(), &list, b"}"].concat())
        .unwrap_or_default();
    assert_eq!(
        err(None, &many_json),
        Err(Reason::TooManyFields.as_str().into())
    );
    let deep = format!("a{}=1", "[x]".repeat(limits.max_depth));
    assert_eq!(
        err(FORM, deep.as_bytes()),
        Err(Reason::NestingTooDeep.as_str().into())
    );
    let ok_depth = format!("a{}=1", "[x]".repeat(limits.max_depth - 1));
    assert_eq!(err(FORM, ok_depth.as_bytes()), Ok(()));
    let deep_json = format!(
        "{{\"a\":{}1{}}}",
        "[".repeat(limits.max_depth),
        "]".repeat(limits.max_depth)
    );
    assert_eq!(
        err(None, deep_json.as_bytes()),
        Err(Reason::NestingTooDeep.as_str().into())
    );
    let long = "x".repeat(limits.max_value_len + 1);
    assert_eq!(
        err(FORM, format!("a={long}").as_bytes()),
        Err(Reason::ValueTooLong.as_str().into())
    );
    assert_eq!(
        err(None, json!({ "a": long }).to_string().as_bytes()),
        Err(Reason::ValueTooLong.as_str().into())
    );
    let fits = "x".repeat(limits.max_value_len);
    assert_eq!(err(FORM, format!("a={fits}").as_bytes()), Ok(()));
}

/// Found by the `decode_body` fuzzer: `[]` after the largest u64 key used
/// to overflow (a panic in debug builds). PHP drops such a field; so do we.
#[test]
fn append_after_the_largest_index_is_dropped() {
    let body = b"a[18446744073709551615]=1&a[]=2&b[]=x&b[]=y";
    assert_eq!(
        decoded(FORM, body),
        Ok(json!({"a": {"18446744073709551615": "1"}, "b": ["x", "y"]}))
    );
}

/// Posts a raw body to `/api`; returns status, `X-Mock-Error` and the JSON body.
async fn post(url: &str, content_type: &str, body: Vec<u8>) -> (u16, Option<String>, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{url}/api"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("post: {e}"));
    let raw = Raw::read(resp).await;
    let body = raw.json();
    (raw.status, raw.reason, body)
}

/// Every limit, through the real pipeline: the body size (checked before
/// decoding, HTTP 413) and the decoder's three (HTTP 200 business errors),
/// each in the engine's envelope with its own `X-Mock-Error` reason.
#[tokio::test]
async fn every_limit_is_answered_with_the_envelope() {
    let engine = MockEngine::builder()
        .config(|c| {
            c.max_body = 200_000;
            c.max_fields = 50;
        })
        .start()
        .await
        .unwrap_or_else(|e| panic!("start: {e}"));
    let url = engine.base_url();
    let limits = Limits::default();
    let form = "application/x-www-form-urlencoded";
    let many = (0..51)
        .map(|i| format!("f{i}=1"))
        .collect::<Vec<_>>()
        .join("&");
    let deep = format!("a{}=1", "[x]".repeat(limits.max_depth));
    let deep_json = format!(
        "{{\"a\":{}1{}}}",
        "[".repeat(limits.max_depth),
        "]".repeat(limits.max_depth)
    );
    let long = format!("a={}", "x".repeat(limits.max_value_len + 1));
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            form,
            vec![b'a'; 200_001],
            413,
            Reason::BodyTooLarge.as_str(),
        ),
        (
            "application/json",
            vec![b' '; 300_000],
            413,
            Reason::BodyTooLarge.as_str(),
        ),
        (form, many.into_bytes(), 200, Reason::TooManyFields.as_str()),
        (
            form,
            deep.into_bytes(),
            200,
            Reason::NestingTooDeep.as_str(),
        ),
        (
            "application/json",
            deep_json.into_bytes(),
            200,
            Reason::NestingTooDeep.as_str(),
        ),
        (form, long.into_bytes(), 200, Reason::ValueTooLong.as_str()),
        (form, b"a=%ff".to_vec(), 200, Reason::BadBody.as_str()),
        (
            "application/json",
            b"{\"a\":".to_vec(),
            200,
            Reason::BadBody.as_str(),
        ),
    ];
    for (ct, body, status, want) in cases {
        let size = body.len();
        let (got_status, got_reason, env) = post(&url, ct, body).await;
        assert_eq!(got_status, status, "{want} ({size} bytes): {env}");
        assert_eq!(got_reason.as_deref(), Some(want), "{env}");
        assert_eq!(env["code"], 1, "{env}");
        assert_eq!(env["data"], json!({}), "{env}");
        assert!(
            env["message"].as_str().is_some_and(|m| !m.is_empty()),
            "{env}"
        );
    }
    engine.stop().await;
}

/// Every input a fuzzer crashed on, and the seed inputs, replayed through
/// the very harness the fuzz targets run (`fuzz/fuzz_targets/harness`):
/// decoding, `Action::parse` over every action, `Engine::execute` on an
/// in-memory engine and the invariant checks after each operation.
#[test]
fn fuzz_regressions_replay() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut replayed = 0;
    for dir in ["regressions", "seeds"] {
        for (target, run) in [
            ("decode_body", harness::decode_body_input as fn(&[u8])),
            ("action_parse", harness::action_parse_input),
        ] {
            let Ok(entries) = std::fs::read_dir(root.join(dir).join(target)) else {
                continue;
            };
            for entry in entries.flatten() {
                let data = std::fs::read(entry.path()).unwrap_or_default();
                run(&data);
                replayed += 1;
            }
        }
    }
    assert!(
        replayed >= 5,
        "too few fuzz inputs under {}",
        root.display()
    );
}
