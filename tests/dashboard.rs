//! The dashboard (`/_mock/ui`) in a real browser: Debian's `chromium`
//! driven through `chromedriver` with fantoccini. Each test starts its own
//! engine on port 0, its own chromedriver (which picks its own free port:
//! `--port=0`, read back from its first lines) and a fresh browser profile.
//! Browser tests take turns: two chromiums at once on a small CI machine
//! make the "within 2 s" checks about the machine, not the page.
//!
//! Without chromium and chromedriver these tests fail (CI installs both;
//! see `.ci/run`); `APAYUN_MOCK_CHROMIUM` and `APAYUN_MOCK_CHROMEDRIVER`
//! point at other binaries.

// Helpers outside #[test] fns may panic too: this crate is a test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use apayun_mock::test_support::fixtures::{
    self, EXAMPLE_GUID, LINE, LINE_HK, LINE_NM, PRODUCT_HK, PRODUCT_NM_GOLD, SYSTEM, UBUNTU,
};
use apayun_mock::MockEngine;
use fantoccini::{Client, ClientBuilder, Locator};
use futures_util::FutureExt;
use serde_json::{json, Value};

/// One browser at a time in this test binary.
static BROWSER_TURN: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// How long a page may take to show what the engine already did.
const UI_WAIT: Duration = Duration::from_secs(10);

fn binary(env: &str, candidates: &[&str]) -> PathBuf {
    if let Ok(path) = std::env::var(env) {
        return PathBuf::from(path);
    }
    for c in candidates {
        let p = PathBuf::from(c);
        if p.is_file() {
            return p;
        }
        if let Some(dirs) = std::env::var_os("PATH") {
            for dir in std::env::split_paths(&dirs) {
                let full = dir.join(c);
                if full.is_file() {
                    return full;
                }
            }
        }
    }
    panic!(
        "{} not found (tried {candidates:?}); install Debian's chromium and chromium-driver \
         (scripts/test installs them) or set {env}",
        candidates[0]
    );
}

/// chromedriver on a port it chose itself, killed on drop.
struct Driver {
    child: Child,
    port: u16,
}

