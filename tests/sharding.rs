//! Sharding namespaces across processes behind nginx, as `docs/scaling.md`
//! configures it: two `serve` processes and Debian's nginx on 127.0.0.1
//! ports, hashing the namespace name. Every call of one namespace, `/api`
//! and `/_mock/…` alike, must land on the same process, and namespaces stay
//! isolated. Needs the `nginx` binary (`.ci/run` installs it); without it
//! the test fails rather than passing unseen.

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::Read;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apayun_mock::client::Client;
use apayun_mock::test_support::fixtures::create_params_with;
use serde_json::{json, Value};

mod common;
const NAMESPACES: usize = 24;

/// The nginx configuration of `docs/scaling.md`, with the test's ports and
/// paths filled in. The doc shows the same `map` and `upstream` blocks.
fn nginx_conf(prefix: &Path, listen: u16, backends: &[u16]) -> String {
    let servers: String = backends
        .iter()
        .map(|p| format!("        server 127.0.0.1:{p};\n"))
        .collect();
    let p = prefix.display();
    format!(
        r#"worker_processes 1;
pid {p}/nginx.pid;
error_log stderr warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {p}/body;
    proxy_temp_path {p}/proxy;
    fastcgi_temp_path {p}/fastcgi;
    uwsgi_temp_path {p}/uwsgi;
    scgi_temp_path {p}/scgi;

    map $uri $apayun_namespace {{
        ~^/ns/(?<ns>[^/]+)/                  $ns;
        ~^/_mock/namespaces/(?<ns>[^/]+)$    $ns;
        default                              default;
    }}

    upstream apayun_mock {{
        hash $apayun_namespace consistent;
{servers}        keepalive 32;
    }}

    server {{
        listen 127.0.0.1:{listen};
        client_max_body_size 4m;
        location / {{
            proxy_pass http://apayun_mock;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_buffering off;
            proxy_read_timeout 1h;
        }}
    }}
}}
"#
    )
}

/// A child process, killed and reaped when the test ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts nginx in front of `backends`. nginx cannot report a port it
/// picked, so a free port is chosen and the start retried if another
/// process took it in between.
fn start_nginx(dir: &Path, backends: &[u16]) -> (Reaped, u16) {
    let mut last = String::new();
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("pick a port: {e}"));
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, nginx_conf(dir, port, backends))
            .unwrap_or_else(|e| panic!("write nginx.conf: {e}"));
        let mut child = Command::new("nginx")
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg("stderr")
            .arg("-c")
            .arg(&conf)
            .args(["-g", "daemon off;"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start nginx ({e}); install Debian's nginx package (scripts/test does)"
                )
            });
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return (Reaped(child), port);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        last.clear();
        if let Some(mut err) = child.stderr.take() {
            let _ = err.read_to_string(&mut last);
        }
    }
    panic!("nginx did not start: {last}");
}

async fn control(http: &reqwest::Client, method: &str, url: &str, body: Option<Value>) -> Value {
    let mut req = match method {
        "GET" => http.get(url),
        "DELETE" => http.delete(url),
        _ => http.post(url),
    };
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req
        .send()
        .await
        .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = resp.status();
    let value: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{method} {url}: {status} {value}");
    value
}

