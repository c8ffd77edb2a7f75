//! Golden test: a fixed script of requests against the in-process engine,
//! every answer (HTTP status, `X-Mock-Error`, content type, body) compared
//! byte for byte with the recording in `tests/golden/api.txt`. It guards
//! refactors that must not change any answer.
//!
//! After a deliberate change of behaviour, re-record with
//! `GOLDEN_BLESS=1 cargo test --test golden` and review the file's diff.
//!
//! Determinism: the engine runs with a fixed RNG seed, the time-skew check
//! off (so every request carries the same fixed `time` and sign), and its
//! clock set to a fixed instant and frozen before the first call; only
//! `advance` moves it. The seed's own instances are dated from the real
//! start time, so the jump to that instant (years ahead) expires and purges
//! them and the script works on instances it creates itself. The one value that still varies between runs is
//! masked by [`normalise`] (see there).

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::fmt::Write as _;
use std::path::PathBuf;

use apayun_mock::test_support::fixtures::{
    create_params_with, EXAMPLE_GUID, LINE_NM, PRODUCT_ATOM, UBUNTU,
};
use apayun_mock::MockEngine;
use serde_json::{json, Value};

const USERID: &str = "1";
const KEY: &str = "mock-api-key";
/// The fixed `time` of every signed request (the skew check is off).
const TIME: &str = "1767225600";
const VTIME: &str = "20260101";
/// The fixed engine time the script starts at.
const START: &str = "2030-01-01 00:00:00";

const UNKNOWN_GUID: &str = "1999999999999999";

/// JSON keys whose values are real (wall-clock) measurements, not engine
/// state: replaced by `"<masked>"` wherever they occur.
const MASKED_KEYS: &[&str] = &["latency_ms", "offset_seconds"];

