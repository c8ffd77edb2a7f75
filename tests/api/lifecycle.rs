//! Instance lifecycle over HTTP (docs/contract.md, "Instance states"): every create rule, the
//! gating of every instance action in every state, ownership, the list view,
//! whole lives from create to release, refund, install rules, calendar-month
//! arithmetic and the clock and timeline control calls.

use apayun_mock::test_support::fixtures::{
    LINE_CLOSED, LINE_HK, LINE_NM, PRODUCT_ATOM, PRODUCT_CLOSED_LINE, PRODUCT_HK, PRODUCT_NM_GOLD,
    PRODUCT_OFF, UBUNTU,
};
use apayun_mock::test_support::store::instances::stock_counts;
use serde_json::{json, Value};

use crate::helpers::{
    fmt, plus_months, plus_seconds, text, TestApp, EXAMPLE_GUID, LINE, PRODUCT, SYSTEM,
};

/// Linux class, install only.
const ROCKY: &str = "1695196885222203";
/// Windows class; `cpu_limit` 4, `ram_limit` 8; create and install.
const WINDOWS: &str = "1695196885222301";
/// `support` is `server` only (cloud hosts, not bare metal).
const CLOUD_ONLY: &str = "1695196885222303";
/// Only on line 1665907446560259.
const OLD_CENTOS: &str = "1695196885222115";

/// base64 of `NewPass123!`.
const PASSWORD2: &str = "TmV3UGFzczEyMyE=";

const EVERY_PRODUCT: &[&str] = &[
    PRODUCT,
    "1665907642748801",
    PRODUCT_HK,
    PRODUCT_NM_GOLD,
    PRODUCT_ATOM,
    PRODUCT_OFF,
    PRODUCT_CLOSED_LINE,
];

// ---------------------------------------------------------------- helpers

/// The document's create request with some fields replaced.
fn create_with(overrides: Value) -> Value {
    let mut params = TestApp::create_request(1);
    if let (Some(p), Some(o)) = (params.as_object_mut(), overrides.as_object()) {
        for (k, v) in o {
            p.insert(k.clone(), v.clone());
        }
    }
    params
}

/// A complete state, so that each forced state overwrites the one before.
fn state(order: i64, run: i64, act: i64) -> Value {
    json!({"order_status": order, "run_status": run, "act_status": act, "push_status": 0, "lock_status": 0})
}

async fn set_clock(app: &TestApp, now: &str) -> Value {
    app.control_ok("POST", "/_mock/clock/set", Some(json!({"now": now})))
        .await
}

/// The pending transitions of one instance, as `kind@due`.
async fn pending_of(app: &TestApp, guid: &str) -> Vec<String> {
    app.pending()
        .await
        .iter()
        .filter(|t| t["guid"] == guid)
        .map(|t| format!("{}@{}", text(&t["kind"]), text(&t["due"])))
        .collect()
}

/// Free stock units of every product, read through the library.
async fn free_stock(app: &TestApp) -> Vec<(String, i64, i64)> {
    let engine = apayun_mock::test_support::default_engine(&app.engine)
        .await
        .expect("default engine");
    let conn = engine.store().lock();
    EVERY_PRODUCT
        .iter()
        .map(|p| {
            let (total, free) = stock_counts(&conn, p).expect("stock counts");
            (p.to_string(), total, free)
        })
        .collect()
}

/// The parameters each instance action needs, all valid for a running
/// instance of the example line.
fn action_params(action: &str, guid: &str) -> Value {
    match action {
        "setpass" => json!({"guid": guid, "loginPassword": PASSWORD2}),
        "install" => json!({
            "guid": guid, "systemGuid": UBUNTU, "loginPassword": PASSWORD2,
            "system_partition_size": "0", "installType": "install", "install_mode": "1",
        }),
        "renew" => json!({"guid": guid, "months": "1"}),
        "refund" => json!({"guid": guid, "productType": "baremetal"}),
        "upgrade" => json!({"guid": guid, "bandwidth": "5", "ipnum": "", "defense": ""}),
        "degrade" => json!({"guid": guid, "param": [{"item": "bandwidth", "value": "5"}]}),
        "degrade_cancel" => json!({"guid": guid, "degrade_guid": "1700000000000001"}),
        _ => json!({"guid": guid}),
    }
}

fn ip_list(instance: &Value) -> Vec<String> {
    instance["ip"]
        .as_array()
        .map(|ips| ips.iter().map(|i| text(&i["ip"])).collect())
        .unwrap_or_default()
}

// ---------------------------------------------------------------- create

