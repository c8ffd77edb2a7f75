//! `upgrade` over HTTP: the document's example, subnet and single-IP
//! allocation, every rule with its reason and a message naming the numbers,
//! state gating, pool exhaustion, `agent_order_no` replay and concurrent
//! allocation. The shared helpers here are reused by `degrade.rs`.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU64, Ordering};

use apayun_mock::MockEngine;
use serde_json::{json, Value};

use crate::helpers::{fmt, keys, text, TestApp, EXAMPLE_GUID, LINE};

/// The line with `upgrade_status`, `defense_status` and
/// `reservation_degrade_status` 0, and its product; the line with
/// `ip_bandwidth_rate` 0, subnets only, `ip_num_list` 4,8,16,32, step 10,
/// and a product of it.
pub use apayun_mock::test_support::fixtures::{
    LINE_HK as CLOSED_LINE, LINE_NM as SUBNET_LINE, PRODUCT_HK as CLOSED_PRODUCT,
    PRODUCT_NM_GOLD as SUBNET_PRODUCT,
};
/// The seeded upgrade of the example instance.
pub const EXAMPLE_BLOCK: &str = "114.114.8.16-23";
/// Simulated seconds an upgrade takes with the default timings.
pub const UPGRADE_SECONDS: u64 = 20;

/// A fresh `agent_order_no`, distinct from the helpers' create numbers.
pub fn agent_order_no() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(790_682_534_662_098_000);
    NEXT.fetch_add(1, Ordering::Relaxed).to_string()
}

pub fn ip(text: &str) -> u32 {
    u32::from(
        text.parse::<Ipv4Addr>()
            .unwrap_or_else(|e| panic!("{text:?} is not an IPv4 address: {e}")),
    )
}

/// An upgrade request as the document writes it (all fields strings).
pub fn upgrade_params(guid: &str, bandwidth: i64, ipnum: i64, ip_type: i64, defense: i64) -> Value {
    json!({
        "guid": guid,
        "defense": defense.to_string(),
        "bandwidth": bandwidth.to_string(),
        "ip_type": ip_type.to_string(),
        "ipnum": ipnum.to_string(),
        "clientOrderNo": "18369",
        "clientUserId": "1100123",
        "agent_order_no": agent_order_no(),
    })
}

impl TestApp {
    /// An upgrade that must succeed, then the clock moved until it is done.
    pub async fn upgrade(
        &self,
        guid: &str,
        bandwidth: i64,
        ipnum: i64,
        ip_type: i64,
        defense: i64,
    ) -> Value {
        let data = self
            .ok(
                "upgrade",
                upgrade_params(guid, bandwidth, ipnum, ip_type, defense),
            )
            .await;
        self.advance(UPGRADE_SECONDS).await;
        data
    }
}

/// The addresses of an upgrade answer, with their `net_type`.
pub fn entries(answer: &Value) -> Vec<(u32, String)> {
    answer["ip"]
        .as_array()
        .unwrap_or_else(|| panic!("no ip array in {answer}"))
        .iter()
        .map(|e| (ip(&text(&e["ip"])), text(&e["net_type"])))
        .collect()
}

/// The first and last address of a subnet upgrade answer.
pub fn block(answer: &Value) -> (u32, u32) {
    let e = entries(answer);
    match (e.first(), e.last()) {
        (Some(first), Some(last)) => (first.0, last.0),
        _ => panic!("empty upgrade answer {answer}"),
    }
}

pub fn label(run: (u32, u32)) -> String {
    let lo = Ipv4Addr::from(run.0);
    if run.0 == run.1 {
        lo.to_string()
    } else {
        format!("{lo}-{}", run.1 & 0xff)
    }
}

/// `(value, status)` of every upgrade record of an instance.
pub fn upgrade_values(inst: &Value) -> Vec<(String, String)> {
    inst["upgrade"]
        .as_array()
        .unwrap_or_else(|| panic!("no upgrade array in {inst}"))
        .iter()
        .map(|u| (text(&u["value"]), text(&u["status"])))
        .collect()
}

pub fn ip_count(inst: &Value) -> usize {
    inst["ip"].as_array().map(Vec::len).unwrap_or(0)
}

/// `status` of each address of an instance, by address.
pub fn ip_status(inst: &Value, addr: &str) -> String {
    inst["ip"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["ip"] == addr)
        .map(|e| text(&e["status"]))
        .unwrap_or_else(|| panic!("{addr} not in {}", inst["ip"]))
}

