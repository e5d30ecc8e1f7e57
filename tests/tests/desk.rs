//! The registration desk in a real headless Chromium, against a lot server
//! on its embedded broker and a controller process:
//!
//! 1. a new customer in one pass: owner, vehicle, the tag (read by the
//!    desk's reader, the form filling itself), account, and a
//!    month's pass priced from the tariff; the page shows a VietQR for the
//!    price, a (simulated) bank transfer to it arrives, the balance on the
//!    page follows, and the pass is sold from the account;
//! 2. the tag opens the entry lane;
//! 3. the customer's account is blocked: the gate refuses the tag; then
//!    the tag is lost: replaced from the registry, the old one is refused
//!    at the gate as soon as the lists reach it;
//! 4. the new tag is blocked: refused at the gate; then unblocked.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::time::Duration;

use fantoccini::Locator;
use parking_tests::bins::{self, api, http_with};
use parking_tests::browser::{
    axe, browser, click, fill, overflow, shot, start_chromedriver, submit_login, view, wait_text,
};
use parking_tests::devices::epc_text;
use parking_tests::mosquitto::free_port;
use parking_tests::mqtt::{publish_once, tag_read};
use parking_tests::wait;
use serde_json::json;

const LOT: &str = "desk-lot";
const PASSWORD: &str = "quầy lễ tân số một";

