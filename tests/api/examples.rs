//! Every example request of the upstream document, verbatim, against the
//! default seed — each on a fresh engine — with its answer checked against
//! the document's example answer: keys, order, JSON types and the values
//! the seed makes predictable.

use apayun_mock::test_support::fixtures;
use serde_json::{json, Value};

use crate::helpers::{
    check_shape, fmt, keys, parse_example as parse, plus_months, text, TestApp, EXAMPLE_GUID,
};

/// The document's create answer, `data[0]`, verbatim.
const CREATE_EXAMPLE: &str = r#"{
          "id":"1029",
          "guid":"1708330228791024",
          "product_guid":"1665907642748705",
          "stock_id":"56",
          "cabinet_sn":"zhzy_561-2",
          "name":"APIzhzy4.0",
          "line_guid":"1665907446560259",
          "size":"2",
          "main_board":"\u6807\u51c6\u578b\u4e3b\u677f\u578b\u53f71-1",
          "cpu_value":"4",
          "cpu":"CPU\u578b\u53f7-4",
          "cpu_num":"8",
          "cpu_max_num":"16",
          "memory":"\u5185\u5b58\u6df7\u5408\u578b\u53f7-max64",
          "memory_num":"500",
          "memory_max_num":"64",
"harddisk_guid":"1623164948719896,1623164948719896,1623164939837722",
          "harddisk_max_num":"3",
          "raid_tips":"\u652f\u6301",
          "bandwidth":"5",
          "defense":"5",
          "ipnum":"1",
          "system_id":"160",
          "login_name":"root",
          "login_password":"b86sWRX\/2ibpVbKnf0w+LQ==",
          "ssh_public_key":null,
          "system_partition":null,
          "system_partition_size":"-1",
          "buy_time":"2021-08-17 16:57:43",
          "start_time":"2021-08-17 16:57:43",
          "end_time":"2021-09-17 16:57:43",
          "order_status":"0",
          "run_status":"1",
          "act_status":"0",
          "sync_status":"0",
          "sync_time":null,
          "renew_notice":"0",
          "renew_notice_time":null,
          "buy_remarks":"",
          "push_status":"0",
          "is_agent":"1",
          "stock_type":"1",
          "ipmi_ip":"",
          "ipmi_user":null,
          "ipmi_pass":null,
          "renew_price":"0.00",
          "renew_price_setting":"0",
          "renew_price_remark":null,
          "lock_vnc":"0",
          "is_upgrade":"0",
          "lock_status":"0",
          "lock_reason":"",
          "lock_time":null,
          "install_mode":"1",
          "renew_auto":"0",
          "ip":[
            {
              "ip":"192.168.12.48",
              "status":"1",
              "mask":"255.255.255.0",
              "gateway":"192.168.12.254",
              "create_time":"2021-08-17 16:57:43",
              "ip_num":"1",
              "is_default":"1",
              "net_type":"ip"
            }]
        }"#;

