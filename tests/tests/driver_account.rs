//! A driver's own account in a real headless Chromium at a phone's width,
//! against a lot server on its embedded broker and a controller process:
//!
//! 1. the desk gives the customer a PIN from the dashboard (shown once),
//!    and prints a one-time sign-in link;
//! 2. the driver signs in with their phone and PIN: a notice of their low
//!    balance, their car and tag;
//! 3. they top up by VietQR; the page sees the money arrive;
//! 4. the car comes and goes by its tag, debited from the account; the
//!    stay is listed with its receipt;
//! 5. they buy a monthly pass from the balance;
//! 6. they report the tag lost: the gate refuses it;
//! 7. the printed link signs in once; axe-core on every view.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::time::Duration;

use fantoccini::{Client, Locator};
use parking_tests::bins::{self, api, http_with};
use parking_tests::browser::{
    axe, browser, click, fill, overflow, shot, start_chromedriver, submit_login, view, wait_text,
};
use parking_tests::devices::epc_text;
use parking_tests::mosquitto::free_port;
use parking_tests::mqtt::{publish_once, tag_read};
use parking_tests::wait;
use serde_json::json;

const LOT: &str = "account-lot";
const PASSWORD: &str = "quầy đăng ký buổi chiều";

async fn read_at(mqtt_port: u16, gate: &str, n: u64) {
    publish_once(mqtt_port, &format!("parking/{LOT}/gate/{gate}/read"), tag_read(gate, n, 3).unwrap(), false).await;
}

