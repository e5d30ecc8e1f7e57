//! Money and the day's close in a real headless Chromium, against a lot
//! server on its embedded broker:
//!
//! 1. two bank transfers no stay or account matches wait in suspense; an
//!    operator credits one to a customer's account and sends the other
//!    back, each with a note; an admin marks the refund paid with the
//!    bank's reference;
//! 2. a top-up booked by hand, with a reference;
//! 3. the day's close: entries, revenue, who signed in, ready to print.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use fantoccini::Locator;
use parking_tests::bins::{self, api, http_with};
use parking_tests::browser::{axe, browser, click, fill, shot, start_chromedriver, submit_login, view, wait_text};
use parking_tests::mosquitto::free_port;
use parking_tests::wait;
use serde_json::json;

const LOT: &str = "money-lot";
const PASSWORD: &str = "thu ngân ca sáng 2026";

/// A SePay notification of an incoming transfer, with the API key.
async fn transfer(port: u16, id: u64, amount: i64, memo: &str) {
    let body = json!({ "id": id, "gateway": "Vietcombank", "transactionDate": "2026-12-06 10:00:00",
        "accountNumber": "0011012345678", "code": null, "content": memo, "transferType": "in",
        "transferAmount": amount, "accumulated": 0, "referenceCode": format!("FT{id}"), "description": memo });
    let headers = [("Authorization", "Apikey money-test-key"), ("Content-Type", "application/json")];
    let (status, text) =
        http_with(port, "POST", "/api/v1/webhooks/sepay", &headers, Some(&body.to_string())).await.unwrap();
    assert_eq!(status, 200, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and ChromeDriver (apt-get install chromium chromium-driver) and axe-core (npm ci --prefix tests/axe); .ci/run runs it"]
async fn an_operator_settles_money_and_closes_the_day() {
    let (dir, lot) =
        bins::test_dir_with_tariff("money", LOT, include_str!("../fixtures/no-grace-tariff.toml")).unwrap();
    let (mqtt_port, http_port) = (free_port(), free_port());
    let cfg = dir.join("lot-server.toml");
    let extra = "[settlement]\nsepay_api_key = \"money-test-key\"\n";
    std::fs::write(&cfg, parking_tests::embedded::embedded_server_toml(&lot, mqtt_port, http_port, &dir, extra))
        .unwrap();
    bins::user(&cfg, "ke.toan", "admin", "Đỗ Kế Toán", PASSWORD).unwrap();
    let token = bins::token(&cfg, "admin").unwrap();
    let _server = bins::start_server(&cfg, &dir.join("lot-server.log"), http_port).await.unwrap();
    let owner = api(
        http_port,
        "POST",
        "/api/v1/owners",
        &token,
        Some(json!({ "name": "Trần Văn Bình", "id_number": "001099012345" })),
    )
    .await;
    let account =
        api(http_port, "POST", "/api/v1/accounts", &token, Some(json!({ "owner_id": owner["owner_id"] }))).await;
    let account_id = account["account_id"].as_str().unwrap().to_owned();
    transfer(http_port, 61001, 150_000, "chuyen tien gui xe thang 12").await;
    transfer(http_port, 61002, 20_000, "nham tai khoan").await;

    let (_driver, driver_port) = start_chromedriver().await;
    let c = browser(driver_port).await;
    let base = format!("http://127.0.0.1:{http_port}/");
    submit_login(&c, &base, "ke.toan", PASSWORD).await;
    c.wait().for_element(Locator::Css("#app-view:not([hidden])")).await.unwrap();

    // 1. Suspense: one to the account, one back to its sender.
    view(&c, "money").await;
    wait::until(10, "two transfers in suspense", || async {
        c.find_all(Locator::Css("#suspense-rows tr.suspense-row")).await.unwrap().len() == 2
    })
    .await;
    axe(&c, "money, desktop").await;
    shot(&c, "40-money-suspense.png").await;
    click(&c, "#suspense-rows tr.suspense-row:nth-child(2) button.resolve").await;
    let memo = wait_text(&c, "#resolve-memo", "chuyen tien gui xe").await;
    assert!(memo.contains("thang 12"), "{memo}");
    c.find(Locator::Css("#resolve-action")).await.unwrap().select_by_value("account").await.unwrap();
    wait::until(10, "the account to be offered", || async {
        !c.find_all(Locator::Css("#resolve-account option")).await.unwrap().is_empty()
    })
    .await;
    c.find(Locator::Css("#resolve-account")).await.unwrap().select_by_value(&account_id).await.unwrap();
    fill(&c, "#resolve-note", "Anh Bình gọi điện xác nhận, nạp vào tài khoản").await;
    axe(&c, "resolving a transfer").await;
    shot(&c, "41-money-resolve.png").await;
    click(&c, "#resolve-form button[type=submit]").await;
    wait::until(10, "one transfer left in suspense", || async {
        c.find_all(Locator::Css("#suspense-rows tr.suspense-row")).await.unwrap().len() == 1
    })
    .await;
    let balance = api(http_port, "GET", &format!("/api/v1/accounts/{account_id}"), &token, None).await;
    assert_eq!(balance["balance_vnd"], 150_000, "{balance}");
    click(&c, "#suspense-rows tr.suspense-row button.resolve").await;
    c.find(Locator::Css("#resolve-action")).await.unwrap().select_by_value("refund").await.unwrap();
    fill(&c, "#resolve-note", "Chuyển nhầm, hoàn lại").await;
    click(&c, "#resolve-form button[type=submit]").await;
    let owed = wait_text(&c, "#refund-rows", "nham tai khoan").await;
    assert!(owed.contains("20.000"), "{owed}");
    click(&c, "#refund-rows button.refunded").await;
    fill(&c, "#note-text", "FT26340123456").await;
    click(&c, "#note-form button[type=submit]").await;
    wait_text(&c, "#refund-rows", "Không có dữ liệu").await;
    let refunds = api(http_port, "GET", "/api/v1/transfers?state=resolved", &token, None).await;
    let all = refunds.to_string();
    assert!(all.contains("Đỗ Kế Toán") && all.contains("Chuyển nhầm"), "resolved under the person's name: {all}");

    // 2. A top-up by hand, with a reference.
    fill(&c, "#topup-amount", "200.000").await;
    fill(&c, "#topup-reference", "Chuyển khoản FT26340999").await;
    click(&c, "#topup-form button[type=submit]").await;
    wait_text(&c, "#topup-result", "350.000").await;

    // 3. The day's close.
    view(&c, "close").await;
    let sheet = wait_text(&c, "#close-sheet", "Người đã đăng nhập").await;
    assert!(sheet.contains("Đỗ Kế Toán") && sheet.contains("Biên bản chốt"), "{sheet}");
    wait_text(&c, "#close-total", "₫").await;
    axe(&c, "day close, desktop").await;
    shot(&c, "42-day-close.png").await;
    c.set_window_size(390, 844).await.unwrap();
    view(&c, "money").await;
    axe(&c, "money, phone").await;
    view(&c, "close").await;
    axe(&c, "day close, phone").await;
    shot(&c, "43-day-close-phone.png").await;
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