/// The document's sync_baremetal list answer, `data`, verbatim.
const LIST_EXAMPLE: &str = r#"{
        "total_number":"77",
        "total_page":1,
        "baremetal":[
            {
              "guid":"1708330228791024",
              "product_guid":"1665907642748705",
              "line_guid":"1665907446560259",
              "cabinet_sn":"zhzy_561-2",
              "name":"APIzhzy4.0",
              "size":"2",
              "main_board":"\u6807\u51c6\u578b\u4e3b\u677f\u578b\u53f71-1",
              "cpu":"CPU\u578b\u53f7-4",
              "cpu_value":"4",
              "cpu_num":"8",
              "cpu_max_num":"16",
              "memory":"\u5185\u5b58\u6df7\u5408\u578b\u53f7-max64",
              "memory_num":"500",
              "memory_max_num":"64",
"harddisk_guid":"1623164948719896,1623164948719896,1623164939837722",
              "harddisk_max_num":"3",
              "raid_tips":"\u652f\u6301",
              "bandwidth":"5",
              "defense":"5",
              "ipnum":"1",
              "system_id":"160",
              "login_name":"root",
              "buy_time":"2021-08-17 16:57:43",
              "start_time":"2021-08-17 16:57:43",
              "end_time":"2021-09-17 16:57:43",
              "order_status":"1",
              "run_status":"1",
              "act_status":"0",
              "buy_remarks":"",
              "ip":[
                {
                  "ip":"192.168.12.48",
                  "status":"1",
                  "mask":"255.255.255.0",
                  "gateway":"192.168.12.254",
                  "create_time":"2021-08-17 16:57:43",
                  "ip_num":"1",
                  "is_default":"1",
                  "net_type":"ip"
                }],
              "system_guid":"1633652801461868",
              "upgrade":[
                     {
                      "type":"ipnum",
                      "degrade_guid":null,
                      "nums":"8",
                      "value":"114.114.8.16-23",
                      "status":"1",
                      "order_no_api":"160682598814128134",
                      "create_time":"2021-08-18 10:46:54"
                    }
              ],
              "degrades":[
                  {
                      "id":"122",
                      "guid":"1708398791975293",
                      "baremetal_guid":"1708330228791024",
                      "item":"bandwidth",
                      "status":"0",
                      "reason":"\u9884\u7ea6\u964d\u914d\uff1a\u5e26\u5bbd",
                      "apply_time":"2021-09-02 11:03:00",
                      "create_time":"2021-08-18 11:07:30",
                      "finish_time":null,
                      "value":"1",
                      "new_value":"5",
                      "old_value":"6"
                    }
              ]
            }
        ]
      }"#;

/// The document's single sync_baremetal answer, `data`, verbatim.
const SINGLE_EXAMPLE: &str = r#"{
        "baremetal":{
          "guid":"1708330228791024",
          "product_guid":"1665907642748705",
          "line_guid":"1665907446560259",
          "cabinet_sn":"zhzy_561-2",
          "client_user_id":1601638,
          "size":"2",
          "main_board":"\u6807\u51c6\u578b\u4e3b\u677f\u578b\u53f71-1",
          "cpu":"CPU\u578b\u53f7-4",
          "cpu_value":"4",
          "cpu_num":"8",
          "cpu_max_num":"16",
          "memory":"\u5185\u5b58\u6df7\u5408\u578b\u53f7-max64",
          "memory_num":"500",
          "memory_max_num":"64",
"harddisk_guid":"1623164948719896,1623164948719896,1623164939837722",
          "harddisk_max_num":"3",
          "raid_tips":"\u652f\u6301",
          "bandwidth":"5",
          "defense":"5",
          "ipnum":"1",
          "system_id":"160",
          "login_name":"root",
          "buy_time":"2021-08-17 16:57:43",
          "start_time":"2021-08-17 16:57:43",
          "end_time":"2021-09-17 16:57:43",
          "order_status":"1",
          "run_status":"1",
          "act_status":"0",
          "buy_remarks":"",
          "ip":[
            {
              "ip":"192.168.12.48",
              "status":"1",
              "mask":"255.255.255.0",
              "gateway":"192.168.12.254",
              "create_time":"2021-08-17 16:57:43",
              "ip_num":"1",
              "is_default":"1",
              "net_type":"ip"
            }],
          "system_guid":"1633652801461868",
          "upgrade":[
                 {
                  "type":"ipnum",
                  "degrade_guid":null,
                  "nums":"8",
                  "value":"114.114.8.16-23",
                  "status":"1",
                  "order_no_api":"160682598814128134",
                  "create_time":"2021-08-18 10:46:54"
                }
          ],
          "degrades":[
              {
                  "id":"122",
                  "guid":"1708398791975293",
                  "baremetal_guid":"1708330228791024",
                  "item":"bandwidth",
                  "status":"0",
                  "reason":"\u9884\u7ea6\u964d\u914d\uff1a\u5e26\u5bbd",
                  "apply_time":"2021-09-02 11:03:00",
                  "create_time":"2021-08-18 11:07:30",
                  "finish_time":null,
                  "value":"1",
                  "new_value":"5",
                  "old_value":"6"
                }
          ]
        }
      }"#;

