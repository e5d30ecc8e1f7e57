//! The back office in a real headless Chromium (see `parking_tests::browser`),
//! against a lot server on its embedded broker, one workflow after another:
//!
//! 1. an admin adds a person on the page; the generated password is shown
//!    once; a weak chosen one is refused in words;
//! 2. the person signs in with it, signs out, and the old cookie is
//!    refused, by the page and by the API;
//! 3. five wrong passwords lock the username out: the right one is then
//!    refused too, with when to come back;
//! 4. stays: the recent ones without a query, a partial plate, a bad
//!    query explained, a stay's detail;
//! 5. the admin disables the person;
//! 6. every view at a phone's width fits, and axe-core finds no serious or
//!    critical violation in any view, open dialogs included.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use fantoccini::Locator;
use parking_tests::bins::{self, api};
use parking_tests::browser::{
    axe, browser, click, fill, overflow, shot, signed_in, start_chromedriver, submit_login, view, wait_text,
};
use parking_tests::mosquitto::free_port;
use parking_tests::mqtt::publish_once;
use parking_tests::wait;
use serde_json::json;

const LOT: &str = "office-lot";
const ADMIN_PASSWORD: &str = "quản trị bãi xe 2026";

fn gate_event(n: u64, gate: &str, at_ms: i64, kind: serde_json::Value) -> Vec<u8> {
    let at = parking_core::Timestamp::from_unix_millis(at_ms).unwrap();
    let mut e = json!({ "v": 1, "event_id": format!("00000000-0000-4000-8000-{n:012}"), "lot": LOT, "gate": gate,
                        "seq": n, "at": at, "list_version": 1 });
    for (k, v) in kind.as_object().unwrap() {
        e[k] = v.clone();
    }
    serde_json::to_vec(&e).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and ChromeDriver (apt-get install chromium chromium-driver) and axe-core (npm ci --prefix tests/axe); .ci/run runs it"]
async fn an_admin_runs_people_and_stays_from_the_page() {
    let (dir, lot) =
        bins::test_dir_with_tariff("back-office", LOT, include_str!("../fixtures/no-grace-tariff.toml")).unwrap();
    let (mqtt_port, http_port) = (free_port(), free_port());
    let cfg = dir.join("lot-server.toml");
    std::fs::write(&cfg, parking_tests::embedded::embedded_server_toml(&lot, mqtt_port, http_port, &dir, "")).unwrap();
    bins::user(&cfg, "quan.tri", "admin", "Phạm Quản Trị", ADMIN_PASSWORD).unwrap();
    let token = bins::token(&cfg, "admin").unwrap();
    let env = [("PARKING__SERVER__LOGIN_PER_MINUTE", "100")];
    let _server = bins::start_server_env(&cfg, &dir.join("lot-server.log"), http_port, &env).await.unwrap();
    // Two stays: one inside now, one that left free of charge.
    let now = parking_runtime::Clock::wall().now_ms();
    let topic = |gate: &str| format!("parking/{LOT}/gate/{gate}/event");
    let tag = |epc: &str| json!({ "kind": "tag", "epc": epc });
    let events = [
        (
            "entry-1",
            gate_event(
                1,
                "entry-1",
                now - 7_200_000,
                json!({ "type": "entry", "credential": tag("E2000000000000000000A0A0"), "class": "car", "plate": "30A-123.45" }),
            ),
        ),
        (
            "entry-1",
            gate_event(
                2,
                "entry-1",
                now - 3_600_000,
                json!({ "type": "entry", "credential": tag("E2000000000000000000B0B0"), "class": "motorbike", "plate": "29B1-234.56" }),
            ),
        ),
        (
            "exit-1",
            gate_event(
                3,
                "exit-1",
                now - 3_590_000,
                json!({ "type": "exit", "credential": tag("E2000000000000000000B0B0"), "class": "motorbike", "settlement": { "kind": "free" } }),
            ),
        ),
    ];
    for (gate, payload) in events {
        publish_once(mqtt_port, &topic(gate), payload, false).await;
    }
    wait::until(10, "the two stays to be stored", || async {
        api(http_port, "GET", "/api/v1/sessions", &token, None).await.as_array().is_some_and(|a| a.len() == 2)
    })
    .await;

    let (_driver, driver_port) = start_chromedriver().await;
    let c = browser(driver_port).await;
    let base = format!("http://127.0.0.1:{http_port}/");

    // 1. The admin adds a person; the password is generated and shown once.
    submit_login(&c, &base, "quan.tri", ADMIN_PASSWORD).await;
    wait_text(&c, "#who", "Phạm Quản Trị (quản trị)").await;
    view(&c, "people").await;
    wait_text(&c, "#user-rows", "quan.tri").await;
    fill(&c, "#new-username", "thu.ngan").await;
    fill(&c, "#new-name", "Lê Thu Ngân").await;
    fill(&c, "#new-password", "short").await;
    click(&c, "#user-form button[type=submit]").await;
    wait_text(&c, "#user-error", "Mật khẩu cần từ 10 đến 128 ký tự").await;
    fill(&c, "#new-password", "").await;
    click(&c, "#user-form button[type=submit]").await;
    let shown = c.wait().for_element(Locator::Css("#password-dialog[open] #password-shown")).await.unwrap();
    let password = shown.text().await.unwrap();
    assert_eq!(password.len(), 23, "{password:?}");
    wait_text(&c, "#password-who", "Lê Thu Ngân (thu.ngan)").await;
    axe(&c, "people, the password shown once").await;
    shot(&c, "30-people-password-once.png").await;
    click(&c, "#password-close").await;
    wait_text(&c, "#user-rows", "Lê Thu Ngân").await;
    axe(&c, "people, desktop").await;
    shot(&c, "31-people.png").await;

    // 2. The person signs in, signs out; the old cookie is refused.
    click(&c, "#logout").await;
    submit_login(&c, &base, "THU.NGAN", &password).await;
    wait_text(&c, "#who", "Lê Thu Ngân (điều hành)").await;
    let old = c.get_named_cookie("parking_session").await.unwrap();
    assert!(old.value().starts_with("lss_") && old.http_only() == Some(true), "{old:?}");
    click(&c, "#logout").await;
    c.wait().for_element(Locator::Css("#login-view:not([hidden])")).await.unwrap();
    c.add_cookie(old.clone()).await.unwrap();
    let status = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/api/v1/me', { credentials: 'same-origin' }).then(r => done(r.status));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(status, json!(401), "the old session ended at the server");
    c.goto(&base).await.unwrap();
    c.wait().for_element(Locator::Css("#login-view:not([hidden])")).await.unwrap();
    assert!(!signed_in(&c).await, "the old cookie does not sign the page in");

    // 3. Five wrong passwords lock the name out; then even the right one.
    for i in 0..5 {
        submit_login(&c, &base, "thu.ngan", &format!("wrong guess {i}")).await;
        wait_text(&c, "#login-error", "Tên đăng nhập hoặc mật khẩu không đúng").await;
    }
    submit_login(&c, &base, "thu.ngan", &password).await;
    let refused = wait_text(&c, "#login-error", "Đăng nhập sai quá nhiều lần").await;
    assert!(refused.contains("Thử lại sau 15 phút"), "{refused}");
    assert!(!signed_in(&c).await);
    shot(&c, "32-locked-out.png").await;

    // 4. Stays: recent ones without a query, then part of a plate.
    submit_login(&c, &base, "quan.tri", ADMIN_PASSWORD).await;
    c.wait().for_element(Locator::Css("#app-view:not([hidden])")).await.unwrap();
    view(&c, "sessions").await;
    wait::until(10, "the recent stays", || async {
        c.find_all(Locator::Css("#session-rows tr.stay-row")).await.unwrap().len() == 2
    })
    .await;
    fill(&c, "#session-q", "x").await;
    click(&c, "#session-form button[type=submit]").await;
    wait_text(&c, "#session-error", "Nhập ít nhất 2 chữ hoặc số").await;
    fill(&c, "#session-q", "30a1").await;
    click(&c, "#session-form button[type=submit]").await;
    wait::until(10, "one stay for 30a1", || async {
        c.find_all(Locator::Css("#session-rows tr.stay-row")).await.unwrap().len() == 1
    })
    .await;
    let row = wait_text(&c, "#session-rows", "30A-123.45").await;
    assert!(row.contains("Ô tô") && row.contains("Đang trong bãi"), "{row}");
    assert!(!row.contains("car") && !row.contains("open"), "no code reaches the page: {row}");
    axe(&c, "stays, desktop").await;
    click(&c, "#session-rows button.link").await;
    let detail = wait_text(&c, "#stay-body", "Sự kiện ở cổng").await;
    assert!(detail.contains("entry-1") && detail.contains("Vào"), "{detail}");
    axe(&c, "a stay's detail").await;
    shot(&c, "33-stay-detail.png").await;
    click(&c, "#stay-close").await;

    // 5. The admin disables the person.
    view(&c, "people").await;
    click(&c, "tr[data-username=\"thu.ngan\"] button.disable").await;
    c.accept_alert().await.unwrap();
    wait_text(&c, "tr[data-username=\"thu.ngan\"] .state", "Đã khoá").await;

    // 6. Every view at a phone's width.
    c.set_window_size(390, 844).await.unwrap();
    for name in ["gates", "alarms", "revenue", "sessions", "registry", "people", "journal"] {
        view(&c, name).await;
        wait::until(10, "the view to fit a phone's width", || async { overflow(&c).await <= 0 }).await;
        axe(&c, &format!("{name}, phone")).await;
    }
    view(&c, "sessions").await;
    shot(&c, "34-stays-phone.png").await;
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