/// Replaces the values of [`MASKED_KEYS`] in a JSON body. A body that has
/// none of them is returned untouched (byte for byte); one that has them is
/// re-serialised compactly (serde_json keeps key order).
/// `also` names more keys to mask in this one answer.
fn normalise(body: &str, also: &[&str]) -> String {
    let masked = |k: &str| MASKED_KEYS.contains(&k) || also.contains(&k);
    if !MASKED_KEYS
        .iter()
        .chain(also)
        .any(|k| body.contains(&format!("\"{k}\"")))
    {
        return body.to_string();
    }
    fn mask(v: &mut Value, masked: &dyn Fn(&str) -> bool) {
        match v {
            Value::Object(map) => {
                for (k, item) in map.iter_mut() {
                    if masked(k) {
                        *item = Value::String("<masked>".into());
                    } else {
                        mask(item, masked);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|i| mask(i, masked)),
            _ => {}
        }
    }
    match serde_json::from_str::<Value>(body) {
        Ok(mut v) => {
            mask(&mut v, &masked);
            format!("(normalised) {v}")
        }
        Err(_) => body.to_string(),
    }
}

fn sign(module: &str, action: &str) -> String {
    apayun_mock::test_support::protocol::sign::sign(module, action, USERID, KEY, TIME)
}

struct Script {
    base: String,
    http: reqwest::Client,
    out: String,
    step: usize,
}

impl Script {
    /// Records one answer; returns its body (unnormalised).
    async fn record(&mut self, title: &str, resp: reqwest::Response) -> String {
        self.record_masking(title, resp, &[]).await
    }

    /// [`Script::record`], masking the keys `also` as well.
    async fn record_masking(
        &mut self,
        title: &str,
        resp: reqwest::Response,
        also: &[&str],
    ) -> String {
        self.step += 1;
        let status = resp.status().as_u16();
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
                .unwrap_or_else(|| "-".into())
        };
        let reason = header("x-mock-error");
        let content_type = header("content-type");
        let body = resp.text().await.unwrap_or_else(|e| format!("<{e}>"));
        let _ = write!(
            self.out,
            "### {step} {title}\nstatus: {status}\nx-mock-error: {reason}\ncontent-type: {content_type}\n{body}\n\n",
            step = self.step,
            body = normalise(&body, also),
        );
        body
    }

    /// A signed `/api` call (module from the action) under `prefix` ("" or
    /// "/ns/NAME"); `extra` form pairs override the signed ones.
    async fn call_at(&mut self, prefix: &str, action: &str, params: Value) -> Value {
        let module = if action == "refund" {
            "common"
        } else {
            "baremetal"
        };
        let mut pairs: Vec<(String, String)> = vec![
            ("module".into(), module.into()),
            ("action".into(), action.into()),
            ("userid".into(), USERID.into()),
            ("time".into(), TIME.into()),
            ("sign".into(), sign(module, action)),
            ("version".into(), "9.9.9".into()),
            ("system_type".into(), "zkeys_web".into()),
            ("vtime".into(), VTIME.into()),
        ];
        let mut extra = Vec::new();
        apayun_mock::client::php_build_query("", &params, &mut extra);
        for (k, v) in extra {
            pairs.retain(|(pk, _)| *pk != k);
            pairs.push((k, v));
        }
        let title = format!(
            "POST {prefix}/api {}",
            pairs
                .iter()
                .filter(|(k, _)| k != "sign" && k != "time" && k != "vtime")
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("&")
        );
        let resp = self
            .http
            .post(format!("{}{prefix}/api", self.base))
            .form(&pairs)
            .send()
            .await
            .unwrap_or_else(|e| panic!("{title}: {e}"));
        let body = self.record(&title, resp).await;
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }

    async fn call(&mut self, action: &str, params: Value) -> Value {
        self.call_at("", action, params).await
    }

    /// A raw form post (for requests the signed helper cannot express).
    async fn raw(&mut self, title: &str, content_type: &str, body: &str) {
        let resp = self
            .http
            .post(format!("{}/api", self.base))
            .header("content-type", content_type)
            .body(body.to_string())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{title}: {e}"));
        self.record(&format!("POST /api raw {title}"), resp).await;
    }

    async fn control(&mut self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.control_masking(method, path, body, &[]).await
    }

    /// [`Script::control`], masking the keys `also` in its answer.
    async fn control_masking(
        &mut self,
        method: &str,
        path: &str,
        body: Option<Value>,
        also: &[&str],
    ) -> Value {
        let m = reqwest::Method::from_bytes(method.as_bytes())
            .unwrap_or_else(|e| panic!("{method}: {e}"));
        let mut req = self.http.request(m, format!("{}{path}", self.base));
        let mut title = format!("{method} {path}");
        if let Some(b) = body {
            title.push_str(&format!(" {b}"));
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap_or_else(|e| panic!("{title}: {e}"));
        let body = self.record_masking(&title, resp, also).await;
        serde_json::from_str(&body).unwrap_or(Value::Null)
    }

    async fn advance(&mut self, seconds: u64) {
        self.control(
            "POST",
            "/_mock/clock/advance",
            Some(json!({ "seconds": seconds })),
        )
        .await;
    }
}

fn upgrade_params(guid: &str, order: &str, bw: &str, ipnum: &str, ip_type: &str) -> Value {
    json!({
        "guid": guid, "defense": "0", "bandwidth": bw, "ip_type": ip_type,
        "ipnum": ipnum, "clientOrderNo": "18369", "clientUserId": "1100123",
        "agent_order_no": order,
    })
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_string()
}

/// Runs the whole script; returns the recording.
async fn run_script() -> String {
    let engine = MockEngine::builder()
        .rng_seed(42)
        .config(|c| c.time_skew = 0)
        .start()
        .await
        .unwrap_or_else(|e| panic!("engine failed to start: {e}"));
    let mut s = Script {
        base: engine.base_url(),
        http: reqwest::Client::new(),
        out: String::new(),
        step: 0,
    };

    // ---- a fixed clock
    // Frozen first (at the real time, masked), then set: no tick between.
    s.control_masking("POST", "/_mock/clock/freeze", None, &["now"])
        .await;
    s.control("POST", "/_mock/clock/set", Some(json!({ "now": START })))
        .await;
    s.control("GET", "/_mock/clock", None).await;

    // ---- reads, JSON and XML
    s.call("getzones", json!({})).await;
    s.call("getzones", json!({"dataType": "xml"})).await;
    s.call("sync_line", json!({})).await;
    s.call("getsystems", json!({})).await;
    s.call("sync_harddisk", json!({})).await;
    s.call("sync_product", json!({})).await;
    s.call("sync_product", json!({"dataType": "xml"})).await;
    s.call("sync_baremetal", json!({})).await;
    s.call("sync_baremetal", json!({"guid": EXAMPLE_GUID}))
        .await;
    s.call(
        "sync_baremetal",
        json!({"guid": EXAMPLE_GUID, "dataType": "xml"}),
    )
    .await;
    s.call("degrade_ip_list", json!({"guid": EXAMPLE_GUID}))
        .await;

    // ---- the main refusals
    let mut bad_sign = format!(
        "module=baremetal&action=getzones&userid={USERID}&time={TIME}&version=9.9.9&system_type=zkeys_web&vtime={VTIME}&sign="
    );
    bad_sign.push_str(&"0".repeat(32));
    s.raw("bad sign", "application/x-www-form-urlencoded", &bad_sign)
        .await;
    s.raw(
        "missing userid",
        "application/x-www-form-urlencoded",
        &format!("module=baremetal&action=getzones&time={TIME}&sign=x"),
    )
    .await;
    s.raw("not a form", "text/plain", "hello").await;
    s.call("nope", json!({})).await;
    s.call("stop", json!({"guid": UNKNOWN_GUID})).await;
    s.call("renew", json!({"guid": EXAMPLE_GUID})).await;
    s.call(
        "create",
        create_params_with("590682534662098001", json!({"num": "abc"})),
    )
    .await;
    s.call("create", create_params_with("", json!({}))).await;
    s.call(
        "create",
        create_params_with(
            "590682534662098002",
            json!({"lineGuid": LINE_NM, "productGuid": PRODUCT_ATOM, "num": "4"}),
        ),
    )
    .await;
    s.call(
        "create",
        create_params_with("590682534662098003", json!({"months": "7"})),
    )
    .await;

    // ---- a life: create, provision, power, renew, setpass, install
    let made = s
        .call(
            "create",
            create_params_with("590682534662098010", json!({})),
        )
        .await;
    let guid = text(&made["data"][0]["guid"]);
    assert!(!guid.is_empty(), "create made no instance: {made}");
    // Repeating the same agent order number answers the same.
    s.call(
        "create",
        create_params_with("590682534662098010", json!({})),
    )
    .await;
    s.control("GET", "/_mock/timeline", None).await;
    s.call("start", json!({"guid": guid})).await;
    s.advance(60).await;
    s.call("sync_baremetal", json!({"guid": guid})).await;
    s.call("sync_baremetal", json!({})).await;
    s.call("sync_baremetal", json!({"dataType": "xml"})).await;
    s.control("GET", "/_mock/timeline", None).await;
    s.call("stop", json!({"guid": guid})).await;
    s.call("stop", json!({"guid": guid})).await;
    s.advance(60).await;
    s.call("start", json!({"guid": guid})).await;
    s.advance(60).await;
    s.call("restart", json!({"guid": guid})).await;
    s.advance(120).await;
    s.call("renew", json!({"guid": guid, "months": "1"})).await;
    s.call(
        "setpass",
        json!({"guid": guid, "loginPassword": "TmV3UGFzczEyMyE="}),
    )
    .await;
    s.call(
        "setpass",
        json!({"guid": guid, "loginPassword": "not base64!"}),
    )
    .await;
    s.call("stop", json!({"guid": guid})).await;
    s.advance(60).await;
    s.call(
        "setpass",
        json!({"guid": guid, "loginPassword": "TmV3UGFzczEyMyE="}),
    )
    .await;
    s.advance(300).await;
    s.call(
        "install",
        json!({
            "guid": guid, "systemGuid": UBUNTU, "loginPassword": "TmV3UGFzczEyMyE=",
            "system_partition_size": "0", "installType": "install", "install_mode": "1",
        }),
    )
    .await;
    s.advance(3600).await;
    s.call("sync_baremetal", json!({"guid": guid})).await;

    // ---- upgrade, degrade
    s.call(
        "upgrade",
        upgrade_params(&guid, "590682534662098020", "1", "0", "1"),
    )
    .await;
    s.advance(60).await;
    s.call(
        "upgrade",
        upgrade_params(&guid, "590682534662098021", "0", "8", "2"),
    )
    .await;
    s.advance(60).await;
    // A second subnet of the same size: the upgrade limits refuse it.
    s.call(
        "upgrade",
        upgrade_params(&guid, "590682534662098022", "0", "8", "2"),
    )
    .await;
    s.call("sync_baremetal", json!({"guid": guid})).await;
    s.call("degrade_ip_list", json!({"guid": guid})).await;
    let degraded = s
        .call(
            "degrade",
            json!({"guid": guid, "param": [{"item": "bandwidth", "value": "1"}]}),
        )
        .await;
    s.call("degrade", json!({"guid": guid})).await;
    s.call("degrade_ip_list", json!({"guid": guid})).await;
    let degrade_guid = text(&degraded["data"]["data"]["bandwidth"]);
    s.call(
        "degrade_cancel",
        json!({"guid": guid, "degrade_guid": degrade_guid}),
    )
    .await;
    s.call(
        "degrade_cancel",
        json!({"guid": guid, "degrade_guid": "1700000000000001"}),
    )
    .await;

    // ---- control API
    s.control(
        "PATCH",
        &format!("/_mock/baremetal/{guid}"),
        Some(json!({"run_status": -1, "act_status": 0, "lock_status": 0})),
    )
    .await;
    s.control(
        "PATCH",
        &format!("/_mock/baremetal/{guid}"),
        Some(json!({"cpu": "8"})),
    )
    .await;
    s.control(
        "PATCH",
        &format!("/_mock/baremetal/{UNKNOWN_GUID}"),
        Some(json!({"run_status": -1})),
    )
    .await;
    s.call("sync_baremetal", json!({"guid": guid})).await;
    s.control("POST", "/_mock/clock/set", Some(json!({"now": START})))
        .await;
    s.control("POST", "/_mock/clock/advance", Some(json!({"secnods": 1})))
        .await;
    s.control(
        "POST",
        "/_mock/faults",
        Some(json!({"action": "getzones", "times": 1, "effect": {
            "kind": "error", "code": 7, "message": "库存不足", "reason": "out_of_stock"
        }})),
    )
    .await;
    s.control("GET", "/_mock/faults", None).await;
    s.call("getzones", json!({})).await;
    s.call("getzones", json!({})).await;
    s.control("DELETE", "/_mock/faults", None).await;
    s.control("GET", "/_mock/requests?limit=3", None).await;
    s.control("GET", "/_mock/requests?action=create&limit=2", None)
        .await;
    s.control("POST", "/_mock/snapshots", Some(json!({"name": "g1"})))
        .await;
    s.control("GET", "/_mock/snapshots", None).await;
    s.call("refund", json!({"guid": guid, "productType": "baremetal"}))
        .await;
    s.call("start", json!({"guid": guid})).await;
    s.advance(86_400).await;
    s.call("sync_baremetal", json!({"guid": guid})).await;
    s.control("POST", "/_mock/snapshots/g1/restore", None).await;
    s.call("sync_baremetal", json!({"guid": guid})).await;
    s.control("POST", "/_mock/snapshots/nosuch/restore", None)
        .await;
    s.control("DELETE", "/_mock/snapshots/g1", None).await;

    // ---- namespaces
    s.control(
        "POST",
        "/_mock/namespaces",
        Some(json!({"name": "golden-ns", "from": "default"})),
    )
    .await;
    s.call_at("/ns/golden-ns", "sync_baremetal", json!({"guid": guid}))
        .await;
    s.call_at("/ns/golden-ns", "stop", json!({"guid": guid}))
        .await;
    s.call_at("/ns/fresh-ns", "getzones", json!({})).await;
    s.control("DELETE", "/_mock/namespaces/golden-ns", None)
        .await;
    s.control("DELETE", "/_mock/namespaces/golden-ns", None)
        .await;

    // ---- transitions falling due after a long move of the clock
    s.control("GET", "/_mock/timeline", None).await;
    s.advance(40 * 86_400).await;
    s.control("GET", "/_mock/timeline", None).await;
    s.call("sync_baremetal", json!({"guid": guid})).await;
    s.call("sync_baremetal", json!({"guid": EXAMPLE_GUID}))
        .await;
    // A reset puts the clock back to the real time and lets it run: the
    // `now` of the reset and of the freeze after it are masked, then the
    // clock is set to a fixed instant again.
    s.control_masking("POST", "/_mock/reset", None, &["now"])
        .await;
    s.control_masking("POST", "/_mock/clock/freeze", None, &["now"])
        .await;
    s.control("POST", "/_mock/clock/set", Some(json!({ "now": START })))
        .await;
    s.control("GET", "/_mock/clock", None).await;
    s.call("sync_baremetal", json!({})).await;

    engine.stop().await;
    s.out
}

#[tokio::test]
async fn answers_match_the_recording() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/api.txt");
    let actual = run_script().await;
    if std::env::var_os("GOLDEN_BLESS").is_some() {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{dir:?}: {e}"));
        }
        std::fs::write(&path, &actual).unwrap_or_else(|e| panic!("{path:?}: {e}"));
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!("{path:?}: {e}; record it with GOLDEN_BLESS=1 cargo test --test golden")
    });
    if actual != expected {
        let (a, e): (Vec<&str>, Vec<&str>) = (actual.lines().collect(), expected.lines().collect());
        let at = a
            .iter()
            .zip(&e)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(e.len()));
        let from = at.saturating_sub(6);
        panic!(
            "answers differ from {path:?} at line {}:\n--- recorded\n{}\n--- now\n{}\n\
             (re-record with GOLDEN_BLESS=1 cargo test --test golden if the change is intended)",
            at + 1,
            e[from..(at + 3).min(e.len())].join("\n"),
            a[from..(at + 3).min(a.len())].join("\n"),
        );
    }
}
