//! Seed data validation: one test per rule of `Seed::validate` and
//! `check_docs`, each breaking one thing in a copy of `seed-data/` and
//! checking that the error names the file, the record and the field; the
//! default set loads; and `serve --seed-data BADDIR` exits 2 naming them.

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use apayun_mock::test_support::seed::{Seed, SeedError};
use serde_json::{json, Value};

mod common;

use common::BIN;

fn default_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("seed-data")
}

/// A copy of the default seed set in a temporary folder.
fn copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    for entry in std::fs::read_dir(default_dir()).unwrap_or_else(|e| panic!("seed-data: {e}")) {
        let path = entry.unwrap_or_else(|e| panic!("seed-data: {e}")).path();
        let name = path.file_name().unwrap_or_default();
        std::fs::copy(&path, dir.path().join(name))
            .unwrap_or_else(|e| panic!("copy {}: {e}", path.display()));
    }
    dir
}

/// Rewrites one JSON file of the folder.
fn edit(dir: &Path, file: &str, mutate: impl FnOnce(&mut Value)) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    let mut value: Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file} is not JSON: {e}"));
    mutate(&mut value);
    let out = serde_json::to_string_pretty(&value).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&path, out).unwrap_or_else(|e| panic!("write {file}: {e}"));
}

/// A copy of the default set with one file changed.
fn broken(file: &str, mutate: impl FnOnce(&mut Value)) -> tempfile::TempDir {
    let dir = copy();
    edit(dir.path(), file, mutate);
    dir
}

fn load_error(dir: &Path) -> SeedError {
    match Seed::from_dir(dir) {
        Ok(_) => panic!("the broken seed set at {} loaded", dir.display()),
        Err(e) => e,
    }
}

/// Breaks `file` with `mutate`; the error must name `file`, `record` and
/// `field`, and its problem must contain `problem`.
fn check(file: &str, mutate: impl FnOnce(&mut Value), record: &str, field: &str, problem: &str) {
    let dir = broken(file, mutate);
    let err = load_error(dir.path());
    let got = (err.file.as_str(), err.record.as_str(), err.field.as_str());
    assert_eq!(got, (file, record, field), "{err}");
    assert!(
        err.problem.contains(problem),
        "problem {:?} should say {problem:?}",
        err.problem
    );
    let shown = err.to_string();
    for part in [file, record, field] {
        assert!(shown.contains(part), "{shown:?} should name {part:?}");
    }
}

fn loads(file: &str, mutate: impl FnOnce(&mut Value)) -> Seed {
    let dir = broken(file, mutate);
    Seed::from_dir(dir.path()).unwrap_or_else(|e| panic!("should load: {e}"))
}

fn remove(v: &mut Value, key: &str) {
    if let Some(m) = v.as_object_mut() {
        m.remove(key);
    }
}

const EXAMPLE_LINE: &str = "record 0 (guid 1665907446560259)";
const POOL_0: &str = "record 0 (primary 192.168.12.0/24)";
const INSTANCE_0: &str = "record 0 (guid 1708330228791024)";

// ---------------------------------------------------------------------------
// The default set.

#[test]
fn the_default_set_loads() {
    let seed = Seed::default_set().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(seed.users.len(), 2);
    assert!(
        seed.zones.len() >= 2 && seed.lines.len() >= 3,
        "zones and lines"
    );
    assert!(
        seed.products.len() >= 5 && seed.systems.len() >= 8,
        "products and systems"
    );
    assert!(seed.timings.contains_key("default"));
    assert!(seed.instances.iter().any(|i| i.guid == "1708330228791024"));
    // The folder and the compiled-in copy are the same set.
    let dir = Seed::from_dir(&default_dir()).unwrap_or_else(|e| panic!("{e}"));
    let guids = |docs: &[apayun_mock::test_support::domain::catalog::Doc]| -> Vec<Value> {
        docs.iter().map(|d| d["guid"].clone()).collect()
    };
    assert_eq!(guids(&dir.zones), guids(&seed.zones));
    assert_eq!(guids(&dir.lines), guids(&seed.lines));
    assert_eq!(guids(&dir.systems), guids(&seed.systems));
    assert_eq!(guids(&dir.products), guids(&seed.products));
    assert_eq!(dir.stock.len(), seed.stock.len());
}

#[test]
fn instances_file_may_be_absent() {
    let dir = copy();
    std::fs::remove_file(dir.path().join("instances.json")).unwrap_or_else(|e| panic!("{e}"));
    let seed = Seed::from_dir(dir.path()).unwrap_or_else(|e| panic!("{e}"));
    assert!(seed.instances.is_empty());
}

