//! The operator's dashboard in a real headless Chromium (Debian's
//! `chromium`, driven through `chromedriver` over WebDriver), against a
//! lot server on its embedded broker and a controller process:
//!
//! 1. an operator signs in; a tag read at the entry lane appears on the
//!    live board (pushed over server-sent events);
//! 2. the car waits at the exit with a VietQR on the board; the operator
//!    opens the barrier by hand, with a reason and a note; the lane's
//!    `manual_open` reaches the board, the exceptions (acknowledged), the
//!    journal and the revenue report's reconciliation, with the
//!    operator's name; the registry and a session search show the car;
//! 3. a tax officer signs in: reports and the journal, no open button,
//!    and the API refuses an open made with their session;
//! 4. English on request, and the page fits a phone's width.
//!
//! Screenshots go to `target/test-artefacts/dashboard/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use parking_tests::bins::{self, api};
use parking_tests::browser::{
    axe, browser, click, overflow, shot, start_chromedriver, submit_login, submit_token, text_of, wait_text,
};
use parking_tests::devices::epc_text;
use parking_tests::mosquitto::free_port;
use parking_tests::mqtt::{client, tag_read};
use parking_tests::wait;
use rumqttc::QoS;
use serde_json::json;

const LOT: &str = "dash-lot";
/// The journal's signing seed (a test key).
const JOURNAL_SEED: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";

