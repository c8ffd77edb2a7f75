//! The catalog actions (`getzones`, `sync_line`, `getsystems`,
//! `sync_harddisk`, `sync_product`) compared field by field and type by type
//! with the document's example objects, and `getsystems` paging.

use apayun_mock::test_support::protocol::Reason;
use serde_json::{json, Value};

use crate::helpers::{check_shape, json_kind as kind, keys, parse_example as parse, TestApp};

/// The document's getzones example, `data` part, verbatim.
const ZONES_EXAMPLE: &str = r#"{
        "zones": [
            {
                "guid": "1625139389577044",
                "name": "Hyper-V 2",
                "max_year": "3",
                "identityStatus": "1",
                "whiteListStatus": "0",
                "icp_status": "0"
            },
            {
                "guid": "1650521653823448",
                "name": "\u4e2d\u56fd\u5185\u8499",
                "max_year": "3",
                "identityStatus": "1",
                "whiteListStatus": "1",
                "icp_status": "1"
            }
        ]
    }"#;

/// The document's sync_line example object, verbatim.
const LINE_EXAMPLE: &str = r#"{
      "id":"1",
      "line_type":"local",
      "guid":"1665907446560259",
      "api_guid":"1665907446560259",
      "line_guid":"1665906481931673",
      "type_guid":"0",
      "status":"1",
      "name":"\u88f84.0ZH-\u88f84.0ZH",
      "code":null,
      "descript":null,
      "intro_url":"",
      "buy_status":"1",
      "renew_status":"1",
      "upgrade_status":"1",
      "defense_status":"1",
      "buy_order_max_num":"10",
      "auto_user_dns":null,
      "sort_id":"17",
      "life_time":"3",
      "bandwidth_share_size":"0",
      "bandwidth_share_price":"0.00",
      "bandwidth_price_api":"0.00",
      "bandwidth_price":"10.00",
      "bandwidth_max_size":"300",
      "ip_min_size":"0",
      "ip_max_size":"200",
      "ip_free_size":"0",
      "ip_price":"10.00",
      "ip_price_api":"0.00",
      "ip_num_list":"1,8,16,32,64,128,256",
      "defense_price_api":"0.00",
      "defense_price":"10.00",
      "defense_max_size":"300",
      "defense_num_list":null,
      "defense_step":"5",
      "release_hour":"0",
      "months":"1,2,3,4,5,6,12,24,36",
      "ipmi_server_id":"0",
      "idc_line_id":"0",
      "move_status":"0",
      "ip_upgrade_type":"1,2",
      "user_vnc":"0",
      "retention_days":"1",
      "bandwidth_in_type":"1",
      "bandwidth_in_value":"0",
      "discount1":"1.00",
      "discount2":"1.00",
      "discount3":"1.00",
      "line_auth":"0",
      "ip_bandwidth_rate":"0.500",
      "reservation_degrade_status":"1",
      "reservation_degrade_valid_limit":"15"
    }"#;

/// The document's sync_harddisk example objects, verbatim.
const HARDDISK_EXAMPLE: &str = r#"[
        {
          "id":"1",
          "line_type":"local",
          "guid":"1623164939837722",
          "api_guid":"1623164939837722",
          "type":"SSD",
          "size":"1200",
          "status":"1"
        },
        {
          "id":"54",
          "line_type":"local",
          "guid":"1695288616986859",
          "api_guid":"1695288616986859",
          "type":"SSD",
          "size":"3",
          "status":"1"
        }]"#;

/// The document's sync_product example object, verbatim.
const PRODUCT_EXAMPLE: &str = r#"{
          "id":"55",
          "product_type":"local",
          "guid":"1665907642748705",
          "api_guid":"1665907642748705",
          "name":"zhzy4.0",
          "line_guid":"1665907446560259",
          "line_guid_api":null,
          "cpu_value":"4",
          "cpu":"CPU\u578b\u53f7-4",
          "cpu_num":"8",
          "cpu_max_num":"16",
          "memory":"\u5185\u5b58\u6df7\u5408\u578b\u53f7-max64",
          "memory_num":"500",
          "memory_max_num":"64",
"harddisk_guid":"1623164948719896,1623164948719896,1623164939837722",
          "harddisk_max_num":"3",
          "system_partition_size":"50",
          "system_partition_support":"1",
          "raid_tips":"\u652f\u6301",
          "ipnum":"1",
          "bandwidth":"5",
          "defense":"5",
          "sort_id":"26",
          "main_board":"\u6807\u51c6\u578b\u4e3b\u677f\u578b\u53f71-1",
          "price":"500.00",
          "price_api":"0.00",
          "size":"2",
          "description":"\u56de\u5f52\u6d4b\u8bd5",
          "status":"1",
          "upgrade_status":"1",
          "recommend_status":"1",
          "stock_type":"1",
          "cpu_ids":null,
          "memory_ids":null,
          "harddisk_ids":null,
          "cpu_threads":null
        }"#;

