//! `degrade_ip_list`, `degrade` and `degrade_cancel` over HTTP: what may be
//! degraded, the three encodings of `param`, every rule with its reason,
//! the records in `sync_baremetal`, the scheduler applying them at
//! `apply_time`, cancellation, and the whole upgrade → degrade flow.

use chrono::Duration;
use serde_json::{json, Map, Value};

use crate::helpers::{fmt, keys, parse_time, text, TestApp, EXAMPLE_GUID};
use crate::upgrade::{
    block, ip_status, label, upgrade_params, upgrade_values, CLOSED_LINE, CLOSED_PRODUCT,
    EXAMPLE_BLOCK, SUBNET_LINE, SUBNET_PRODUCT,
};

const DEGRADE_KEYS: [&str; 12] = [
    "id",
    "guid",
    "baremetal_guid",
    "item",
    "status",
    "reason",
    "apply_time",
    "create_time",
    "finish_time",
    "value",
    "new_value",
    "old_value",
];

async fn ip_list(app: &TestApp, guid: &str) -> Vec<String> {
    app.ok("degrade_ip_list", json!({"guid": guid}))
        .await
        .as_array()
        .unwrap_or_else(|| panic!("degrade_ip_list of {guid} is not an array"))
        .iter()
        .map(|e| text(&e["ip"]))
        .collect()
}

/// A degrade that must succeed; returns `data.data` (item → degrade GUID).
async fn degrade(app: &TestApp, guid: &str, param: Value) -> Map<String, Value> {
    let data = app
        .ok("degrade", json!({"guid": guid, "param": param}))
        .await;
    assert_eq!(data["result"], true, "{data}");
    assert_eq!(data["text"], "success", "{data}");
    data["data"]
        .as_object()
        .cloned()
        .unwrap_or_else(|| panic!("no data.data in {data}"))
}

fn guid_of(out: &Map<String, Value>, item: &str) -> String {
    text(out.get(item).unwrap_or(&Value::Null))
}

/// The degrade records of an instance view, by GUID.
fn record(inst: &Value, guid: &str) -> Value {
    inst["degrades"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|d| d["guid"] == guid)
        .cloned()
        .unwrap_or_else(|| panic!("degrade {guid} not in {}", inst["degrades"]))
}

fn upgrade_record(inst: &Value, value: &str) -> Value {
    inst["upgrade"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| u["value"] == value)
        .cloned()
        .unwrap_or_else(|| panic!("upgrade {value} not in {}", inst["upgrade"]))
}

fn totals(inst: &Value) -> (String, String, String) {
    (
        text(&inst["bandwidth"]),
        text(&inst["ipnum"]),
        text(&inst["defense"]),
    )
}

fn t(b: &str, i: &str, d: &str) -> (String, String, String) {
    (b.to_string(), i.to_string(), d.to_string())
}