#[tokio::test]
async fn create_refuses_each_rule_with_its_own_reason_and_allocates_nothing() {
    let app = TestApp::spawn().await;
    let stock_before = free_stock(&app).await;
    let timeline_before = app.pending().await;
    #[rustfmt::skip]
    let cases: Vec<(Value, &str, &[&str])> = vec![
        (json!({"lineGuid": "1665907446569999"}), "line_not_found", &["1665907446569999"]),
        (json!({"lineGuid": LINE_CLOSED, "productGuid": PRODUCT_CLOSED_LINE}), "line_not_for_sale", &[LINE_CLOSED, "buy_status 0"]),
        (json!({"productGuid": "1665907642749999"}), "product_not_found", &["1665907642749999"]),
        (json!({"productGuid": PRODUCT_HK}), "product_not_on_line", &[PRODUCT_HK, LINE_HK, LINE]),
        (json!({"productGuid": PRODUCT_OFF}), "product_disabled", &[PRODUCT_OFF, "status 0"]),
        (json!({"systemGuid": "1695196885229999"}), "system_not_found", &["1695196885229999"]),
        (json!({"systemGuid": CLOUD_ONLY}), "system_not_baremetal", &["support server"]),
        (json!({"lineGuid": LINE_NM, "productGuid": PRODUCT_NM_GOLD, "systemGuid": OLD_CENTOS}), "system_not_on_line", &[LINE_NM]),
        (json!({"systemGuid": ROCKY}), "system_not_for_create", &["Rocky Linux 9"]),
        (json!({"lineGuid": LINE_NM, "productGuid": PRODUCT_ATOM, "systemGuid": WINDOWS}), "system_cpu_limit", &["2", "4", "Windows"]),
        (json!({"months": "7"}), "months_not_allowed", &["7"]),
        (json!({"months": "0"}), "months_not_allowed", &["0"]),
        (json!({"months": "60"}), "months_not_allowed", &["60"]),
        (json!({"num": "0"}), "num_out_of_range", &["0", "10"]),
        (json!({"num": "11"}), "num_out_of_range", &["11", "10"]),
        (json!({"loginPassword": "not base64!"}), "password_not_base64", &["loginPassword"]),
        (json!({"system_partition_size": "0"}), "partition_size_invalid", &["51200"]),
        (json!({"system_partition_size": "-2"}), "partition_size_invalid", &["-2"]),
        (json!({"system_partition_size": "51201"}), "partition_size_invalid", &["51201"]),
        (json!({"lineGuid": LINE_NM, "productGuid": PRODUCT_ATOM, "system_partition_size": "1024"}), "partition_size_invalid", &["不支持分区"]),
        (json!({"lineGuid": LINE_NM, "productGuid": PRODUCT_ATOM, "num": "4"}), "out_of_stock", &["剩余 3", "需要 4"]),
        (json!({"num": "abc"}), "bad_param", &["num"]),
        (json!({"agent_order_no": ""}), "missing_param", &["agent_order_no"]),
    ];
    for (overrides, reason, words) in &cases {
        let message = app
            .fails("create", create_with(overrides.clone()), reason)
            .await;
        for w in *words {
            assert!(
                message.contains(w),
                "{overrides}: {message:?} should name {w:?}"
            );
        }
    }
    assert_eq!(
        free_stock(&app).await,
        stock_before,
        "a refused create took stock"
    );
    assert_eq!(
        app.pending().await,
        timeline_before,
        "a refused create scheduled something"
    );
    let list = app.ok("sync_baremetal", json!({})).await;
    assert_eq!(
        list["total_number"], "1",
        "only the example instance: {list}"
    );

    // The next good create gets the lowest free unit and address, untouched.
    let data = app.ok("create", TestApp::create_request(1)).await;
    assert_eq!(data[0]["stock_id"], "57");
    assert_eq!(data[0]["cabinet_sn"], "zhzy_571-1");
    assert_eq!(ip_list(&data[0]), ["192.168.12.49"]);
    // The largest partition the product allows is accepted.
    let data = app
        .ok(
            "create",
            create_with(json!({"system_partition_size": "51200"})),
        )
        .await;
    assert_eq!(data[0]["system_partition_size"], "51200");
    // So is the Atom product's whole stock, once, on its own line.
    let atom = json!({"lineGuid": LINE_NM, "productGuid": PRODUCT_ATOM, "num": "3"});
    let data = app.ok("create", create_with(atom.clone())).await;
    let cabinets: Vec<String> = data
        .as_array()
        .map(|a| a.iter().map(|i| text(&i["cabinet_sn"])).collect())
        .unwrap_or_default();
    assert_eq!(cabinets, ["nm_d01-1", "nm_d01-2", "nm_d02-1"]);
    app.fails(
        "create",
        create_with(json!({"lineGuid": LINE_NM, "productGuid": PRODUCT_ATOM})),
        "out_of_stock",
    )
    .await;
}

/// A seed set where the Atom product has enough cores for Windows but not
/// enough memory, so the memory rule is reached on its own.
#[tokio::test]
async fn create_refuses_a_system_whose_memory_limit_the_product_misses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed-data");
    for entry in std::fs::read_dir(&src).expect("seed-data") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
    }
    let products_path = dir.path().join("products.json");
    let mut products: Value =
        serde_json::from_str(&std::fs::read_to_string(&products_path).expect("read"))
            .expect("json");
    for p in products.as_array_mut().expect("array") {
        if p["guid"] == PRODUCT_ATOM {
            p["cpu_value"] = json!("4");
        }
    }
    std::fs::write(&products_path, products.to_string()).expect("write");
    let app = TestApp::with(
        apayun_mock::MockEngine::builder()
            .rng_seed(42)
            .seed_data(dir.path()),
    )
    .await;
    let message = app
        .fails(
            "create",
            create_with(
                json!({"lineGuid": LINE_NM, "productGuid": PRODUCT_ATOM, "systemGuid": WINDOWS}),
            ),
            "system_ram_limit",
        )
        .await;
    assert!(
        message.contains("4G") && message.contains("8G"),
        "{message}"
    );
    // The same product takes a Linux system.
    app.ok(
        "create",
        create_with(json!({"lineGuid": LINE_NM, "productGuid": PRODUCT_ATOM})),
    )
    .await;
}

#[tokio::test]
async fn create_three_gives_distinct_units_and_addresses_then_provisions() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    let data = app.ok("create", TestApp::create_request(3)).await;
    let list = data.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 3, "{data}");
    let field = |k: &str| list.iter().map(|i| text(&i[k])).collect::<Vec<_>>();
    assert_eq!(field("stock_id"), ["57", "58", "59"]);
    assert_eq!(
        field("cabinet_sn"),
        ["zhzy_571-1", "zhzy_581-2", "zhzy_591-3"]
    );
    assert_eq!(field("order_status"), ["0", "0", "0"]);
    let mut guids = field("guid");
    guids.sort();
    guids.dedup();
    assert_eq!(guids.len(), 3, "GUIDs must differ: {guids:?}");
    let ips: Vec<Vec<String>> = list.iter().map(ip_list).collect();
    assert_eq!(
        ips,
        [["192.168.12.49"], ["192.168.12.50"], ["192.168.12.51"]],
        "one primary IP each"
    );
    for inst in &list {
        let ip = &inst["ip"][0];
        assert_eq!(ip["is_default"], "1");
        assert_eq!(ip["net_type"], "ip");
        assert_eq!(ip["status"], "1");
        assert_eq!(ip["gateway"], "192.168.12.254");
        assert_eq!(inst["end_time"], plus_months(&text(&inst["start_time"]), 1));
    }
    app.advance(29).await;
    for g in field("guid") {
        assert_eq!(app.instance(&g).await["order_status"], "0", "not yet");
    }
    app.advance(1).await;
    for g in field("guid") {
        let inst = app.instance(&g).await;
        assert_eq!(
            (
                text(&inst["order_status"]),
                text(&inst["run_status"]),
                text(&inst["act_status"])
            ),
            ("1".into(), "1".into(), "0".into()),
            "{inst}"
        );
    }
}