/// A copy of the default seed set, edited by `edit(lines, ip_pools)`.
pub async fn custom_app(
    edit: impl FnOnce(&mut Vec<Value>, &mut Vec<Value>),
) -> (tempfile::TempDir, TestApp) {
    let source = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed-data");
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let read_dir = std::fs::read_dir(&source).unwrap_or_else(|e| panic!("seed-data: {e}"));
    for entry in read_dir.flatten() {
        std::fs::copy(entry.path(), dir.path().join(entry.file_name()))
            .unwrap_or_else(|e| panic!("copy {:?}: {e}", entry.path()));
    }
    let load = |name: &str| -> Vec<Value> {
        let text = std::fs::read_to_string(dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    let mut lines = load("lines.json");
    let mut pools = load("ip-pools.json");
    edit(&mut lines, &mut pools);
    for (name, value) in [("lines.json", lines), ("ip-pools.json", pools)] {
        std::fs::write(dir.path().join(name), Value::Array(value).to_string())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    let app = TestApp::with(MockEngine::builder().rng_seed(42).seed_data(dir.path())).await;
    (dir, app)
}

fn find(list: &mut [Value], pred: impl Fn(&Value) -> bool) -> &mut Value {
    list.iter_mut()
        .find(|v| pred(v))
        .unwrap_or_else(|| panic!("no such seed record"))
}

/// `(line, kind)` of a pool record.
pub fn pool<'a>(pools: &'a mut [Value], line: &str, kind: &str) -> &'a mut Value {
    find(pools, |p| p["line_guid"] == line && p["kind"] == kind)
}

pub fn line<'a>(lines: &'a mut [Value], guid: &str) -> &'a mut Value {
    find(lines, |l| l["guid"] == guid)
}

#[tokio::test]
async fn document_example_upgrade_on_the_example_instance() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    // The document's request, verbatim but for the agent order number's uniqueness.
    let request = json!({
        "guid": EXAMPLE_GUID,
        "defense": "5",
        "bandwidth": "1",
        "ip_type": "2",
        "ipnum": "8",
        "clientOrderNo": "18369",
        "clientUserId": "1100123",
        "agent_order_no": "590682534662098123",
    });
    let answer = app.ok("upgrade", request.clone()).await;
    assert_eq!(keys(&answer), ["order_no_api", "ip"]);
    let order_no = text(&answer["order_no_api"]);
    assert!(
        order_no.len() == 18 && order_no.bytes().all(|b| b.is_ascii_digit()),
        "order_no_api {order_no:?}"
    );

    let list = answer["ip"].as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 8, "{answer}");
    let kinds: Vec<String> = list.iter().map(|e| text(&e["net_type"])).collect();
    assert_eq!(
        kinds,
        [
            "network",
            "gateway",
            "ip",
            "ip",
            "ip",
            "ip",
            "ip",
            "broadcast"
        ]
    );
    let (lo, hi) = block(&answer);
    let mut ids = Vec::new();
    for (i, e) in list.iter().enumerate() {
        assert_eq!(keys(e), ["id", "ip", "mask", "gateway", "net_type"], "{e}");
        let id = text(&e["id"]);
        assert!(
            id.parse::<u64>().is_ok(),
            "id {id:?} is not a number string"
        );
        ids.push(id);
        assert_eq!(ip(&text(&e["ip"])), lo + i as u32, "consecutive addresses");
        assert_eq!(e["mask"], "255.255.255.248");
        assert_eq!(e["gateway"], Ipv4Addr::from(lo + 1).to_string());
    }
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 8, "ids are distinct");
    // An aligned /29 inside the pool, clear of the reserved /28 and the seeded block.
    assert_eq!(hi - lo, 7);
    assert_eq!(lo % 8, 0, "aligned");
    assert!(lo >= ip("114.114.8.16") && hi <= ip("114.114.11.255"));
    assert!(hi < ip("114.114.8.16") || lo > ip("114.114.8.23"));
    // First fit from the bottom: the next free block.
    assert_eq!(Ipv4Addr::from(lo).to_string(), "114.114.8.24");

    // Busy until the upgrade's 20 simulated seconds have passed.
    assert_eq!(app.instance(EXAMPLE_GUID).await["act_status"], "4");
    app.advance(UPGRADE_SECONDS - 1).await;
    assert_eq!(app.instance(EXAMPLE_GUID).await["act_status"], "4");
    // A replay while busy answers the same and changes nothing.
    assert_eq!(app.ok("upgrade", request.clone()).await, answer);
    app.advance(1).await;
    let inst = app.instance(EXAMPLE_GUID).await;
    assert_eq!(inst["act_status"], "0");

    // Totals: 10+1 M, 9+8 IPs, 10+5 G.
    assert_eq!(
        (&inst["bandwidth"], &inst["ipnum"], &inst["defense"]),
        (&json!("11"), &json!("17"), &json!("15"))
    );
    let ups = inst["upgrade"].as_array().cloned().unwrap_or_default();
    assert_eq!(ups.len(), 6, "3 seeded + 3 new: {ups:?}");
    for (u, (kind, nums, value)) in ups[3..].iter().zip([
        ("bandwidth", "1", "1"),
        ("ipnum", "8", "114.114.8.24-31"),
        ("defense", "5", "5"),
    ]) {
        assert_eq!(
            keys(u),
            [
                "type",
                "degrade_guid",
                "nums",
                "value",
                "status",
                "order_no_api",
                "create_time"
            ]
        );
        assert_eq!(u["type"], kind, "{u}");
        assert_eq!(u["nums"], nums, "{u}");
        assert_eq!(u["value"], value, "{u}");
        assert_eq!(u["status"], "1", "{u}");
        assert_eq!(u["degrade_guid"], Value::Null, "{u}");
        assert_eq!(u["order_no_api"], order_no.as_str(), "{u}");
    }
    assert_eq!(ip_count(&inst), 17);
    for e in &list {
        assert_eq!(ip_status(&inst, &text(&e["ip"])), "1");
    }

    // The replay once settled: same answer, nothing allocated or added.
    assert_eq!(app.ok("upgrade", request).await, answer);
    let again = app.instance(EXAMPLE_GUID).await;
    assert_eq!(again["act_status"], "0");
    assert_eq!(again["upgrade"], inst["upgrade"]);
    assert_eq!(again["ip"], inst["ip"]);
    assert_eq!(again["bandwidth"], "11");
    // The next real upgrade (13M / 25 IPs) gets the block right after: the
    // replay took none.
    let next = app.upgrade(EXAMPLE_GUID, 2, 8, 2, 0).await;
    assert_eq!(label(block(&next)), "114.114.8.32-39");
}