#[tokio::test]
async fn degrade_ip_list_shows_active_upgrade_ranges_without_a_pending_degrade() {
    let app = TestApp::spawn().await;
    // The seeded block only: the primary IP 192.168.12.48 is not an upgrade.
    let list = app
        .ok("degrade_ip_list", json!({"guid": EXAMPLE_GUID}))
        .await;
    assert_eq!(
        list,
        json!([{"ip": EXAMPLE_BLOCK, "mask": "255.255.255.248", "gateway": "114.114.8.17"}])
    );
    assert_eq!(keys(&list[0]), ["ip", "mask", "gateway"]);

    app.upgrade(EXAMPLE_GUID, 0, 8, 2, 0).await;
    let single = app.upgrade(EXAMPLE_GUID, 0, 1, 1, 0).await;
    assert_eq!(single["ip"][0]["ip"], "114.114.12.2");
    let list = app
        .ok("degrade_ip_list", json!({"guid": EXAMPLE_GUID}))
        .await;
    assert_eq!(
        list,
        json!([
            {"ip": EXAMPLE_BLOCK, "mask": "255.255.255.248", "gateway": "114.114.8.17"},
            {"ip": "114.114.8.24-31", "mask": "255.255.255.248", "gateway": "114.114.8.25"},
            {"ip": "114.114.12.2", "mask": "255.255.255.0", "gateway": "114.114.12.1"},
        ])
    );

    // Booked: gone from the list; cancelled: back.
    let date = fmt(app.now().await + Duration::days(2));
    let booked = degrade(
        &app,
        EXAMPLE_GUID,
        json!([{"item": "ip", "value": [EXAMPLE_BLOCK], "date": date}]),
    )
    .await;
    assert_eq!(
        ip_list(&app, EXAMPLE_GUID).await,
        ["114.114.8.24-31", "114.114.12.2"]
    );
    app.ok(
        "degrade_cancel",
        json!({"guid": EXAMPLE_GUID, "degrade_guid": guid_of(&booked, "ip")}),
    )
    .await;
    assert_eq!(
        ip_list(&app, EXAMPLE_GUID).await,
        [EXAMPLE_BLOCK, "114.114.8.24-31", "114.114.12.2"]
    );

    // Applied: gone for good, its address released.
    let date = fmt(app.now().await + Duration::hours(1));
    degrade(
        &app,
        EXAMPLE_GUID,
        json!([{"item": "ip", "value": ["114.114.12.2"], "date": date}]),
    )
    .await;
    app.advance(7200).await;
    assert_eq!(
        ip_list(&app, EXAMPLE_GUID).await,
        [EXAMPLE_BLOCK, "114.114.8.24-31"]
    );
    assert_eq!(
        ip_status(&app.instance(EXAMPLE_GUID).await, "114.114.12.2"),
        "-1"
    );

    // A fresh instance has nothing to degrade; another member's is not found.
    let fresh = app.create_running().await;
    assert_eq!(ip_list(&app, &fresh).await, Vec::<String>::new());
    let other = app
        .user2()
        .call("degrade_ip_list", json!({"guid": EXAMPLE_GUID}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(other.reason.as_deref(), Some("not_found"), "{}", other.text);
}

/// How a degrade's `param` travels.
#[derive(Debug, Clone, Copy)]
enum Encoding {
    FormBrackets,
    JsonBody,
    JsonStringInForm,
}

#[tokio::test]
async fn param_encodings_give_the_same_degrade() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    let date = fmt(app.now().await + Duration::days(2));
    // The document's request, with a date in the future.
    let param = json!([
        {"item": "bandwidth", "value": 1, "date": date, "old_value": 6, "new_value": "5"},
        {"item": "ip", "value": [EXAMPLE_BLOCK], "date": date, "new_value": 8},
        {"item": "defense", "value": 5, "date": date, "old_value": 10, "new_value": "5"},
    ]);
    let common = json!({"guid": EXAMPLE_GUID, "defense": 5, "bandwidth": 1, "ipnum": 8});
    let (status, body) = app
        .control("POST", "/_mock/snapshots", Some(json!({"name": "before"})))
        .await;
    assert!((200..300).contains(&status), "{status} {body}");

    let mut outcomes = Vec::new();
    for encoding in [
        Encoding::FormBrackets,
        Encoding::JsonBody,
        Encoding::JsonStringInForm,
    ] {
        let (status, body) = app
            .control("POST", "/_mock/snapshots/before/restore", None)
            .await;
        assert_eq!(status, 200, "{body}");
        let mut params = common.clone();
        let (reason, answer) = match encoding {
            Encoding::FormBrackets => {
                params["param"] = param.clone();
                let a = app.call("degrade", params).await;
                (a.reason.clone(), a.json())
            }
            Encoding::JsonStringInForm => {
                params["param"] = Value::String(param.to_string());
                let a = app.call("degrade", params).await;
                (a.reason.clone(), a.json())
            }
            Encoding::JsonBody => {
                let mut body: Map<String, Value> = app
                    .client()
                    .signed_pairs("degrade", &params)
                    .into_iter()
                    .map(|(k, v)| (k, Value::String(v)))
                    .collect();
                body.insert("param".into(), param.clone());
                let resp = app
                    .post_raw("application/json", Value::Object(body).to_string())
                    .await;
                let reason = crate::helpers::reason_of(&resp);
                let answer: Value = resp
                    .json()
                    .await
                    .unwrap_or_else(|e| panic!("JSON body answer: {e}"));
                (reason, answer)
            }
        };
        assert_eq!(reason, None, "{encoding:?}: {answer}");
        assert_eq!(answer["code"], 0, "{encoding:?}: {answer}");
        let data = &answer["data"];
        assert_eq!(
            (&data["result"], &data["text"]),
            (&json!(true), &json!("success"))
        );
        assert_eq!(keys(&data["data"]), ["bandwidth", "ip", "defense"]);
        let inst = app.instance(EXAMPLE_GUID).await;
        let mut seen = Vec::new();
        for (item, guid) in data["data"].as_object().into_iter().flatten() {
            let guid = text(guid);
            assert!(
                guid.len() == 16 && guid.bytes().all(|b| b.is_ascii_digit()),
                "{encoding:?}: degrade GUID {guid:?}"
            );
            let r = record(&inst, &guid);
            assert_eq!(r["item"], item.as_str());
            seen.push(json!([
                r["item"],
                r["status"],
                r["apply_time"],
                r["finish_time"],
                r["value"],
                r["old_value"],
                r["new_value"],
                r["reason"]
            ]));
        }
        outcomes.push((
            seen,
            totals(&inst),
            ip_list(&app, EXAMPLE_GUID).await,
            encoding,
        ));
    }
    let expected = vec![
        json!([
            "bandwidth",
            "0",
            date,
            null,
            "1",
            "10",
            "9",
            "预约降配：带宽"
        ]),
        json!([
            "ip",
            "0",
            date,
            null,
            EXAMPLE_BLOCK,
            "9",
            "1",
            "预约降配：IP"
        ]),
        json!(["defense", "0", date, null, "5", "10", "5", "预约降配：防御"]),
    ];
    for (seen, totals, list, encoding) in &outcomes {
        assert_eq!(seen, &expected, "{encoding:?}");
        // Booking changes nothing until apply_time; the block is no longer offered.
        assert_eq!(totals, &t("10", "9", "10"), "{encoding:?}");
        assert!(list.is_empty(), "{encoding:?}: {list:?}");
    }
}

#[tokio::test]
async fn every_degrade_rule_is_refused_with_its_reason() {
    let app = TestApp::spawn().await;
    let a = app.create_running().await;
    let up = app.upgrade(&a, 5, 16, 2, 5).await;
    assert_eq!(label(block(&up)), "114.114.8.32-47");
    let before = app.instance(&a).await;
    assert_eq!(totals(&before), t("10", "17", "10"));
    let primary = text(&before["ip"][0]["ip"]);
    let end_time = text(&before["end_time"]);
    let date = fmt(app.now().await + Duration::days(1));
    let after_end = fmt(parse_time(&end_time) + Duration::seconds(1));
    let bw = |v: Value| json!([{"item": "bandwidth", "value": v, "date": date}]);
    let ips = |v: Value| json!([{"item": "ip", "value": v, "date": date}]);

    let rows: Vec<(Value, &str, Vec<&str>)> = vec![
        (json!([]), "degrade_empty", vec!["降配内容不能为空"]),
        (bw(json!(0)), "degrade_empty", vec!["降配内容不能为空"]),
        (ips(json!([])), "degrade_empty", vec!["降配内容不能为空"]),
        (
            json!([{"item": "defense", "value": 0, "date": date}]),
            "degrade_empty",
            vec!["降配内容不能为空"],
        ),
        (
            bw(json!(6)),
            "degrade_exceeds_upgrade",
            vec!["带宽", "降配 6", "升级量 5"],
        ),
        (
            json!([{"item": "defense", "value": 10, "date": date}]),
            "degrade_exceeds_upgrade",
            vec!["防御", "降配 10", "升级量 5"],
        ),
        (
            ips(json!([EXAMPLE_BLOCK])),
            "degrade_ip_unknown",
            vec![EXAMPLE_BLOCK],
        ),
        (
            ips(json!([primary])),
            "degrade_ip_unknown",
            vec![primary.as_str()],
        ),
        (
            ips(json!(["114.114.8.32-39"])),
            "degrade_ip_unknown",
            vec!["114.114.8.32-39"],
        ),
        (
            ips(json!(["114.114.8.32"])),
            "degrade_ip_unknown",
            vec!["114.114.8.32"],
        ),
        (
            ips(json!(["114.114.8.32-47", "114.114.8.32-47"])),
            "degrade_ip_unknown",
            vec!["114.114.8.32-47"],
        ),
        (
            bw(json!(2)),
            "ratio_violation",
            vec!["8M / 17 个 IP", "0.471", "0.500"],
        ),
        (
            json!([{"item": "bandwidth", "value": 1, "date": "2021-09-02 11:03:00"}]),
            "degrade_date_past",
            vec!["2021-09-02 11:03:00"],
        ),
        (
            json!([{"item": "bandwidth", "value": 1, "date": after_end}]),
            "degrade_date_after_end",
            vec![after_end.as_str(), end_time.as_str()],
        ),
        (
            json!([{"item": "bandwidth", "value": 1, "date": "tomorrow"}]),
            "bad_param",
            vec!["tomorrow"],
        ),
        (
            json!([{"item": "cpu", "value": 1, "date": date}]),
            "bad_param",
            vec!["cpu"],
        ),
        (bw(json!("abc")), "bad_param", vec!["abc"]),
        (bw(json!(-1)), "bad_param", vec!["负数"]),
        (
            json!([
                {"item": "bandwidth", "value": 1, "date": date},
                {"item": "bandwidth", "value": 1, "date": date},
            ]),
            "bad_param",
            vec!["重复"],
        ),
    ];
    for (param, reason, words) in &rows {
        let m = app
            .fails("degrade", json!({"guid": a, "param": param}), reason)
            .await;
        for w in words {
            assert!(m.contains(w), "{param}: {m:?} should contain {w:?}");
        }
    }
    // No param at all is empty too.
    app.fails("degrade", json!({"guid": a}), "degrade_empty")
        .await;
    assert_eq!(app.instance(&a).await, before, "refusals leave no trace");

    // Pending degrades count: after 1M booked, another 1M breaks the ratio
    // (8M / 17) and only 4M of the upgrade is left to degrade.
    degrade(&app, &a, bw(json!(1))).await;
    let m = app
        .fails(
            "degrade",
            json!({"guid": a, "param": bw(json!(1))}),
            "ratio_violation",
        )
        .await;
    assert!(m.contains("8M / 17 个 IP"), "{m}");
    let m = app
        .fails(
            "degrade",
            json!({"guid": a, "param": bw(json!(5))}),
            "degrade_exceeds_upgrade",
        )
        .await;
    assert!(m.contains("降配 5") && m.contains("升级量 4"), "{m}");
    // With the block degraded too, the ratio holds again: 7M for 1 IP.
    degrade(
        &app,
        &a,
        json!([
            {"item": "bandwidth", "value": 2, "date": date},
            {"item": "ip", "value": ["114.114.8.32-47"], "date": date},
        ]),
    )
    .await;
}

#[tokio::test]
async fn degrade_is_gated_by_state_and_the_line() {
    let app = TestApp::spawn().await;
    let date = fmt(app.now().await + Duration::days(1));
    let param = json!([{"item": "bandwidth", "value": 1, "date": date}]);

    let closed = app.create_running_on(CLOSED_LINE, CLOSED_PRODUCT).await;
    let m = app
        .fails(
            "degrade",
            json!({"guid": closed, "param": param}),
            "degrade_closed",
        )
        .await;
    assert!(m.contains("reservation_degrade_status 0"), "{m}");

    // The example instance, busy with an upgrade.
    app.ok("upgrade", upgrade_params(EXAMPLE_GUID, 1, 0, 1, 0))
        .await;
    let m = app
        .fails(
            "degrade",
            json!({"guid": EXAMPLE_GUID, "param": param}),
            "act_status_forbids",
        )
        .await;
    assert!(m.contains("act_status 4"), "{m}");
    app.advance(20).await;
    app.patch(EXAMPLE_GUID, json!({"push_status": 1})).await;
    let m = app
        .fails(
            "degrade",
            json!({"guid": EXAMPLE_GUID, "param": param}),
            "push_status_forbids",
        )
        .await;
    assert!(m.contains("push_status 1"), "{m}");
    app.patch(EXAMPLE_GUID, json!({"push_status": 0, "order_status": 3}))
        .await;
    let m = app
        .fails(
            "degrade",
            json!({"guid": EXAMPLE_GUID, "param": param}),
            "order_status_forbids",
        )
        .await;
    assert!(m.contains("order_status 3"), "{m}");
    assert_eq!(
        app.instance(EXAMPLE_GUID).await["degrades"],
        json!([]),
        "nothing booked"
    );
    let other = app
        .user2()
        .call("degrade", json!({"guid": EXAMPLE_GUID, "param": param}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(other.reason.as_deref(), Some("not_found"), "{}", other.text);
}

#[tokio::test]
async fn records_show_in_sync_baremetal_and_a_missing_date_defaults() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    let now0 = app.now().await;
    // The example instance (line 1665907446560259: 15 days), no date; then an
    // empty date, which counts as missing.
    let out = degrade(
        &app,
        EXAMPLE_GUID,
        json!([{"item": "bandwidth", "value": 1}]),
    )
    .await;
    assert_eq!(keys(&Value::Object(out.clone())), ["bandwidth"]);
    let out2 = degrade(
        &app,
        EXAMPLE_GUID,
        json!([{"item": "defense", "value": 5, "date": ""}]),
    )
    .await;
    assert_eq!(keys(&Value::Object(out2.clone())), ["defense"]);
    let inst = app.instance(EXAMPLE_GUID).await;
    let fifteen = fmt(now0 + Duration::days(15));
    for (guid, item, value, old, new) in [
        (guid_of(&out, "bandwidth"), "bandwidth", "1", "10", "9"),
        (guid_of(&out2, "defense"), "defense", "5", "10", "5"),
    ] {
        let r = record(&inst, &guid);
        assert_eq!(keys(&r), DEGRADE_KEYS);
        for k in DEGRADE_KEYS {
            if k == "finish_time" {
                assert_eq!(r[k], Value::Null, "{r}");
            } else {
                assert!(r[k].is_string(), "{k} should be a string: {r}");
            }
        }
        assert!(text(&r["id"]).parse::<u64>().is_ok(), "{r}");
        assert_eq!(r["baremetal_guid"], EXAMPLE_GUID);
        assert_eq!(r["item"], item);
        assert_eq!(r["status"], "0");
        assert_eq!(r["apply_time"], fifteen.as_str());
        assert_eq!(r["create_time"], fmt(now0).as_str());
        assert_eq!(
            (&r["value"], &r["old_value"], &r["new_value"]),
            (&json!(value), &json!(old), &json!(new))
        );
    }

    // Line 1665907446560302 allows 30 days, but never past the end of a
    // one-month instance.
    let b = app.create_running_on(SUBNET_LINE, SUBNET_PRODUCT).await;
    app.upgrade(&b, 10, 0, 1, 0).await;
    let now1 = app.now().await;
    let end = parse_time(&text(&app.instance(&b).await["end_time"]));
    let out = degrade(&app, &b, json!([{"item": "bandwidth", "value": 10}])).await;
    let r = record(&app.instance(&b).await, &guid_of(&out, "bandwidth"));
    assert_eq!(
        r["apply_time"],
        fmt((now1 + Duration::days(30)).min(end)).as_str()
    );
}

#[tokio::test]
async fn a_degrade_applies_at_its_apply_time() {
    let app = TestApp::spawn().await;
    app.freeze().await;
    let date = fmt(app.now().await + Duration::days(2));
    let out = degrade(
        &app,
        EXAMPLE_GUID,
        json!([
            {"item": "bandwidth", "value": 1, "date": date},
            {"item": "ip", "value": [EXAMPLE_BLOCK], "date": date},
            {"item": "defense", "value": 5, "date": date},
        ]),
    )
    .await;
    // A minute early: nothing yet.
    app.advance(2 * 86_400 - 60).await;
    let inst = app.instance(EXAMPLE_GUID).await;
    assert_eq!(totals(&inst), t("10", "9", "10"));
    for item in ["bandwidth", "ip", "defense"] {
        assert_eq!(record(&inst, &guid_of(&out, item))["status"], "0");
    }
    app.advance(120).await;
    let inst = app.instance(EXAMPLE_GUID).await;
    assert_eq!(totals(&inst), t("9", "1", "5"));
    for item in ["bandwidth", "ip", "defense"] {
        let r = record(&inst, &guid_of(&out, item));
        assert_eq!(r["status"], "1", "{r}");
        assert_eq!(r["finish_time"], date.as_str(), "{r}");
    }
    // Fully degraded records are no longer in effect and name their degrade;
    // the 5M bandwidth record, only 1M of it degraded, still is.
    let ip_up = upgrade_record(&inst, EXAMPLE_BLOCK);
    assert_eq!(ip_up["status"], "0");
    assert_eq!(ip_up["degrade_guid"], guid_of(&out, "ip").as_str());
    let def_up = inst["upgrade"][2].clone();
    assert_eq!(def_up["type"], "defense");
    assert_eq!(def_up["status"], "0");
    assert_eq!(def_up["degrade_guid"], guid_of(&out, "defense").as_str());
    let bw_up = inst["upgrade"][0].clone();
    assert_eq!(
        (&bw_up["type"], &bw_up["status"]),
        (&json!("bandwidth"), &json!("1"))
    );
    for host in 16..=23 {
        assert_eq!(ip_status(&inst, &format!("114.114.8.{host}")), "-1");
    }
    assert_eq!(
        ip_status(&inst, "192.168.12.48"),
        "1",
        "the primary IP stays"
    );
    assert_eq!(ip_list(&app, EXAMPLE_GUID).await, Vec::<String>::new());

    // The block is free again for another instance.
    let other = app.create_running().await;
    let up = app.upgrade(&other, 0, 8, 2, 0).await;
    assert_eq!(label(block(&up)), EXAMPLE_BLOCK);
}

#[tokio::test]
async fn degrade_cancel_takes_only_a_pending_degrade_of_that_instance() {
    let app = TestApp::spawn().await;
    let b = app.create_running().await;
    app.upgrade(&b, 5, 0, 1, 0).await;
    let date = fmt(app.now().await + Duration::days(1));
    let a_out = degrade(
        &app,
        EXAMPLE_GUID,
        json!([
            {"item": "bandwidth", "value": 5, "date": date},
            {"item": "defense", "value": 5, "date": date},
        ]),
    )
    .await;
    let b_out = degrade(
        &app,
        &b,
        json!([{"item": "bandwidth", "value": 5, "date": date}]),
    )
    .await;
    let a_bw = guid_of(&a_out, "bandwidth");
    let a_def = guid_of(&a_out, "defense");

    let cancel =
        |guid: &str, degrade_guid: &str| json!({"guid": guid, "degrade_guid": degrade_guid});
    for (params, reason) in [
        (
            cancel(EXAMPLE_GUID, &guid_of(&b_out, "bandwidth")),
            "degrade_not_found",
        ),
        (cancel(&b, &a_bw), "degrade_not_found"),
        (
            cancel(EXAMPLE_GUID, "1700000000000000"),
            "degrade_not_found",
        ),
        (json!({"guid": EXAMPLE_GUID}), "missing_param"),
    ] {
        app.fails("degrade_cancel", params, reason).await;
    }
    let other = app
        .user2()
        .call("degrade_cancel", cancel(EXAMPLE_GUID, &a_bw))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(other.reason.as_deref(), Some("not_found"), "{}", other.text);

    assert_eq!(
        app.ok("degrade_cancel", cancel(EXAMPLE_GUID, &a_bw)).await,
        json!({})
    );
    let m = app
        .fails(
            "degrade_cancel",
            cancel(EXAMPLE_GUID, &a_bw),
            "degrade_not_pending",
        )
        .await;
    assert!(m.contains("status -1"), "{m}");
    let inst = app.instance(EXAMPLE_GUID).await;
    assert_eq!(record(&inst, &a_bw)["status"], "-1");
    assert_eq!(record(&inst, &a_bw)["finish_time"], Value::Null);

    app.advance(2 * 86_400).await;
    let inst = app.instance(EXAMPLE_GUID).await;
    // The cancelled bandwidth never applies; the defense did.
    assert_eq!(totals(&inst), t("10", "9", "5"));
    assert_eq!(record(&inst, &a_bw)["status"], "-1");
    assert_eq!(record(&inst, &a_def)["status"], "1");
    assert_eq!(
        (&inst["upgrade"][0]["type"], &inst["upgrade"][0]["status"]),
        (&json!("bandwidth"), &json!("1")),
        "the bandwidth upgrade is back in effect"
    );
    let m = app
        .fails(
            "degrade_cancel",
            cancel(EXAMPLE_GUID, &a_def),
            "degrade_not_pending",
        )
        .await;
    assert!(m.contains("status 1"), "{m}");
    // The cancelled 5M can be degraded again.
    let date = fmt(app.now().await + Duration::days(1));
    degrade(
        &app,
        EXAMPLE_GUID,
        json!([{"item": "bandwidth", "value": 5, "date": date}]),
    )
    .await;
    assert_eq!(app.instance(&b).await["bandwidth"], "5");
}

#[tokio::test]
async fn whole_flow_upgrade_degrade_cancel_apply_reuse() {
    let app = TestApp::spawn().await;
    let a = app.create_running().await;
    let up = app.upgrade(&a, 5, 8, 2, 5).await;
    let range = label(block(&up));
    assert_eq!(range, "114.114.8.24-31");
    assert_eq!(totals(&app.instance(&a).await), t("10", "9", "10"));
    let list = app.ok("degrade_ip_list", json!({"guid": a})).await;
    assert_eq!(
        list,
        json!([{"ip": range, "mask": "255.255.255.248", "gateway": "114.114.8.25"}])
    );

    let date = fmt(app.now().await + Duration::days(3));
    let out = degrade(
        &app,
        &a,
        json!([
            {"item": "bandwidth", "value": 5, "date": date},
            {"item": "ip", "value": [range], "date": date},
            {"item": "defense", "value": 5, "date": date},
        ]),
    )
    .await;
    assert_eq!(
        keys(&Value::Object(out.clone())),
        ["bandwidth", "ip", "defense"]
    );
    app.ok(
        "degrade_cancel",
        json!({"guid": a, "degrade_guid": guid_of(&out, "bandwidth")}),
    )
    .await;
    // Before the date, the block is still held: another instance gets the next one.
    let b = app.create_running().await;
    let b_up = app.upgrade(&b, 0, 8, 2, 0).await;
    assert_eq!(label(block(&b_up)), "114.114.8.32-39");

    app.advance(3 * 86_400 + 60).await;
    let inst = app.instance(&a).await;
    assert_eq!(totals(&inst), t("10", "1", "5"));
    assert_eq!(
        upgrade_values(&inst),
        [
            ("5".to_string(), "1".to_string()),
            (range.clone(), "0".to_string()),
            ("5".to_string(), "0".to_string()),
        ]
    );
    assert_eq!(record(&inst, &guid_of(&out, "bandwidth"))["status"], "-1");
    assert_eq!(record(&inst, &guid_of(&out, "ip"))["status"], "1");
    assert_eq!(record(&inst, &guid_of(&out, "defense"))["status"], "1");
    assert_eq!(ip_status(&inst, "114.114.8.24"), "-1");

    // The freed block goes to the next instance that asks.
    let c = app.create_running().await;
    let c_up = app.upgrade(&c, 0, 8, 2, 0).await;
    assert_eq!(label(block(&c_up)), range);
    app.assert_no_address_held_twice().await;
}

#[tokio::test]
async fn a_refunded_instance_offers_nothing_to_degrade_and_frees_its_blocks() {
    let app = TestApp::spawn().await;
    let date = fmt(app.now().await + Duration::days(1));
    let out = degrade(
        &app,
        EXAMPLE_GUID,
        json!([{"item": "bandwidth", "value": 5, "date": date}]),
    )
    .await;
    app.ok(
        "refund",
        json!({"guid": EXAMPLE_GUID, "productType": "baremetal"}),
    )
    .await;
    let inst = app.instance(EXAMPLE_GUID).await;
    assert_eq!(inst["order_status"], "-2");
    assert_eq!(record(&inst, &guid_of(&out, "bandwidth"))["status"], "-1");
    assert_eq!(ip_status(&inst, "114.114.8.16"), "-1");
    // Its IPs are released, so none of them is "active" any more.
    assert_eq!(ip_list(&app, EXAMPLE_GUID).await, Vec::<String>::new());
    app.fails(
        "degrade_cancel",
        json!({"guid": EXAMPLE_GUID, "degrade_guid": guid_of(&out, "bandwidth")}),
        "order_status_forbids",
    )
    .await;
    app.advance(2 * 86_400).await;
    let fresh = app.create_running().await;
    let up = app.upgrade(&fresh, 0, 8, 2, 0).await;
    assert_eq!(label(block(&up)), EXAMPLE_BLOCK);
}
