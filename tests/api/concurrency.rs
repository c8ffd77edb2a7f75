//! Parallel requests: stock and addresses are never handed out twice, an
//! `agent_order_no` raced from many tasks allocates once, and only one of
//! many simultaneous actions on an instance gets through.

use std::collections::{BTreeMap, BTreeSet};

use apayun_mock::client::{Answer, Client};
use apayun_mock::test_support::store::{instances, network};
use serde_json::{json, Value};

use crate::helpers::{TestApp, PRODUCT};

/// Free units of the example product at start (12 in stock, one held by
/// the example instance).
const FREE_UNITS: usize = 11;

/// Runs `n` calls at once, each built by `params(i)`, on a pool of clients.
async fn race(
    clients: &[Client],
    n: usize,
    action: &'static str,
    params: impl Fn(usize) -> Value,
) -> Vec<Answer> {
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let client = clients[i % clients.len()].clone();
        let p = params(i);
        tasks.push(tokio::spawn(async move { client.call(action, p).await }));
    }
    let mut answers = Vec::with_capacity(n);
    for t in tasks {
        answers.push(t.await.expect("task").expect("HTTP answer"));
    }
    answers
}

/// Every live instance of a member, walking the list page by page.
async fn all_instances(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    for page in 1.. {
        let data = app
            .ok(
                "sync_baremetal",
                json!({"page": page.to_string(), "number": "7"}),
            )
            .await;
        let items = data["baremetal"].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            let total: usize = data["total_number"]
                .as_str()
                .and_then(|t| t.parse().ok())
                .unwrap_or_default();
            assert_eq!(out.len(), total, "pages add up to total_number");
            return out;
        }
        out.extend(items);
    }
    out
}

/// Asserts no two live instances share an address or a cabinet.
fn assert_distinct(list: &[Value]) {
    let mut ips = BTreeMap::new();
    let mut cabinets = BTreeMap::new();
    for inst in list {
        let guid = inst["guid"].as_str().unwrap_or_default();
        for ip in inst["ip"].as_array().into_iter().flatten() {
            if ip["status"] == "1" {
                let addr = ip["ip"].as_str().unwrap_or_default();
                if let Some(other) = ips.insert(addr.to_string(), guid.to_string()) {
                    panic!("{addr} held by {guid} and {other}");
                }
            }
        }
        let cabinet = inst["cabinet_sn"].as_str().unwrap_or_default();
        if let Some(other) = cabinets.insert(cabinet.to_string(), guid.to_string()) {
            panic!("cabinet {cabinet} held by {guid} and {other}");
        }
    }
}

/// Database checks through the library: no address held twice, and the
/// product's free units.
async fn db_check(app: &TestApp) -> (i64, (i64, i64)) {
    let engine = apayun_mock::test_support::default_engine(&app.engine)
        .await
        .expect("default engine");
    let conn = engine.store().lock();
    (
        network::double_held(&conn).expect("double_held"),
        instances::stock_counts(&conn, PRODUCT).expect("stock_counts"),
    )
}