async fn sign_in(c: &Client, base: &str, username: &str, password: &str) {
    submit_login(c, base, username, password).await;
    c.wait().for_element(Locator::Css(".lane")).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and ChromeDriver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn an_operator_watches_the_gates_opens_by_hand_and_a_tax_officer_reads_it() {
    // Without the example's grace period: a stay of seconds owes a first block.
    let (dir, lot) =
        bins::test_dir_with_tariff("dashboard", LOT, include_str!("../fixtures/no-grace-tariff.toml")).unwrap();
    let (mqtt_port, http_port, metrics_port) = (free_port(), free_port(), free_port());
    let server_cfg = dir.join("lot-server.toml");
    let tax_toml = format!("[tax]\njournal_key = \"{JOURNAL_SEED}\"\n");
    std::fs::write(
        &server_cfg,
        parking_tests::embedded::embedded_server_toml(&lot, mqtt_port, http_port, &dir, &tax_toml),
    )
    .unwrap();
    let admin = bins::token(&server_cfg, "admin").unwrap();
    bins::user(&server_cfg, "an.nguyen", "operator", "Nguyễn Văn An", "bãi xe an toàn 2026").unwrap();
    let tax = bins::token(&server_cfg, "tax_officer").unwrap();
    let secret =
        parking_tests::embedded::add_node(&server_cfg, "ctl-dash", "controller", &["entry-1", "exit-1"], None).unwrap();
    let _server = bins::start_server(&server_cfg, &dir.join("lot-server.log"), http_port).await.unwrap();
    let vehicle =
        api(http_port, "POST", "/api/v1/vehicles", &admin, Some(json!({ "plate": "30E-555.55", "class": "car" })))
            .await;
    api(
        http_port,
        "POST",
        "/api/v1/tags",
        &admin,
        Some(json!({ "epc": epc_text(7), "vehicle_id": vehicle["vehicle_id"] })),
    )
    .await;
    let version = api(http_port, "GET", "/api/v1/lists", &admin, None).await["version"].as_u64().unwrap();
    let ctl_cfg = dir.join("controller.toml");
    let lanes = "[bank]\nbin = \"970403\"\naccount = \"0011012345678\"\n\
                 [[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\n[[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n";
    let journal = dir.join("journal.sqlite");
    let ctl = bins::controller_toml_with(&lot, mqtt_port, "ctl-dash", &journal, metrics_port, "", lanes);
    std::fs::write(&ctl_cfg, parking_tests::embedded::with_password_file(&ctl, &secret)).unwrap();
    let _controller = bins::start_logged("controller", &ctl_cfg, &dir.join("controller.log")).unwrap();
    assert!(bins::wait_for_lists(metrics_port, version).await, "the controller holds the lists");

    let (_driver, driver_port) = start_chromedriver().await;
    let c = browser(driver_port).await;
    let base = format!("http://127.0.0.1:{http_port}/");

    // Signed out, the page asks who you are; a wrong password is refused.
    submit_login(&c, &base, "an.nguyen", "not the password").await;
    wait_text(&c, "#login-error", "Tên đăng nhập hoặc mật khẩu không đúng").await;
    axe(&c, "sign-in, desktop").await;
    shot(&c, "01-login.png").await;

    // 1. The operator signs in; the lanes are on the board, online.
    sign_in(&c, &base, "an.nguyen", "bãi xe an toàn 2026").await;
    wait_text(&c, ".lane[data-gate=\"entry-1\"] .badge", "trực tuyến").await;
    wait_text(&c, "#who", "Nguyễn Văn An").await;
    // A car at the entry: its read and the decision arrive live.
    let (reads, mut reads_loop) = client(mqtt_port, "dash-reader", true);
    tokio::spawn(async move {
        loop {
            if reads_loop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let sent = Instant::now();
    reads
        .publish(
            format!("parking/{LOT}/gate/entry-1/read"),
            QoS::AtLeastOnce,
            false,
            tag_read("entry-1", 7, 3).unwrap(),
        )
        .await
        .unwrap();
    let read = wait_text(&c, ".lane[data-gate=\"entry-1\"] .last-read", "30E-555.55").await;
    eprintln!("the entry reached the board {} ms after the read", sent.elapsed().as_millis());
    assert!(read.contains(&epc_text(7)) && read.contains("Ô tô"), "{read}");
    wait_text(&c, ".lane[data-gate=\"entry-1\"] .decision", "Cho vào").await;
    // The occupancy panel follows: one car inside now.
    let inside = wait_text(&c, "#occ-now", "Ô tô").await;
    assert!(inside.contains('1'), "{inside}");
    shot(&c, "02-live-entry.png").await;

    // The car drives to the exit a moment later (a stay of no time at all
    // is free): its tag has no account, so the lane shows a VietQR and the
    // board shows the car waiting to pay.
    wait::hold(Duration::from_millis(1_500)).await;
    reads
        .publish(format!("parking/{LOT}/gate/exit-1/read"), QoS::AtLeastOnce, false, tag_read("exit-1", 7, 3).unwrap())
        .await
        .unwrap();
    let waiting = wait_text(&c, ".lane[data-gate=\"exit-1\"] .waiting", "50.000").await;
    assert!(waiting.contains("Đang chờ thanh toán"), "{waiting}");
    c.wait().for_element(Locator::Css(".lane[data-gate=\"exit-1\"] .waiting img")).await.unwrap();
    let qr_loaded = c
        .execute("return document.querySelector('.lane[data-gate=\"exit-1\"] .waiting img').naturalWidth", vec![])
        .await
        .unwrap();
    assert!(qr_loaded.as_u64().is_some_and(|w| w > 0), "the VietQR image loaded: {qr_loaded}");

    // 2. The driver's bank app fails: a manual open for whoever waits, with
    // a reason from the list and a note.
    click(&c, ".lane[data-gate=\"exit-1\"] .open-button").await;
    let dialog_confirm = c.wait().for_element(Locator::Css("#open-confirm")).await.unwrap();
    // Without a reason and a note nothing is sent: the dialog stays.
    dialog_confirm.click().await.unwrap();
    // A window in which a wrongly sent open would close the dialog.
    wait::hold(Duration::from_millis(300)).await;
    let still_open = c.execute("return document.getElementById('open-dialog').open", vec![]).await.unwrap();
    assert_eq!(still_open, json!(true));
    let decision = text_of(&c, ".lane[data-gate=\"exit-1\"] .decision").await.unwrap_or_default();
    assert!(!decision.contains("Mở tay"), "{decision}");
    c.find(Locator::Css("#open-reason")).await.unwrap().select_by_value("equipment_fault").await.unwrap();
    c.find(Locator::Css("#open-note")).await.unwrap().send_keys("Barie kẹt, mở cho xe cứu thương").await.unwrap();
    shot(&c, "03-manual-open-dialog.png").await;
    c.find(Locator::Css("#open-confirm")).await.unwrap().click().await.unwrap();
    let decision = wait_text(&c, ".lane[data-gate=\"exit-1\"] .decision", "Mở tay").await;
    assert!(c.find_all(Locator::Css(".lane[data-gate=\"exit-1\"] .waiting")).await.unwrap().is_empty(), "no one waits");
    assert!(decision.contains("Nguyễn Văn An") && decision.contains("Thiết bị hỏng"), "{decision}");
    // The car it released left owing its fee.
    let decision = wait_text(&c, ".lane[data-gate=\"exit-1\"] .decision", "còn nợ 50.000").await;
    assert!(decision.contains("Mở tay"), "{decision}");
    axe(&c, "gates, desktop").await;
    shot(&c, "04-manual-open-board.png").await;

    // The open is an exception for the shift: acknowledged, then resolved.
    c.find(Locator::Css("nav button[data-view=alarms]")).await.unwrap().click().await.unwrap();
    wait_text(&c, "#alarm-rows", "Mở cổng thủ công").await;
    // The tab and the title count it.
    wait_text(&c, "#alarm-count", "1").await;
    assert!(c.title().await.unwrap().starts_with("(1) "), "{}", c.title().await.unwrap());
    shot(&c, "05-alarm-badge.png").await;
    click(&c, "#alarm-rows button.ack").await;
    wait_text(&c, "#alarm-rows .state", "đã tiếp nhận").await;
    wait::until(10, "the badge to clear once acknowledged", || async {
        c.execute("return document.getElementById('alarm-count').hidden", vec![]).await.unwrap() == json!(true)
    })
    .await;
    axe(&c, "alarms, desktop").await;
    shot(&c, "05-alarms.png").await;

    // The journal and the tax report have it, with the operator.
    c.find(Locator::Css("nav button[data-view=revenue]")).await.unwrap().click().await.unwrap();
    let mut listed = String::new();
    for _ in 0..50 {
        c.find(Locator::Css("#report-form button[type=submit]")).await.unwrap().click().await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
        if let Some(text) = text_of(&c, ".mismatch-manual_open").await {
            listed = text;
            break;
        }
    }
    assert!(
        listed.contains("Nguyễn Văn An") && listed.contains("Thiết bị hỏng") && !listed.contains("equipment_fault"),
        "report lists the open: {listed:?}"
    );
    axe(&c, "revenue, desktop").await;
    shot(&c, "06-report.png").await;
    let events = api(http_port, "GET", "/api/v1/events?kind=manual_open", &admin, None).await;
    let e = &events.as_array().unwrap()[0]["event"];
    assert_eq!((e["operator"].as_str(), e["reason"].as_str()), (Some("Nguyễn Văn An"), Some("equipment_fault")), "{e}");

    // The registry and a session search by plate.
    c.find(Locator::Css("nav button[data-view=registry]")).await.unwrap().click().await.unwrap();
    wait_text(&c, "#reg-rows", "30E-555.55").await;
    c.find(Locator::Css("nav button[data-view=sessions]")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("#session-q")).await.unwrap().send_keys("30e-555").await.unwrap();
    c.find(Locator::Css("#session-form button[type=submit]")).await.unwrap().click().await.unwrap();
    let found = wait_text(&c, "#session-rows", &format!("Thẻ {}", epc_text(7))).await;
    assert!(found.contains("Chưa thanh toán"), "the stay ended unpaid by the manual open: {found}");
    axe(&c, "stays, desktop").await;
    shot(&c, "07-sessions.png").await;

    // 3. A tax officer: reports and journal, no barrier.
    c.find(Locator::Css("#logout")).await.unwrap().click().await.unwrap();
    c.wait().for_element(Locator::Css("#login-view:not([hidden])")).await.unwrap();
    submit_token(&c, &base, &tax).await;
    c.wait().for_element(Locator::Css(".lane")).await.unwrap();
    assert!(c.find_all(Locator::Css(".open-button")).await.unwrap().is_empty(), "no open button for a tax officer");
    let registry_hidden =
        c.execute("return document.querySelector('nav button[data-view=registry]').hidden", vec![]).await.unwrap();
    assert_eq!(registry_hidden, json!(true));
    // Even by hand, with the session cookie, the API refuses the open.
    let status = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/v1/gates/exit-1/open', {method: 'POST', headers: {'content-type': 'application/json', 'x-parking-csrf': '1'},
               body: JSON.stringify({reason: 'other', note: 'tax officer tries'})}).then(r => done(r.status));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(403));
    c.find(Locator::Css("nav button[data-view=journal]")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("#verify")).await.unwrap().click().await.unwrap();
    wait_text(&c, "#verify-out", "Sổ nhật ký nguyên vẹn").await;
    axe(&c, "journal, desktop").await;
    shot(&c, "08-tax-officer-journal.png").await;

    // 4. English on request; a phone's width.
    c.find(Locator::Css("#lang")).await.unwrap().click().await.unwrap();
    wait_text(&c, "header h1", "Parking lot — Operations").await;
    c.find(Locator::Css("nav button[data-view=gates]")).await.unwrap().click().await.unwrap();
    c.set_window_size(390, 844).await.unwrap();
    wait::until(10, "the board to fit a phone's width", || async { overflow(&c).await <= 0 }).await;
    axe(&c, "gates, phone, English").await;
    shot(&c, "09-phone-english.png").await;
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

/// A server of two lots: the second lot's page at `/lots/lot-b/` signs in
/// with that lot's token, calls its own API (the token is unknown at `/`),
/// and its session cookie leaves the first lot's page signed out; the
/// first lot's token is refused there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and ChromeDriver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn a_second_lots_dashboard_lives_under_its_own_path() {
    let dir = std::env::temp_dir().join(format!("parking-dash-lots-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (mqtt_port, http_port) = (free_port(), free_port());
    let lot_b = "[[lots]]\nid = \"lot-b\"\nname = \"B\"\nzone = \"hanoi-zone-1\"\n";
    let lot_b = format!("{lot_b}tariff_dir = \"{}\"\n", bins::repo_root().join("config/tariffs").display());
    let cfg = dir.join("lot-server.toml");
    std::fs::write(
        &cfg,
        parking_tests::embedded::embedded_server_toml(&bins::lot_toml(LOT), mqtt_port, http_port, &dir, &lot_b),
    )
    .unwrap();
    let token_a = bins::token(&cfg, "operator").unwrap();
    let made = bins::command("lot-server")
        .args(["token", "create", "--role", "tax_officer", "--label", "Thuế quận B", "--lot", "lot-b", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let token_b = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    let _server = bins::start_server(&cfg, &dir.join("lot-server.log"), http_port).await.unwrap();

    let (_driver, driver_port) = start_chromedriver().await;
    let c = browser(driver_port).await;
    let lot_b_page = format!("http://127.0.0.1:{http_port}/lots/lot-b/");
    submit_token(&c, &lot_b_page, &token_a).await;
    wait_text(&c, "#login-error", "không đúng").await;
    submit_token(&c, &lot_b_page, &token_b).await;
    wait_text(&c, "#who", "Thuế quận B").await;
    shot(&c, "20-second-lot.png").await;
    let cookies = c.get_all_cookies().await.unwrap();
    let paths: Vec<String> = cookies.iter().map(|k| k.path().unwrap_or("").to_owned()).collect();
    assert_eq!(paths, ["/lots/lot-b/"], "one cookie, for lot B's routes");
    // Lot A's page at / does not see lot B's session.
    c.goto(&format!("http://127.0.0.1:{http_port}/")).await.unwrap();
    c.wait().for_element(Locator::Css("#username")).await.unwrap();
    let signed_out = c.execute("return document.getElementById('login-view').hidden", vec![]).await.unwrap();
    assert_eq!(signed_out, json!(false), "lot A's page asks for a token");
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