/// getsystems' field table (its example body is a copy of getzones', so the
/// table is the reference): each field and its JSON type.
const SYSTEM_TABLE: &[(&str, &str)] = &[
    ("distinct_id", "string"),
    ("id", "string"),
    ("guid", "string"),
    ("class_guid", "string"),
    ("name", "string"),
    ("login_name", "string"),
    ("port", "string"),
    ("mirror_name", "string"),
    ("cpu_limit", "string"),
    ("ram_limit", "string"),
    ("type", "string"),
    ("system_harddisk", "string"),
    ("support", "string"),
    ("boot_menu_contents", "object"),
    ("ghost_url", "object"),
    ("lines", "array"),
];

/// Every record has the example's shape; the record with the example's GUID
/// is the example exactly.
fn check_records(examples: &[Value], records: &[Value], what: &str) {
    assert!(!records.is_empty(), "{what}: no records");
    for (i, r) in records.iter().enumerate() {
        check_shape(&examples[0], r, true, &format!("{what}[{i}]"));
    }
    for ex in examples {
        let guid = &ex["guid"];
        let found = records
            .iter()
            .find(|r| &r["guid"] == guid)
            .unwrap_or_else(|| panic!("{what}: the document's GUID {guid} is missing"));
        check_shape(ex, found, false, &format!("{what} {guid}"));
        assert_eq!(found, ex, "{what} {guid}: values differ from the document");
    }
    let mut guids: Vec<&Value> = records.iter().map(|r| &r["guid"]).collect();
    guids.sort_by_key(|g| g.to_string());
    guids.dedup();
    assert_eq!(guids.len(), records.len(), "{what}: duplicate GUIDs");
}

fn array(v: &Value, what: &str) -> Vec<Value> {
    v.as_array()
        .unwrap_or_else(|| panic!("{what} should be an array: {v}"))
        .clone()
}

#[tokio::test]
async fn getzones_matches_the_document() {
    let app = TestApp::spawn().await;
    let data = app.ok("getzones", json!({})).await;
    let example = parse(ZONES_EXAMPLE);
    assert_eq!(keys(&data), ["zones"], "{data}");
    check_records(
        &array(&example["zones"], "example"),
        &array(&data["zones"], "data.zones"),
        "zones",
    );
    // The example line's zone (which the document calls line_guid) is a zone too.
    let zones = array(&data["zones"], "data.zones");
    assert!(
        zones.iter().any(|z| z["guid"] == "1665906481931673"),
        "{data}"
    );
}

#[tokio::test]
async fn sync_line_matches_the_document() {
    let app = TestApp::spawn().await;
    let data = app.ok("sync_line", json!({})).await;
    let lines = array(&data, "data");
    check_records(&[parse(LINE_EXAMPLE)], &lines, "lines");
    // Every line's zone is served by getzones.
    let zones = app.ok("getzones", json!({})).await;
    for line in &lines {
        let zone = &line["line_guid"];
        assert!(
            array(&zones["zones"], "zones")
                .iter()
                .any(|z| &z["guid"] == zone),
            "line {} names unknown zone {zone}",
            line["guid"]
        );
    }
}

#[tokio::test]
async fn sync_harddisk_matches_the_document() {
    let app = TestApp::spawn().await;
    let data = app.ok("sync_harddisk", json!({})).await;
    check_records(
        &array(&parse(HARDDISK_EXAMPLE), "example"),
        &array(&data, "data"),
        "harddisks",
    );
    // The product example's other disk is served too.
    assert!(
        array(&data, "data")
            .iter()
            .any(|d| d["guid"] == "1623164948719896"),
        "{data}"
    );
}

#[tokio::test]
async fn sync_product_matches_the_document() {
    let app = TestApp::spawn().await;
    let data = app.ok("sync_product", json!({})).await;
    let products = array(&data, "data");
    check_records(&[parse(PRODUCT_EXAMPLE)], &products, "products");
    let lines = app.ok("sync_line", json!({})).await;
    let disks = app.ok("sync_harddisk", json!({})).await;
    for p in &products {
        assert!(
            array(&lines, "lines")
                .iter()
                .any(|l| l["guid"] == p["line_guid"]),
            "product {} names unknown line {}",
            p["guid"],
            p["line_guid"]
        );
        for disk in p["harddisk_guid"].as_str().unwrap_or_default().split(',') {
            assert!(
                array(&disks, "disks").iter().any(|d| d["guid"] == disk),
                "product {} names unknown disk {disk}",
                p["guid"]
            );
        }
    }
}

async fn systems(app: &TestApp, page: &str, length: &str) -> Value {
    app.ok(
        "getsystems",
        json!({"page_mode": page, "page_length": length}),
    )
    .await
}

