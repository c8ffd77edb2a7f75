//! The body decoder's rules one case at a time (the property tests in
//! `decoder_props.rs` cover the wide input space; these pin the edges):
//! each limit is inclusive, PHP's bracket names and `[]` indexes, what is
//! dropped, and the `Params` accessors. Kept fast, so that a mutation run
//! can afford them per mutant.

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use apayun_mock::test_support::api::decode::{
    decode_body, decode_form, decode_json, split_php_key,
};
use apayun_mock::test_support::protocol::Reason;
use apayun_mock::test_support::protocol::{scalar_text, Limits, Params};
use serde_json::{json, Map, Value};

const SMALL: Limits = Limits {
    max_fields: 3,
    max_depth: 3,
    max_value_len: 4,
};

fn form_with(body: &str, limits: Limits) -> Result<Value, String> {
    decode_form(body.as_bytes(), limits)
        .map(|p| Value::Object(p.0))
        .map_err(|e| e.reason.to_string())
}

fn json_with(body: &str, limits: Limits) -> Result<Value, String> {
    decode_json(body.as_bytes(), limits)
        .map(|p| Value::Object(p.0))
        .map_err(|e| e.reason.to_string())
}

fn check(body: &str, expect: Value) {
    assert_eq!(
        form_with(body, Limits::default()),
        Ok(expect),
        "body: {body}"
    );
}

fn params(v: Value) -> Params {
    match v {
        Value::Object(m) => Params(m),
        _ => Params(Map::new()),
    }
}

#[test]
fn the_default_limits() {
    let d = Limits::default();
    assert_eq!(
        (d.max_fields, d.max_depth, d.max_value_len),
        (1000, 32, 65_536)
    );
}

#[test]
fn form_limits_are_inclusive() {
    let ok = |body: &str| assert!(form_with(body, SMALL).is_ok(), "{body}");
    let refused =
        |body: &str, why: &str| assert_eq!(form_with(body, SMALL), Err(why.to_string()), "{body}");
    ok("a=1&b=2&c=3");
    refused("a=1&b=2&c=3&d=4", Reason::TooManyFields.as_str());
    // Empty pairs are not fields.
    ok("a=1&&b=2&&&c=3&");
    ok("a[x][y]=1");
    refused("a[x][y][z]=1", Reason::NestingTooDeep.as_str());
    ok("a=abcd");
    refused("a=abcde", Reason::ValueTooLong.as_str());
    // The length is of the decoded value, in bytes.
    ok("a=%61%62%63%64");
    refused("a=%E4%B8%AD%E4", Reason::BadBody.as_str());
    ok("a=%E4%B8%ADx");
    refused("a=%E4%B8%ADxy", Reason::ValueTooLong.as_str());
}

