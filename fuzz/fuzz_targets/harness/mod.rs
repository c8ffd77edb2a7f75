//! The fuzz harnesses, shared by the libFuzzer targets in this folder and
//! by `cargo test` (`tests/decoder_props.rs` replays every input kept in
//! `fuzz/regressions/` through these same functions).
//!
//! ### `decode_body`: the `/api` body decoder (`decode_body`) with an arbitrary
//! content type and arbitrary bytes.
//!
//! Input layout: byte 0 picks the content type, byte 1 picks the limits
//! (the defaults, or small ones so that every limit is reached often), the
//! rest is the body. Besides "never panics", it checks what the decoder
//! promises: an `Ok` value respects every limit, and an `Err` carries one of
//! the decoder's own reasons and a message.
//!
//! ### `action_parse`: the action dispatcher, and the engine behind it.
//!
//! The input is up to 8 operations separated by the byte 0xFF. Each
//! operation is `[selector][flags][body…]`:
//!
//! - the body is decoded like `/api` does (`flags` bits 3–5 pick the
//!   content type), then `Action::parse` runs for **every** `(module,
//!   action)` of `ActionName::ALL` and for mismatched module names: it must answer
//!   `Ok` or a `Refusal` with a reason, never panic;
//! - a selector below 0xF0 then runs `ActionName::ALL[selector % len]` through
//!   `Engine::execute` on an in-memory engine (fast timings) restored to
//!   the seed state before each input, so a crash input replays. Unless
//!   flag bit 0 is set, the fuzzed fields are laid over a valid template of
//!   that action (so execution gets past the required fields), whose
//!   `guid`/`degrade_guid` are the last ones the engine handed out. Flag
//!   bit 1 calls as userid 2;
//! - a selector of 0xF0 or more moves the simulated clock forward by
//!   `flags` hours (degrades apply, instances expire and are released).
//!
//! After each operation the database must hold no address and no stock
//! unit twice, every live instance must hold its stock unit and primary
//! IP, and no call may end in `internal_error`.

#![allow(dead_code)]

use std::path::Path;
use std::sync::{Arc, OnceLock};

use apayun_mock::config::ServeConfig;
use apayun_mock::test_support::actions::{Action, ActionName};
use apayun_mock::test_support::api::decode::decode_body;
use apayun_mock::test_support::engine::{Call, Engine, Settings};
use apayun_mock::test_support::fixtures::{required_create_params, EXAMPLE_GUID, LINE, SYSTEM};
use apayun_mock::test_support::protocol::{Limits, Params, Reason};
use apayun_mock::test_support::seed::Seed;
use apayun_mock::test_support::store::network::double_held;
use serde_json::{json, Map, Value};

const DECODE_CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/json"),
    Some("application/json; charset=utf-8"),
    Some("APPLICATION/JSON"),
    Some("text/plain"),
    Some("multipart/form-data; boundary=x"),
    Some(""),
];

/// Depth of the deepest value (a top-level field is depth 1), leaf count
/// and longest string of a decoded value.
fn measure(value: &Value, depth: usize, out: &mut (usize, usize, usize)) {
    out.0 = out.0.max(depth);
    match value {
        Value::Array(items) => items.iter().for_each(|v| measure(v, depth + 1, out)),
        Value::Object(map) => map.values().for_each(|v| measure(v, depth + 1, out)),
        Value::String(s) => {
            out.1 += 1;
            out.2 = out.2.max(s.len());
        }
        _ => out.1 += 1,
    }
}