#[tokio::test]
async fn repeated_agent_order_no_replays_and_allocates_nothing() {
    let app = TestApp::spawn().await;
    let params = TestApp::create_request(2);
    let first = app.ok("create", params.clone()).await;
    let stock = free_stock(&app).await;
    let timeline = app.pending().await;
    let again = app.ok("create", params.clone()).await;
    assert_eq!(again, first, "a replay returns the original answer");
    assert_eq!(free_stock(&app).await, stock);
    assert_eq!(app.pending().await, timeline);
    let list = app.ok("sync_baremetal", json!({})).await;
    assert_eq!(list["total_number"], "3", "example + 2: {list}");
    // The next order takes the next unit, not one the replay might have held.
    let next = app.ok("create", TestApp::create_request(1)).await;
    assert_eq!(next[0]["stock_id"], "59");
    // The number is per member: user 2 with the same number gets its own order.
    let other = app
        .user2()
        .call("create", params)
        .await
        .expect("user 2 create");
    assert_eq!(other.code(), 0, "{}", other.text);
    assert_eq!(other.data()[0]["stock_id"], "60");
    assert_ne!(other.data()[0]["guid"], first[0]["guid"]);
}

// ---------------------------------------------------------------- gating

/// What an action should do in a forced state.
enum Expect {
    /// Accepted; `act_status` becomes this while it runs ("" = not checked).
    Busy(&'static str),
    /// Refused with this reason; the message names these words.
    Refused(&'static str, &'static [&'static str]),
}

#[tokio::test]
async fn every_action_is_gated_by_state_as_behaviour_4_says() {
    use Expect::*;
    let app = TestApp::spawn().await;
    app.freeze().await;
    let guid = app.create_running().await;
    let running = state(1, 1, 0);
    let stopped = state(1, -1, 0);
    let locked = state(1, -2, 0);
    let provisioning = state(0, 1, 0);
    let expired = state(3, -2, 0);
    let deleted = state(-2, -1, 0);
    let busy = |act: i64| state(1, 1, act);
    let busy_stopped = |act: i64| state(1, -1, act);
    let with = |mut base: Value, field: &str| {
        base[field] = json!(1);
        base
    };
    let admin_locked = with(running.clone(), "lock_status");
    let admin_locked_stopped = with(stopped.clone(), "lock_status");
    let pushing = with(running.clone(), "push_status");
    const ORDER: &str = "order_status_forbids";
    const RUN: &str = "run_status_forbids";
    const ACT: &str = "act_status_forbids";
    const LOCK: &str = "lock_status_forbids";
    const PROVISIONING: &[&str] = &["开通中", "order_status 0"];
    const EXPIRED: &[&str] = &["已过期", "order_status 3"];
    const DELETED: &[&str] = &["已删除", "order_status -2"];
    const LOCKED: &[&str] = &["lock_status 1"];
    #[rustfmt::skip]
    let cases: Vec<(&str, Value, Expect)> = vec![
        ("stop", running.clone(), Busy("6")),
        ("stop", pushing.clone(), Busy("6")),
        ("stop", stopped.clone(), Refused(RUN, &["已关机", "run_status -1"])),
        ("stop", locked.clone(), Refused(RUN, &["已锁定", "run_status -2"])),
        ("stop", busy(1), Refused(ACT, &["重启中", "act_status 1"])),
        ("stop", busy(6), Refused(ACT, &["关机中", "act_status 6"])),
        ("stop", provisioning.clone(), Refused(ORDER, PROVISIONING)),
        ("stop", expired.clone(), Refused(ORDER, EXPIRED)),
        ("stop", deleted.clone(), Refused(ORDER, DELETED)),
        ("stop", admin_locked.clone(), Refused(LOCK, LOCKED)),
        ("start", stopped.clone(), Busy("5")),
        ("start", running.clone(), Refused(RUN, &["运行中", "run_status 1"])),
        ("start", locked.clone(), Refused(RUN, &["已锁定", "run_status -2"])),
        ("start", busy_stopped(6), Refused(ACT, &["关机中", "act_status 6"])),
        ("start", provisioning.clone(), Refused(ORDER, PROVISIONING)),
        ("start", expired.clone(), Refused(ORDER, EXPIRED)),
        ("start", deleted.clone(), Refused(ORDER, DELETED)),
        ("start", admin_locked_stopped.clone(), Refused(LOCK, LOCKED)),
        ("restart", running.clone(), Busy("1")),
        ("restart", stopped.clone(), Refused(RUN, &["已关机", "run_status -1"])),
        ("restart", locked.clone(), Refused(RUN, &["已锁定"])),
        ("restart", busy(2), Refused(ACT, &["重装中", "act_status 2"])),
        ("restart", provisioning.clone(), Refused(ORDER, PROVISIONING)),
        ("restart", expired.clone(), Refused(ORDER, EXPIRED)),
        ("restart", deleted.clone(), Refused(ORDER, DELETED)),
        ("restart", admin_locked.clone(), Refused(LOCK, LOCKED)),
        ("setpass", stopped.clone(), Busy("3")),
        ("setpass", running.clone(), Refused(RUN, &["运行中", "run_status 1"])),
        ("setpass", locked.clone(), Refused(RUN, &["已锁定"])),
        ("setpass", busy_stopped(5), Refused(ACT, &["开机中", "act_status 5"])),
        ("setpass", provisioning.clone(), Refused(ORDER, PROVISIONING)),
        ("setpass", expired.clone(), Refused(ORDER, EXPIRED)),
        ("setpass", deleted.clone(), Refused(ORDER, DELETED)),
        ("setpass", admin_locked_stopped.clone(), Refused(LOCK, LOCKED)),
        ("install", running.clone(), Busy("2")),
        ("install", stopped.clone(), Busy("2")),
        ("install", locked.clone(), Refused(RUN, &["已锁定", "run_status -2"])),
        ("install", busy(3), Refused(ACT, &["密码重设中", "act_status 3"])),
        ("install", busy(4), Refused(ACT, &["升级中", "act_status 4"])),
        ("install", provisioning.clone(), Refused(ORDER, PROVISIONING)),
        ("install", expired.clone(), Refused(ORDER, EXPIRED)),
        ("install", deleted.clone(), Refused(ORDER, DELETED)),
        ("install", admin_locked.clone(), Refused(LOCK, LOCKED)),
        ("renew", running.clone(), Busy("")),
        ("renew", stopped.clone(), Busy("")),
        ("renew", expired.clone(), Busy("")),
        ("renew", admin_locked.clone(), Busy("")),
        ("renew", provisioning.clone(), Refused(ORDER, PROVISIONING)),
        ("renew", deleted.clone(), Refused(ORDER, DELETED)),
        ("refund", deleted.clone(), Refused(ORDER, DELETED)),
        ("upgrade", busy(5), Refused(ACT, &["开机中", "act_status 5"])),
        ("upgrade", pushing.clone(), Refused("push_status_forbids", &["push_status 1"])),
        ("upgrade", provisioning.clone(), Refused(ORDER, PROVISIONING)),
        ("upgrade", expired.clone(), Refused(ORDER, EXPIRED)),
        ("upgrade", deleted.clone(), Refused(ORDER, DELETED)),
        ("upgrade", admin_locked.clone(), Refused(LOCK, LOCKED)),
        ("degrade", provisioning.clone(), Refused(ORDER, PROVISIONING)),
        ("degrade", expired.clone(), Refused(ORDER, EXPIRED)),
        ("degrade", deleted.clone(), Refused(ORDER, DELETED)),
        ("degrade_cancel", provisioning.clone(), Refused(ORDER, PROVISIONING)),
        ("degrade_cancel", deleted.clone(), Refused(ORDER, DELETED)),
    ];
    for (action, forced, expect) in &cases {
        let before = app.patch(&guid, forced.clone()).await;
        let answer = app.call(action, action_params(action, &guid)).await;
        let after = app.instance(&guid).await;
        match expect {
            Busy(act) => {
                assert_eq!(answer.code(), 0, "{action} in {forced}: {}", answer.text);
                if !act.is_empty() {
                    assert_eq!(after["act_status"], *act, "{action} in {forced}: {after}");
                }
            }
            Refused(reason, words) => {
                assert_eq!(answer.code(), 1, "{action} in {forced}: {}", answer.text);
                assert_eq!(
                    answer.reason.as_deref(),
                    Some(*reason),
                    "{action} in {forced}: {}",
                    answer.text
                );
                let message = text(&answer.json()["message"]);
                for w in *words {
                    assert!(
                        message.contains(w),
                        "{action} in {forced}: {message:?} should name {w:?}"
                    );
                }
                for k in [
                    "order_status",
                    "run_status",
                    "act_status",
                    "end_time",
                    "system_guid",
                ] {
                    assert_eq!(after[k], before[k], "a refused {action} changed {k}");
                }
            }
        }
    }
}

#[tokio::test]
async fn renew_needs_a_month_from_the_line_and_extends_from_end_time() {
    let app = TestApp::spawn().await;
    let guid = app.create_running().await;
    let end = text(&app.instance(&guid).await["end_time"]);
    for months in ["7", "0", "48"] {
        let message = app
            .fails(
                "renew",
                json!({"guid": guid, "months": months}),
                "months_not_allowed",
            )
            .await;
        assert!(message.contains(months), "{message}");
    }
    app.fails("renew", json!({"guid": guid}), "missing_param")
        .await;
    let data = app.ok("renew", json!({"guid": guid, "months": "12"})).await;
    assert_eq!(data["end_time"], plus_months(&end, 12));
    assert_eq!(app.instance(&guid).await["end_time"], plus_months(&end, 12));
}

// ---------------------------------------------------------------- ownership

#[tokio::test]
async fn another_members_instance_does_not_exist_for_every_action() {
    let app = TestApp::spawn().await;
    let user2 = app.user2();
    let missing = "1708330228799999";
    let actions = [
        "sync_baremetal",
        "stop",
        "start",
        "restart",
        "setpass",
        "install",
        "renew",
        "refund",
        "upgrade",
        "degrade_ip_list",
        "degrade",
        "degrade_cancel",
    ];
    for action in actions {
        let theirs = user2
            .call(action, action_params(action, EXAMPLE_GUID))
            .await
            .expect("call");
        let nobody = user2
            .call(action, action_params(action, missing))
            .await
            .expect("call");
        for (what, a) in [("user 1's", &theirs), ("a missing", &nobody)] {
            assert_eq!(a.code(), 1, "{action} on {what} instance: {}", a.text);
            assert_eq!(
                a.reason.as_deref(),
                Some("not_found"),
                "{action}: {}",
                a.text
            );
        }
        let m1 = text(&theirs.json()["message"]).replace(EXAMPLE_GUID, "GUID");
        let m2 = text(&nobody.json()["message"]).replace(missing, "GUID");
        assert_eq!(m1, m2, "{action}: the answers must not tell the two apart");
        assert_eq!(theirs.data(), nobody.data(), "{action}");
    }
    // Nothing happened to it, and user 1 still sees it as before.
    let inst = app.instance(EXAMPLE_GUID).await;
    assert_eq!(
        (
            text(&inst["order_status"]),
            text(&inst["run_status"]),
            text(&inst["act_status"])
        ),
        ("1".into(), "1".into(), "0".into())
    );
    let list = user2.call("sync_baremetal", json!({})).await.expect("list");
    assert_eq!(list.data()["total_number"], "0", "{}", list.text);
    assert_eq!(list.data()["baremetal"], json!([]));
}

// ---------------------------------------------------------------- sync

#[tokio::test]
async fn sync_list_is_newest_first_only_the_callers_and_paged() {
    let app = TestApp::spawn().await;
    let mut mine = vec![EXAMPLE_GUID.to_string()];
    for _ in 0..3 {
        let data = app.ok("create", TestApp::create_request(1)).await;
        mine.push(text(&data[0]["guid"]));
    }
    let theirs = app
        .user2()
        .call("create", TestApp::create_request(1))
        .await
        .expect("user 2 create");
    assert_eq!(theirs.code(), 0, "{}", theirs.text);
    let their_guid = text(&theirs.data()[0]["guid"]);
    mine.reverse();

    let mut seen = Vec::new();
    for (page, expect_len) in [(1, 3), (2, 1), (3, 0)] {
        let data = app
            .ok(
                "sync_baremetal",
                json!({"page": page.to_string(), "number": "3"}),
            )
            .await;
        assert_eq!(data["total_number"], json!("4"), "a string: {data}");
        assert_eq!(data["total_page"], json!(2), "a number: {data}");
        let items = data["baremetal"].as_array().cloned().unwrap_or_default();
        assert_eq!(items.len(), expect_len, "page {page}");
        for item in &items {
            assert!(item.get("name").is_some(), "the list view has name: {item}");
            assert!(item.get("client_user_id").is_none(), "{item}");
            seen.push(text(&item["guid"]));
        }
    }
    assert_eq!(seen, mine, "newest first, across pages");
    assert!(!seen.contains(&their_guid));

    let data = app.ok("sync_baremetal", json!({})).await;
    assert_eq!(
        data["total_page"],
        json!(1),
        "default page size holds all 4"
    );
    for (params, reason) in [
        (json!({"page": "0"}), "bad_param"),
        (json!({"number": "0"}), "bad_param"),
        (json!({"number": "1001"}), "bad_param"),
        (json!({"page": "x"}), "bad_param"),
    ] {
        app.fails("sync_baremetal", params, reason).await;
    }

    // The single view: numeric client_user_id, no name, the detail lists.
    let one = app.instance(&mine[0]).await;
    assert_eq!(one["client_user_id"], json!(1100123));
    assert!(one.get("name").is_none(), "{one}");
    for k in ["ip", "upgrade", "degrades"] {
        assert!(one[k].is_array(), "{k}: {one}");
    }
    assert_eq!(one["system_guid"], SYSTEM);
    let example = app.instance(EXAMPLE_GUID).await;
    assert_eq!(example["client_user_id"], json!(1601638));
}

// ---------------------------------------------------------------- whole lives

#[tokio::test]
async fn a_whole_life_from_create_through_expiry_and_renewal() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    let mut params = TestApp::create_request(1);
    params["taskid"] = json!("life-a");
    let data = app.ok("create", params).await;
    let guid = text(&data[0]["guid"]);
    assert_eq!(data[0]["order_status"], "0");

    let check = |inst: &Value, order: &str, run: &str, act: &str| {
        assert_eq!(
            (
                text(&inst["order_status"]),
                text(&inst["run_status"]),
                text(&inst["act_status"])
            ),
            (order.to_string(), run.to_string(), act.to_string()),
            "{inst}"
        );
    };
    app.advance(29).await;
    assert_eq!(app.instance(&guid).await["order_status"], "0");
    app.advance(1).await;
    check(&app.instance(&guid).await, "1", "1", "0");

    // Each step: the action, its parameters, the state at once, the wait,
    // the state after.
    let install = json!({
        "guid": guid, "systemGuid": WINDOWS, "loginPassword": PASSWORD2,
        "system_partition_size": "-1", "installType": "replace", "install_mode": "1",
    });
    type Step = (
        &'static str,
        Value,
        [&'static str; 3],
        u64,
        [&'static str; 3],
    );
    #[rustfmt::skip]
    let steps: Vec<Step> = vec![
        ("stop", json!({"guid": guid}), ["1", "1", "6"], 10, ["1", "-1", "0"]),
        ("setpass", json!({"guid": guid, "loginPassword": PASSWORD2}), ["1", "-1", "3"], 15, ["1", "-1", "0"]),
        ("start", json!({"guid": guid}), ["1", "-1", "5"], 10, ["1", "1", "0"]),
        ("restart", json!({"guid": guid}), ["1", "1", "1"], 20, ["1", "1", "0"]),
        ("install", install, ["1", "1", "2"], 300, ["1", "1", "0"]),
    ];
    for (action, params, during, wait, done) in steps {
        app.ok(action, params).await;
        let inst = app.instance(&guid).await;
        check(&inst, during[0], during[1], during[2]);
        app.advance(wait - 1).await;
        check(&app.instance(&guid).await, during[0], during[1], during[2]);
        app.advance(1).await;
        check(&app.instance(&guid).await, done[0], done[1], done[2]);
    }
    let inst = app.instance(&guid).await;
    assert_eq!(inst["system_guid"], WINDOWS);
    assert_eq!(inst["login_name"], "administrator");

    // Renew, replayed: extended once.
    let end = text(&inst["end_time"]);
    let renew = json!({"guid": guid, "months": "1", "agent_order_no": "renew-life-a"});
    let first = app.ok("renew", renew.clone()).await;
    assert_eq!(first["end_time"], plus_months(&end, 1));
    assert_eq!(app.ok("renew", renew).await, first);
    let end = plus_months(&end, 1);
    assert_eq!(app.instance(&guid).await["end_time"], end);
    assert_eq!(pending_of(&app, &guid).await, [format!("expired@{end}")]);

    // Just before end_time nothing happens; at end_time it expires.
    set_clock(&app, &plus_seconds(&end, -1)).await;
    check(&app.instance(&guid).await, "1", "1", "0");
    set_clock(&app, &end).await;
    check(&app.instance(&guid).await, "3", "-2", "0");
    assert_eq!(
        pending_of(&app, &guid).await,
        [format!("released@{}", plus_seconds(&end, 86_400))],
        "release after retention_days 1"
    );
    app.fails("start", json!({"guid": guid}), "order_status_forbids")
        .await;

    // Renewing lifts the expiry: stopped, not locked, and no release pending.
    let data = app.ok("renew", json!({"guid": guid, "months": "2"})).await;
    let new_end = plus_months(&end, 2);
    assert_eq!(data["end_time"], new_end);
    check(&app.instance(&guid).await, "1", "-1", "0");
    assert_eq!(
        pending_of(&app, &guid).await,
        [format!("expired@{new_end}")]
    );
    app.ok("start", json!({"guid": guid})).await;
    app.advance(10).await;
    check(&app.instance(&guid).await, "1", "1", "0");
}

#[tokio::test]
async fn an_expired_instance_is_released_and_its_unit_and_ip_go_to_the_next_create() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    let data = app.ok("create", TestApp::create_request(1)).await;
    let guid = text(&data[0]["guid"]);
    let stock_id = text(&data[0]["stock_id"]);
    let ip = ip_list(&data[0]);
    app.advance(30).await;
    let end = text(&app.instance(&guid).await["end_time"]);
    set_clock(&app, &end).await;
    let inst = app.instance(&guid).await;
    assert_eq!(
        (text(&inst["order_status"]), text(&inst["run_status"])),
        ("3".into(), "-2".into())
    );
    assert_eq!(inst["ip"][0]["status"], "1", "expired still holds its IP");

    // Held for the line's retention_days (1), then released.
    let free_before = free_stock(&app).await[0].2;
    app.advance(86_399).await;
    assert_eq!(app.instance(&guid).await["order_status"], "3");
    app.advance(1).await;
    let inst = app.instance(&guid).await;
    assert_eq!(inst["order_status"], "-2");
    assert_eq!(inst["ip"][0]["status"], "-1", "{inst}");
    assert_eq!(free_stock(&app).await[0].2, free_before + 1);

    // Visible, listed, for 24 hours.
    let list = app.ok("sync_baremetal", json!({})).await;
    let listed: Vec<(String, String)> = list["baremetal"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|i| (text(&i["guid"]), text(&i["order_status"])))
                .collect()
        })
        .unwrap_or_default();
    assert!(
        listed.contains(&(guid.clone(), "-2".to_string())),
        "{listed:?}"
    );
    for action in ["start", "renew", "refund", "install"] {
        app.fails(action, action_params(action, &guid), "order_status_forbids")
            .await;
    }

    // The freed unit and address are handed out again.
    let next = app.ok("create", TestApp::create_request(1)).await;
    assert_eq!(text(&next[0]["stock_id"]), stock_id);
    assert_eq!(ip_list(&next[0]), ip);

    app.advance(86_399).await;
    assert_eq!(app.instance(&guid).await["order_status"], "-2");
    app.advance(1).await;
    app.fails("sync_baremetal", json!({"guid": guid}), "not_found")
        .await;
    let list = app.ok("sync_baremetal", json!({})).await;
    assert!(!list.to_string().contains(&guid), "{list}");
    assert_eq!(list["total_number"], "2", "example + the new one");
}

// ---------------------------------------------------------------- refund

#[tokio::test]
async fn refund_works_while_provisioning_running_or_expired_and_only_once() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    let running = text(&app.ok("create", TestApp::create_request(1)).await[0]["guid"]);
    let expired = text(&app.ok("create", TestApp::create_request(1)).await[0]["guid"]);
    app.advance(30).await;
    let provisioning = text(&app.ok("create", TestApp::create_request(1)).await[0]["guid"]);
    // An end_time of now expires it at once.
    app.patch(&expired, json!({"end_time": fmt(app.now().await)}))
        .await;
    for (guid, order) in [(&provisioning, "0"), (&running, "1"), (&expired, "3")] {
        assert_eq!(app.instance(guid).await["order_status"], order);
    }
    assert_eq!(free_stock(&app).await[0].2, 8);