fn reasons(answers: &[Answer]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for a in answers {
        let key = if a.code() == 0 {
            "ok".to_string()
        } else {
            a.reason.clone().unwrap_or_else(|| a.text.clone())
        };
        *out.entry(key).or_insert(0) += 1;
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forty_parallel_creates_share_eleven_units_without_doubling() {
    let app = TestApp::spawn().await;
    let clients = vec![app.client().clone(); 8];
    let answers = race(&clients, 40, "create", |_| TestApp::create_request(1)).await;
    assert_eq!(
        reasons(&answers),
        BTreeMap::from([
            ("ok".to_string(), FREE_UNITS),
            ("out_of_stock".to_string(), 40 - FREE_UNITS)
        ]),
    );
    let created: Vec<Value> = answers
        .iter()
        .filter(|a| a.code() == 0)
        .map(|a| a.data()[0].clone())
        .collect();
    let units: BTreeSet<String> = created
        .iter()
        .map(|i| i["stock_id"].as_str().unwrap_or_default().to_string())
        .collect();
    let expected: BTreeSet<String> = (57..=67).map(|n| n.to_string()).collect();
    assert_eq!(units, expected, "every free unit, each once");

    let list = all_instances(&app).await;
    assert_eq!(list.len(), FREE_UNITS + 1, "the example and the new ones");
    assert_distinct(&list);
    assert_eq!(db_check(&app).await, (0, (12, 0)));

    // Provisioning completes for all of them.
    app.advance(30).await;
    for inst in &created {
        let guid = inst["guid"].as_str().unwrap_or_default();
        assert_eq!(app.instance(guid).await["order_status"], "1");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn parallel_multi_unit_creates_never_oversell() {
    let app = TestApp::spawn().await;
    let clients = vec![app.client().clone(), app.user2()];
    // 12 requests of 1..=4 units against 11 free units.
    let answers = race(&clients, 12, "create", |i| {
        TestApp::create_request((i % 4 + 1) as u32)
    })
    .await;
    let mut sold = 0;
    let mut smallest_refused = usize::MAX;
    for (i, a) in answers.iter().enumerate() {
        let wanted = i % 4 + 1;
        match a.code() {
            0 => {
                assert_eq!(a.data().as_array().map_or(0, Vec::len), wanted);
                sold += wanted;
            }
            _ => {
                assert_eq!(a.reason.as_deref(), Some("out_of_stock"), "{}", a.text);
                smallest_refused = smallest_refused.min(wanted);
            }
        }
    }
    assert!(sold <= FREE_UNITS, "sold {sold}");
    let (double, (total, free)) = db_check(&app).await;
    assert_eq!(double, 0);
    assert_eq!((total, free as usize), (12, FREE_UNITS - sold));
    // Stock only shrinks, so every refusal saw at least what is left now.
    assert!(
        (free as usize) < smallest_refused,
        "{free} left, yet a request for {smallest_refused} was refused"
    );
    let mut list = all_instances(&app).await;
    let theirs = app
        .user2()
        .call("sync_baremetal", json!({"number": "100"}))
        .await
        .expect("user 2 list");
    list.extend(
        theirs.data()["baremetal"]
            .as_array()
            .cloned()
            .unwrap_or_default(),
    );
    assert_eq!(list.len(), sold + 1);
    assert_distinct(&list);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_raced_agent_order_no_allocates_once() {
    let app = TestApp::spawn().await;
    let clients = vec![app.client().clone(); 4];
    let params = TestApp::create_request(2);
    let answers = race(&clients, 10, "create", |_| params.clone()).await;
    assert_eq!(reasons(&answers), BTreeMap::from([("ok".to_string(), 10)]));
    let first = answers[0].data();
    for a in &answers {
        assert_eq!(a.data(), first, "every racer sees the one order");
    }
    assert_eq!(db_check(&app).await, (0, (12, FREE_UNITS as i64 - 2)));
    assert_eq!(all_instances(&app).await.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_one_of_many_simultaneous_stops_gets_through() {
    let app = TestApp::spawn().await;
    let guid = app.create_running().await;
    let clients = vec![app.client().clone(); 4];
    let g = guid.clone();
    let answers = race(&clients, 10, "stop", move |_| json!({"guid": g})).await;
    assert_eq!(
        reasons(&answers),
        BTreeMap::from([("ok".to_string(), 1), ("act_status_forbids".to_string(), 9)])
    );
    let (status, timeline) = app.control("GET", "/_mock/timeline", None).await;
    assert_eq!(status, 200);
    let stops = timeline["pending"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|t| t["guid"] == guid.as_str() && t["kind"] == "stopped")
        .count();
    assert_eq!(stops, 1, "one stop scheduled: {timeline}");
    app.advance(10).await;
    let inst = app.instance(&guid).await;
    assert_eq!(
        (inst["run_status"].clone(), inst["act_status"].clone()),
        (json!("-1"), json!("0"))
    );
}