/// The document's degrade request body, verbatim except as `degrade_body` says.
const DEGRADE_BODY: &str = r#"{
  "userid":"1100134",
  "action":"degrade",
  "dataType":"json",
  "sign":"35b7bda33d096982d4f299e9a082062e",
  "module":"baremetal",
  "time":1629256049,
  "guid":"1708330228791024",
  "defense":5,
  "bandwidth":1,
  "ipnum":8,
  "param":[
    {
      "item":"bandwidth",
      "value":1,
      "date":"2021-09-02 11:03:00",
      "old_value":6,
      "new_value":"5"
    },
    {
      "item":"ip",
      "value":[
        "114.114.8.16-23"],
      "date":"2021-09-02 11:03:00",
      "new_value":8
    },
    {
      "item":"defense",
      "value":5,
      "date":"2021-09-02 11:03:00",
      "old_value":10,
      "new_value":"5"
    }],
  "version":"9.9.9",
  "__version__":"9.9.9",
  "__system_type__":"zkeys_agent_multi",
  "vtime":"20210713"
}"#;

/// The document's example instance's degrade GUID for defense; it names a
/// degrade of the document's own engine, which a fresh seed does not hold.
const DOCUMENT_DEGRADE_GUID: &str = "1708398791985048";

/// The envelope `{"code":0,"message":"success","data":…}`; returns `data`.
async fn example(app: &TestApp, action: &str, params: Value) -> Value {
    let answer = app.call(action, params.clone()).await;
    let body = answer.json();
    assert_eq!(answer.status, 200, "{action}: {}", answer.text);
    assert_eq!(answer.reason, None, "{action} {params}: {}", answer.text);
    assert_eq!(keys(&body), ["code", "message", "data"], "{action}: {body}");
    assert_eq!(body["code"], json!(0), "{action} {params}: {body}");
    assert_eq!(body["message"], "success", "{action}: {body}");
    body["data"].clone()
}

/// Values of `actual` that must equal the example's.
fn check_values(example: &Value, actual: &Value, fields: &[&str], what: &str) {
    for f in fields {
        assert_eq!(actual[*f], example[*f], "{what}.{f}");
    }
}

/// The seed instance's primary IP is the document's (its `create_time` is
/// the seed's own; the upgraded subnet's entries follow it).
fn check_primary_ip(doc: &Value, inst: &Value) {
    check_values(
        &doc["ip"][0],
        &inst["ip"][0],
        &[
            "ip",
            "status",
            "mask",
            "gateway",
            "ip_num",
            "is_default",
            "net_type",
        ],
        "ip[0]",
    );
    let primaries = inst["ip"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|ip| ip["is_default"] == "1")
        .count();
    assert_eq!(primaries, 1, "one primary IP: {inst}");
}

async fn state(app: &TestApp) -> (Value, Value, Value) {
    let i = app.instance(EXAMPLE_GUID).await;
    (
        i["order_status"].clone(),
        i["run_status"].clone(),
        i["act_status"].clone(),
    )
}

fn st(order: &str, run: &str, act: &str) -> (Value, Value, Value) {
    (json!(order), json!(run), json!(act))
}

#[tokio::test]
async fn getzones() {
    let app = TestApp::spawn().await;
    let data = example(&app, "getzones", json!({})).await;
    assert_eq!(keys(&data), ["zones"]);
    assert!(
        data["zones"].as_array().is_some_and(|z| z.len() >= 2),
        "{data}"
    );
}

#[tokio::test]
async fn sync_line() {
    let app = TestApp::spawn().await;
    let data = example(&app, "sync_line", json!({})).await;
    assert_eq!(data[0]["guid"], "1665907446560259", "{data}");
}

#[tokio::test]
async fn getsystems() {
    let app = TestApp::spawn().await;
    let data = example(
        &app,
        "getsystems",
        json!({"page_mode": "1", "page_length": "50"}),
    )
    .await;
    assert_eq!(keys(&data), ["pages", "items", "systems"]);
    assert_eq!(data["pages"], 1);
    assert_eq!(
        data["items"],
        data["systems"].as_array().map_or(0, Vec::len)
    );
}

#[tokio::test]
async fn sync_harddisk() {
    let app = TestApp::spawn().await;
    let data = example(&app, "sync_harddisk", json!({})).await;
    assert_eq!(data[0]["guid"], "1623164939837722", "{data}");
}