impl Driver {
    fn start() -> Driver {
        let path = binary(
            "APAYUN_MOCK_CHROMEDRIVER",
            &["/usr/bin/chromedriver", "chromedriver"],
        );
        let mut child = Command::new(&path)
            .arg("--port=0")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
        let stdout = child
            .stdout
            .take()
            .unwrap_or_else(|| panic!("chromedriver has no stdout"));
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads the banner ("… was started successfully on port N."), then
        // keeps draining so chromedriver never blocks on a full pipe.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("started successfully on port ").nth(1) {
                    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    let _ = tx.send(digits.parse::<u16>().ok());
                }
            }
        });
        match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(Some(port)) => Driver { child, port },
            other => {
                let _ = child.kill();
                panic!("chromedriver did not report its port: {other:?}");
            }
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a test does to an element.
#[derive(Debug, Clone, Copy)]
enum Action<'a> {
    Click,
    Fill(&'a str),
    Select(&'a str),
}

/// A browser session on a page of the engine.
struct Page {
    client: Client,
}

impl Page {
    async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    async fn js(&self, script: &str) -> Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("script failed: {e}\n{script}"))
    }

    /// Errors the page itself caught (see the top of app.js).
    async fn errors(&self) -> Vec<String> {
        let v = self
            .js("return window.__dashboardErrors || ['no error hook: app.js did not run'];")
            .await;
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|e| e.as_str().unwrap_or_default().to_string())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Polls a JavaScript condition until it holds; fails with what the page showed.
    async fn wait_until(&self, what: &str, condition: &str, limit: Duration) -> Duration {
        let started = Instant::now();
        let script = format!("return !!({condition});");
        for _ in 0..100_000 {
            if self.js(&script).await == json!(true) {
                return started.elapsed();
            }
            if started.elapsed() > limit {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let body = self.js("return document.body.innerText;").await;
        panic!(
            "timed out after {limit:?} waiting until {what} ({condition})\npage errors: {:?}\npage text:\n{}",
            self.errors().await,
            body.as_str().unwrap_or_default()
        );
    }

    /// Does `what` to the element `css` like a user. Live updates re-render
    /// tables and option lists, so an element found a moment ago may be
    /// gone: find it again and retry.
    async fn on_element(&self, css: &str, what: Action<'_>) {
        let mut last = String::new();
        for _ in 0..20 {
            let el = self
                .client
                .wait()
                .at_most(UI_WAIT)
                .for_element(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("no element {css}: {e}"));
            let done = match what {
                Action::Click => el.click().await,
                Action::Fill(text) => match el.clear().await {
                    Ok(()) => el.send_keys(text).await,
                    Err(e) => Err(e),
                },
                Action::Select(value) => el.select_by_value(value).await,
            };
            match done {
                Ok(()) => return,
                Err(e) if e.to_string().contains("stale element") => last = e.to_string(),
                Err(e) => panic!("{what:?} on {css}: {e}"),
            }
        }
        panic!("{what:?} on {css}: the element kept being replaced: {last}");
    }

    async fn click(&self, css: &str) {
        self.on_element(css, Action::Click).await;
    }

    async fn fill(&self, css: &str, text: &str) {
        self.on_element(css, Action::Fill(text)).await;
    }

    async fn select(&self, css: &str, value: &str) {
        self.on_element(css, Action::Select(value)).await;
    }

    async fn text(&self, css: &str) -> String {
        let v = self
            .js(&format!(
                "const e = document.querySelector({}); return e ? e.innerText : null;",
                json!(css)
            ))
            .await;
        v.as_str()
            .unwrap_or_else(|| panic!("no element {css}"))
            .to_string()
    }

    /// Opens the dashboard and waits until it is live (the event stream is
    /// open and the instance table filled).
    async fn open_dashboard(&self, base_url: &str) {
        self.goto(&format!("{base_url}/")).await;
        self.wait_until(
            "the dashboard is live",
            "document.getElementById('live').dataset.state === 'on' && document.querySelector('#instances-body tr[data-guid]')",
            UI_WAIT,
        )
        .await;
    }

    async fn assert_no_errors(&self) {
        let errors = self.errors().await;
        assert!(errors.is_empty(), "the page reported errors: {errors:?}");
    }
}

/// Runs `test` with a fresh browser and always closes it, even on failure.
async fn with_browser<F, Fut>(test: F)
where
    F: FnOnce(Page) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let _turn = BROWSER_TURN.lock().await;
    let driver = Driver::start();
    let profile = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let chromium = binary("APAYUN_MOCK_CHROMIUM", &["/usr/bin/chromium", "chromium"]);
    let args = vec![
        "--headless".to_string(),
        "--no-sandbox".to_string(),
        "--disable-gpu".to_string(),
        "--disable-quic".to_string(),
        "--no-first-run".to_string(),
        "--disable-background-networking".to_string(),
        "--disable-component-update".to_string(),
        "--disable-sync".to_string(),
        "--disable-dev-shm-usage".to_string(),
        "--hide-scrollbars".to_string(),
        "--window-size=1280,800".to_string(),
        format!("--user-data-dir={}", profile.path().display()),
    ];
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".into(),
        json!({"binary": chromium, "args": args}),
    );
    let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
    builder.capabilities(caps);
    let mut client = None;
    // A fresh chromium occasionally fails its first start on a loaded machine.
    for attempt in 0..3 {
        match builder
            .connect(&format!("http://127.0.0.1:{}", driver.port))
            .await
        {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(e) if attempt < 2 => eprintln!("browser session failed, retrying: {e}"),
            Err(e) => panic!("cannot open a chromium session: {e}"),
        }
    }
    let client = client.unwrap_or_else(|| panic!("no browser session"));
    let outcome = AssertUnwindSafe(test(Page {
        client: client.clone(),
    }))
    .catch_unwind()
    .await;
    let _ = client.close().await;
    drop(driver);
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

async fn engine() -> MockEngine {
    MockEngine::builder()
        .rng_seed(14)
        .start()
        .await
        .unwrap_or_else(|e| panic!("engine: {e}"))
}

/// The document's create request without its remarks and client numbers,
/// with agent order number 990000 + `order` and `overrides` laid over it.
fn create_request(order: u32, overrides: Value) -> Value {
    let request = fixtures::create_params_with(
        &(990_000 + order).to_string(),
        json!({"buyRemarks": null, "clientOrderNo": null, "clientUserId": null}),
    );
    fixtures::overlay(request, overrides)
}

/// A signed create as userid 1; returns the new GUID.
async fn create(engine: &MockEngine, order: u32) -> String {
    let answer = engine
        .call("create", create_request(order, json!({})))
        .await
        .unwrap_or_else(|e| panic!("create: {e}"));
    assert_eq!(answer.code(), 0, "create failed: {}", answer.text);
    answer.data()[0]["guid"]
        .as_str()
        .unwrap_or_else(|| panic!("no guid in {}", answer.text))
        .to_string()
}