#[test]
fn null_structured_system_fields_are_allowed() {
    let seed = loads("systems.json", |v| {
        v[0]["boot_menu_contents"] = Value::Null;
        v[0]["ghost_url"] = Value::Null;
    });
    assert_eq!(seed.systems[0]["ghost_url"], Value::Null);
}

// ---------------------------------------------------------------------------
// Reading and parsing.

#[test]
fn a_missing_file_is_named() {
    let dir = copy();
    std::fs::remove_file(dir.path().join("products.json")).unwrap_or_else(|e| panic!("{e}"));
    let err = load_error(dir.path());
    assert!(err.file.ends_with("products.json"), "{err}");
    assert!(err.problem.contains("cannot read"), "{err}");
}

#[test]
fn invalid_json_names_the_line() {
    let dir = copy();
    std::fs::write(dir.path().join("zones.json"), "[\n  {\"guid\": }\n]")
        .unwrap_or_else(|e| panic!("{e}"));
    let err = load_error(dir.path());
    assert_eq!(
        (err.file.as_str(), err.record.as_str()),
        ("zones.json", "line 2"),
        "{err}"
    );
    assert!(err.problem.contains("invalid JSON"), "{err}");
}

#[test]
fn unknown_fields_in_typed_files_are_refused() {
    type Case = (&'static str, fn(&mut Value));
    let cases: &[Case] = &[
        ("users.json", |v| v[0]["apikey"] = json!("x")),
        ("stock.json", |v| v[0]["rack"] = json!("x")),
        ("ip-pools.json", |v| v[0]["vlan"] = json!("x")),
        ("timings.json", |v| v["default"]["reboot"] = json!(1)),
        ("instances.json", |v| v[0]["colour"] = json!("x")),
    ];
    for (file, mutate) in cases {
        let dir = broken(file, mutate);
        let err = load_error(dir.path());
        assert_eq!(err.file, *file, "{err}");
        assert!(err.record.starts_with("line "), "{err}");
        assert!(err.problem.contains("unknown field"), "{err}");
    }
}

// ---------------------------------------------------------------------------
// users.json

#[test]
fn user_userid_must_not_be_empty() {
    check(
        "users.json",
        |v| v[1]["userid"] = json!(" "),
        "record 1 (userid  )",
        "userid",
        "must not be empty",
    );
}

#[test]
fn user_api_key_must_not_be_empty() {
    check(
        "users.json",
        |v| v[0]["api_key"] = json!(""),
        "record 0 (userid 1)",
        "api_key",
        "must not be empty",
    );
}

#[test]
fn user_userids_are_unique() {
    check(
        "users.json",
        |v| v[1]["userid"] = json!("1"),
        "record 1 (userid 1)",
        "userid",
        "duplicate userid",
    );
}

// ---------------------------------------------------------------------------
// Catalog documents (check_docs), each rule on one file.

#[test]
fn catalog_fields_are_all_present() {
    check(
        "zones.json",
        |v| remove(&mut v[1], "icp_status"),
        "record 1 (guid 1650521653823448)",
        "icp_status",
        "missing field",
    );
    check(
        "products.json",
        |v| remove(&mut v[0], "cpu_threads"),
        "record 0 (guid 1665907642748705)",
        "cpu_threads",
        "missing field",
    );
}

#[test]
fn catalog_fields_the_engine_does_not_send_are_refused() {
    check(
        "lines.json",
        |v| v[0]["price"] = json!("1"),
        EXAMPLE_LINE,
        "price",
        "unknown field",
    );
    check(
        "harddisks.json",
        |v| v[0]["Type"] = json!("SSD"),
        "record 0 (guid 1623164939837722)",
        "Type",
        "unknown field",
    );
}

#[test]
fn catalog_values_are_strings_or_null() {
    check(
        "products.json",
        |v| v[0]["price"] = json!(500),
        "record 0 (guid 1665907642748705)",
        "price",
        "must be a string or null",
    );
    check(
        "lines.json",
        |v| v[0]["buy_status"] = json!(true),
        EXAMPLE_LINE,
        "buy_status",
        "must be a string or null",
    );
    check(
        "systems.json",
        |v| v[0]["port"] = json!(22),
        "record 0 (guid 1633652801461868)",
        "port",
        "must be a string or null",
    );
    check(
        "zones.json",
        |v| v[0]["name"] = json!({"zh": "x"}),
        "record 0 (guid 1625139389577044)",
        "name",
        "must be a string or null",
    );
}

#[test]
fn catalog_guids_are_non_empty() {
    check(
        "harddisks.json",
        |v| v[2]["guid"] = json!(""),
        "record 2 (guid )",
        "guid",
        "must be a non-empty string",
    );
    check(
        "zones.json",
        |v| v[0]["guid"] = Value::Null,
        "record 0 (guid )",
        "guid",
        "must be a non-empty string",
    );
}

#[test]
fn catalog_guids_are_unique() {
    check(
        "zones.json",
        |v| v[1]["guid"] = json!("1625139389577044"),
        "record 1 (guid 1625139389577044)",
        "guid",
        "duplicate guid",
    );
}

// ---------------------------------------------------------------------------
// lines.json

#[test]
fn line_zone_must_exist() {
    check(
        "lines.json",
        |v| v[1]["line_guid"] = json!("999"),
        "record 1 (guid 1665907446560301)",
        "line_guid",
        "unknown zone 999",
    );
}

#[test]
fn line_lists_are_comma_lists_of_numbers() {
    check(
        "lines.json",
        |v| v[0]["months"] = json!("1,two,3"),
        EXAMPLE_LINE,
        "months",
        "not a comma list of numbers",
    );
    check(
        "lines.json",
        |v| v[0]["ip_num_list"] = json!("1,8,x"),
        EXAMPLE_LINE,
        "ip_num_list",
        "not a comma list of numbers",
    );
    check(
        "lines.json",
        |v| v[0]["ip_upgrade_type"] = json!("single"),
        EXAMPLE_LINE,
        "ip_upgrade_type",
        "not a comma list of numbers",
    );
}

// ---------------------------------------------------------------------------
// systems.json

#[test]
fn system_lines_is_an_array() {
    check(
        "systems.json",
        |v| v[0]["lines"] = json!("1665907446560259"),
        "record 0 (guid 1633652801461868)",
        "lines",
        "must be an array",
    );
}

#[test]
fn system_lines_must_exist() {
    check(
        "systems.json",
        |v| v[1]["lines"] = json!(["1665907446560259", "999"]),
        "record 1 (guid 1695196885222115)",
        "lines",
        "unknown line",
    );
}

#[test]
fn system_boot_menu_and_ghost_url_are_objects() {
    check(
        "systems.json",
        |v| v[0]["boot_menu_contents"] = json!("19"),
        "record 0 (guid 1633652801461868)",
        "boot_menu_contents",
        "must be an object or null",
    );
    check(
        "systems.json",
        |v| v[0]["ghost_url"] = json!([]),
        "record 0 (guid 1633652801461868)",
        "ghost_url",
        "must be an object or null",
    );
}

// ---------------------------------------------------------------------------
// products.json

#[test]
fn product_line_must_exist() {
    check(
        "products.json",
        |v| v[1]["line_guid"] = json!("999"),
        "record 1 (guid 1665907642748801)",
        "line_guid",
        "unknown line 999",
    );
}

#[test]
fn product_harddisks_must_exist() {
    check(
        "products.json",
        |v| v[0]["harddisk_guid"] = json!("1623164939837722,999"),
        "record 0 (guid 1665907642748705)",
        "harddisk_guid",
        "unknown harddisk 999",
    );
}

// ---------------------------------------------------------------------------
// stock.json

#[test]
fn stock_product_must_exist() {
    check(
        "stock.json",
        |v| v[0]["product_guid"] = json!("999"),
        "record 0 (id 56)",
        "product_guid",
        "unknown product 999",
    );
}

#[test]
fn stock_ids_are_unique() {
    check(
        "stock.json",
        |v| v[1]["id"] = json!("56"),
        "record 1 (id 56)",
        "id",
        "duplicate stock id",
    );
}

// ---------------------------------------------------------------------------
// ip-pools.json

#[test]
fn pool_line_must_exist() {
    check(
        "ip-pools.json",
        |v| v[0]["line_guid"] = json!("999"),
        POOL_0,
        "line_guid",
        "unknown line 999",
    );
}

#[test]
fn pool_cidr_must_parse() {
    check(
        "ip-pools.json",
        |v| v[0]["cidr"] = json!("192.168.12.0/33"),
        "record 0 (primary 192.168.12.0/33)",
        "cidr",
        "not an IPv4 CIDR",
    );
    check(
        "ip-pools.json",
        |v| v[0]["cidr"] = json!("192.168.12.0"),
        "record 0 (primary 192.168.12.0)",
        "cidr",
        "not an IPv4 CIDR",
    );
}

#[test]
fn pool_cidr_has_no_host_bits() {
    check(
        "ip-pools.json",
        |v| v[0]["cidr"] = json!("192.168.12.1/24"),
        "record 0 (primary 192.168.12.1/24)",
        "cidr",
        "did you mean 192.168.12.0/24?",
    );
}

#[test]
fn pools_do_not_overlap() {
    check(
        "ip-pools.json",
        |v| v[3]["cidr"] = json!("192.168.12.128/25"),
        "record 3 (primary 192.168.12.128/25)",
        "cidr",
        "overlaps another pool 192.168.12.0/24",
    );
    check(
        "ip-pools.json",
        |v| v[1]["cidr"] = json!("192.168.0.0/16"),
        "record 1 (single 192.168.0.0/16)",
        "cidr",
        "overlaps another pool 192.168.12.0/24",
    );
}

#[test]
fn pool_gateway_is_required_for_primary_and_single() {
    check(
        "ip-pools.json",
        |v| remove(&mut v[0], "gateway"),
        POOL_0,
        "gateway",
        "required for primary and single pools",
    );
    check(
        "ip-pools.json",
        |v| remove(&mut v[1], "gateway"),
        "record 1 (single 114.114.12.0/24)",
        "gateway",
        "required for primary and single pools",
    );
}

#[test]
fn pool_gateway_is_an_address() {
    check(
        "ip-pools.json",
        |v| v[0]["gateway"] = json!("192.168.12"),
        POOL_0,
        "gateway",
        "not an IPv4 address",
    );
}

#[test]
fn pool_gateway_is_inside_the_pool() {
    check(
        "ip-pools.json",
        |v| v[0]["gateway"] = json!("10.0.0.1"),
        POOL_0,
        "gateway",
        "10.0.0.1 is outside 192.168.12.0/24",
    );
}

#[test]
fn pool_reserved_ranges_must_parse() {
    check(
        "ip-pools.json",
        |v| v[0]["reserved"] = json!(["192.168.12.0/27", "nope"]),
        POOL_0,
        "reserved",
        "not an IPv4 CIDR: nope",
    );
}

#[test]
fn pool_reserved_ranges_are_inside_the_pool() {
    check(
        "ip-pools.json",
        |v| v[0]["reserved"] = json!(["10.0.0.0/24"]),
        POOL_0,
        "reserved",
        "10.0.0.0/24 is outside 192.168.12.0/24",
    );
}

// ---------------------------------------------------------------------------
// timings.json

#[test]
fn timings_need_a_default_profile() {
    check(
        "timings.json",
        |v| remove(v, "default"),
        "-",
        "default",
        "a `default` profile is required",
    );
}

#[test]
fn timings_are_not_negative() {
    check(
        "timings.json",
        |v| v["fast"]["stop"] = json!(-1),
        "fast",
        "-",
        "must not be negative",
    );
    check(
        "timings.json",
        |v| v["default"]["install"] = json!(-300),
        "default",
        "-",
        "must not be negative",
    );
}

// ---------------------------------------------------------------------------
// instances.json

#[test]
fn instance_guids_are_unique() {
    check(
        "instances.json",
        |v| {
            let copy = v[0].clone();
            if let Some(a) = v.as_array_mut() {
                a.push(copy);
            }
        },
        "record 1 (guid 1708330228791024)",
        "guid",
        "duplicate guid",
    );
}

#[test]
fn instance_user_must_exist() {
    check(
        "instances.json",
        |v| v[0]["userid"] = json!("99"),
        INSTANCE_0,
        "userid",
        "unknown user 99",
    );
}

#[test]
fn instance_product_must_exist() {
    check(
        "instances.json",
        |v| v[0]["product_guid"] = json!("999"),
        INSTANCE_0,
        "product_guid",
        "unknown product 999",
    );
}

#[test]
fn instance_system_must_exist() {
    check(
        "instances.json",
        |v| v[0]["system_guid"] = json!("999"),
        INSTANCE_0,
        "system_guid",
        "unknown system 999",
    );
}

#[test]
fn instance_stock_unit_is_of_its_product() {
    check(
        "instances.json",
        |v| v[0]["stock_id"] = json!("999"),
        INSTANCE_0,
        "stock_id",
        "no stock unit 999 of that product",
    );
    // Unit 100 exists but holds another product.
    check(
        "instances.json",
        |v| v[0]["stock_id"] = json!("100"),
        INSTANCE_0,
        "stock_id",
        "no stock unit 100 of that product",
    );
}

#[test]
fn instance_primary_ip_is_an_address() {
    check(
        "instances.json",
        |v| v[0]["primary_ip"] = json!("192.168.12.300"),
        INSTANCE_0,
        "primary_ip",
        "not an IPv4 address",
    );
}

#[test]
fn instance_upgrade_types_are_known() {
    check(
        "instances.json",
        |v| v[0]["upgrades"][0]["type"] = json!("cpu"),
        INSTANCE_0,
        "upgrades.type",
        "unknown upgrade type cpu",
    );
}

#[test]
fn instance_ipnum_upgrades_name_a_subnet() {
    check(
        "instances.json",
        |v| remove(&mut v[0]["upgrades"][1], "subnet"),
        INSTANCE_0,
        "upgrades.subnet",
        "needs a subnet CIDR",
    );
    check(
        "instances.json",
        |v| v[0]["upgrades"][1]["subnet"] = json!("114.114.8.16"),
        INSTANCE_0,
        "upgrades.subnet",
        "needs a subnet CIDR",
    );
}

// ---------------------------------------------------------------------------
// The binary.

#[test]
fn serve_with_bad_seed_data_exits_two_naming_the_problem() {
    let dir = broken("lines.json", |v| v[1]["line_guid"] = json!("999"));
    let mut child = common::command()
        .args(["serve", "--port", "0", "--seed-data"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {BIN}: {e}"));
    let started = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if started.elapsed() < Duration::from_secs(30) => {
                std::thread::sleep(Duration::from_millis(50))
            }
            other => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("serve with a bad seed did not exit: {other:?}");
            }
        }
    };
    let out = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("output: {e}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(status.code(), Some(2), "{stderr}");
    for part in [
        "lines.json",
        "record 1 (guid 1665907446560301)",
        "line_guid",
        "unknown zone 999",
    ] {
        assert!(
            stderr.contains(part),
            "stderr should name {part:?}: {stderr}"
        );
    }
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("listening"),
        "it never listened"
    );
}