/// One `decode_body` input: `[content type][limits][body…]`.
pub fn decode_body_input(data: &[u8]) {
    let (ct, limits, body) = match data {
        [a, b, rest @ ..] => {
            let limits = if b & 1 == 0 {
                Limits::default()
            } else {
                Limits {
                    max_fields: 1 + usize::from(b >> 1) % 8,
                    max_depth: 1 + usize::from(b >> 4) % 4,
                    max_value_len: usize::from(b >> 1) % 16,
                }
            };
            (
                DECODE_CONTENT_TYPES[usize::from(*a) % DECODE_CONTENT_TYPES.len()],
                limits,
                rest,
            )
        }
        _ => (None, Limits::default(), data),
    };
    // A content type PHP does not read is refused whatever the body; the
    // body then goes through the form decoder too, so that the inputs kept
    // from before that refusal existed still reach the code they found.
    let refused = matches!(
        decode_body(ct, body, limits),
        Err(e) if e.reason == Reason::UnsupportedContentType
    );
    let ct = if refused {
        Some("application/x-www-form-urlencoded")
    } else {
        ct
    };
    match decode_body(ct, body, limits) {
        Ok(params) => {
            let mut m = (0, 0, 0);
            for v in params.0.values() {
                measure(v, 1, &mut m);
            }
            assert!(
                m.0 <= limits.max_depth,
                "depth {} > {}",
                m.0,
                limits.max_depth
            );
            assert!(
                m.1 <= limits.max_fields,
                "fields {} > {}",
                m.1,
                limits.max_fields
            );
            assert!(
                m.2 <= limits.max_value_len,
                "len {} > {}",
                m.2,
                limits.max_value_len
            );
            // Every accessor the actions use must cope with whatever came in.
            for key in params.0.keys().take(8) {
                let _ = params.str(key);
                let _ = params.required(key);
                let _ = params.nested(key);
            }
        }
        Err(err) => {
            assert!(
                [
                    Reason::BadBody,
                    Reason::TooManyFields,
                    Reason::NestingTooDeep,
                    Reason::ValueTooLong,
                    Reason::UnsupportedContentType,
                ]
                .contains(&err.reason),
                "unexpected reason {}",
                err.reason
            );
            assert!(!err.message.is_empty());
        }
    }
}

const ACTION_CONTENT_TYPES: &[Option<&str>] = &[
    None,
    Some("application/x-www-form-urlencoded"),
    Some("application/json"),
    Some("text/plain"),
];

fn setup() -> &'static (Arc<Settings>, Engine) {
    static SETUP: OnceLock<(Arc<Settings>, Engine)> = OnceLock::new();
    SETUP.get_or_init(|| {
        let seed = Seed::default_set().expect("default seed");
        let config = ServeConfig {
            timings: "fast".into(),
            rng_seed: Some(7),
            ..ServeConfig::default()
        };
        let settings = Arc::new(Settings::from_config(&config, &seed).expect("settings"));
        let engine =
            Engine::open("fuzz", settings.clone(), Arc::new(seed), None::<&Path>).expect("engine");
        engine.take_snapshot("seed").expect("snapshot");
        (settings, engine)
    })
}

/// A valid request of each action, to lay fuzzed fields over.
fn template(action: &str, guid: &str, degrade_guid: &str, n: usize) -> Value {
    match action {
        "create" => required_create_params(&format!("fuzz-{n}")),
        "upgrade" => json!({"guid": guid, "bandwidth": "5", "ipnum": "8", "ip_type": "2",
            "defense": "5", "agent_order_no": format!("fuzz-up-{n}")}),
        "degrade" => json!({"guid": guid, "param": [
            {"item": "bandwidth", "value": "5"},
            {"item": "ip", "value": ["114.114.8.16-23"]},
        ]}),
        "degrade_cancel" => json!({"guid": guid, "degrade_guid": degrade_guid}),
        "renew" => json!({"guid": guid, "months": "1", "agent_order_no": format!("fuzz-rn-{n}")}),
        "setpass" => json!({"guid": guid, "loginPassword": "bmV3cGFzcw=="}),
        "install" => json!({"guid": guid, "systemGuid": SYSTEM, "installType": "install",
            "loginPassword": "bmV3cGFzcw==", "system_partition_size": "-1", "install_mode": "1"}),
        "refund" => json!({"guid": guid, "productType": "baremetal"}),
        "sync_product" | "sync_line" => json!({"line_guid": LINE}),
        _ => json!({"guid": guid}),
    }
}

