//! `install` checks an OS image as `create` does: the same checks, in the
//! same order, with the same reasons (issue 18, item 3). One table, every
//! refusal the two share, each row run through both actions.

use apayun_mock::test_support::fixtures::LINE_NM;
use serde_json::{json, Value};

use crate::helpers::*;

/// Supports only cloud servers and is offered on another line: the support
/// check comes first.
const NOT_BAREMETAL_NOR_ON_LINE: &str = "1695196885229901";
/// Bare metal, but on another line and for no use: the line comes first.
const NOT_ON_LINE_NOR_FOR_ANY_USE: &str = "1695196885229902";
/// For new orders only, and needing more cores than the product has.
const CREATE_ONLY_TOO_BIG: &str = "1695196885229903";
/// For reinstalls only, and needing more cores than the product has.
const INSTALL_ONLY_TOO_BIG: &str = "1695196885229904";
/// Needs more memory than the product has.
const TOO_LITTLE_MEMORY: &str = "1695196885229905";
/// Needs more cores and more memory: cores come first.
const TOO_FEW_CORES_AND_MEMORY: &str = "1695196885229906";
const UNKNOWN: &str = "1695196885229999";

/// The default seed plus the images above, each a copy of the example
/// image with the fields that make it fail.
async fn app_with_images() -> (tempfile::TempDir, TestApp) {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("seed-data");
    for entry in std::fs::read_dir(&src).expect("seed-data").flatten() {
        std::fs::copy(entry.path(), dir.path().join(entry.file_name())).expect("copy");
    }
    let path = dir.path().join("systems.json");
    let mut systems: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let base = systems
        .iter()
        .find(|s| s["guid"] == SYSTEM)
        .cloned()
        .expect("the example image");
    #[rustfmt::skip]
    let images = [
        (NOT_BAREMETAL_NOR_ON_LINE, "server", LINE_NM, "create,install", "0", "0"),
        (NOT_ON_LINE_NOR_FOR_ANY_USE, "baremetal", LINE_NM, "", "0", "0"),
        (CREATE_ONLY_TOO_BIG, "baremetal", LINE, "create", "64", "0"),
        (INSTALL_ONLY_TOO_BIG, "baremetal", LINE, "install", "64", "0"),
        (TOO_LITTLE_MEMORY, "baremetal", LINE, "create,install", "0", "1000"),
        (TOO_FEW_CORES_AND_MEMORY, "baremetal", LINE, "create,install", "64", "1000"),
    ];
    for (guid, support, line, kind, cpu, ram) in images {
        let mut image = base.clone();
        image["guid"] = json!(guid);
        image["name"] = json!(format!("test image {guid}"));
        image["support"] = json!(support);
        image["lines"] = json!([line]);
        image["type"] = json!(kind);
        image["cpu_limit"] = json!(cpu);
        image["ram_limit"] = json!(ram);
        systems.push(image);
    }
    std::fs::write(&path, Value::Array(systems).to_string()).expect("write");
    let app = TestApp::with(
        apayun_mock::MockEngine::builder()
            .rng_seed(42)
            .seed_data(dir.path()),
    )
    .await;
    (dir, app)
}

/// `None`: the action is accepted.
async fn outcome(app: &TestApp, action: &str, params: Value) -> Option<String> {
    let answer = app.call(action, params.clone()).await;
    match answer.code() {
        0 => None,
        _ => Some(answer.reason.clone().unwrap_or_else(|| {
            panic!(
                "{action} {params} refused without a reason: {}",
                answer.text
            )
        })),
    }
}

#[tokio::test]
async fn install_refuses_an_image_as_create_does_in_the_same_order() {
    let (_dir, app) = app_with_images().await;
    app.freeze().await;
    // Create orders on the example line and product; install runs on an
    // instance of that line and product.
    let guid = app.create_running().await;
    #[rustfmt::skip]
    let cases: &[(&str, &str, Option<&str>, Option<&str>)] = &[
        // image, system_partition_size, create's answer, install's answer
        (UNKNOWN, "-1", Some("system_not_found"), Some("system_not_found")),
        (NOT_BAREMETAL_NOR_ON_LINE, "-1", Some("system_not_baremetal"), Some("system_not_baremetal")),
        (NOT_ON_LINE_NOR_FOR_ANY_USE, "-1", Some("system_not_on_line"), Some("system_not_on_line")),
        (CREATE_ONLY_TOO_BIG, "-1", Some("system_cpu_limit"), Some("system_not_for_install")),
        (INSTALL_ONLY_TOO_BIG, "-1", Some("system_not_for_create"), Some("system_cpu_limit")),
        (TOO_LITTLE_MEMORY, "-1", Some("system_ram_limit"), Some("system_ram_limit")),
        (TOO_FEW_CORES_AND_MEMORY, "-1", Some("system_cpu_limit"), Some("system_cpu_limit")),
        // The image's limits come before the partition size.
        (TOO_FEW_CORES_AND_MEMORY, "51201", Some("system_cpu_limit"), Some("system_cpu_limit")),
        (SYSTEM, "51201", Some("partition_size_invalid"), Some("partition_size_invalid")),
        // The default image is taken by both (install: a new layout is a replace).
        (SYSTEM, "-1", None, None),
    ];
    for &(system, size, create, install) in cases {
        let mut order = TestApp::create_request(1);
        order["systemGuid"] = json!(system);
        order["system_partition_size"] = json!(size);
        let created = outcome(&app, "create", order).await;
        assert_eq!(
            created.as_deref(),
            create,
            "create with {system}, size {size}"
        );
        let reinstall = json!({
            "guid": guid, "systemGuid": system, "loginPassword": "TmV3UGFzczEyMyE=",
            "system_partition_size": size, "installType": "replace", "install_mode": "1",
        });
        let installed = outcome(&app, "install", reinstall).await;
        assert_eq!(
            installed.as_deref(),
            install,
            "install of {system}, size {size}"
        );
        if installed.is_none() {
            // Let the reinstall finish so the next row finds the instance idle.
            app.advance(300).await;
        }
    }
}

#[tokio::test]
async fn create_and_install_name_the_image_and_the_line_in_the_same_words() {
    let (_dir, app) = app_with_images().await;
    app.freeze().await;
    let guid = app.create_running().await;
    let mut order = TestApp::create_request(1);
    order["systemGuid"] = json!(NOT_ON_LINE_NOR_FOR_ANY_USE);
    let created = app.fails("create", order, "system_not_on_line").await;
    let installed = app
        .fails(
            "install",
            json!({
                "guid": guid, "systemGuid": NOT_ON_LINE_NOR_FOR_ANY_USE,
                "loginPassword": "TmV3UGFzczEyMyE=", "system_partition_size": "-1",
                "installType": "replace", "install_mode": "1",
            }),
            "system_not_on_line",
        )
        .await;
    assert_eq!(created, installed);
    assert!(created.contains(LINE), "{created}");
}