#[tokio::test]
async fn sync_product() {
    let app = TestApp::spawn().await;
    let data = example(&app, "sync_product", json!({})).await;
    assert_eq!(data[0]["guid"], "1665907642748705", "{data}");
}

#[tokio::test]
async fn create() {
    let app = TestApp::spawn().await;
    let data = example(
        &app,
        "create",
        // The document's example request, field for field.
        fixtures::create_params("590682534662098123"),
    )
    .await;
    let list = data.as_array().cloned().unwrap_or_default();
    assert_eq!(list.len(), 1, "num 1: {data}");
    let doc = parse(CREATE_EXAMPLE);
    let got = &list[0];
    check_shape(&doc, got, false, "create[0]");
    check_values(
        &doc,
        got,
        &[
            "product_guid",
            "name",
            "line_guid",
            "size",
            "main_board",
            "cpu_value",
            "cpu",
            "cpu_num",
            "cpu_max_num",
            "memory",
            "memory_num",
            "memory_max_num",
            "harddisk_guid",
            "harddisk_max_num",
            "raid_tips",
            "bandwidth",
            "defense",
            "ipnum",
            "system_id",
            "login_name",
            "system_partition_size",
            "order_status",
            "run_status",
            "act_status",
            "buy_remarks",
            "push_status",
            "stock_type",
            "install_mode",
            "lock_status",
        ],
        "create[0]",
    );
    assert_ne!(got["guid"], EXAMPLE_GUID, "a new instance");
    assert_ne!(
        got["stock_id"], "56",
        "stock unit 56 is the example instance's"
    );
    assert_eq!(got["buy_time"], got["start_time"]);
    assert_eq!(
        got["end_time"],
        plus_months(&text(&got["start_time"]), 1),
        "months 1"
    );
    assert_eq!(got["login_password"].as_str().map(str::len), Some(24));
    let ip = &got["ip"][0];
    check_values(
        &doc["ip"][0],
        ip,
        &[
            "status",
            "mask",
            "gateway",
            "ip_num",
            "is_default",
            "net_type",
        ],
        "create[0].ip[0]",
    );
    assert_eq!(ip["create_time"], got["start_time"]);
    assert_eq!(
        got["ip"].as_array().map(Vec::len),
        Some(1),
        "one primary IP"
    );
    // Provisioning completes on the clock.
    app.advance(60).await;
    let guid = got["guid"].as_str().unwrap_or_default();
    assert_eq!(app.instance(guid).await["order_status"], "1");
}

#[tokio::test]
async fn sync_baremetal_list() {
    let app = TestApp::spawn().await;
    let data = example(&app, "sync_baremetal", json!({"page": "1", "number": "10"})).await;
    let doc = parse(LIST_EXAMPLE);
    assert_eq!(keys(&data), keys(&doc));
    assert_eq!(data["total_number"], "1", "total_number is a string");
    assert_eq!(data["total_page"], 1, "total_page is a number");
    let inst = &data["baremetal"][0];
    // The seed instance has no degrade yet; its shape is checked after one.
    let mut shape = doc["baremetal"][0].clone();
    shape["degrades"] = json!([]);
    check_shape(&shape, inst, false, "baremetal[0]");
    check_values(
        &doc["baremetal"][0],
        inst,
        &[
            "guid",
            "product_guid",
            "line_guid",
            "cabinet_sn",
            "name",
            "system_id",
            "login_name",
            "order_status",
            "run_status",
            "act_status",
            "system_guid",
        ],
        "baremetal[0]",
    );
    check_primary_ip(&doc["baremetal"][0], inst);
    let upgrades = inst["upgrade"].as_array().cloned().unwrap_or_default();
    let doc_upgrade = &doc["baremetal"][0]["upgrade"][0];
    let ipnum = upgrades
        .iter()
        .find(|u| u["type"] == "ipnum")
        .unwrap_or_else(|| panic!("the example's ipnum upgrade: {inst}"));
    check_values(
        doc_upgrade,
        ipnum,
        &[
            "type",
            "degrade_guid",
            "nums",
            "value",
            "status",
            "order_no_api",
        ],
        "upgrade",
    );
}