#[test]
fn json_limits_are_inclusive_and_count_every_leaf() {
    let ok = |body: &str| assert!(json_with(body, SMALL).is_ok(), "{body}");
    let refused =
        |body: &str, why: &str| assert_eq!(json_with(body, SMALL), Err(why.to_string()), "{body}");
    ok(r#"{"a":1,"b":true,"c":"x"}"#);
    refused(
        r#"{"a":1,"b":true,"c":null,"d":2}"#,
        Reason::TooManyFields.as_str(),
    );
    ok(r#"{"a":"x","b":"y","c":"z"}"#);
    refused(
        r#"{"a":"x","b":"y","c":"z","d":"w"}"#,
        Reason::TooManyFields.as_str(),
    );
    ok(r#"{"a":[1,2,"x"]}"#);
    refused(
        r#"{"a":[1,2],"b":{"c":3,"d":4}}"#,
        Reason::TooManyFields.as_str(),
    );
    ok(r#"{"a":[[1]]}"#);
    ok(r#"{"a":{"b":{"c":1}}}"#);
    refused(r#"{"a":[[[1]]]}"#, Reason::NestingTooDeep.as_str());
    refused(
        r#"{"a":{"b":{"c":{"d":1}}}}"#,
        Reason::NestingTooDeep.as_str(),
    );
    ok(r#"{"a":"abcd"}"#);
    refused(r#"{"a":"abcde"}"#, Reason::ValueTooLong.as_str());
    refused(r#"{"a":["abcde"]}"#, Reason::ValueTooLong.as_str());
    refused("[1]", Reason::BadBody.as_str());
    refused("{", Reason::BadBody.as_str());
    refused(r#""text""#, Reason::BadBody.as_str());
}

#[test]
fn php_names_and_indexes() {
    check("a=1&a[x]=2", json!({"a": {"x": "2"}}));
    check("a[x]=2&a=1", json!({"a": "1"}));
    check("v[5]=a&v[]=b", json!({"v": {"5": "a", "6": "b"}}));
    check("v[x]=a&v[]=b", json!({"v": {"x": "a", "0": "b"}}));
    check("v[]=a&v[]=b&v[]=c", json!({"v": ["a", "b", "c"]}));
    check("v[1]=a&v[0]=b", json!({"v": {"1": "a", "0": "b"}}));
    check("v[0]=a&v[2]=b", json!({"v": {"0": "a", "2": "b"}}));
    check("m[k][]=a&m[k][]=b", json!({"m": {"k": ["a", "b"]}}));
    check("o[a][0]=x&o[b]=y", json!({"o": {"a": ["x"], "b": "y"}}));
    // An index past the largest integer key would overflow: PHP drops it.
    check(
        "a[18446744073709551615]=1&a[]=2",
        json!({"a": {"18446744073709551615": "1"}}),
    );
    // Fields without a name are dropped.
    check("=1&[x]=2&b=3", json!({"b": "3"}));
    check("", json!({}));
    check("a", json!({"a": ""}));
    check("a=1=2", json!({"a": "1=2"}));
    check("a+b=c+d", json!({"a b": "c d"}));
}

#[test]
fn splitting_bracket_names() {
    let s = |v: &[Option<&str>]| -> Vec<Option<String>> {
        v.iter().map(|x| x.map(str::to_string)).collect()
    };
    assert_eq!(split_php_key("a"), s(&[Some("a")]));
    assert_eq!(split_php_key("a[]"), s(&[Some("a"), None]));
    assert_eq!(
        split_php_key("a[0][b][]"),
        s(&[Some("a"), Some("0"), Some("b"), None])
    );
    assert_eq!(split_php_key("a[b"), s(&[Some("a_b")]));
    assert_eq!(split_php_key("a[b][c"), s(&[Some("a"), Some("b")]));
    assert_eq!(split_php_key("a[b]c[d]"), s(&[Some("a"), Some("b")]));
    assert_eq!(split_php_key("[x]"), s(&[Some(""), Some("x")]));
}

#[test]
fn scalars_as_text() {
    assert_eq!(scalar_text(&json!("x")).as_deref(), Some("x"));
    assert_eq!(scalar_text(&json!(12)).as_deref(), Some("12"));
    assert_eq!(scalar_text(&json!(1.5)).as_deref(), Some("1.5"));
    assert_eq!(scalar_text(&json!(true)).as_deref(), Some("1"));
    assert_eq!(scalar_text(&json!(false)).as_deref(), Some("0"));
    assert_eq!(scalar_text(&Value::Null), None);
    assert_eq!(scalar_text(&json!([1])), None);
    assert_eq!(scalar_text(&json!({"a": 1})), None);
}

#[test]
fn required_fields_are_trimmed_and_blank_is_missing() {
    let p = params(json!({"a": " x ", "b": "  ", "c": 5, "d": [1]}));
    assert_eq!(p.required("a").ok().as_deref(), Some("x"));
    assert_eq!(p.required("c").ok().as_deref(), Some("5"));
    for key in ["b", "d", "nope"] {
        let err = p.required(key).err().map(|e| e.reason.to_string());
        assert_eq!(err.as_deref(), Some(Reason::MissingParam.as_str()), "{key}");
    }
    let mut q = Params::default();
    q.insert("k", "v");
    assert_eq!(q.str("k").as_deref(), Some("v"));
}

#[test]
fn nested_fields_in_every_encoding() {
    let p = params(json!({
        "list": [1],
        "map": {"a": 1},
        "text": "[{\"item\":\"ip\"}]",
        "object_text": "{\"a\":1}",
        "blank": " ",
        "null": null,
        "scalar_text": "5",
        "junk": "nope",
        "number": 5,
    }));
    let got = |k: &str| p.nested(k).map_err(|e| e.reason.to_string());
    assert_eq!(got("list"), Ok(Some(json!([1]))));
    assert_eq!(got("map"), Ok(Some(json!({"a": 1}))));
    assert_eq!(got("text"), Ok(Some(json!([{"item": "ip"}]))));
    assert_eq!(got("object_text"), Ok(Some(json!({"a": 1}))));
    assert_eq!(got("blank"), Ok(None));
    assert_eq!(got("null"), Ok(None));
    assert_eq!(got("absent"), Ok(None));
    for bad in ["scalar_text", "junk", "number"] {
        assert_eq!(
            got(bad),
            Err(Reason::BadParam.as_str().to_string()),
            "{bad}"
        );
    }
}

#[test]
fn a_declared_json_type_is_json_whatever_its_case() {
    let body = br#"{"a":{"b":1}}"#;
    for ct in [
        "application/json",
        "Application/JSON; charset=utf-8",
        "application/vnd.api+json",
    ] {
        let p = decode_body(Some(ct), body, Limits::default()).map_err(|e| e.reason.to_string());
        assert_eq!(
            p.map(|p| Value::Object(p.0)),
            Ok(json!({"a": {"b": 1}})),
            "{ct}"
        );
    }
    let form = decode_body(
        Some("application/x-www-form-urlencoded"),
        b"a[b]=1",
        Limits::default(),
    )
    .map(|p| Value::Object(p.0))
    .map_err(|e| e.reason.to_string());
    assert_eq!(form, Ok(json!({"a": {"b": "1"}})));
}