#[tokio::test]
async fn fresh_instance_gets_the_next_block_and_single_ips_by_run() {
    let app = TestApp::spawn().await;
    let a = app.create_running().await;
    assert_eq!(ip_count(&app.instance(&a).await), 1);

    let subnet = app.upgrade(&a, 0, 8, 2, 0).await;
    assert_eq!(label(block(&subnet)), "114.114.8.24-31");
    assert_eq!(subnet["ip"][1]["gateway"], "114.114.8.25");

    // 5M over 10 IPs is exactly the line's 0.500: allowed.
    let single = app.upgrade(&a, 0, 1, 1, 0).await;
    assert_eq!(
        single["ip"],
        json!([{
            "id": single["ip"][0]["id"],
            "ip": "114.114.12.2",
            "mask": "255.255.255.0",
            "gateway": "114.114.12.1",
            "net_type": "ip",
        }]),
        "the single pool's network and gateway (.0, .1) are skipped"
    );
    let inst = app.instance(&a).await;
    assert_eq!(inst["ipnum"], "10");
    assert_eq!(
        upgrade_values(&inst),
        [
            ("114.114.8.24-31".to_string(), "1".to_string()),
            ("114.114.12.2".to_string(), "1".to_string())
        ]
    );
    assert_eq!(inst["upgrade"][1]["nums"], "1");

    // Another instance takes .3; A gives .2 back; a run of 8 then splits in two.
    let b = app.create_running().await;
    let b_single = app.upgrade(&b, 0, 1, 1, 0).await;
    assert_eq!(b_single["ip"][0]["ip"], "114.114.12.3");
    let date = fmt(app.now().await + chrono::Duration::hours(1));
    app.ok(
        "degrade",
        json!({"guid": a, "param": [{"item": "ip", "value": ["114.114.12.2"], "date": date}]}),
    )
    .await;
    app.advance(7200).await;
    assert_eq!(ip_status(&app.instance(&a).await, "114.114.12.2"), "-1");

    let c = app.create_running().await;
    let run = app.upgrade(&c, 5, 8, 1, 0).await;
    let addrs: Vec<String> = entries(&run)
        .iter()
        .map(|(a, kind)| {
            assert_eq!(kind, "ip");
            Ipv4Addr::from(*a).to_string()
        })
        .collect();
    assert_eq!(
        addrs,
        [
            "114.114.12.2",
            "114.114.12.4",
            "114.114.12.5",
            "114.114.12.6",
            "114.114.12.7",
            "114.114.12.8",
            "114.114.12.9",
            "114.114.12.10"
        ]
    );
    let inst = app.instance(&c).await;
    let ip_records: Vec<(String, String)> = inst["upgrade"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|u| u["type"] == "ipnum")
        .map(|u| (text(&u["value"]), text(&u["nums"])))
        .collect();
    assert_eq!(
        ip_records,
        [
            ("114.114.12.2".to_string(), "1".to_string()),
            ("114.114.12.4-10".to_string(), "7".to_string())
        ],
        "one upgrade record per contiguous run"
    );
    assert_eq!(inst["ipnum"], "9");
}