#[tokio::test]
async fn sync_baremetal_single() {
    let app = TestApp::spawn().await;
    let data = example(
        &app,
        "sync_baremetal",
        json!({"guid": EXAMPLE_GUID, "page": "1", "page_size": "10"}),
    )
    .await;
    let mut doc = parse(SINGLE_EXAMPLE);
    doc["baremetal"]["degrades"] = json!([]);
    check_shape(&doc, &data, false, "data");
    let inst = &data["baremetal"];
    assert_eq!(
        inst["client_user_id"], 1601638,
        "a number, as the document shows"
    );
    check_values(
        &doc["baremetal"],
        inst,
        &[
            "guid",
            "product_guid",
            "line_guid",
            "cabinet_sn",
            "system_id",
            "order_status",
            "run_status",
            "act_status",
            "system_guid",
        ],
        "baremetal",
    );
    check_primary_ip(&doc["baremetal"], inst);
}

#[tokio::test]
async fn upgrade() {
    let app = TestApp::spawn().await;
    let before = app.instance(EXAMPLE_GUID).await;
    let data = example(
        &app,
        "upgrade",
        json!({
            "guid": "1708330228791024",
            "defense": "5",
            "bandwidth": "1",
            "ip_type": "2",
            "ipnum": "8",
            "clientOrderNo": "18369",
            "clientUserId": "1100123",
            "agent_order_no": "590682534662098123",
        }),
    )
    .await;
    assert_eq!(keys(&data), ["order_no_api", "ip"], "{data}");
    let order_no = data["order_no_api"].as_str().unwrap_or_default();
    assert_eq!(order_no.len(), 18, "{order_no}");
    assert!(order_no.bytes().all(|b| b.is_ascii_digit()), "{order_no}");
    let ips = data["ip"].as_array().cloned().unwrap_or_default();
    let kinds: Vec<&str> = ips
        .iter()
        .map(|i| i["net_type"].as_str().unwrap_or("?"))
        .collect();
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
        ],
        "{data}"
    );
    let addrs: Vec<std::net::Ipv4Addr> = ips
        .iter()
        .map(|i| {
            i["ip"]
                .as_str()
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("not an IPv4 address: {i}"))
        })
        .collect();
    let first = u32::from(addrs[0]);
    assert_eq!(first % 8, 0, "an aligned /29: {data}");
    for (n, (entry, addr)) in ips.iter().zip(&addrs).enumerate() {
        assert_eq!(
            keys(entry),
            ["id", "ip", "mask", "gateway", "net_type"],
            "{entry}"
        );
        assert!(entry["id"].is_string(), "{entry}");
        assert_eq!(u32::from(*addr), first + n as u32, "consecutive: {data}");
        assert_eq!(entry["mask"], "255.255.255.248", "{entry}");
        assert_eq!(
            entry["gateway"],
            addrs[1].to_string(),
            "the second address: {entry}"
        );
    }
    // The seed's own 114.114.8.16/29 is not handed out again.
    assert_ne!(addrs[0].to_string(), "114.114.8.16");
    let after = app.instance(EXAMPLE_GUID).await;
    let n = |v: &Value, k: &str| {
        v[k].as_str()
            .and_then(|s| s.parse::<i64>().ok())
            .unwrap_or(-1)
    };
    assert_eq!(n(&after, "bandwidth"), n(&before, "bandwidth") + 1);
    assert_eq!(n(&after, "defense"), n(&before, "defense") + 5);
    assert_eq!(n(&after, "ipnum"), n(&before, "ipnum") + 8);
    assert!(
        after["upgrade"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|u| u["order_no_api"] == order_no && u["type"] == "ipnum" && u["nums"] == "8"),
        "{after}"
    );
}

#[tokio::test]
async fn degrade_ip_list() {
    let app = TestApp::spawn().await;
    let data = example(&app, "degrade_ip_list", json!({"guid": EXAMPLE_GUID})).await;
    // The document also lists the primary IP; the mock lists only what can be
    // degraded — upgrade ranges (docs/contract.md, "degrade_ip_list").
    assert_eq!(
        data,
        json!([{"ip": "114.114.8.16-23", "mask": "255.255.255.248", "gateway": "114.114.8.17"}])
    );
    assert_eq!(keys(&data[0]), ["ip", "mask", "gateway"]);
}