/// A second seeded instance: a copy of the first with its own GUID and stock unit.
fn add_second_instance(v: &mut Value, change: impl FnOnce(&mut Value)) {
    let mut second = v[0].clone();
    second["guid"] = json!("1708330228790001");
    second["id"] = json!(2000);
    second["stock_id"] = json!("57");
    second["primary_ip"] = json!("192.168.12.49");
    second["upgrades"] = json!([]);
    change(&mut second);
    if let Some(list) = v.as_array_mut() {
        list.push(second);
    }
}

const INSTANCE_1: &str = "record 1 (guid 1708330228790001)";

#[test]
fn instance_primary_ip_is_in_a_primary_pool_of_its_line() {
    check(
        "instances.json",
        |v| v[0]["primary_ip"] = json!("10.9.9.9"),
        INSTANCE_0,
        "primary_ip",
        "in no primary pool of line 1665907446560259",
    );
}

#[test]
fn instances_do_not_share_a_stock_unit() {
    check(
        "instances.json",
        |v| add_second_instance(v, |s| s["stock_id"] = json!("56")),
        INSTANCE_1,
        "stock_id",
        "held by another instance",
    );
}

#[test]
fn instances_do_not_share_a_primary_ip() {
    check(
        "instances.json",
        |v| add_second_instance(v, |s| s["primary_ip"] = json!("192.168.12.48")),
        INSTANCE_1,
        "primary_ip",
        "held by another instance",
    );
}

#[test]
fn seeded_subnets_are_in_a_subnet_pool_and_do_not_overlap() {
    check(
        "instances.json",
        |v| v[0]["upgrades"][1]["subnet"] = json!("10.0.0.0/29"),
        INSTANCE_0,
        "upgrades.subnet",
        "in no subnet pool",
    );
    check(
        "instances.json",
        |v| {
            add_second_instance(
                v,
                |s| s["upgrades"] = json!([{"type":"ipnum","nums":8,"subnet":"114.114.8.16/29","order_no_api":"1"}]),
            )
        },
        INSTANCE_1,
        "upgrades.subnet",
        "overlaps another seeded subnet",
    );
}

#[test]
fn a_valid_second_instance_loads() {
    let seed = loads("instances.json", |v| add_second_instance(v, |_| {}));
    assert_eq!(seed.instances.len(), 2);
}
