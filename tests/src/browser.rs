//! The dashboard in a real browser: Debian's headless `chromium` driven by
//! `chromedriver` over WebDriver (fantoccini), screenshots under
//! `target/test-artefacts/dashboard/`, waiting for text, and axe-core
//! (from the npm registry, `tests/axe`) injected to check a view's
//! accessibility.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::path::PathBuf;
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::bins::{self, Proc};
use crate::mosquitto::free_port;

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

pub fn artefacts() -> PathBuf {
    let dir = bins::repo_root().join("target/test-artefacts/dashboard");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Saves a screenshot of the window as `name`.
pub async fn shot(c: &Client, name: &str) {
    let png = c.screenshot().await.unwrap();
    let path = artefacts().join(name);
    std::fs::write(&path, png).unwrap();
    eprintln!("screenshot: {}", path.display());
}

/// A chromedriver on a free port, and the port.
pub async fn start_chromedriver() -> (Proc, u16) {
    let port = free_port();
    let driver = Proc(
        std::process::Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("chromedriver (apt-get install chromium chromium-driver)"),
    );
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
            return (driver, port);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("chromedriver did not listen on {port}");
}

/// A headless Chromium of its own profile, 1280×900.
pub async fn browser(driver_port: u16) -> Client {
    let profile = std::env::temp_dir().join(format!("parking-chromium-{}-{}", std::process::id(), free_port()));
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run",
                "--window-size=1280,900", "--lang=vi-VN", format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("a Chromium session")
}

/// Waits up to 10 s for `css` to hold an element whose text contains `want`.
pub async fn wait_text(c: &Client, css: &str, want: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut last = String::new();
    while Instant::now() < deadline {
        if let Some(text) = text_of(c, css).await {
            last = text;
            if last.contains(want) {
                return last;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let page = match c.find(Locator::Css("main")).await {
        Ok(m) => m.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    panic!("{css} never showed {want:?}; last {last:?}; the page: {page}");
}

/// The visible text of the first element matching `css`, read in one
/// script so that a re-render between finding and reading cannot leave a
/// stale element; `None` when nothing matches.
pub async fn text_of(c: &Client, css: &str) -> Option<String> {
    let script = "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;";
    let v = c.execute(script, vec![serde_json::json!(css)]).await.expect("the page runs a script");
    v.as_str().map(str::to_owned)
}

/// Clicks `css`, finding it again if the page re-rendered it between the
/// find and the click (a stale element).
pub async fn click(c: &Client, css: &str) {
    for _ in 0..50 {
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if e.click().await.is_ok() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("could not click {css}");
}

/// Types `text` into the field `css` after clearing it.
pub async fn fill(c: &Client, css: &str, text: &str) {
    let e = c.wait().for_element(Locator::Css(css)).await.unwrap();
    e.clear().await.unwrap();
    e.send_keys(text).await.unwrap();
}

/// Opens the page at `base` and signs in with a username and a password.
pub async fn submit_login(c: &Client, base: &str, username: &str, password: &str) {
    c.goto(base).await.unwrap();
    fill(c, "#username", username).await;
    fill(c, "#password", password).await;
    click(c, "#login button[type=submit]").await;
}

/// Opens the page at `base` and signs in with a machine's token.
pub async fn submit_token(c: &Client, base: &str, token: &str) {
    c.goto(base).await.unwrap();
    click(c, "#token-box summary").await;
    fill(c, "#token", token).await;
    click(c, "#login button[type=submit]").await;
}

/// Whether the page shows the signed-in app (not the sign-in form).
pub async fn signed_in(c: &Client) -> bool {
    c.execute("return document.getElementById('app-view').hidden === false", vec![]).await.unwrap() == json!(true)
}

/// Opens a view from the menu and waits for it.
pub async fn view(c: &Client, name: &str) {
    click(c, &format!("nav button[data-view={name}]")).await;
    c.wait().for_element(Locator::Css(&format!("#view-{name}:not([hidden])"))).await.unwrap();
}

/// The page's horizontal overflow in CSS pixels (0: it fits the window).
pub async fn overflow(c: &Client) -> i64 {
    let o = c
        .execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth", vec![])
        .await
        .unwrap();
    o.as_i64().unwrap_or(i64::MAX)
}

/// What axe-core found on the page as it is now.
#[derive(Debug, Default)]
pub struct Axe {
    /// `(impact, rule id, nodes, first targets)` of each violation.
    pub violations: Vec<(String, String, u64, String)>,
}

impl Axe {
    pub fn count(&self, impact: &str) -> usize {
        self.violations.iter().filter(|v| v.0 == impact).count()
    }

    /// Serious and critical violations: none may be.
    pub fn blocking(&self) -> Vec<&(String, String, u64, String)> {
        self.violations.iter().filter(|v| v.0 == "serious" || v.0 == "critical").collect()
    }
}

/// Runs axe-core on the page (injected from `tests/axe/node_modules`) and
/// asserts no serious or critical violation; prints the counts as
/// `axe <label>: …` for the record.
pub async fn axe(c: &Client, label: &str) -> Axe {
    let source_path = bins::repo_root().join("tests/axe/node_modules/axe-core/axe.min.js");
    let source = std::fs::read_to_string(&source_path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `npm ci --prefix tests/axe`)", source_path.display()));
    let loaded = c.execute("return typeof axe !== 'undefined'", vec![]).await.unwrap();
    if loaded != json!(true) {
        c.execute(&source, vec![]).await.unwrap();
    }
    let found = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, { resultTypes: ['violations'] })
               .then(r => done(r.violations.map(v => [v.impact || 'none', v.id, v.nodes.length,
                  v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(', ')])))
               .catch(e => done('axe failed: ' + e));",
            vec![],
        )
        .await
        .unwrap();
    let Value::Array(list) = found else { panic!("axe on {label}: {found}") };
    let violations: Vec<(String, String, u64, String)> = list
        .iter()
        .map(|v| {
            (
                v[0].as_str().unwrap_or("none").to_owned(),
                v[1].as_str().unwrap_or("").to_owned(),
                v[2].as_u64().unwrap_or(0),
                v[3].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    let result = Axe { violations };
    eprintln!(
        "axe {label}: critical {} serious {} moderate {} minor {} {:?}",
        result.count("critical"),
        result.count("serious"),
        result.count("moderate"),
        result.count("minor"),
        result.violations.iter().map(|v| format!("{}:{}", v.0, v.1)).collect::<Vec<_>>()
    );
    assert!(result.blocking().is_empty(), "axe on {label}: {:#?}", result.blocking());
    result
}