/// The document's degrade body with only userid, time and sign replaced and
/// the three dates moved into the future.
fn degrade_body(date: &str) -> Value {
    let mut body = parse(DEGRADE_BODY);
    let time = chrono::Utc::now().timestamp();
    body["userid"] = json!("1");
    body["time"] = json!(time);
    body["sign"] = json!(apayun_mock::test_support::protocol::sign::sign(
        "baremetal",
        "degrade",
        "1",
        "mock-api-key",
        &time.to_string()
    ));
    for item in body["param"].as_array_mut().into_iter().flatten() {
        item["date"] = json!(date);
    }
    body
}

/// A date a week from the simulated now.
async fn next_week(app: &TestApp) -> String {
    fmt(app.now().await + chrono::Duration::days(7))
}

async fn post_degrade(app: &TestApp, date: &str) -> Value {
    let resp = app
        .post_raw("application/json", degrade_body(date).to_string())
        .await;
    let text = resp.text().await.unwrap_or_default();
    let body: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(body["code"], 0, "{body}");
    assert_eq!(body["message"], "success", "{body}");
    body["data"].clone()
}

#[tokio::test]
async fn degrade() {
    let app = TestApp::spawn().await;
    let date = next_week(&app).await;
    let data = post_degrade(&app, &date).await;
    assert_eq!(keys(&data), ["result", "text", "data"], "{data}");
    assert_eq!(data["result"], json!(true), "a boolean: {data}");
    assert_eq!(data["text"], "success");
    assert_eq!(
        keys(&data["data"]),
        ["bandwidth", "ip", "defense"],
        "{data}"
    );
    let inst = app.instance(EXAMPLE_GUID).await;
    let degrades = inst["degrades"].as_array().cloned().unwrap_or_default();
    assert_eq!(degrades.len(), 3, "{inst}");
    let doc = parse(SINGLE_EXAMPLE);
    let doc_degrade = &doc["baremetal"]["degrades"][0];
    for item in ["bandwidth", "ip", "defense"] {
        let guid = data["data"][item].as_str().unwrap_or_default();
        assert_eq!(guid.len(), 16, "{item}: {data}");
        let d = degrades
            .iter()
            .find(|d| d["guid"] == guid)
            .unwrap_or_else(|| panic!("degrade {item} {guid} not in sync: {inst}"));
        check_shape(doc_degrade, d, false, &format!("degrades.{item}"));
        assert_eq!(d["item"], item);
        assert_eq!(d["status"], "0", "pending: {d}");
        assert_eq!(d["apply_time"], date.as_str());
        assert_eq!(d["baremetal_guid"], EXAMPLE_GUID);
        assert_eq!(d["finish_time"], Value::Null);
    }
    let bw = degrades.iter().find(|d| d["item"] == "bandwidth");
    assert_eq!(
        bw.map(|d| d["reason"].clone()),
        Some(doc_degrade["reason"].clone())
    );
    assert_eq!(bw.map(|d| d["value"].clone()), Some(json!("1")));
    // The whole list view shows the same records, in the document's shape.
    let list = example(&app, "sync_baremetal", json!({"page": "1", "number": "10"})).await;
    check_shape(&parse(LIST_EXAMPLE), &list, false, "list");
}