fn check_invariants(engine: &Engine) {
    let conn = engine.store().lock();
    assert_eq!(
        double_held(&conn).expect("double_held"),
        0,
        "an address is held twice"
    );
    let count = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).expect(sql) };
    assert_eq!(
        count(
            "SELECT count(*) FROM (SELECT stock_id FROM instances WHERE stock_id IS NOT NULL \
             AND order_status != -2 GROUP BY stock_id HAVING count(*) > 1)"
        ),
        0,
        "a stock unit is held by two live instances"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM instances i WHERE i.order_status != -2 AND i.stock_id IS NOT NULL \
             AND NOT EXISTS (SELECT 1 FROM stock s WHERE s.id = i.stock_id AND s.instance_guid = i.guid)"
        ),
        0,
        "a live instance lost its stock unit"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM instances i WHERE i.order_status != -2 AND NOT EXISTS \
             (SELECT 1 FROM ips p WHERE p.instance_guid = i.guid AND p.is_default = 1 AND p.status = 1)"
        ),
        0,
        "a live instance lost its primary IP"
    );
    assert_eq!(
        count(
            "SELECT count(*) FROM ips p JOIN instances i ON i.guid = p.instance_guid \
             WHERE p.status = 1 AND i.order_status = -2"
        ),
        0,
        "a deleted instance still holds an address"
    );
}

/// Remembers GUIDs the engine handed out, for later templates.
fn harvest(value: &Value, guid: &mut String, degrade_guid: &mut String) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("guid", Value::String(s)) if s.len() == 16 => *guid = s.clone(),
                    ("data", Value::Object(items)) if map.contains_key("result") => {
                        // degrade answers `{"result":true,…,"data":{"ip":"<guid>"}}`
                        if let Some(Value::String(s)) = items.values().next() {
                            *degrade_guid = s.clone();
                        }
                    }
                    _ => harvest(v, guid, degrade_guid),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| harvest(v, guid, degrade_guid)),
        _ => {}
    }
}

/// One `action_parse` input: operations `[selector][flags][body…]`
/// separated by 0xFF.
pub fn action_parse_input(data: &[u8]) {
    let (settings, engine) = setup();
    let mut fresh = false;
    let mut guid = EXAMPLE_GUID.to_string();
    let mut degrade_guid = String::from("1700000000000000");
    for (n, op) in data.split(|&b| b == 0xFF).take(8).enumerate() {
        let [selector, flags, body @ ..] = op else {
            continue;
        };
        if !fresh {
            // Every input starts from the seed state.
            assert!(engine.restore_snapshot("seed").expect("restore"));
            fresh = true;
        }
        if *selector >= 0xF0 {
            let _ = engine.advance(i64::from(*flags) * 3600);
            check_invariants(engine);
            continue;
        }
        let ct = ACTION_CONTENT_TYPES[usize::from(flags >> 3) % ACTION_CONTENT_TYPES.len()];
        // As in `decode_body_input`: a refused content type still fuzzes
        // the actions with the body read as a form.
        let fuzzed = decode_body(ct, body, settings.limits).or_else(|e| {
            if e.reason == Reason::UnsupportedContentType {
                decode_body(
                    Some("application/x-www-form-urlencoded"),
                    body,
                    settings.limits,
                )
            } else {
                Err(e)
            }
        });
        let Ok(fuzzed) = fuzzed else {
            continue;
        };
        for name in ActionName::ALL {
            let action = name.wire();
            for m in [name.module().wire(), "baremetal", "common", ""] {
                if let Err(e) = Action::parse(m, action, &fuzzed) {
                    assert!(!e.reason.as_str().is_empty() && !e.message.is_empty());
                    assert_ne!(
                        e.reason,
                        Reason::InternalError,
                        "{m}/{action}: {}",
                        e.message
                    );
                }
            }
        }
        let name = ActionName::ALL[usize::from(*selector) % ActionName::ALL.len()];
        let action = name.wire();
        let params = if flags & 1 == 1 {
            fuzzed
        } else {
            let mut map: Map<String, Value> = match template(action, &guid, &degrade_guid, n) {
                Value::Object(m) => m,
                _ => Map::new(),
            };
            for (k, v) in fuzzed.0 {
                map.insert(k, v);
            }
            Params(map)
        };
        let call = Call {
            action: name,
            userid: if flags & 2 == 2 { "2" } else { "1" }.to_string(),
            taskid: None,
            params,
        };
        let outcome = engine.execute(&call, None);
        match &outcome.result {
            Ok(data) => harvest(data, &mut guid, &mut degrade_guid),
            Err(e) => {
                assert_ne!(e.reason, Reason::InternalError, "{action}: {}", e.message);
                assert!(!e.message.is_empty());
            }
        }
        check_invariants(engine);
    }
}