/// Refusals on a fresh instance (5M, 1 IP, 5G) of line 1665907446560259,
/// or (`on_subnet_line`) a fresh instance of line 1665907446560302.
const RULES: &[(bool, [i64; 4], &str, &[&str])] = &[
    // [bandwidth, ipnum, ip_type, defense]
    (false, [0, 0, 1, 0], "upgrade_empty", &["升级内容不能为空"]),
    (false, [0, 0, 2, 0], "upgrade_empty", &["升级内容不能为空"]),
    (
        false,
        [296, 0, 1, 0],
        "bandwidth_max_exceeded",
        &["301M", "300M"],
    ),
    (
        false,
        [100, 256, 2, 0],
        "ip_max_exceeded",
        &["257", "上限 200"],
    ),
    (
        false,
        [0, 0, 1, 300],
        "defense_max_exceeded",
        &["305G", "300G"],
    ),
    (
        false,
        [0, 0, 1, 7],
        "defense_step",
        &["防御值须为步长 5 的整数倍", "7"],
    ),
    (
        false,
        [0, 0, 1, 12],
        "defense_step",
        &["防御值须为步长 5 的整数倍", "12"],
    ),
    (
        false,
        [5, 3, 1, 0],
        "ipnum_not_allowed",
        &["IP 数量 3", "1,8,16,32,64,128,256"],
    ),
    (
        false,
        [5, 4, 2, 0],
        "ipnum_not_allowed",
        &["IP 数量 4", "1,8,16,32,64,128,256"],
    ),
    (
        false,
        [5, 8, 3, 0],
        "ip_type_not_allowed",
        &["ip_type 3", "1,2"],
    ),
    (false, [5, 1, 2, 0], "subnet_size", &["收到 1"]),
    (
        false,
        [0, 16, 2, 0],
        "ratio_violation",
        &["5M / 17 个 IP", "0.294", "0.500"],
    ),
    (
        false,
        [3, 16, 2, 0],
        "ratio_violation",
        &["8M / 17 个 IP", "0.471", "0.500"],
    ),
    (
        true,
        [0, 4, 1, 0],
        "ip_type_not_allowed",
        &["ip_type 1", "可选 2"],
    ),
    (
        true,
        [0, 1, 2, 0],
        "ipnum_not_allowed",
        &["IP 数量 1", "4,8,16,32"],
    ),
    (
        true,
        [0, 64, 2, 0],
        "ipnum_not_allowed",
        &["IP 数量 64", "4,8,16,32"],
    ),
    (
        true,
        [0, 0, 1, 5],
        "defense_step",
        &["防御值须为步长 10 的整数倍", "5"],
    ),
    (
        true,
        [901, 0, 1, 0],
        "bandwidth_max_exceeded",
        &["1001M", "1000M"],
    ),
    (
        true,
        [0, 0, 1, 500],
        "defense_max_exceeded",
        &["510G", "500G"],
    ),
];