/// The namespaces one mock process lists, asked on its own port.
async fn listed_on(http: &reqwest::Client, port: u16) -> Vec<String> {
    let url = format!("http://127.0.0.1:{port}/_mock/namespaces");
    let listed = control(http, "GET", &url, None).await;
    listed["namespaces"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v["name"].as_str())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The document's create request without its remarks, with agent order
/// number 590682534662100000 + `order`.
fn create_request(order: usize) -> Value {
    create_params_with(
        &(590_682_534_662_100_000u64 + order as u64).to_string(),
        json!({"buyRemarks": null}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nginx_keeps_each_namespace_on_one_process() {
    let a = common::Server::start(&["--port", "0"], &[]);
    let b = common::Server::start(&["--port", "0"], &[]);
    let (port_a, port_b) = (a.port(), b.port());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let (_nginx, proxy) = start_nginx(dir.path(), &[port_a, port_b]);
    let http = reqwest::Client::new();
    let front = format!("http://127.0.0.1:{proxy}");

    let names: Vec<String> = (0..NAMESPACES).map(|i| format!("suite-{i}")).collect();
    let mut created = Vec::new();
    for (i, ns) in names.iter().enumerate() {
        // A control call, then an /api call, then control reads: if any of
        // them reached the other process, it would see a fresh namespace.
        let offset = (i as u64 + 1) * 3600;
        control(
            &http,
            "POST",
            &format!("{front}/ns/{ns}/_mock/clock/advance"),
            Some(json!({ "seconds": offset })),
        )
        .await;
        let client = Client::new(&format!("{front}/ns/{ns}"), "1", "mock-api-key");
        let answer = client
            .call("create", create_request(i))
            .await
            .unwrap_or_else(|e| panic!("create in {ns}: {e}"));
        assert_eq!(answer.code(), 0, "create in {ns}: {}", answer.text);
        let guid = answer.data()[0]["guid"]
            .as_str()
            .unwrap_or_else(|| panic!("no guid in {}", answer.text))
            .to_string();
        let clock = control(&http, "GET", &format!("{front}/ns/{ns}/_mock/clock"), None).await;
        assert_eq!(clock["offset_seconds"], json!(offset), "{ns}: {clock}");
        let journal = control(
            &http,
            "GET",
            &format!("{front}/ns/{ns}/_mock/requests?action=create"),
            None,
        )
        .await;
        assert_eq!(
            journal["requests"].as_array().map(Vec::len),
            Some(1),
            "{ns}: the create must be in this namespace's journal: {journal}"
        );
        created.push(guid);
    }

    // Isolation: an instance of one namespace is unknown in the next.
    for i in 0..NAMESPACES {
        let other = &names[(i + 1) % NAMESPACES];
        let client = Client::new(&format!("{front}/ns/{other}"), "1", "mock-api-key");
        let own = Client::new(&format!("{front}/ns/{}", names[i]), "1", "mock-api-key");
        let seen = own
            .call("sync_baremetal", json!({ "guid": created[i] }))
            .await
            .unwrap_or_else(|e| panic!("sync: {e}"));
        assert_eq!(seen.code(), 0, "{}: {}", names[i], seen.text);
        let unseen = client
            .call("sync_baremetal", json!({ "guid": created[i] }))
            .await
            .unwrap_or_else(|e| panic!("sync: {e}"));
        assert_eq!(
            unseen.code(),
            1,
            "{other} sees {}: {}",
            created[i],
            unseen.text
        );
    }

    // Each namespace lives on exactly one process, and both processes got some.
    let mut owners = Vec::new();
    for port in [port_a, port_b] {
        owners.push(listed_on(&http, port).await);
    }
    for ns in &names {
        let on: Vec<usize> = (0..2).filter(|&p| owners[p].contains(ns)).collect();
        assert_eq!(on.len(), 1, "{ns} lives on processes {on:?}: {owners:?}");
    }
    for (p, listed) in owners.iter().enumerate() {
        let mine = names.iter().filter(|n| listed.contains(n)).count();
        assert!(mine > 0, "process {p} got none of {NAMESPACES} namespaces");
    }

    // Deleting through the proxy reaches the owner too.
    let victim = &names[0];
    control(
        &http,
        "DELETE",
        &format!("{front}/_mock/namespaces/{victim}"),
        None,
    )
    .await;
    for port in [port_a, port_b] {
        let listed = listed_on(&http, port).await;
        assert!(
            !listed.contains(victim),
            "{victim} still listed on {port}: {listed:?}"
        );
    }
}
