//! `apayun-mock drift` and `seed pull` through the binary, against stand-in
//! engines only (nothing here reaches a real account): a round trip
//! through a pulled seed, a drifted stand-in with planted differences,
//! `--recorded`, redaction of planted secrets, exit code 2, and the
//! document's own example answers as a recording.

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::sync::{Arc, Mutex};

use apayun_mock::MockEngine;
use axum::extract::State;
use axum::response::IntoResponse;
use axum::routing::post;
use axum::Router;
use serde_json::{json, Map, Value};

mod common;

use common::{command, Server};

fn run(args: &[&str]) -> Output {
    command()
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run drift {args:?}: {e}"))
}

/// Runs the binary off the runtime's workers, so a stand-in served by the
/// same runtime keeps answering.
async fn run_async(args: Vec<String>) -> Output {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&refs)
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

/// Every finding of a JSON report as `action severity kind path`.
fn findings(report: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for action in report["actions"].as_array().unwrap() {
        for f in action["findings"].as_array().unwrap() {
            out.push(format!(
                "{} {} {} {}",
                action["action"].as_str().unwrap(),
                f["severity"].as_str().unwrap(),
                f["kind"].as_str().unwrap(),
                f["path"].as_str().unwrap()
            ));
        }
    }
    out
}

/// What the stand-in plants in the mock's answers.
#[derive(Clone, Copy, PartialEq)]
enum Plant {
    /// One planted difference of each kind drift must report.
    Differences,
    /// A planted secret in every field drift redacts.
    Secrets,
}

/// A planted secret's value: every one starts `PLANT`, so one search
/// finds any that leaked.
const SECRET: &str = "PLANT";
/// The planted `client_user_id`, a number.
const PLANTED_CLIENT_ID: i64 = 73_519_246;
/// The API key drift is given; the stand-in echoes it in a free-text field.
const PLANTED_KEY: &str = "PLANT-api-key-9f3";

struct StandIn {
    mock: MockEngine,
    plant: Plant,
    /// Every sign drift sent: none may reach a report.
    signs: Mutex<Vec<String>>,
}

async fn stand_in_api(State(state): State<Arc<StandIn>>, body: String) -> axum::response::Response {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(&body).unwrap();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    state.signs.lock().unwrap().push(field("sign"));
    let action = field("action");
    let mut params = Map::new();
    for (k, v) in &pairs {
        if !apayun_mock::test_support::protocol::COMMON_FIELDS.contains(&k.as_str()) {
            params.insert(k.clone(), Value::String(v.clone()));
        }
    }
    let single = params.contains_key("guid");
    if action == "getsystems" && state.plant == Plant::Differences {
        // Small pages, so that drift must read every one.
        params.insert("page_length".into(), "3".into());
    }
    if action == "degrade_ip_list" {
        params.insert("dataType".into(), "xml".into());
    }
    let answer = state
        .mock
        .call(&action, Value::Object(params))
        .await
        .unwrap();
    if action == "degrade_ip_list" {
        let mut xml = answer.text.clone();
        if state.plant == Plant::Secrets {
            xml = xml.replacen(
                "<data>",
                &format!("<data><login_password>{SECRET}-xml-password</login_password>"),
                1,
            );
        }
        return ([("content-type", "text/xml")], xml).into_response();
    }
    let mut v = answer.json();
    let data = &mut v["data"];
    match (state.plant, action.as_str(), single) {
        (Plant::Differences, "getzones", _) => {
            for z in data["zones"].as_array_mut().unwrap() {
                let n: i64 = z["max_year"].as_str().unwrap().parse().unwrap();
                z["max_year"] = json!(n);
            }
        }
        (Plant::Differences, "sync_line", _) => {
            for l in data.as_array_mut().unwrap() {
                l.as_object_mut().unwrap().remove("intro_url");
            }
        }
        (Plant::Differences, "sync_product", _) => {
            for p in data.as_array_mut().unwrap() {
                p["gpu"] = json!("none");
            }
        }
        (Plant::Differences, "sync_baremetal", false) => {
            for i in data["baremetal"].as_array_mut().unwrap() {
                assert_eq!(
                    i["buy_remarks"],
                    json!(""),
                    "the mock's buy_remarks changed"
                );
                i["buy_remarks"] = Value::Null;
            }
        }
        (Plant::Differences, "sync_baremetal", true) => {
            data["baremetal"]["run_status"] = json!("7");
        }
        (Plant::Secrets, "sync_line", _) => {
            // A key echoed where no field name says "secret".
            for l in data.as_array_mut().unwrap() {
                l["descript"] = json!(format!("echo {PLANTED_KEY}"));
            }
        }
        (Plant::Secrets, "sync_baremetal", false) => {
            for i in data["baremetal"].as_array_mut().unwrap() {
                i["auth_qq"] = json!(format!("{SECRET}-auth-qq"));
                i["client_user_id"] = json!(PLANTED_CLIENT_ID);
            }
        }
        (Plant::Secrets, "sync_baremetal", true) => {
            let sign = field("sign");
            let b = &mut data["baremetal"];
            for name in [
                "login_password",
                "ipmi_user",
                "ipmi_pass",
                "ipmi_ip",
                "ssh_public_key",
                "auth_client_user_id",
                "auth_name",
                "auth_mobile",
                "auth_idnum",
                "auth_from_ip",
                "auth_qq",
                "key",
                "api_key",
                "loginPassword",
            ] {
                b[name] = json!(format!("{SECRET}-{name}"));
            }
            b["sign"] = json!(sign);
            b["client_user_id"] = json!(PLANTED_CLIENT_ID);
            b["nested"] = json!([{"ipmi_pass": format!("{SECRET}-nested")}]);
        }
        _ => {}
    }
    ([("content-type", "application/json")], v.to_string()).into_response()
}