#[tokio::test]
async fn every_upgrade_rule_is_refused_with_its_reason_and_numbers() {
    let app = TestApp::spawn().await;
    let a = app.create_running().await;
    let b = app.create_running_on(SUBNET_LINE, SUBNET_PRODUCT).await;
    let before_a = app.instance(&a).await;
    let before_b = app.instance(&b).await;
    for (on_subnet_line, [bw, ipnum, ip_type, defense], reason, words) in RULES {
        let guid = if *on_subnet_line { &b } else { &a };
        let message = app
            .fails(
                "upgrade",
                upgrade_params(guid, *bw, *ipnum, *ip_type, *defense),
                reason,
            )
            .await;
        for w in *words {
            assert!(
                message.contains(w),
                "{reason}: {message:?} should contain {w:?}"
            );
        }
    }
    for (params, reason) in [
        // The upgrade fields may also be absent rather than "0".
        (json!({"guid": a}), "upgrade_empty"),
        (json!({"guid": a, "ipnum": "8"}), "missing_param"),
        (json!({"guid": a, "bandwidth": "-1"}), "bad_param"),
        (json!({"guid": a, "bandwidth": "1.5"}), "bad_param"),
        (
            json!({"guid": a, "ipnum": "8", "ip_type": "x"}),
            "bad_param",
        ),
    ] {
        app.fails("upgrade", params, reason).await;
    }
    // A refused request's agent_order_no is not remembered: it may be retried.
    let mut retried = upgrade_params(&a, 0, 16, 2, 0);
    app.fails("upgrade", retried.clone(), "ratio_violation")
        .await;
    // Nothing was recorded or allocated, and the instances are not busy.
    assert_eq!(app.instance(&a).await, before_a);
    assert_eq!(app.instance(&b).await, before_b);
    // The next successful subnet gets the block a refused one would have had.
    retried["ipnum"] = json!("8");
    let ok = app.ok("upgrade", retried).await;
    assert_eq!(label(block(&ok)), "114.114.8.24-31");
    app.advance(UPGRADE_SECONDS).await;
    let ok = app.upgrade(&b, 0, 32, 2, 0).await;
    assert_eq!(label(block(&ok)), "110.16.24.0-31");
}

#[tokio::test]
async fn maxima_allow_exactly_the_maximum_and_refuse_one_more() {
    let app = TestApp::spawn().await;
    let a = app.create_running().await;
    // 5 + 295 = 300 M and 5 + 295 = 300 G: exactly the maxima.
    app.upgrade(&a, 295, 0, 1, 295).await;
    let m = app
        .fails(
            "upgrade",
            upgrade_params(&a, 1, 0, 1, 0),
            "bandwidth_max_exceeded",
        )
        .await;
    assert!(m.contains("301M") && m.contains("300M"), "{m}");
    let m = app
        .fails(
            "upgrade",
            upgrade_params(&a, 0, 0, 1, 5),
            "defense_max_exceeded",
        )
        .await;
    assert!(m.contains("305G") && m.contains("300G"), "{m}");
    // 1 + 128 + 64 = 193 IPs, then seven single IPs: exactly 200.
    app.upgrade(&a, 0, 128, 2, 0).await;
    app.upgrade(&a, 0, 64, 2, 0).await;
    let m = app
        .fails("upgrade", upgrade_params(&a, 0, 8, 2, 0), "ip_max_exceeded")
        .await;
    assert!(m.contains("201") && m.contains("200"), "{m}");
    for _ in 0..7 {
        app.upgrade(&a, 0, 1, 1, 0).await;
    }
    let inst = app.instance(&a).await;
    assert_eq!(
        (&inst["bandwidth"], &inst["ipnum"], &inst["defense"]),
        (&json!("300"), &json!("200"), &json!("300"))
    );
    assert_eq!(ip_count(&inst), 200);
    let m = app
        .fails("upgrade", upgrade_params(&a, 0, 1, 1, 0), "ip_max_exceeded")
        .await;
    assert!(m.contains("201") && m.contains("200"), "{m}");
}

#[tokio::test]
async fn ratio_exactly_equal_passes_and_just_below_is_refused() {
    let app = TestApp::spawn().await;
    let a = app.create_running().await;
    app.upgrade(&a, 0, 1, 1, 0).await; // 5M, 2 IPs
                                       // (bandwidth increment, expected): 8M/18 = 0.444 < 0.5; 9M/18 = 0.5 exactly.
    let m = app
        .fails(
            "upgrade",
            upgrade_params(&a, 3, 16, 2, 0),
            "ratio_violation",
        )
        .await;
    assert!(
        m.contains("8M / 18 个 IP = 0.444") && m.contains("0.500"),
        "{m}"
    );
    app.upgrade(&a, 4, 16, 2, 0).await;
    let inst = app.instance(&a).await;
    assert_eq!(
        (&inst["bandwidth"], &inst["ipnum"]),
        (&json!("9"), &json!("18"))
    );
}