fn row(guid: &str) -> String {
    format!("document.querySelector('#instances-body tr[data-guid=\"{guid}\"]')")
}

/// The text of one instance row ('' while it is not shown).
fn row_text(guid: &str) -> String {
    format!("(({}) || {{innerText: ''}}).innerText", row(guid))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_loads_cleanly_and_shows_the_example_instance() {
    let engine = engine().await;
    let url = engine.base_url();
    with_browser(|page| async move {
        page.open_dashboard(&url).await;
        let current = page.js("return location.pathname;").await;
        assert_eq!(current, "/_mock/ui", "/ redirects to the dashboard");
        let text = page.text(&format!("#instances-body tr[data-guid=\"{EXAMPLE_GUID}\"]")).await;
        for expected in ["正常", "active", "运行中", "running", "无操作", "idle", "192.168.12.48", "深圳一区", "zhzy4.0"] {
            assert!(text.contains(expected), "row lacks {expected:?}: {text}");
        }
        // The seeded subnet shows as one subnet of nine addresses.
        assert!(text.contains("9 IP") && text.contains("1 子网"), "{text}");
        // Status reads without colour: an icon and words, not a bare number.
        let badge = page
            .js(&format!(
                "return {}.querySelector('.st[data-field=\"order_status\"]').textContent.replace(/\\s+/g, ' ').trim();",
                row(EXAMPLE_GUID)
            ))
            .await;
        assert_eq!(badge, json!("✔ 正常 active"));
        let clock = page.text("#clock-now").await;
        assert_eq!(clock.len(), 19, "the engine time is shown: {clock:?}");
        // No key or password anywhere on the page.
        let body = page.js("return document.documentElement.outerHTML + document.body.innerText;").await;
        let body = body.as_str().unwrap_or_default();
        assert!(!body.contains("mock-api-key"), "a key is on the page");
        assert!(!body.contains("QWE1MzUwMjkyNzkh"), "a password is on the page");
        page.assert_no_errors().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_takes_its_words_and_its_secret_rule_from_the_server() {
    let engine = engine().await;
    let url = engine.base_url();
    with_browser(|page| async move {
        page.open_dashboard(&url).await;
        // The page masks exactly what the server masks (protocol/mask.rs).
        let names = [
            "apiKey", "api_key", "API-KEY", "key", "loginPassword", "new_passwd", "client_secret",
            "bypass", "sign", "keys", "monkey", "guid", "passport",
        ];
        let script = format!("return {}.map(isSecret);", json!(names));
        let page_says = page.js(&script).await;
        let server_says: Vec<bool> = names
            .iter()
            .map(|n| apayun_mock::test_support::protocol::mask::is_secret(n))
            .collect();
        assert_eq!(page_says, json!(server_says), "{names:?}");
        assert_eq!(page_says[0], json!(true), "apiKey is a secret");
        assert_eq!(page_says[7], json!(false), "bypass is not");
        // Every action is offered, in the server's order, and every state.
        let actions = page
            .js("return Array.from(document.querySelectorAll('#journal-action option')).map(o => o.value).filter(v => v);")
            .await;
        let want: Vec<&str> = apayun_mock::test_support::actions::ActionName::ALL
            .iter()
            .map(|a| a.wire())
            .collect();
        assert_eq!(actions, json!(want));
        let states = page
            .js("return Array.from(document.querySelectorAll('#filter-status optgroup option')).map(o => o.value + ' ' + o.textContent);")
            .await;
        let states: Vec<String> = serde_json::from_value(states).unwrap_or_default();
        assert_eq!(states.len(), 4 + 3 + 7, "{states:?}");
        assert!(states.contains(&"act_status=6 关机中 stopping".to_string()), "{states:?}");
        page.assert_no_errors().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_create_sent_through_the_api_appears_within_two_seconds_without_reload() {
    let engine = engine().await;
    let url = engine.base_url();
    with_browser(|page| async move {
        page.open_dashboard(&url).await;
        page.js("window.__sameDocument = 'still here'; return 1;").await;
        let sent = Instant::now();
        let guid = create(&engine, 1).await;
        page.wait_until(
            "the new instance is listed",
            &format!("{}.includes('开通中')", row_text(&guid)),
            UI_WAIT,
        )
        .await;
        let shown_after = sent.elapsed();
        eprintln!("a create through /api showed on the page {shown_after:?} after it was sent");
        assert!(
            shown_after < Duration::from_secs(2),
            "the create showed after {shown_after:?}"
        );
        assert_eq!(
            page.js("return window.__sameDocument;").await,
            json!("still here"),
            "the page was reloaded"
        );
        // The journal lists it too, newest first.
        page.wait_until(
            "the journal lists the create",
            "document.querySelector('#journal-body tr[data-id]') && document.querySelector('#journal-body tr[data-id]').innerText.includes('create')",
            UI_WAIT,
        )
        .await;
        page.assert_no_errors().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn advancing_one_day_moves_the_clock_and_provisions_the_instance() {
    let engine = engine().await;
    let url = engine.base_url();
    let guid = create(&engine, 2).await;
    with_browser(|page| async move {
        page.open_dashboard(&url).await;
        page.wait_until(
            "the new instance provisions",
            &format!("{}.includes('开通中')", row_text(&guid)),
            UI_WAIT,
        )
        .await;
        let before = page.text("#clock-now").await;
        page.click("#adv-1d").await;
        page.wait_until(
            "the instance is active",
            &format!(
                "{}.includes('正常') && {}.includes('active')",
                row_text(&guid),
                row_text(&guid)
            ),
            UI_WAIT,
        )
        .await;
        let after = page.text("#clock-now").await;
        let parse = |t: &str| {
            chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
                .unwrap_or_else(|e| panic!("clock shows {t:?}: {e}"))
        };
        let moved = (parse(&after) - parse(&before)).num_seconds();
        assert!(
            (86_400..86_400 + 30).contains(&moved),
            "the clock moved {moved} s: {before} → {after}"
        );
        assert!(page.text("#clock-offset").await.contains("+1d"));
        // What fell due is listed.
        let fell = page.text("#fell-due").await;
        assert!(
            fell.contains(&guid) && fell.contains("provisioned"),
            "{fell}"
        );
        // A typed amount moves it too.
        page.fill("#advance-input", "1d12h").await;
        page.click("#advance-form button[type=submit]").await;
        page.wait_until(
            "the offset shows 2d 12h",
            "document.getElementById('clock-offset').innerText.startsWith('+2d 12h')",
            UI_WAIT,
        )
        .await;
        // The status filter narrows the table to what matches.
        page.select("#filter-status", "order_status=0").await;
        page.wait_until(
            "no provisioning instance is left",
            "document.querySelector('#instances-body td.empty')",
            UI_WAIT,
        )
        .await;
        page.select("#filter-status", "order_status=1").await;
        page.wait_until(
            "the active ones are back",
            &format!("!!{}", row(&guid)),
            UI_WAIT,
        )
        .await;
        page.assert_no_errors().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fault_added_through_the_form_fires_on_the_next_signed_call() {
    let engine = engine().await;
    let url = engine.base_url();
    with_browser(|page| async move {
        page.open_dashboard(&url).await;
        page.select("#fault-action", "getzones").await;
        page.select("#fault-kind", "error").await;
        page.fill("#fault-reason", "zone_maintenance").await;
        page.fill("#fault-message", "区域维护中").await;
        page.fill("#fault-times", "1").await;
        page.click("#fault-form button[type=submit]").await;
        page.wait_until(
            "the fault is listed",
            "document.getElementById('faults-list').innerText.includes('zone_maintenance')",
            UI_WAIT,
        )
        .await;
        let answer = engine
            .call("getzones", json!({}))
            .await
            .unwrap_or_else(|e| panic!("getzones: {e}"));
        assert_eq!(answer.code(), 1, "{}", answer.text);
        assert_eq!(answer.reason.as_deref(), Some("zone_maintenance"));
        assert_eq!(answer.json()["message"], "区域维护中");
        // The page shows it fired, live.
        page.wait_until(
            "the fault counts one firing",
            "document.getElementById('faults-list').innerText.includes('fired 1')",
            UI_WAIT,
        )
        .await;
        page.wait_until(
            "the journal names the fault",
            "document.querySelector('#journal-body tr[data-id]') && document.querySelector('#journal-body tr[data-id]').innerText.includes('zone_maintenance')",
            UI_WAIT,
        )
        .await;
        // The next call passes: the rule fired its one time.
        let again = engine.call("getzones", json!({})).await.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again.code(), 0);
        page.assert_no_errors().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_detail_panel_shows_the_subnet_after_an_upgrade_from_the_page() {
    let engine = engine().await;
    let url = engine.base_url();
    let guid = create(&engine, 3).await;
    engine
        .advance(Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    with_browser(|page| async move {
        page.open_dashboard(&url).await;
        page.click(&format!("#instances-body tr[data-guid=\"{guid}\"] button.link")).await;
        page.wait_until("the detail panel opens", "document.getElementById('upgrade-ipnum')", UI_WAIT)
            .await;
        assert!(page.text("#detail-body").await.contains("没有子网 No subnets"));
        page.select("#upgrade-ipnum", "8").await;
        page.select("#upgrade-iptype", "2").await;
        page.click("button[data-op=upgrade]").await;
        page.wait_until(
            "the upgrade is accepted",
            "document.getElementById('op-result').innerText.includes('upgrade: code 0')",
            UI_WAIT,
        )
        .await;
        page.click("#adv-30s").await;
        // The example instance holds 114.114.8.16/29; the next block is .24/29.
        page.wait_until(
            "the subnet is listed",
            "document.getElementById('detail-body').innerText.includes('114.114.8.24/29')",
            UI_WAIT,
        )
        .await;
        let detail = page.text("#detail-body").await;
        let subnet_row = page
            .js("return [...document.querySelectorAll('#detail-body tr')].map(r => r.innerText).find(t => t.includes('114.114.8.24/29'));")
            .await;
        let subnet_row = subnet_row.as_str().unwrap_or_default().to_string();
        for expected in ["114.114.8.24", "114.114.8.25", "114.114.8.31", "255.255.255.248", "8"] {
            assert!(subnet_row.contains(expected), "subnet row lacks {expected}: {subnet_row}");
        }
        assert!(detail.contains("ipnum"), "the upgrade record is listed: {detail}");
        // The instance row counts it.
        page.wait_until("the row counts the subnet", &format!("{}.includes('1 子网')", row_text(&guid)), UI_WAIT)
            .await;
        // The upgrade went through /api as member 1: it is in the journal.
        let journal = engine
            .requests("action=upgrade")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(journal.len(), 1);
        assert_eq!(journal[0]["userid"], "1");
        assert_eq!(journal[0]["code"], 0);
        page.assert_no_errors().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn placing_an_order_from_the_form_makes_a_signed_create_for_that_member() {
    let engine = engine().await;
    let url = engine.base_url();
    with_browser(|page| async move {
        page.open_dashboard(&url).await;
        page.select("#order-member", "2").await;
        page.click("#order-form button[type=submit]").await;
        page.wait_until(
            "the order is placed",
            "document.getElementById('order-result').innerText.includes('Ordered')",
            UI_WAIT,
        )
        .await;
        let journal = engine
            .requests("action=create")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(journal.len(), 1, "one create reached /api");
        let entry = &journal[0];
        assert_eq!(entry["userid"], "2");
        assert_eq!(entry["code"], 0);
        assert_eq!(entry["params"]["loginPassword"], "***");
        assert_eq!(entry["params"]["lineGuid"], LINE);
        let guid = entry["response"]["data"][0]["guid"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        page.wait_until(
            "member 2's instance is listed",
            &format!("{}.includes('开通中')", row_text(&guid)),
            UI_WAIT,
        )
        .await;
        // Expanding the journal entry shows the masked request and the answer.
        page.click("#journal-body tr[data-id] button.link").await;
        page.wait_until(
            "the entry expands",
            "document.querySelector('#journal-body tr.expanded pre')",
            UI_WAIT,
        )
        .await;
        let expanded = page.text("#journal-body tr.expanded").await;
        assert!(
            expanded.contains("\"loginPassword\": \"***\""),
            "{expanded}"
        );
        assert!(
            expanded.contains("\"login_password\": \"***\""),
            "the answer's password is masked: {expanded}"
        );
        assert!(expanded.contains(&guid));
        page.assert_no_errors().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_an_admin_token_the_page_is_refused_until_the_token_is_given() {
    let engine = MockEngine::builder()
        .admin_token("s3cret-token")
        .start()
        .await
        .unwrap_or_else(|e| panic!("engine: {e}"));
    let url = engine.base_url();
    with_browser(|page| async move {
        page.goto(&format!("{url}/_mock/ui")).await;
        page.wait_until(
            "the token is asked for",
            "!document.getElementById('token-gate').hidden",
            UI_WAIT,
        )
        .await;
        let shown = page.js("return document.body.innerText;").await;
        let shown = shown.as_str().unwrap_or_default();
        assert!(
            !shown.contains(EXAMPLE_GUID),
            "data shown without the token"
        );
        assert_eq!(
            page.js("return document.getElementById('app').hidden;")
                .await,
            json!(true)
        );
        page.fill("#token-input", "wrong").await;
        page.click("#token-form button[type=submit]").await;
        page.wait_until(
            "a wrong token is refused",
            "document.getElementById('token-error').innerText.includes('Wrong token')",
            UI_WAIT,
        )
        .await;
        assert_eq!(
            page.js("return document.getElementById('app').hidden;")
                .await,
            json!(true)
        );
        page.fill("#token-input", "s3cret-token").await;
        page.click("#token-form button[type=submit]").await;
        page.wait_until(
            "the example instance shows",
            &format!("{}.includes('正常')", row_text(EXAMPLE_GUID)),
            UI_WAIT,
        )
        .await;
        page.wait_until(
            "the event stream opens with the token",
            "document.getElementById('live').dataset.state === 'on'",
            UI_WAIT,
        )
        .await;
        // Kept for the tab: a reload does not ask again.
        page.client
            .refresh()
            .await
            .unwrap_or_else(|e| panic!("reload: {e}"));
        page.wait_until(
            "the page comes back without asking",
            &format!("{}.includes('正常')", row_text(EXAMPLE_GUID)),
            UI_WAIT,
        )
        .await;
        assert_eq!(
            page.js("return document.getElementById('token-gate').hidden;")
                .await,
            json!(true)
        );
        // Never shown on the page.
        let html = page.js("return document.documentElement.outerHTML;").await;
        assert!(!html.as_str().unwrap_or_default().contains("s3cret-token"));
    })
    .await;
}

/// Fills an engine with a few instances in different states, a fault and a
/// snapshot, as a demo would look a few minutes in.
async fn demo_state(engine: &MockEngine) {
    let member2 = engine.client_for("2", "mock-api-key-2");
    create(engine, 10).await;
    for (order, line, product, system) in [
        (11, LINE_NM, PRODUCT_NM_GOLD, UBUNTU),
        (12, LINE_HK, PRODUCT_HK, SYSTEM),
    ] {
        let answer = member2
            .call(
                "create",
                create_request(
                    order,
                    json!({"lineGuid": line, "productGuid": product, "systemGuid": system,
                           "months": "3"}),
                ),
            )
            .await
            .unwrap_or_else(|e| panic!("create: {e}"));
        assert_eq!(answer.code(), 0, "{}", answer.text);
    }
    engine
        .advance(Duration::from_secs(3600))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let stopped = engine
        .control("GET", "/_mock/instances?userid=2", None)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .1["instances"][0]["guid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let answer = member2
        .call("stop", json!({"guid": stopped}))
        .await
        .unwrap_or_else(|e| panic!("stop: {e}"));
    assert_eq!(answer.code(), 0, "{}", answer.text);
    create(engine, 13).await;
    engine
        .add_fault(
            json!({"action": "renew", "times": 1, "effect": {"kind": "http", "status": 503}}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    engine
        .snapshot("before-demo")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Screenshots at 1280×800 and at phone width, kept in the target's tmp
/// directory (`docs/dashboard.png` is the first, copied by hand); both
/// widths must fit without sideways scrolling of the page itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_fits_a_laptop_and_a_phone() {
    let engine = engine().await;
    demo_state(&engine).await;
    let url = engine.base_url();
    with_browser(|page| async move {
        page.open_dashboard(&url).await;
        page.wait_until(
            "five instances are listed",
            "document.querySelectorAll('#instances-body tr[data-guid]').length === 5",
            UI_WAIT,
        )
        .await;
        page.wait_until(
            "the journal is filled",
            "document.querySelectorAll('#journal-body tr[data-id]').length >= 5",
            UI_WAIT,
        )
        .await;
        let out = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        for (name, width, height) in [
            ("dashboard.png", 1280, 800),
            ("dashboard-phone.png", 390, 844),
        ] {
            // The window's frame takes some height: size it so that the
            // page itself gets the whole width × height.
            let frame = page
                .js("return window.outerHeight - window.innerHeight;")
                .await;
            let frame = frame.as_u64().unwrap_or(0) as u32;
            page.client
                .set_window_size(width, height + frame)
                .await
                .unwrap_or_else(|e| panic!("resize: {e}"));
            page.wait_until(
                &format!("the page fits {width} px"),
                "document.documentElement.scrollWidth <= window.innerWidth",
                UI_WAIT,
            )
            .await;
            let png = page
                .client
                .screenshot()
                .await
                .unwrap_or_else(|e| panic!("screenshot: {e}"));
            assert!(png.starts_with(b"\x89PNG"), "not a PNG");
            std::fs::write(out.join(name), &png).unwrap_or_else(|e| panic!("write {name}: {e}"));
        }
        // At phone width, the open instance and the journal, for a look.
        page.click(&format!(
            "#instances-body tr[data-guid=\"{EXAMPLE_GUID}\"] button.link"
        ))
        .await;
        page.wait_until(
            "the detail panel shows the subnet",
            "document.getElementById('detail-body').innerText.includes('114.114.8.16/29')",
            UI_WAIT,
        )
        .await;
        page.wait_until(
            "the page still fits",
            "document.documentElement.scrollWidth <= window.innerWidth",
            UI_WAIT,
        )
        .await;
        // Tall enough that each panel is whole in the viewport.
        page.client
            .set_window_size(390, 4000)
            .await
            .unwrap_or_else(|e| panic!("resize: {e}"));
        for (css, name) in [
            ("#detail-panel", "dashboard-phone-detail.png"),
            ("#journal-panel", "dashboard-phone-journal.png"),
        ] {
            let el = page
                .client
                .find(Locator::Css(css))
                .await
                .unwrap_or_else(|e| panic!("{css}: {e}"));
            let png = el
                .screenshot()
                .await
                .unwrap_or_else(|e| panic!("screenshot {css}: {e}"));
            std::fs::write(out.join(name), &png).unwrap_or_else(|e| panic!("write {name}: {e}"));
        }
        page.assert_no_errors().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_namespace_picker_shows_one_engine_at_a_time() {
    let engine = engine().await;
    let url = engine.base_url();
    // A suite's own namespace, with its own instance and its own clock.
    let suite = apayun_mock::client::Client::new(&format!("{url}/ns/suite-a"), "1", "mock-api-key");
    let answer = suite
        .call("create", create_request(20, json!({})))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(answer.code(), 0, "{}", answer.text);
    let guid = answer.data()[0]["guid"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let (status, _) = engine
        .control(
            "POST",
            "/ns/suite-a/_mock/clock/advance",
            Some(json!({"seconds": 7200})),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(status, 200);
    with_browser(|page| async move {
        page.open_dashboard(&url).await;
        assert_eq!(
            page.js(&format!("return !!{};", row(&guid))).await,
            json!(false)
        );
        page.wait_until(
            "the picker lists the suite's namespace",
            "[...document.getElementById('ns-select').options].some(o => o.value === 'suite-a')",
            UI_WAIT,
        )
        .await;
        page.select("#ns-select", "suite-a").await;
        page.wait_until(
            "the suite's instance shows",
            &format!("{}.includes('正常')", row_text(&guid)),
            UI_WAIT,
        )
        .await;
        assert!(page.text("#clock-offset").await.contains("+2h"));
        assert_eq!(page.js("return location.hash;").await, json!("#ns=suite-a"));
        // Live updates follow the namespace shown.
        let answer = suite
            .call("stop", json!({"guid": guid}))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(answer.code(), 0, "{}", answer.text);
        page.wait_until(
            "the stop shows",
            &format!("{}.includes('关机中')", row_text(&guid)),
            UI_WAIT,
        )
        .await;
        // A suite deletes its namespace: the page goes back to `default`
        // instead of bringing the namespace back to life. (A read the page
        // sends in the very instant of the deletion would create it afresh,
        // as any call to a namespace does: let the page settle first.)
        page.wait_until("the page is idle", "window.__dashboardIdle()", UI_WAIT)
            .await;
        let (status, _) = engine
            .control("DELETE", "/_mock/namespaces/suite-a", None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(status, 200);
        page.wait_until(
            "the page is back on default",
            &format!(
                "document.getElementById('ns-select').value === 'default' && !!{}",
                row(EXAMPLE_GUID)
            ),
            UI_WAIT,
        )
        .await;
        let (_, names) = engine
            .control("GET", "/_mock/namespaces", None)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let listed: Vec<&str> = names["namespaces"]
            .as_array()
            .map(|l| l.iter().filter_map(|n| n["name"].as_str()).collect())
            .unwrap_or_default();
        assert_eq!(listed, ["default"], "the namespace came back: {names}");
        page.assert_no_errors().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_callbacks_and_a_confirmed_reset_from_the_page() {
    let engine = engine().await;
    let url = engine.base_url();
    let guid = create(&engine, 30).await;
    let control = engine.base_url();
    with_browser(|page| async move {
        page.open_dashboard(&url).await;
        // A member's callback URL.
        page.select("#callback-member", "2").await;
        page.fill("#callback-url", "http://127.0.0.1:9/hook").await;
        page.click("#callback-form button[type=submit]").await;
        page.wait_until(
            "member 2 is marked as having a URL",
            "[...document.getElementById('callback-member').options].some(o => o.value === '2' && o.text.includes('✔'))",
            UI_WAIT,
        )
        .await;
        let users: Value = reqwest::get(format!("{control}/_mock/users"))
            .await
            .unwrap_or_else(|e| panic!("{e}"))
            .json()
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(users["users"][1]["callback_url"], "http://127.0.0.1:9/hook");
        // A snapshot with the instance.
        page.fill("#snapshot-name", "with-one").await;
        page.click("#snapshot-form button[type=submit]").await;
        page.wait_until(
            "the snapshot is listed",
            "document.querySelector('#snapshots-list li[data-name=\"with-one\"]')",
            UI_WAIT,
        )
        .await;
        // Reset asks first; cancelling changes nothing.
        page.click("#reset-btn").await;
        page.click("#reset-no").await;
        assert_eq!(page.js("return document.getElementById('reset-confirm').hidden;").await, json!(true));
        assert_eq!(page.js(&format!("return !!{};", row(&guid))).await, json!(true));
        page.click("#reset-btn").await;
        page.click("#reset-yes").await;
        page.wait_until("the instance is gone", &format!("!{}", row(&guid)), UI_WAIT).await;
        // Restoring the snapshot brings it back.
        page.click("#snapshots-list li[data-name=\"with-one\"] button").await;
        page.wait_until("the instance is back", &format!("!!{}", row(&guid)), UI_WAIT).await;
        page.assert_no_errors().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_journal_filters_and_clears_and_the_clock_freezes_and_resumes() {
    let engine = engine().await;
    let url = engine.base_url();
    engine
        .call("getzones", json!({}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    engine
        .call("sync_baremetal", json!({"guid": EXAMPLE_GUID}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    with_browser(|page| async move {
        page.open_dashboard(&url).await;
        let rows = "document.querySelectorAll('#journal-body tr[data-id]')";
        page.wait_until(
            "both calls are listed",
            &format!("{rows}.length === 2"),
            UI_WAIT,
        )
        .await;
        // By action: only the getzones call is left.
        page.select("#journal-action", "getzones").await;
        page.wait_until(
            "the action filter narrows the journal",
            &format!("{rows}.length === 1 && {rows}[0].innerText.includes('getzones')"),
            UI_WAIT,
        )
        .await;
        page.select("#journal-action", "").await;
        // Clear empties it, on the server too.
        page.click("#journal-clear").await;
        page.wait_until(
            "the journal is empty",
            &format!("{rows}.length === 0"),
            UI_WAIT,
        )
        .await;
        let journal = engine.requests("").await.unwrap_or_else(|e| panic!("{e}"));
        assert!(journal.is_empty(), "{journal:?}");
        // Freeze, then resume.
        page.click("#clock-freeze").await;
        page.wait_until(
            "the clock shows frozen",
            "!document.getElementById('clock-resume').hidden",
            UI_WAIT,
        )
        .await;
        assert_eq!(engine.clock().await.map(|c| c.frozen).ok(), Some(true));
        page.click("#clock-resume").await;
        page.wait_until(
            "the clock ticks again",
            "!document.getElementById('clock-freeze').hidden",
            UI_WAIT,
        )
        .await;
        assert_eq!(engine.clock().await.map(|c| c.frozen).ok(), Some(false));
        page.assert_no_errors().await;
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fault_form_adds_an_applied_rule_for_a_ghost_order() {
    let engine = engine().await;
    let url = engine.base_url();
    with_browser(|page| async move {
        page.open_dashboard(&url).await;
        page.select("#fault-kind", "delay").await;
        page.wait_until(
            "a delay takes no applied box",
            "document.getElementById('fault-applied-label').hidden",
            UI_WAIT,
        )
        .await;
        page.select("#fault-action", "getzones").await;
        page.select("#fault-kind", "http").await;
        page.click("#fault-applied").await;
        page.click("#fault-form button[type=submit]").await;
        page.wait_until(
            "the fault is listed as applied",
            "document.getElementById('faults-list').innerText.includes('http 503 · 照做 applied')",
            UI_WAIT,
        )
        .await;
        let (status, faults) = engine
            .control("GET", "/_mock/faults", None)
            .await
            .unwrap_or_else(|e| panic!("GET /_mock/faults: {e}"));
        assert_eq!(status, 200, "{faults}");
        assert_eq!(faults["faults"][0]["effect"]["applied"], true, "{faults}");
        assert_eq!(faults["faults"][0]["effect"]["status"], 503, "{faults}");
        page.assert_no_errors().await;
    })
    .await;
}