    for guid in [&provisioning, &running, &expired] {
        let data = app.ok("refund", action_params("refund", guid)).await;
        assert_eq!(data, json!({}));
        let inst = app.instance(guid).await;
        assert_eq!(inst["order_status"], "-2", "{inst}");
        assert_eq!(inst["ip"][0]["status"], "-1", "{inst}");
        let message = app
            .fails(
                "refund",
                action_params("refund", guid),
                "order_status_forbids",
            )
            .await;
        assert!(message.contains("已删除"), "{message}");
        let kinds: Vec<String> = pending_of(&app, guid)
            .await
            .iter()
            .map(|k| k.split('@').next().unwrap_or_default().to_string())
            .collect();
        assert_eq!(kinds, ["purged"], "only the purge remains for {guid}");
    }
    assert_eq!(free_stock(&app).await[0].2, 11);
    // A refunded provisioning instance never comes up.
    app.advance(60).await;
    assert_eq!(app.instance(&provisioning).await["order_status"], "-2");
    // Refund's own parameter rule.
    app.fails(
        "refund",
        json!({"guid": EXAMPLE_GUID, "productType": "server"}),
        "bad_param",
    )
    .await;
    // Units and addresses come back in order.
    let data = app.ok("create", TestApp::create_request(3)).await;
    let units: Vec<String> = data
        .as_array()
        .map(|a| a.iter().map(|i| text(&i["stock_id"])).collect())
        .unwrap_or_default();
    assert_eq!(units, ["57", "58", "59"]);
    let ips: Vec<String> = data
        .as_array()
        .map(|a| a.iter().flat_map(ip_list).collect())
        .unwrap_or_default();
    assert_eq!(ips, ["192.168.12.49", "192.168.12.50", "192.168.12.51"]);
}