async fn read_at(mqtt_port: u16, gate: &str, n: u64) {
    publish_once(mqtt_port, &format!("parking/{LOT}/gate/{gate}/read"), tag_read(gate, n, 3).unwrap(), false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and ChromeDriver (apt-get install chromium chromium-driver) and axe-core (npm ci --prefix tests/axe); .ci/run runs it"]
async fn a_customer_is_registered_with_a_pass_and_a_lost_tag_replaced() {
    let tariff = include_str!("../../config/tariffs/hanoi-zone1-2018-example.toml");
    let (dir, lot) = bins::test_dir_with_tariff("desk", LOT, tariff).unwrap();
    let (mqtt_port, http_port, metrics_port) = (free_port(), free_port(), free_port());
    let cfg = dir.join("lot-server.toml");
    let extra =
        "[settlement]\nsepay_api_key = \"desk-test-key\"\nbank_bin = \"970403\"\nbank_account = \"0011012345678\"\n";
    std::fs::write(&cfg, parking_tests::embedded::embedded_server_toml(&lot, mqtt_port, http_port, &dir, extra))
        .unwrap();
    bins::user(&cfg, "le.tan", "operator", "Vũ Lễ Tân", PASSWORD).unwrap();
    let token = bins::token(&cfg, "admin").unwrap();
    let secret =
        parking_tests::embedded::add_node(&cfg, "ctl-desk", "controller", &["entry-1", "exit-1"], None).unwrap();
    let _server = bins::start_server(&cfg, &dir.join("lot-server.log"), http_port).await.unwrap();
    let ctl_cfg = dir.join("controller.toml");
    let lanes = "[bank]\nbin = \"970403\"\naccount = \"0011012345678\"\n\
                 [[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\n[[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n";
    let ctl =
        bins::controller_toml_with(&lot, mqtt_port, "ctl-desk", &dir.join("journal.sqlite"), metrics_port, "", lanes);
    std::fs::write(&ctl_cfg, parking_tests::embedded::with_password_file(&ctl, &secret)).unwrap();
    let _controller = bins::start_logged("controller", &ctl_cfg, &dir.join("controller.log")).unwrap();

    let (_driver, driver_port) = start_chromedriver().await;
    let c = browser(driver_port).await;
    let base = format!("http://127.0.0.1:{http_port}/");
    submit_login(&c, &base, "le.tan", PASSWORD).await;
    c.wait().for_element(Locator::Css("#app-view:not([hidden])")).await.unwrap();

    // 1. The desk: a wrong plate is explained, then the customer in one pass.
    view(&c, "desk").await;
    fill(&c, "#desk-name", "Nguyễn Thị Mai").await;
    fill(&c, "#desk-id", "001199012345").await;
    fill(&c, "#desk-plate", "30H").await;
    c.find(Locator::Css("#desk-class")).await.unwrap().select_by_value("car").await.unwrap();
    // The tag on the desk's reader: its bridge publishes on the desk's
    // topic, and the form fills itself.
    let topic = format!("parking/{LOT}/desk/desk-1/read");
    publish_once(mqtt_port, &topic, tag_read("desk-1", 21, 2).unwrap(), false).await;
    wait_text(&c, "#desk-read", &epc_text(21)).await;
    let filled = c.find(Locator::Css("#desk-epc")).await.unwrap().prop("value").await.unwrap();
    assert_eq!(filled.as_deref(), Some(epc_text(21).as_str()), "the EPC read at the desk");
    c.find(Locator::Css("#desk-months")).await.unwrap().select_by_value("1").await.unwrap();
    wait_text(&c, "#desk-price", "2.500.000").await;
    click(&c, "#desk-form button[type=submit]").await;
    wait_text(&c, "#desk-error", "Biển số không đúng dạng").await;
    fill(&c, "#desk-plate", "30h-246.80").await;
    axe(&c, "desk, the form").await;
    click(&c, "#desk-form button[type=submit]").await;
    wait_text(&c, "#desk-pay-title", "2.500.000").await;
    c.wait().for_element(Locator::Css("#desk-qr[src]")).await.unwrap();
    wait::until(10, "the VietQR image to load", || async {
        c.execute("return document.getElementById('desk-qr').naturalWidth", vec![]).await.unwrap().as_u64().unwrap_or(0)
            > 0
    })
    .await;
    let code = wait_text(&c, "#desk-code", "TK").await;
    axe(&c, "desk, waiting for the transfer").await;
    shot(&c, "50-desk-qr.png").await;

    // The customer's bank transfer, as SePay notifies it.
    let body = json!({ "id": 71001, "gateway": "Vietcombank", "transactionDate": "2026-12-06 10:00:00",
        "accountNumber": "0011012345678", "code": null, "content": format!("{code} chuyen tien"), "transferType": "in",
        "transferAmount": 2_500_000, "accumulated": 0, "referenceCode": "FT71001", "description": code });
    let headers = [("Authorization", "Apikey desk-test-key"), ("Content-Type", "application/json")];
    let (status, text) =
        http_with(http_port, "POST", "/api/v1/webhooks/sepay", &headers, Some(&body.to_string())).await.unwrap();
    assert_eq!(status, 200, "{text}");
    wait_text(&c, "#desk-wait", "Đã nhận tiền").await;
    wait_text(&c, "#desk-balance", "2.500.000").await;
    click(&c, "#desk-sell").await;
    let done = wait_text(&c, "#desk-done", "Đã bán vé tháng").await;
    assert!(done.contains("2.500.000"), "{done}");
    wait_text(&c, "#desk-balance", "0").await;
    shot(&c, "51-desk-pass-sold.png").await;
    let passes = api(http_port, "GET", "/api/v1/passes", &token, None).await;
    assert_eq!(passes.as_array().unwrap().len(), 1, "{passes}");

    // 2. The tag opens the entry lane: the lists reached the controller.
    let version = api(http_port, "GET", "/api/v1/lists", &token, None).await["version"].as_u64().unwrap();
    assert!(bins::wait_for_lists(metrics_port, version).await, "the controller holds the lists");
    view(&c, "gates").await;
    read_at(mqtt_port, "entry-1", 21).await;
    wait_text(&c, ".lane[data-gate=\"entry-1\"] .decision", "Cho vào").await;

    // The customer's account blocked: the gate refuses the tag; unblocked, fine.
    view(&c, "registry").await;
    click(&c, "button[data-reg=accounts]").await;
    click(&c, "#reg-rows tr.reg-row button.block").await;
    wait_text(&c, "#reg-rows", "Bị khoá").await;
    let version = api(http_port, "GET", "/api/v1/lists", &token, None).await["version"].as_u64().unwrap();
    assert!(bins::wait_for_lists(metrics_port, version).await, "the controller holds the lists");
    view(&c, "gates").await;
    wait::hold(Duration::from_millis(1_100)).await; // a new read, not a repeat of the last
    read_at(mqtt_port, "entry-1", 21).await;
    wait_text(&c, ".lane[data-gate=\"entry-1\"] .decision", "Tài khoản bị khoá").await;
    view(&c, "registry").await;
    click(&c, "button[data-reg=accounts]").await;
    click(&c, "#reg-rows tr.reg-row button.unblock").await;
    wait_text(&c, "#reg-rows", "Đang dùng").await;

    // 3. The tag is lost: replaced; the old one is refused at once.
    view(&c, "registry").await;
    click(&c, "button[data-reg=tags]").await;
    click(&c, &format!("tr[data-id=\"{}\"] button.replace", epc_text(21))).await;
    fill(&c, "#note-text", &epc_text(22)).await;
    click(&c, "#note-form button[type=submit]").await;
    let replaced = std::time::Instant::now();
    wait_text(&c, &format!("tr[data-id=\"{}\"]", epc_text(21)), "Báo mất cắp").await;
    wait_text(&c, &format!("tr[data-id=\"{}\"]", epc_text(22)), "Đang dùng").await;
    axe(&c, "registry, tags").await;
    shot(&c, "52-tag-replaced.png").await;
    let version = api(http_port, "GET", "/api/v1/lists", &token, None).await["version"].as_u64().unwrap();
    assert!(bins::wait_for_lists(metrics_port, version).await, "the controller holds the new lists");
    eprintln!(
        "the replaced tag's lists reached the controller within {} ms of the page showing it",
        replaced.elapsed().as_millis()
    );
    view(&c, "gates").await;
    wait::hold(Duration::from_millis(1_100)).await; // a new read, not a repeat of the last
    read_at(mqtt_port, "entry-1", 21).await;
    wait_text(&c, ".lane[data-gate=\"entry-1\"] .decision", "Xe bị báo mất cắp").await;
    shot(&c, "53-old-tag-refused.png").await;

    // 4. The new tag blocked: refused at the gate; unblocked, let in again.
    view(&c, "registry").await;
    click(&c, "button[data-reg=tags]").await;
    click(&c, &format!("tr[data-id=\"{}\"] button.block", epc_text(22))).await;
    wait_text(&c, &format!("tr[data-id=\"{}\"]", epc_text(22)), "Bị khoá").await;
    let snap = api(http_port, "GET", "/api/v1/lists/snapshot", &token, None).await;
    assert!(!snap["tags"].as_array().unwrap().iter().any(|t| t["epc"] == epc_text(22)), "{snap}");
    let version = snap["version"].as_u64().unwrap();
    assert!(bins::wait_for_lists(metrics_port, version).await, "the controller holds the lists");
    view(&c, "gates").await;
    read_at(mqtt_port, "exit-1", 22).await;
    wait_text(&c, ".lane[data-gate=\"exit-1\"] .decision", "Thẻ bị khoá").await;
    shot(&c, "55-blocked-tag-refused.png").await;
    view(&c, "registry").await;
    click(&c, "button[data-reg=tags]").await;
    click(&c, &format!("tr[data-id=\"{}\"] button.unblock", epc_text(22))).await;
    wait_text(&c, &format!("tr[data-id=\"{}\"]", epc_text(22)), "Đang dùng").await;

    // The desk and the sign-in at a phone's width.
    c.set_window_size(390, 844).await.unwrap();
    view(&c, "desk").await;
    click(&c, "#desk-new").await;
    wait::until(10, "the desk to fit a phone's width", || async { overflow(&c).await <= 0 }).await;
    axe(&c, "desk, phone").await;
    shot(&c, "54-desk-phone.png").await;
    click(&c, "#logout").await;
    c.wait().for_element(Locator::Css("#login-view:not([hidden])")).await.unwrap();
    axe(&c, "sign-in, phone").await;
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