#[tokio::test]
async fn closed_switches_refuse_upgrades() {
    let app = TestApp::spawn().await;
    let c = app.create_running_on(CLOSED_LINE, CLOSED_PRODUCT).await;
    for params in [
        upgrade_params(&c, 1, 0, 1, 0),
        upgrade_params(&c, 0, 1, 1, 0),
        // upgrade_status is the master switch: it refuses defense too.
        upgrade_params(&c, 0, 0, 1, 5),
    ] {
        let m = app.fails("upgrade", params, "upgrade_closed").await;
        assert!(m.contains("upgrade_status 0"), "{m}");
    }

    // defense_status 0 alone closes only defense.
    let (_dir, app) = custom_app(|lines, _| {
        line(lines, LINE)["defense_status"] = json!("0");
    })
    .await;
    let a = app.create_running().await;
    let m = app
        .fails(
            "upgrade",
            upgrade_params(&a, 0, 0, 1, 5),
            "defense_upgrade_closed",
        )
        .await;
    assert!(m.contains("defense_status 0"), "{m}");
    app.fails(
        "upgrade",
        upgrade_params(&a, 1, 0, 1, 5),
        "defense_upgrade_closed",
    )
    .await;
    app.upgrade(&a, 1, 0, 1, 0).await;
    assert_eq!(app.instance(&a).await["bandwidth"], "6");
}

#[derive(Debug, Clone, Copy)]
enum Gate {
    Provisioning,
    Busy,
    Pushing,
    Expired,
    Locked,
}

#[tokio::test]
async fn state_gating_refuses_and_allocates_nothing() {
    let app = TestApp::spawn().await;
    for (gate, reason, words) in [
        (
            Gate::Provisioning,
            "order_status_forbids",
            ["order_status 0", "开通中"],
        ),
        (Gate::Busy, "act_status_forbids", ["act_status 4", "升级中"]),
        (
            Gate::Pushing,
            "push_status_forbids",
            ["push_status 1", "升级"],
        ),
        (
            Gate::Expired,
            "order_status_forbids",
            ["order_status 3", "已过期"],
        ),
        (
            Gate::Locked,
            "lock_status_forbids",
            ["lock_status 1", "升级"],
        ),
    ] {
        let guid = match gate {
            Gate::Provisioning => {
                let data = app.ok("create", TestApp::create_request(1)).await;
                text(&data[0]["guid"])
            }
            _ => app.create_running().await,
        };
        match gate {
            Gate::Provisioning => {}
            Gate::Busy => {
                app.ok("upgrade", upgrade_params(&guid, 1, 0, 1, 0)).await;
            }
            Gate::Pushing => {
                app.patch(&guid, json!({"push_status": 1})).await;
            }
            Gate::Expired => {
                let end = fmt(app.now().await + chrono::Duration::seconds(60));
                app.patch(&guid, json!({"end_time": end})).await;
                app.advance(120).await;
                assert_eq!(app.instance(&guid).await["order_status"], "3");
            }
            Gate::Locked => {
                app.patch(&guid, json!({"lock_status": 1})).await;
            }
        }
        let before = app.instance(&guid).await;
        let m = app
            .fails("upgrade", upgrade_params(&guid, 1, 8, 2, 5), reason)
            .await;
        for w in words {
            assert!(m.contains(w), "{gate:?}: {m:?} should contain {w:?}");
        }
        assert_eq!(app.instance(&guid).await, before, "{gate:?}");
    }
    // Nobody was given a block: the next subnet is still the first free one.
    let a = app.create_running().await;
    let ok = app.upgrade(&a, 0, 8, 2, 0).await;
    assert_eq!(label(block(&ok)), "114.114.8.24-31");
}