// ---------------------------------------------------------------- install

#[tokio::test]
async fn install_type_mode_and_system_rules() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    let guid = app.create_running().await;
    let install = |system: &str, partition: &str, kind: &str, mode: &str| {
        json!({
            "guid": guid, "systemGuid": system, "loginPassword": PASSWORD2,
            "system_partition_size": partition, "installType": kind, "install_mode": mode,
        })
    };
    let mut bad_password = install(UBUNTU, "0", "install", "1");
    bad_password["loginPassword"] = json!("%%%");
    #[rustfmt::skip]
    let cases: Vec<(Value, &str, &[&str])> = vec![
        (install(UBUNTU, "0", "install", "2"), "install_mode_unsupported", &["install_mode 2"]),
        (install(UBUNTU, "0", "install", "0"), "install_mode_unsupported", &["1"]),
        (install(UBUNTU, "0", "replace", "1"), "install_type_mismatch", &["install"]),
        (install(UBUNTU, "-1", "install", "1"), "install_type_mismatch", &["replace", "-1"]),
        (install(UBUNTU, "10240", "install", "1"), "install_type_mismatch", &["replace", "10240"]),
        (install(WINDOWS, "0", "install", "1"), "install_type_mismatch", &["replace", "类型"]),
        (install(WINDOWS, "-1", "install", "1"), "install_type_mismatch", &["replace"]),
        (install(UBUNTU, "51201", "replace", "1"), "partition_size_invalid", &["51201", "51200"]),
        (install(UBUNTU, "0", "upgrade", "1"), "bad_param", &["installType"]),
        (install(UBUNTU, "-2", "replace", "1"), "bad_param", &["system_partition_size"]),
        (install(CLOUD_ONLY, "0", "install", "1"), "system_not_baremetal", &["support server"]),
        (install("1695196885229999", "0", "install", "1"), "system_not_found", &["1695196885229999"]),
        (bad_password, "password_not_base64", &["loginPassword"]),
    ];
    for (params, reason, words) in &cases {
        let message = app.fails("install", params.clone(), reason).await;
        for w in *words {
            assert!(
                message.contains(w),
                "{params}: {message:?} should name {w:?}"
            );
        }
        let inst = app.instance(&guid).await;
        assert_eq!(
            (text(&inst["act_status"]), text(&inst["system_guid"])),
            ("0".into(), SYSTEM.into())
        );
    }

    // Same class, same partition: install. The new system takes over only
    // when the install completes.
    app.ok("install", install(UBUNTU, "0", "install", "1"))
        .await;
    app.advance(299).await;
    let inst = app.instance(&guid).await;
    assert_eq!(
        (text(&inst["act_status"]), text(&inst["system_guid"])),
        ("2".into(), SYSTEM.into())
    );
    app.advance(1).await;
    let inst = app.instance(&guid).await;
    assert_eq!(
        (text(&inst["act_status"]), text(&inst["system_guid"])),
        ("0".into(), UBUNTU.into())
    );
    // Stopped, a new class: replace; the instance comes back running.
    app.ok("stop", json!({"guid": guid})).await;
    app.advance(10).await;
    app.ok("install", install(WINDOWS, "0", "replace", "1"))
        .await;
    app.advance(300).await;
    let inst = app.instance(&guid).await;
    assert_eq!(
        (
            text(&inst["act_status"]),
            text(&inst["run_status"]),
            text(&inst["system_guid"]),
            text(&inst["login_name"])
        ),
        (
            "0".into(),
            "1".into(),
            WINDOWS.into(),
            "administrator".into()
        )
    );
    // Windows to Windows, new partition layout: replace.
    app.fails(
        "install",
        install(WINDOWS, "20480", "install", "1"),
        "install_type_mismatch",
    )
    .await;
    app.ok("install", install(WINDOWS, "20480", "replace", "1"))
        .await;

    // The Atom product misses Windows' core count; another line's system is refused.
    let atom = app
        .ok(
            "create",
            create_with(json!({"lineGuid": LINE_NM, "productGuid": PRODUCT_ATOM})),
        )
        .await;
    let atom = text(&atom[0]["guid"]);
    app.advance(30).await;
    let on_atom = |system: &str, kind: &str| {
        json!({
            "guid": atom, "systemGuid": system, "loginPassword": PASSWORD2,
            "system_partition_size": "0", "installType": kind, "install_mode": "1",
        })
    };
    app.fails("install", on_atom(WINDOWS, "replace"), "system_cpu_limit")
        .await;
    app.fails(
        "install",
        on_atom(OLD_CENTOS, "install"),
        "system_not_on_line",
    )
    .await;
    // Install-only systems are fine for install.
    app.ok("install", on_atom(ROCKY, "install")).await;
}