/// A stand-in engine on a free port: the in-process mock's own answers
/// with `plant` applied. Returns its base URL and its state.
async fn stand_in(plant: Plant) -> (String, Arc<StandIn>, tokio::task::JoinHandle<()>) {
    let mock = MockEngine::builder().rng_seed(5).start().await.unwrap();
    let state = Arc::new(StandIn {
        mock,
        plant,
        signs: Mutex::new(Vec::new()),
    });
    let app = Router::new()
        .route("/api", post(stand_in_api))
        .with_state(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, state, task)
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

/// The findings planted in [`Plant::Differences`], each once.
const PLANTED: [&str; 6] = [
    "getzones error number_vs_numeric_string data.zones[].max_year",
    "sync_line error missing data[].intro_url",
    "sync_product warning extra data[].gpu",
    "sync_baremetal error null_vs_empty_string data.baremetal[].buy_remarks",
    "sync_baremetal_guid warning unknown_value data.baremetal.run_status",
    "degrade_ip_list error envelope (answer)",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drifted_stand_in_is_reported_at_each_planted_difference_and_nothing_else() {
    let (url, _state, task) = stand_in(Plant::Differences).await;
    let dir = tempfile::tempdir().unwrap();
    let json_file = dir.path().join("drift.json");
    let junit_file = dir.path().join("drift.xml");
    let saved = dir.path().join("recording");
    let out = run_async(strings(&[
        "drift",
        "--url",
        &url,
        "--userid",
        "1",
        "--key",
        "any-key",
        "--json",
        json_file.to_str().unwrap(),
        "--junit",
        junit_file.to_str().unwrap(),
        "--save",
        saved.to_str().unwrap(),
    ]))
    .await;
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let report = read_json(&json_file);
    assert_eq!(findings(&report), PLANTED, "{stdout}");
    assert_eq!(report["errors"], json!(4));
    assert_eq!(report["warnings"], json!(2));
    // Every page of getsystems was read: the seed's 8 systems in pages of 3.
    assert_eq!(report["actions"][4]["action"], json!("getsystems"));
    assert_eq!(report["actions"][4]["answers"]["engine"], json!(3));
    // The table names each path with both sides and a sample.
    for line in [
        "data.zones[].max_year",
        "numeric string",
        "data.baremetal[].buy_remarks",
        "\"7\"",
        "XML",
    ] {
        assert!(stdout.contains(line), "{line:?} not in\n{stdout}");
    }
    // JUnit: one test case per action, failing where there are errors.
    let junit = std::fs::read_to_string(&junit_file).unwrap();
    let doc = roxmltree::Document::parse(&junit).unwrap();
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    assert_eq!(cases.len(), 8, "{junit}");
    let failing: Vec<&str> = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")))
        .map(|c| c.attribute("name").unwrap())
        .collect();
    assert_eq!(
        failing,
        [
            "getzones",
            "sync_line",
            "sync_baremetal (paged)",
            "degrade_ip_list"
        ],
        "{junit}"
    );
    task.abort();
    drop(_state);

    // --recorded: the same findings from the saved files, with the
    // stand-in gone and no credentials.
    let json2 = dir.path().join("recorded.json");
    let out = run_async(strings(&[
        "drift",
        "--recorded",
        saved.to_str().unwrap(),
        "--json",
        json2.to_str().unwrap(),
    ]))
    .await;
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(findings(&read_json(&json2)), PLANTED);
}

/// Every file under `dir`, as text.
fn all_files(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(all_files(&path));
        } else {
            let t = std::fs::read_to_string(&path).unwrap();
            out.push((path, t));
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn planted_secrets_reach_no_output_report_or_saved_file() {
    let (url, state, task) = stand_in(Plant::Secrets).await;
    let dir = tempfile::tempdir().unwrap();
    let json_file = dir.path().join("drift.json");
    let junit_file = dir.path().join("drift.xml");
    let saved = dir.path().join("recording");
    let out = run_async(strings(&[
        "drift",
        "--url",
        &url,
        "--userid",
        "1",
        "--key",
        PLANTED_KEY,
        "--json",
        json_file.to_str().unwrap(),
        "--junit",
        junit_file.to_str().unwrap(),
        "--save",
        saved.to_str().unwrap(),
    ]))
    .await;
    task.abort();
    let stdout = text(&out.stdout);
    assert!(
        out.status.code().is_some_and(|c| c < 2),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let signs = state.signs.lock().unwrap().clone();
    assert!(
        signs.len() >= 8 && signs.iter().all(|s| s.len() == 32),
        "{signs:?}"
    );
    let mut outputs = vec![
        ("stdout".into(), stdout.clone()),
        ("stderr".into(), text(&out.stderr)),
    ];
    outputs.extend(all_files(dir.path()));
    assert!(outputs.len() >= 4 + 8, "{outputs:?}");
    for (name, body) in &outputs {
        for secret in [SECRET, PLANTED_KEY, &PLANTED_CLIENT_ID.to_string()] {
            assert!(!body.contains(secret), "{secret} in {name:?}:\n{body}");
        }
        for sign in &signs {
            assert!(!body.contains(sign.as_str()), "a sign in {name:?}");
        }
    }
    // The planted fields are there, redacted: the report still sees them.
    let report = read_json(&json_file);
    let found = findings(&report);
    for path in [
        "data.baremetal.auth_name",
        "data.baremetal.sign",
        "data.baremetal.ipmi_user",
    ] {
        assert!(
            found.iter().any(|f| f.ends_with(path)),
            "{path} not reported: {found:?}"
        );
    }
    let single = all_files(&saved)
        .into_iter()
        .find(|(p, _)| p.to_string_lossy().contains("sync_baremetal_guid"))
        .unwrap();
    let answer: Value = serde_json::from_str(&single.1).unwrap();
    let b = &answer["answer"]["data"]["baremetal"];
    assert_eq!(b["login_password"], json!("***"));
    assert_eq!(b["client_user_id"], json!(0), "a number stays a number");
    assert_eq!(b["nested"][0]["ipmi_pass"], json!("***"));
}

#[test]
fn exit_2_when_the_engine_cannot_be_reached() {
    // A port nobody listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let out = run(&["drift", "--url", &url, "--userid", "1", "--key", "k-123456"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("cannot reach the engine at {url}")),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
    let out = run(&[
        "seed",
        "pull",
        "--url",
        &url,
        "--userid",
        "1",
        "--key",
        "k-123456",
        "--out",
        "/nonexistent",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn exit_2_with_the_sign_diagnostics_when_the_engine_refuses_the_sign() {
    let server = Server::start(&["--port", "0"], &[]);
    let out = run(&[
        "drift",
        "--url",
        &server.url,
        "--userid",
        "1",
        "--key",
        "not-the-key",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    // What the mock's own sign_invalid says, in its words.
    for part in [
        "refused the first call (getzones)",
        "签名错误：sign 应为 md5(module + 'zkeys.api@2019' + action + userid + API秘钥 + time)",
        "X-Mock-Error: sign_invalid",
        "X-Mock-Sign-Input: baremetalzkeys.api@2019getzones1***",
    ] {
        assert!(stderr.contains(part), "{part:?} not in {stderr}");
    }
    assert!(!stderr.contains("not-the-key"), "{stderr}");
}

#[test]
fn help_says_it_only_reads() {
    let out = run(&["drift", "--help"]);
    let help = text(&out.stdout);
    assert!(
        help.contains("read-only actions only, never a write"),
        "{help}"
    );
    let out = run(&["drift"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("--url"), "{}", text(&out.stderr));
}

/// The repository's recording of the document's own example answers.
fn document_recording() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drift/document")
}

#[test]
fn the_documents_examples_differ_only_where_fidelity_md_explains() {
    let dir = tempfile::tempdir().unwrap();
    let json_file = dir.path().join("doc.json");
    let out = run(&[
        "drift",
        "--recorded",
        document_recording().to_str().unwrap(),
        "--json",
        json_file.to_str().unwrap(),
    ]);
    let report = read_json(&json_file);
    // The document's getsystems example is a copy of getzones' answer;
    // the mock follows the field table (docs/fidelity.md, "Catalog").
    assert_eq!(
        findings(&report),
        [
            "getsystems error missing data.pages",
            "getsystems error missing data.items",
            "getsystems error missing data.systems",
            "getsystems warning extra data.zones",
        ],
        "{}",
        text(&out.stdout)
    );
    assert_eq!(out.status.code(), Some(1));
    let fidelity =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/fidelity.md"))
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
    assert!(
        fidelity.contains(
            "The document's example body is a copy of getzones; the field table is followed"
        ),
        "docs/fidelity.md no longer explains the getsystems example"
    );
    // Every action of the recording was compared.
    for action in report["actions"].as_array().unwrap() {
        assert_eq!(action["answers"]["engine"], json!(1), "{action}");
        assert_eq!(action["notes"], json!([]), "{action}");
    }
}

/// A copy of the default seed with new GUIDs for a zone and a product
/// (every reference follows) and a renamed zone.
fn changed_seed(dir: &Path) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("seed-data");
    std::fs::create_dir_all(dir).unwrap();
    for entry in std::fs::read_dir(&src).unwrap().flatten() {
        let t = std::fs::read_to_string(entry.path())
            .unwrap()
            .replace("1650521653823448", "1999000000000001")
            .replace("1665907642748801", "1999000000000002")
            .replace("Hyper-V 2", "Mirror Zone");
        std::fs::write(dir.join(entry.file_name()), t).unwrap();
    }
}

/// Every GUID of the catalog and of the instances, as a server lists them.
fn guids(url: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (action, pointer, extra) in [
        ("getzones", "/data/zones", None),
        ("sync_line", "/data", None),
        ("sync_harddisk", "/data", None),
        ("sync_product", "/data", None),
        ("getsystems", "/data/systems", Some("page_length=1000")),
        ("sync_baremetal", "/data/baremetal", Some("number=1000")),
    ] {
        let mut args = vec!["call", action, "--url", url];
        if let Some(e) = extra {
            args.push(e);
        }
        let answer = run(&args);
        assert!(
            answer.status.success(),
            "{action}: {}",
            text(&answer.stderr)
        );
        let v: Value = serde_json::from_slice(&answer.stdout).unwrap();
        let list = v.pointer(pointer).and_then(Value::as_array).unwrap();
        assert!(!list.is_empty(), "{action} lists nothing");
        for item in list {
            out.push(format!("{action} {}", item["guid"].as_str().unwrap()));
        }
    }
    out
}

#[test]
fn round_trip_pull_serve_drift() {
    let dir = tempfile::tempdir().unwrap();
    let changed = dir.path().join("changed");
    changed_seed(&changed);
    let source = Server::start(
        &["--port", "0", "--seed-data", changed.to_str().unwrap()],
        &[],
    );
    let pulled = dir.path().join("pulled");
    let out = run(&[
        "seed",
        "pull",
        "--url",
        &source.url,
        "--userid",
        "1",
        "--key",
        "mock-api-key",
        "--out",
        pulled.to_str().unwrap(),
        "--with-instances",
    ]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    assert!(
        stdout.contains("Serve it: apayun-mock serve --seed-data"),
        "{stdout}"
    );
    // The account's key is never written; the member gets the mock's.
    let users = read_json(&pulled.join("users.json"));
    assert_eq!(
        users,
        json!([{"userid": "1", "api_key": "mock-api-key", "callback_url": null}])
    );
    let instances = read_json(&pulled.join("instances.json"));
    assert_eq!(instances.as_array().unwrap().len(), 1, "{instances}");
    assert_ne!(instances[0]["login_password"], json!("QWE1MzUwMjkyNzkh"));
    assert_eq!(instances[0]["client_user_id"], json!("0"));

    let mirror = Server::start(
        &["--port", "0", "--seed-data", pulled.to_str().unwrap()],
        &[],
    );
    let source_guids = guids(&source.url);
    assert!(source_guids.contains(&"getzones 1999000000000001".to_string()));
    assert!(source_guids.contains(&"sync_product 1999000000000002".to_string()));
    assert_eq!(guids(&mirror.url), source_guids);

    let report_file = dir.path().join("drift.json");
    let out = run(&[
        "drift",
        "--url",
        &source.url,
        "--userid",
        "1",
        "--key",
        "mock-api-key",
        "--against",
        &mirror.url,
        "--json",
        report_file.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    let report = read_json(&report_file);
    assert_eq!(report["errors"], json!(0), "{stdout}");
    assert_eq!(findings(&report), Vec::<String>::new(), "{stdout}");
}

#[test]
fn a_pull_without_instances_gets_default_pools_and_serves() {
    let dir = tempfile::tempdir().unwrap();
    let source = Server::start(&["--port", "0"], &[]);
    let pulled = dir.path().join("pulled");
    let out = run(&[
        "seed",
        "pull",
        "--url",
        &source.url,
        "--userid",
        "1",
        "--key",
        "mock-api-key",
        "--out",
        pulled.to_str().unwrap(),
        "--stock",
        "2",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(read_json(&pulled.join("instances.json")), json!([]));
    let pools = read_json(&pulled.join("ip-pools.json"));
    let cidrs: Vec<&str> = pools
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["cidr"].as_str().unwrap())
        .collect();
    // The first line's primary pool comes from the seeded instance's
    // address; the rest from the default range.
    assert!(cidrs.contains(&"192.168.12.0/24"), "{cidrs:?}");
    assert!(cidrs.contains(&"10.0.1.0/24"), "{cidrs:?}");
    let stock = read_json(&pulled.join("stock.json"));
    let products = read_json(&pulled.join("products.json"));
    let from_stock = products
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["stock_type"] == json!("1"))
        .count();
    assert_eq!(stock.as_array().unwrap().len(), 2 * from_stock);
    // The mirror sells: a create on it succeeds.
    let mirror = Server::start(
        &[
            "--port",
            "0",
            "--seed-data",
            pulled.to_str().unwrap(),
            "--timings",
            "fast",
        ],
        &[],
    );
    let out = run(&[
        "call",
        "create",
        "--url",
        &mirror.url,
        "lineGuid=1665907446560259",
        "productGuid=1665907642748705",
        "systemGuid=1633652801461868",
        "loginName=root",
        "loginPassword=QWE1MzUwMjkyNzkh",
        "months=1",
        "num=1",
        "agent_order_no=round-trip-1",
    ]);
    assert!(
        out.status.success(),
        "{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pulled_catalog_the_mock_cannot_hold_is_written_and_refused_by_seed_validation() {
    let (url, _state, task) = stand_in(Plant::Differences).await;
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("pulled");
    let out = run_async(strings(&[
        "seed",
        "pull",
        "--url",
        &url,
        "--userid",
        "1",
        "--key",
        "any-key",
        "--out",
        out_dir.to_str().unwrap(),
    ]))
    .await;
    task.abort();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    // The stand-in's zones carry `max_year` as a number, which the mock's
    // catalog never holds: the validation names file, record and field.
    assert!(
        stderr.contains("the mock's seed validation refuses it"),
        "{stderr}"
    );
    assert!(
        stderr.contains("zones.json") && stderr.contains("max_year"),
        "{stderr}"
    );
    assert!(stderr.contains("`apayun-mock drift`"), "{stderr}");
    // The files are there to look at, exactly as the engine sent them.
    let zones = read_json(&out_dir.join("zones.json"));
    assert_eq!(zones[0]["max_year"], json!(3));
}