#[tokio::test]
async fn exhausted_pools_refuse_and_allocate_nothing() {
    let (_dir, app) = custom_app(|_, pools| {
        pool(pools, SUBNET_LINE, "subnet")["cidr"] = json!("110.16.24.0/27");
        pool(pools, LINE, "single")["cidr"] = json!("114.114.12.0/29");
    })
    .await;
    // One instance takes the whole /27.
    let a = app.create_running_on(SUBNET_LINE, SUBNET_PRODUCT).await;
    let whole = app.upgrade(&a, 0, 32, 2, 0).await;
    assert_eq!(label(block(&whole)), "110.16.24.0-31");

    let b = app.create_running_on(SUBNET_LINE, SUBNET_PRODUCT).await;
    let before = app.instance(&b).await;
    let m = app
        .fails(
            "upgrade",
            upgrade_params(&b, 10, 4, 2, 10),
            "ip_pool_exhausted",
        )
        .await;
    assert!(m.contains(SUBNET_LINE) && m.contains("分配 4 个 IP"), "{m}");
    // Neither the bandwidth nor the defense of the refused request stuck.
    assert_eq!(app.instance(&b).await, before);
    assert_eq!(
        app.ok("degrade_ip_list", json!({"guid": b})).await,
        json!([])
    );

    // Once A's block is degraded, B's upgrade finds room.
    let date = fmt(app.now().await + chrono::Duration::hours(1));
    app.ok(
        "degrade",
        json!({"guid": a, "param": [{"item": "ip", "value": ["110.16.24.0-31"], "date": date}]}),
    )
    .await;
    app.advance(7200).await;
    let ok = app.upgrade(&b, 10, 4, 2, 10).await;
    assert_eq!(label(block(&ok)), "110.16.24.0-3");

    // Single IPs: a /29 with its gateway .1 has five to give (.2 to .6).
    let c = app.create_running().await;
    let before = app.instance(&c).await;
    let m = app
        .fails(
            "upgrade",
            upgrade_params(&c, 5, 8, 1, 0),
            "ip_pool_exhausted",
        )
        .await;
    assert!(m.contains(LINE) && m.contains("分配 8 个 IP"), "{m}");
    assert_eq!(app.instance(&c).await, before);
    let one = app.upgrade(&c, 0, 1, 1, 0).await;
    assert_eq!(one["ip"][0]["ip"], "114.114.12.2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_upgrades_never_share_an_address() {
    let app = TestApp::spawn().await;
    let created = app.ok("create", TestApp::create_request(8)).await;
    let guids: Vec<String> = created
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| text(&i["guid"]))
        .collect();
    assert_eq!(guids.len(), 8);
    app.advance(60).await;

    // Three rounds, every instance at once: (bandwidth, ipnum); in the first
    // round odd instances take single IPs instead of a subnet.
    let mut subnets: Vec<(u32, u32)> = vec![(ip("114.114.8.0"), ip("114.114.8.15"))];
    subnets.push((ip("114.114.8.16"), ip("114.114.8.23")));
    let mut addresses: Vec<u32> = Vec::new();
    for (round, (bw, n)) in [(0, 8), (10, 16), (20, 32)].into_iter().enumerate() {
        let calls = guids.iter().enumerate().map(|(i, g)| {
            let ip_type = if round == 0 && i % 2 == 1 { 1 } else { 2 };
            app.call("upgrade", upgrade_params(g, bw, n, ip_type, 0))
        });
        let answers = futures_util::future::join_all(calls).await;
        for (i, a) in answers.iter().enumerate() {
            assert_eq!(a.code(), 0, "round {round} instance {i}: {}", a.text);
            let data = a.data();
            let e = entries(&data);
            assert_eq!(e.len(), n as usize);
            addresses.extend(e.iter().map(|x| x.0));
            if e[0].1 == "network" {
                let (lo, hi) = block(&data);
                assert_eq!(hi - lo + 1, n as u32);
                assert_eq!(lo % n as u32, 0, "aligned");
                assert!(lo >= ip("114.114.8.0") && hi <= ip("114.114.11.255"));
                subnets.push((lo, hi));
            }
        }
        app.advance(UPGRADE_SECONDS).await;
    }
    for (i, x) in subnets.iter().enumerate() {
        for y in &subnets[i + 1..] {
            assert!(
                x.1 < y.0 || y.1 < x.0,
                "{} overlaps {}",
                label(*x),
                label(*y)
            );
        }
    }
    let total = addresses.len();
    addresses.sort_unstable();
    addresses.dedup();
    assert_eq!(addresses.len(), total, "an address was handed out twice");
    assert_eq!(total, 8 * (8 + 16 + 32));

    app.assert_no_address_held_twice().await;
    for g in &guids {
        let inst = app.instance(g).await;
        assert_eq!(inst["ipnum"], (1 + 8 + 16 + 32).to_string());
        assert_eq!(inst["act_status"], "0");
    }
}