// ---------------------------------------------------------------- months

#[tokio::test]
async fn end_time_adds_calendar_months_clamped_to_month_end() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    // Times only move forward, so the cases are in time order.
    let cases = [
        ("2027-01-31 10:00:00", "1", "2027-02-28 10:00:00"),
        ("2027-03-31 23:59:59", "1", "2027-04-30 23:59:59"),
        ("2027-08-31 12:00:00", "6", "2028-02-29 12:00:00"),
        ("2028-01-31 10:00:00", "1", "2028-02-29 10:00:00"),
        ("2028-02-29 08:00:00", "12", "2029-02-28 08:00:00"),
        ("2028-03-01 00:00:00", "36", "2031-03-01 00:00:00"),
        ("2028-05-31 00:00:00", "24", "2030-05-31 00:00:00"),
    ];
    for (start, months, end) in cases {
        set_clock(&app, start).await;
        let data = app
            .ok("create", create_with(json!({"months": months})))
            .await;
        assert_eq!(data[0]["start_time"], start, "{start} + {months}");
        assert_eq!(data[0]["buy_time"], start);
        assert_eq!(data[0]["end_time"], end, "{start} + {months}");
        let guid = text(&data[0]["guid"]);
        assert_eq!(app.instance(&guid).await["end_time"], end);
        assert!(
            pending_of(&app, &guid)
                .await
                .contains(&format!("expired@{end}")),
            "expiry scheduled at end_time"
        );
    }
    // Renewal also counts from end_time: Feb 28 + 1 month is Mar 28.
    set_clock(&app, "2028-06-01 00:00:00").await;
    let data = app.ok("create", create_with(json!({"months": "1"}))).await;
    let guid = text(&data[0]["guid"]);
    app.advance(30).await;
    app.patch(&guid, json!({"end_time": "2029-02-28 10:00:00"}))
        .await;
    let data = app.ok("renew", json!({"guid": guid, "months": "1"})).await;
    assert_eq!(data["end_time"], "2029-03-28 10:00:00");
}

