//! Restarts with `--db`: instances, stock, addresses, pending transitions
//! and the clock (offset or frozen) survive a stop and a new start on the
//! same SQLite file.

use std::path::Path;

use apayun_mock::MockEngine;
use serde_json::{json, Value};

use crate::helpers::{plus_seconds, TestApp, EXAMPLE_GUID};

async fn start_on(db: &Path) -> TestApp {
    TestApp::with(MockEngine::builder().rng_seed(42).db(db)).await
}

/// The pending transitions as (guid, kind, due, taskid).
async fn transitions(app: &TestApp) -> Vec<(String, String, String, Value)> {
    app.pending()
        .await
        .iter()
        .map(|t| {
            let s = |k: &str| t[k].as_str().unwrap_or_default().to_string();
            (s("guid"), s("kind"), s("due"), t["taskid"].clone())
        })
        .collect()
}

#[tokio::test]
async fn a_pending_provisioning_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("engine.sqlite");

    let first = start_on(&db).await;
    let (status, _) = first.control("POST", "/_mock/clock/freeze", None).await;
    assert_eq!(status, 200);
    let mut params = TestApp::create_request(1);
    params["taskid"] = json!("persist-1");
    let created = first.ok("create", params.clone()).await;
    let guid = created[0]["guid"].as_str().unwrap_or_default().to_string();
    assert_eq!(created[0]["order_status"], "0");
    let before = first.instance(&guid).await;
    let timeline = transitions(&first).await;
    assert!(
        timeline.contains(&(
            guid.clone(),
            "provisioned".to_string(),
            created[0]["start_time"]
                .as_str()
                .map(|t| plus_seconds(t, 30))
                .unwrap_or_default(),
            json!("persist-1"),
        )),
        "{timeline:?}"
    );
    first.engine.stop().await;

    let second = start_on(&db).await;
    let after = second.instance(&guid).await;
    assert_eq!(after, before, "the instance is exactly as it was");
    assert_eq!(after["order_status"], "0");
    assert_eq!(
        transitions(&second).await,
        timeline,
        "pending transitions kept"
    );
    // The example instance of the seed is there once, not seeded again.
    let list = second.ok("sync_baremetal", json!({})).await;
    assert_eq!(list["total_number"], "2", "{list}");
    assert!(list.to_string().contains(EXAMPLE_GUID));
    // An agent_order_no answered before the restart still replays.
    assert_eq!(second.ok("create", params).await, created);

    second.advance(29).await;
    assert_eq!(second.instance(&guid).await["order_status"], "0");
    second.advance(1).await;
    let inst = second.instance(&guid).await;
    assert_eq!(
        (inst["order_status"].clone(), inst["run_status"].clone()),
        (json!("1"), json!("1"))
    );
    // Stock and addresses held before the restart are not handed out again.
    let next = second.ok("create", TestApp::create_request(1)).await;
    assert_ne!(next[0]["stock_id"], created[0]["stock_id"]);
    assert_ne!(next[0]["ip"][0]["ip"], created[0]["ip"][0]["ip"]);
    assert_eq!(next[0]["stock_id"], "58");
}

#[tokio::test]
async fn the_clock_offset_survives_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("engine.sqlite");

    let first = start_on(&db).await;
    first.advance(3 * 86_400).await;
    let offset = first.clock().await["offset_seconds"]
        .as_i64()
        .unwrap_or_default();
    assert!((259_199..=259_200).contains(&offset), "{offset}");
    first.engine.stop().await;

    let second = start_on(&db).await;
    let c = second.clock().await;
    assert_eq!(c["frozen"], false);
    let offset = c["offset_seconds"].as_i64().unwrap_or_default();
    assert!((259_199..=259_200).contains(&offset), "{c}");
    second.engine.stop().await;
}

#[tokio::test]
async fn a_frozen_clock_stays_frozen_at_the_same_time_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("engine.sqlite");

    let first = start_on(&db).await;
    let (status, _) = first.control("POST", "/_mock/clock/freeze", None).await;
    assert_eq!(status, 200);
    // Just to the example instance's end_time: it expires and waits for release.
    let end = first.instance(EXAMPLE_GUID).await["end_time"].clone();
    let (status, frozen) = first
        .control("POST", "/_mock/clock/set", Some(json!({ "now": end })))
        .await;
    assert_eq!(status, 200, "{frozen}");
    let example = first.instance(EXAMPLE_GUID).await;
    assert_eq!(example["order_status"], "3");
    first.engine.stop().await;

    let second = start_on(&db).await;
    let c = second.clock().await;
    assert_eq!((c["now"].clone(), c["frozen"].clone()), (end, json!(true)));
    assert_eq!(second.instance(EXAMPLE_GUID).await["order_status"], "3");
    // Its release (retention_days 1) is still scheduled and still runs.
    second.advance(86_400).await;
    assert_eq!(second.instance(EXAMPLE_GUID).await["order_status"], "-2");
}