#[tokio::test]
async fn getsystems_follows_its_field_table() {
    let app = TestApp::spawn().await;
    let data = systems(&app, "1", "50").await;
    assert_eq!(keys(&data), ["pages", "items", "systems"], "{data}");
    assert!(
        data["pages"].is_u64(),
        "pages is a number: {}",
        data["pages"]
    );
    assert!(
        data["items"].is_u64(),
        "items is a number: {}",
        data["items"]
    );
    let list = array(&data["systems"], "systems");
    assert_eq!(data["items"], list.len(), "{data}");
    assert_eq!(data["pages"], 1, "{data}");
    let fields: Vec<&str> = SYSTEM_TABLE.iter().map(|(f, _)| *f).collect();
    let line_list = app.ok("sync_line", json!({})).await;
    for s in &list {
        assert_eq!(keys(s), fields, "system {}", s["guid"]);
        for (field, want) in SYSTEM_TABLE {
            assert_eq!(
                kind(&s[*field]),
                *want,
                "system {} {field}: {}",
                s["guid"],
                s[*field]
            );
        }
        for l in array(&s["lines"], "lines") {
            assert!(l.is_string(), "system {} lines: {l}", s["guid"]);
            assert!(
                array(&line_list, "lines").iter().any(|x| x["guid"] == l),
                "system {} names unknown line {l}",
                s["guid"]
            );
        }
    }
    // The values the field table shows for its example system.
    let example = list
        .iter()
        .find(|s| s["guid"] == "1695196885222115")
        .unwrap_or_else(|| panic!("system 1695196885222115 missing: {data}"));
    for (field, value) in [
        ("distinct_id", json!("1")),
        ("id", json!("1")),
        ("class_guid", json!("1666193469952094")),
        ("name", json!("6.8 64位")),
        ("login_name", json!("root")),
        ("port", json!("22")),
        ("mirror_name", json!("root")),
        ("cpu_limit", json!("0")),
        ("ram_limit", json!("0")),
        ("system_harddisk", json!("30")),
        ("boot_menu_contents", json!({"19": "", "250": ""})),
        ("ghost_url", json!({"19": "", "250": ""})),
    ] {
        assert_eq!(example[field], value, "system 1695196885222115 {field}");
    }
    // The create and install examples' system serves both.
    let both = list
        .iter()
        .find(|s| s["guid"] == "1633652801461868")
        .unwrap_or_else(|| panic!("system 1633652801461868 missing"));
    let types: Vec<&str> = both["type"]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .collect();
    assert!(
        types.contains(&"create") && types.contains(&"install"),
        "{both}"
    );
}

#[tokio::test]
async fn getsystems_pages_cover_the_list() {
    let app = TestApp::spawn().await;
    let full = systems(&app, "1", "1000").await;
    let all = array(&full["systems"], "systems");
    let items = all.len() as u64;
    assert!(items >= 8, "the seed holds at least 8 images: {items}");
    for length in 1..=items + 1 {
        let first = systems(&app, "1", &length.to_string()).await;
        let pages = first["pages"].as_u64().unwrap_or_default();
        assert_eq!(first["items"], items, "length {length}");
        assert_eq!(pages, items.div_ceil(length), "length {length}");
        assert!(pages * length >= items, "length {length}");
        assert!(
            (pages - 1) * length < items,
            "length {length}: no empty page"
        );
        let mut joined = Vec::new();
        for page in 1..=pages {
            let data = systems(&app, &page.to_string(), &length.to_string()).await;
            assert_eq!(
                (&data["pages"], &data["items"]),
                (&json!(pages), &json!(items))
            );
            let got = array(&data["systems"], "systems");
            let expect = if page < pages {
                length
            } else {
                items - (pages - 1) * length
            };
            assert_eq!(got.len() as u64, expect, "length {length} page {page}");
            joined.extend(got);
        }
        assert_eq!(
            joined, all,
            "length {length}: pages joined are the full list"
        );
        let mut guids: Vec<String> = joined.iter().map(|s| s["guid"].to_string()).collect();
        guids.sort();
        guids.dedup();
        assert_eq!(
            guids.len() as u64,
            items,
            "length {length}: duplicates across pages"
        );
        let beyond = systems(&app, &(pages + 1).to_string(), &length.to_string()).await;
        assert_eq!(
            beyond["systems"],
            json!([]),
            "length {length}: page past the end"
        );
        assert_eq!(beyond["items"], items);
        assert_eq!(beyond["pages"], pages);
    }
}

#[tokio::test]
async fn getsystems_defaults_to_page_one_of_fifty() {
    let app = TestApp::spawn().await;
    assert_eq!(
        app.ok("getsystems", json!({})).await,
        systems(&app, "1", "50").await
    );
}

#[tokio::test]
async fn getsystems_rejects_bad_paging() {
    let app = TestApp::spawn().await;
    let check = |page: &'static str, length: &'static str, field: &'static str| {
        let app = &app;
        async move {
            let msg = app
                .fails(
                    "getsystems",
                    json!({"page_mode": page, "page_length": length}),
                    Reason::BadParam.as_str(),
                )
                .await;
            assert!(msg.contains(field), "{page}/{length}: {msg}");
        }
    };
    check("1", "0", "page_length").await;
    check("1", "-5", "page_length").await;
    check("1", "1001", "page_length").await;
    check("1", "abc", "page_length").await;
    check("1", "2.5", "page_length").await;
    check("0", "10", "page_mode").await;
    check("-1", "10", "page_mode").await;
    check("x", "10", "page_mode").await;
}