#[tokio::test]
async fn degrade_cancel() {
    let app = TestApp::spawn().await;
    // The document's degrade_guid (1708398791985048) belongs to its own
    // engine's history and does not exist in a fresh seed: it is refused…
    let msg = app
        .fails(
            "degrade_cancel",
            json!({"guid": EXAMPLE_GUID, "degrade_guid": DOCUMENT_DEGRADE_GUID}),
            "degrade_not_found",
        )
        .await;
    assert!(msg.contains(DOCUMENT_DEGRADE_GUID), "{msg}");
    // …so the example runs on a GUID the example degrade returned.
    let date = next_week(&app).await;
    let degraded = post_degrade(&app, &date).await;
    let guid = degraded["data"]["defense"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let data = example(
        &app,
        "degrade_cancel",
        json!({"guid": EXAMPLE_GUID, "degrade_guid": guid}),
    )
    .await;
    assert_eq!(data, json!({}));
    let inst = app.instance(EXAMPLE_GUID).await;
    let statuses: Vec<(Value, Value)> = inst["degrades"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| (d["item"].clone(), d["status"].clone()))
        .collect();
    assert_eq!(
        statuses,
        [
            (json!("bandwidth"), json!("0")),
            (json!("ip"), json!("0")),
            (json!("defense"), json!("-1")),
        ],
        "{inst}"
    );
}

#[tokio::test]
async fn stop() {
    let app = TestApp::spawn().await;
    let data = example(&app, "stop", json!({"guid": "1708330228791024"})).await;
    assert_eq!(data, json!({}));
    assert_eq!(state(&app).await, st("1", "1", "6"));
    app.advance(60).await;
    assert_eq!(state(&app).await, st("1", "-1", "0"));
}

#[tokio::test]
async fn start() {
    let app = TestApp::spawn().await;
    example(&app, "stop", json!({"guid": EXAMPLE_GUID})).await;
    app.advance(60).await;
    let data = example(&app, "start", json!({"guid": "1708330228791024"})).await;
    assert_eq!(data, json!({}));
    assert_eq!(state(&app).await, st("1", "-1", "5"));
    app.advance(60).await;
    assert_eq!(state(&app).await, st("1", "1", "0"));
}

#[tokio::test]
async fn restart() {
    let app = TestApp::spawn().await;
    let data = example(&app, "restart", json!({"guid": "1708330228791024"})).await;
    assert_eq!(data, json!({}));
    assert_eq!(state(&app).await, st("1", "1", "1"));
    app.advance(60).await;
    assert_eq!(state(&app).await, st("1", "1", "0"));
}

#[tokio::test]
async fn renew() {
    let app = TestApp::spawn().await;
    let before = app.instance(EXAMPLE_GUID).await["end_time"].clone();
    let data = example(
        &app,
        "renew",
        json!({
            "guid": "1708330228791024",
            "months": "1",
            "clientOrderNo": "440682612532605123",
            "agent_order_no": "440682612532605123",
        }),
    )
    .await;
    assert_eq!(keys(&data), ["end_time"], "{data}");
    assert_eq!(
        data["end_time"],
        plus_months(&text(&before), 1),
        "from {before}"
    );
    assert_eq!(
        app.instance(EXAMPLE_GUID).await["end_time"],
        data["end_time"]
    );
}

#[tokio::test]
async fn setpass() {
    let app = TestApp::spawn().await;
    example(&app, "stop", json!({"guid": EXAMPLE_GUID})).await;
    app.advance(60).await;
    let data = example(
        &app,
        "setpass",
        json!({"guid": "1708330228791024", "loginPassword": "YTUzNTAyOTI3OSE="}),
    )
    .await;
    assert_eq!(data, json!({}));
    assert_eq!(state(&app).await, st("1", "-1", "3"));
    app.advance(60).await;
    assert_eq!(state(&app).await, st("1", "-1", "0"));
}

#[tokio::test]
async fn install() {
    let app = TestApp::spawn().await;
    let data = example(
        &app,
        "install",
        json!({
            "guid": "1708330228791024",
            "systemGuid": "1633652801461868",
            "loginPassword": "YTUzNTAyOTI3OSE=",
            "system_partition_size": "0",
            "installType": "install",
            "install_mode": "1",
        }),
    )
    .await;
    assert_eq!(data, json!({}));
    assert_eq!(state(&app).await, st("1", "1", "2"));
    app.advance(600).await;
    assert_eq!(state(&app).await, st("1", "1", "0"));
    assert_eq!(
        app.instance(EXAMPLE_GUID).await["system_guid"],
        "1633652801461868"
    );
}

#[tokio::test]
async fn refund() {
    let app = TestApp::spawn().await;
    let data = example(
        &app,
        "refund",
        json!({"module": "common", "guid": "1708330228791024", "productType": "baremetal"}),
    )
    .await;
    assert_eq!(data, json!({}));
    let inst = app.instance(EXAMPLE_GUID).await;
    assert_eq!(inst["order_status"], "-2", "{inst}");
    let journal = app
        .engine
        .requests("action=refund&limit=1")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(journal[0]["params"]["module"], "common", "{journal:?}");
}