async fn phone_view(c: &Client, label: &str, file: &str) {
    wait::until(10, "the view to fit a phone's width", || async { overflow(c).await <= 0 }).await;
    axe(c, label).await;
    shot(c, file).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and ChromeDriver (apt-get install chromium chromium-driver) and axe-core (npm ci --prefix tests/axe); .ci/run runs it"]
async fn a_driver_tops_up_buys_a_pass_and_blocks_a_lost_tag() {
    // Cars pay from the first minute: the stay of a second is a sale.
    let tariff = include_str!("../fixtures/no-grace-tariff.toml");
    let (dir, lot) = bins::test_dir_with_tariff("driver-account", LOT, tariff).unwrap();
    let (mqtt_port, http_port, metrics_port) = (free_port(), free_port(), free_port());
    let cfg = dir.join("lot-server.toml");
    let extra = format!(
        "[settlement]\nsepay_api_key = \"account-test-key\"\nbank_bin = \"970403\"\nbank_account = \"0011012345678\"\n\
         [invoice]\nseller_name = \"Công ty TNHH Bãi đỗ xe Hoàn Kiếm\"\nseller_address = \"1 Tràng Tiền, Hà Nội\"\n\
         seller_tax_code = \"0100000000\"\ndrop_dir = \"{}\"\n",
        dir.join("invoices").display()
    );
    std::fs::write(&cfg, parking_tests::embedded::embedded_server_toml(&lot, mqtt_port, http_port, &dir, &extra))
        .unwrap();
    bins::user(&cfg, "dang.ky", "operator", "Hồ Đăng Ký", PASSWORD).unwrap();
    let token = bins::token(&cfg, "admin").unwrap();
    let secret =
        parking_tests::embedded::add_node(&cfg, "ctl-acct", "controller", &["entry-1", "exit-1"], None).unwrap();
    let _server = bins::start_server(&cfg, &dir.join("lot-server.log"), http_port).await.unwrap();
    let ctl_cfg = dir.join("controller.toml");
    let lanes = "[bank]\nbin = \"970403\"\naccount = \"0011012345678\"\n\
                 [[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\n[[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n";
    let ctl =
        bins::controller_toml_with(&lot, mqtt_port, "ctl-acct", &dir.join("journal.sqlite"), metrics_port, "", lanes);
    std::fs::write(&ctl_cfg, parking_tests::embedded::with_password_file(&ctl, &secret)).unwrap();
    let _controller = bins::start_logged("controller", &ctl_cfg, &dir.join("controller.log")).unwrap();

    // A registered customer: a phone, an account, a car, its tag.
    let owner = api(
        http_port,
        "POST",
        "/api/v1/owners",
        &token,
        Some(json!({ "name": "Đặng Thu Hà", "id_number": "001199054321", "phone": "0912 345 678" })),
    )
    .await;
    let account =
        api(http_port, "POST", "/api/v1/accounts", &token, Some(json!({ "owner_id": owner["owner_id"] }))).await;
    let vehicle = api(http_port, "POST", "/api/v1/vehicles", &token, Some(json!({ "plate": "30G-135.79", "class": "car", "owner_id": owner["owner_id"], "account_id": account["account_id"] }))).await;
    api(
        http_port,
        "POST",
        "/api/v1/tags",
        &token,
        Some(json!({ "epc": epc_text(31), "vehicle_id": vehicle["vehicle_id"] })),
    )
    .await;

    let (_driver, driver_port) = start_chromedriver().await;
    let c = browser(driver_port).await;
    c.set_window_size(390, 844).await.unwrap();
    let base = format!("http://127.0.0.1:{http_port}");

    // 1. The desk: a PIN, shown once; a printed link.
    submit_login(&c, &format!("{base}/"), "dang.ky", PASSWORD).await;
    c.wait().for_element(Locator::Css("#app-view:not([hidden])")).await.unwrap();
    view(&c, "registry").await;
    click(&c, "button[data-reg=accounts]").await;
    click(&c, "#reg-rows tr.reg-row button.driver").await;
    click(&c, "#driver-pin").await;
    let shown = wait_text(&c, "#driver-out", "0912345678").await;
    let pin = c.find(Locator::Css("#driver-out code")).await.unwrap().text().await.unwrap();
    assert!(pin.len() == 6 && shown.contains("chỉ hiện một lần"), "{shown}");
    click(&c, "#driver-link").await;
    let link = wait_text(&c, "#driver-out", "/driver/#link/").await;
    let link = link.split_whitespace().find(|w| w.contains("/driver/#link/")).unwrap().to_owned();
    phone_view(&c, "desk, driver's sign-in", "70-desk-driver-pin.png").await;
    click(&c, "#driver-close").await;

    // 2. The driver signs in with phone and PIN.
    c.goto(&format!("{base}/driver/#account")).await.unwrap();
    c.wait().for_element(Locator::Css("#signin:not([hidden])")).await.unwrap();
    phone_view(&c, "driver sign-in, phone", "71-driver-signin-phone.png").await;
    fill(&c, "#signin-phone", "+84 912 345 678").await;
    fill(&c, "#signin-pin", "000000").await;
    click(&c, "#signin button[type=submit]").await;
    wait_text(&c, "#signin-error", "Sai số điện thoại hoặc mã PIN").await;
    fill(&c, "#signin-pin", &pin).await;
    click(&c, "#signin button[type=submit]").await;
    wait_text(&c, "#mine-hello", "Đặng Thu Hà").await;
    let notices = wait_text(&c, "#notices", "Số dư tài khoản còn").await;
    assert!(notices.contains("0 ₫"), "{notices}");
    let cars = wait_text(&c, "#vehicles", "30G-135.79").await;
    assert!(cars.contains("Đang dùng"), "{cars}");

    // 3. A top-up by VietQR; the page sees the money arrive.
    fill(&c, "#accounts input[type=number]", "3000000").await;
    click(&c, "#accounts button.primary").await;
    c.wait().for_element(Locator::Css("#accounts img.qr")).await.unwrap();
    c.execute("document.querySelector('#accounts img.qr').scrollIntoView({ block: 'center' })", vec![]).await.unwrap();
    phone_view(&c, "driver top-up, phone", "72-driver-topup-phone.png").await;
    let code = account["topup_code"].as_str().unwrap().to_owned();
    let body = json!({ "id": 81001, "gateway": "Vietcombank", "transactionDate": "2026-12-07 10:00:00",
        "accountNumber": "0011012345678", "code": null, "content": format!("{code} nap tien"), "transferType": "in",
        "transferAmount": 3_000_000, "accumulated": 0, "referenceCode": "FT81001", "description": code });
    let headers = [("Authorization", "Apikey account-test-key"), ("Content-Type", "application/json")];
    let (status, text) =
        http_with(http_port, "POST", "/api/v1/webhooks/sepay", &headers, Some(&body.to_string())).await.unwrap();
    assert_eq!(status, 200, "{text}");
    wait_text(&c, "#accounts", "Đã nhận tiền nạp").await;
    wait_text(&c, "#accounts .big", "3.000.000").await;

    // 4. The car comes and goes by its tag; its stay, with its receipt.
    let version = api(http_port, "GET", "/api/v1/lists", &token, None).await["version"].as_u64().unwrap();
    assert!(bins::wait_for_lists(metrics_port, version).await, "the controller holds the lists");
    read_at(mqtt_port, "entry-1", 31).await;
    wait::until(10, "the car inside", || async {
        api(http_port, "GET", "/api/v1/sessions?state=open", &token, None)
            .await
            .as_array()
            .is_some_and(|a| a.len() == 1)
    })
    .await;
    wait::hold(Duration::from_millis(1_100)).await; // the exit's read is a new one
    read_at(mqtt_port, "exit-1", 31).await;
    wait::until(15, "the stay closed and invoiced", || async {
        api(http_port, "GET", "/api/v1/invoices", &token, None).await.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    c.refresh().await.unwrap();
    let stays = wait_text(&c, "#stays", "Biên lai").await;
    assert!(stays.contains("30G-135.79") && stays.contains("trừ tài khoản"), "{stays}");

    // 5. A monthly pass from the balance.
    wait_text(&c, "#pass-offer", "2.500.000").await;
    click(&c, "#pass-form button[type=submit]").await;
    wait_text(&c, "#vehicles", "Vé tháng").await;
    c.execute("document.getElementById('pass-form').scrollIntoView()", vec![]).await.unwrap();
    phone_view(&c, "driver account with a pass, phone", "73-driver-account-phone.png").await;

    // 6. The tag lost: blocked at once, and the gate refuses it.
    // Into the middle of the screen, clear of the sticky menu, as a thumb would.
    c.execute("document.querySelector('#vehicles button.danger').scrollIntoView({ block: 'center' })", vec![])
        .await
        .unwrap();
    click(&c, "#vehicles button.danger").await;
    c.wait().for_element(Locator::Css("#lost-dialog[open]")).await.unwrap();
    axe(&c, "driver lost-tag dialog").await;
    shot(&c, "74-driver-lost-tag.png").await;
    click(&c, "#lost-yes").await;
    wait_text(&c, "#vehicles", "Đã khoá").await;
    let version = api(http_port, "GET", "/api/v1/lists", &token, None).await["version"].as_u64().unwrap();
    assert!(bins::wait_for_lists(metrics_port, version).await, "the controller holds the lists");
    wait::hold(Duration::from_millis(1_100)).await;
    read_at(mqtt_port, "entry-1", 31).await;
    c.goto(&format!("{base}/")).await.unwrap();
    view(&c, "gates").await;
    wait_text(&c, ".lane[data-gate=\"entry-1\"] .decision", "Thẻ bị khoá").await;

    // 7. Signed out, the printed link signs in once.
    c.goto(&format!("{base}/driver/#account")).await.unwrap();
    click(&c, "#signout").await;
    c.wait().for_element(Locator::Css("#signin:not([hidden])")).await.unwrap();
    c.goto(&format!("{base}{}", &link[link.find("/driver/").unwrap()..])).await.unwrap();
    wait_text(&c, "#mine-hello", "Đặng Thu Hà").await;
    click(&c, "#signout").await;
    c.goto(&format!("{base}{}", &link[link.find("/driver/").unwrap()..])).await.unwrap();
    wait_text(&c, "#account-error", "đã dùng").await;
    tokio::time::timeout(Duration::from_secs(10), c.close()).await.ok();
}