// ---------------------------------------------------------------- clock

#[tokio::test]
async fn clock_control_moves_forward_only_freezes_and_validates() {
    let app = TestApp::spawn().await;
    let clock = app.control_ok("GET", "/_mock/clock", None).await;
    assert_eq!(clock["frozen"], false);
    assert!(
        clock["offset_seconds"]
            .as_i64()
            .is_some_and(|o| o.abs() <= 1),
        "{clock}"
    );
    assert!(
        chrono::NaiveDateTime::parse_from_str(&text(&clock["now"]), "%Y-%m-%d %H:%M:%S").is_ok(),
        "{clock}"
    );

    let frozen = app.freeze().await;
    assert_eq!(frozen["frozen"], true);
    let t0 = text(&frozen["now"]);
    assert_eq!(fmt(app.now().await), t0, "a frozen clock stands still");
    let moved = app
        .control_ok(
            "POST",
            "/_mock/clock/advance",
            Some(json!({"seconds": 3600})),
        )
        .await;
    assert_eq!(moved["now"], plus_seconds(&t0, 3600));
    assert_eq!(moved["frozen"], true);
    let offset = moved["offset_seconds"].as_i64().unwrap_or_default();
    assert!((3598..=3601).contains(&offset), "{moved}");
    // Seconds may come as a string.
    let moved = app
        .control_ok(
            "POST",
            "/_mock/clock/advance",
            Some(json!({"seconds": "60"})),
        )
        .await;
    assert_eq!(moved["now"], plus_seconds(&t0, 3660));

    let target = plus_seconds(&t0, 7200);
    assert_eq!(set_clock(&app, &target).await["now"], target);
    assert_eq!(
        set_clock(&app, &target).await["now"],
        target,
        "setting to now is fine"
    );
    let (status, body) = app
        .control(
            "POST",
            "/_mock/clock/set",
            Some(json!({"now": plus_seconds(&t0, 60)})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"], "clock_backwards");
    assert_eq!(
        fmt(app.now().await),
        target,
        "a refused set leaves the clock alone"
    );

    let resumed = app.control_ok("POST", "/_mock/clock/resume", None).await;
    assert_eq!(resumed["frozen"], false);
    let offset = resumed["offset_seconds"].as_i64().unwrap_or_default();
    assert!(
        (7198..=7201).contains(&offset),
        "resume keeps the offset: {resumed}"
    );

    #[rustfmt::skip]
    let bad: Vec<(&str, Value, &str)> = vec![
        ("/_mock/clock/advance", json!({"seconds": -1}), "bad_seconds"),
        ("/_mock/clock/advance", json!({"seconds": "soon"}), "bad_seconds"),
        ("/_mock/clock/advance", json!({"seconds": 1.5}), "bad_seconds"),
        ("/_mock/clock/advance", json!({}), "bad_json"),
        ("/_mock/clock/advance", json!({"seconds": 1, "extra": 2}), "bad_json"),
        ("/_mock/clock/set", json!({"now": "2099-13-01 00:00:00"}), "bad_time"),
        ("/_mock/clock/set", json!({"now": "tomorrow"}), "bad_time"),
        ("/_mock/clock/set", json!({"now": "2099-01-01"}), "bad_time"),
        ("/_mock/clock/set", json!({}), "bad_json"),
    ];
    for (path, body, reason) in bad {
        let (status, answer) = app.control("POST", path, Some(body.clone())).await;
        assert_eq!(status, 400, "{path} {body}: {answer}");
        assert_eq!(answer["error"], reason, "{path} {body}: {answer}");
        assert!(answer["message"].is_string(), "{answer}");
    }
    // Not JSON at all.
    let resp = app
        .http
        .post(format!("{}/_mock/clock/advance", app.url()))
        .header("content-type", "application/json")
        .body("{seconds: 5")
        .send()
        .await
        .expect("post");
    assert_eq!(resp.status().as_u16(), 400);
    let offset = app.control_ok("GET", "/_mock/clock", None).await["offset_seconds"]
        .as_i64()
        .unwrap_or_default();
    assert!(
        (7198..=7201).contains(&offset),
        "bad input moved the clock: {offset}"
    );
}

#[tokio::test]
async fn timeline_lists_pending_transitions_soonest_first_with_taskid() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    let t0 = fmt(app.now().await);
    let mut params = TestApp::create_request(1);
    params["taskid"] = json!("9001");
    let data = app.ok("create", params).await;
    let guid = text(&data[0]["guid"]);
    let end = text(&data[0]["end_time"]);
    let example_end = text(&app.instance(EXAMPLE_GUID).await["end_time"]);

    let list = app.pending().await;
    let got: Vec<(String, String, String, Value)> = list
        .iter()
        .map(|t| {
            (
                text(&t["guid"]),
                text(&t["kind"]),
                text(&t["due"]),
                t["taskid"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                guid.clone(),
                "provisioned".into(),
                plus_seconds(&t0, 30),
                json!("9001")
            ),
            (guid.clone(), "expired".into(), end.clone(), json!("9001")),
            (
                EXAMPLE_GUID.into(),
                "expired".into(),
                example_end,
                Value::Null
            ),
        ]
    );
    let dues: Vec<String> = list.iter().map(|t| text(&t["due"])).collect();
    let mut sorted = dues.clone();
    sorted.sort();
    assert_eq!(dues, sorted, "soonest first");

    // Later actions carry their own taskid, or none.
    app.advance(30).await;
    app.ok("stop", json!({"guid": guid, "taskid": "9002"}))
        .await;
    app.ok("restart", json!({"guid": EXAMPLE_GUID})).await;
    let first: Vec<(String, String, Value)> = app
        .pending()
        .await
        .iter()
        .take(2)
        .map(|t| (text(&t["guid"]), text(&t["kind"]), t["taskid"].clone()))
        .collect();
    assert_eq!(
        first,
        [
            (guid.clone(), "stopped".into(), json!("9002")),
            (EXAMPLE_GUID.into(), "restarted".into(), Value::Null),
        ]
    );
    app.advance(20).await;
    let kinds: Vec<String> = app
        .pending()
        .await
        .iter()
        .map(|t| text(&t["kind"]))
        .collect();
    assert_eq!(
        kinds,
        ["expired", "expired"],
        "done transitions leave the timeline"
    );
}
