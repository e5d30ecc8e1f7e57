//! The drivers' app in a real headless Chromium, at a phone's width and at
//! a desktop's, against a lot server on its embedded broker whose gate
//! events arrive over MQTT as a controller sends them:
//!
//! 1. find the lot and its free spaces; read its prices; estimate a fee;
//! 2. type the ticket taken at the entry: the fee so far, line by line, and
//!    the VietQR; a bank transfer arrives and the page turns to "paid";
//! 3. the exit lane settles the stay, the invoice is issued, and its
//!    receipt opens from the link the invoice list gives, with no token;
//! 4. the English words; axe-core on every view.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::time::Duration;

use fantoccini::{Client, Locator};
use parking_core::gate::{Ticket, TicketKey};
use parking_core::money::Vnd;
use parking_core::secret::Secret;
use parking_core::timestamp::Timestamp;
use parking_core::wire::{self, Credential, GateEvent, GateEventKind, GateTopic, Settlement, Topics, V1};
use parking_tests::bins::{self, api, http_with};
use parking_tests::browser::{axe, browser, click, fill, overflow, shot, start_chromedriver, wait_text};
use parking_tests::mosquitto::free_port;
use parking_tests::mqtt::publish_once;
use parking_tests::wait;
use serde_json::json;

const LOT: &str = "driver-lot";

/// A gate event of `gate`, as the lane's controller publishes it.
async fn publish(mqtt_port: u16, gate: &str, seq: u64, at: Timestamp, kind: GateEventKind) {
    let event = GateEvent {
        v: V1,
        event_id: serde_json::from_value(json!(format!("d21e0000-0000-4000-8000-{seq:012}"))).unwrap(),
        lot: LOT.parse().unwrap(),
        gate: gate.parse().unwrap(),
        seq,
        at,
        list_version: 0,
        tariff_version: None,
        kind,
    };
    let topic = Topics::new(LOT.parse().unwrap()).gate(&gate.parse().unwrap(), GateTopic::Event);
    publish_once(mqtt_port, &topic, wire::encode(&event), false).await;
}

/// Phone first: every view at 390 px must fit, then checked by axe-core;
/// the screenshot shows `at` (a CSS selector) if given.
async fn check_view(c: &Client, label: &str, file: &str, at: Option<&str>) {
    wait::until(10, "the view to fit a phone's width", || async { overflow(c).await <= 0 }).await;
    if let Some(css) = at {
        c.execute("document.querySelector(arguments[0]).scrollIntoView()", vec![json!(css)]).await.unwrap();
    }
    axe(c, label).await;
    shot(c, file).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and ChromeDriver (apt-get install chromium chromium-driver) and axe-core (npm ci --prefix tests/axe); .ci/run runs it"]
async fn a_driver_finds_a_space_pays_a_stay_and_opens_the_receipt() {
    let (dir, lot) = bins::test_dir_with_tariff(
        "driver-app",
        LOT,
        include_str!("../../config/tariffs/hanoi-zone1-2018-example.toml"),
    )
    .unwrap();
    let lot = format!(
        "{lot}address = \"1 Tràng Tiền, Hoàn Kiếm, Hà Nội\"\nopening_hours = \"24/7\"\n[lot.capacity]\ncar = 120\nmotorbike = 800\n"
    );
    let (mqtt_port, http_port) = (free_port(), free_port());
    let cfg = dir.join("lot-server.toml");
    let extra = "[settlement]\nsepay_api_key = \"driver-test-key\"\nbank_bin = \"970403\"\nbank_account = \"0011012345678\"\n\
                 [invoice]\nseller_name = \"Công ty TNHH Bãi đỗ xe Hoàn Kiếm\"\nseller_address = \"1 Tràng Tiền, Hà Nội\"\n\
                 seller_tax_code = \"0100000000\"\n";
    std::fs::write(
        &cfg,
        parking_tests::embedded::embedded_server_toml(
            &lot,
            mqtt_port,
            http_port,
            &dir,
            &format!("{extra}drop_dir = \"{}\"\n", dir.join("invoices").display()),
        ),
    )
    .unwrap();
    let token = bins::token(&cfg, "admin").unwrap();
    let _server = bins::start_server(&cfg, &dir.join("lot-server.log"), http_port).await.unwrap();

    // A car came in half an hour ago with a ticket; two motorbikes by tag.
    let now = parking_runtime::Clock::wall().now();
    let entered = Timestamp::from_unix_seconds(now.unix_seconds() - 1800).unwrap();
    let key = TicketKey::new(Secret::new("driver-app-ticket-key-0123")).unwrap();
    let ticket = Ticket {
        lot: LOT.parse().unwrap(),
        gate: "entry-1".parse().unwrap(),
        serial: 90210,
        entered_at: entered,
        class: "car".parse().unwrap(),
    };
    let text = ticket.sign(&key).unwrap();
    let entry = |credential| GateEventKind::Entry { credential, class: "car".parse().unwrap(), plate: None };
    publish(mqtt_port, "entry-1", 1, entered, entry(Credential::Ticket { code: text.clone() })).await;
    for (n, epc) in [(2, "E20000000000000000000A01"), (3, "E20000000000000000000A02")] {
        let kind = GateEventKind::Entry {
            credential: Credential::Tag { epc: epc.parse().unwrap(), tid: None },
            class: "motorbike".parse().unwrap(),
            plate: None,
        };
        publish(mqtt_port, "entry-1", n, entered, kind).await;
    }
    wait::until(10, "three stays under way", || async {
        api(http_port, "GET", "/api/v1/sessions?state=open", &token, None)
            .await
            .as_array()
            .is_some_and(|a| a.len() == 3)
    })
    .await;

    // Anyone subscribed to the lot's availability gets the figures, retained.
    let (watch, mut watch_loop) = parking_tests::mqtt::client(mqtt_port, "availability-watcher", true);
    let topic = format!("parking/{LOT}/availability");
    let mut seen = parking_tests::mqtt::subscribed(&watch, &mut watch_loop, std::slice::from_ref(&topic)).await;
    let free_cars = |p: &rumqttc::Publish| {
        let v: serde_json::Value = serde_json::from_slice(&p.payload).unwrap_or_default();
        v["classes"].as_array().and_then(|a| a.iter().find(|c| c["class"] == "car")).and_then(|c| c["free"].as_u64())
    };
    let retained = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Some(p) = seen.iter().rev().find(|p| p.topic == topic && free_cars(p) == Some(119)) {
                return p.clone();
            }
            if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) = watch_loop.poll().await {
                seen.push(p);
            }
        }
    })
    .await
    .expect("the availability published with one car inside");
    assert_eq!(free_cars(&retained), Some(119));
    let _ = watch.disconnect().await;
    // Published retained: a subscriber arriving later gets it at once.
    let (late, mut late_loop) = parking_tests::mqtt::client(mqtt_port, "availability-late", true);
    let early = parking_tests::mqtt::subscribed(&late, &mut late_loop, std::slice::from_ref(&topic)).await;
    let mut got = early.into_iter().find(|p| p.topic == topic);
    if got.is_none() {
        got = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                if let Ok(rumqttc::Event::Incoming(rumqttc::Packet::Publish(p))) = late_loop.poll().await {
                    return p;
                }
            }
        })
        .await
        .ok();
    }
    let got = got.expect("the retained availability");
    assert!(got.retain && free_cars(&got) == Some(119), "{got:?}");
    let _ = late.disconnect().await;

    let (_driver, driver_port) = start_chromedriver().await;
    let c = browser(driver_port).await;
    c.set_window_size(390, 844).await.unwrap();
    let base = format!("http://127.0.0.1:{http_port}");

    // 1. The lot, its free spaces, its prices; a fee estimated.
    c.goto(&format!("{base}/driver/")).await.unwrap();
    let card = wait_text(&c, "#lots li.card", "119").await;
    assert!(
        card.contains("Ô tô") && card.contains("119 còn trống trên 120") && card.contains("798 còn trống trên 800"),
        "{card}"
    );
    check_view(&c, "driver lots, phone", "60-driver-lots-phone.png", None).await;
    click(&c, "#lots li.card a.button").await;
    let prices = wait_text(&c, "#tariff", "Ô tô").await;
    assert!(prices.contains("50.000") && prices.contains("120 phút đầu tiên"), "{prices}");
    c.execute("document.getElementById('est-class').value = 'car'; document.getElementById('est-from').value = '2026-12-07T09:00'; document.getElementById('est-to').value = '2026-12-07T14:30';", vec![]).await.unwrap();
    click(&c, "#estimate button[type=submit]").await;
    // 09:00–14:30: the first two hours 50,000, then four started hours at 30,000.
    let estimate = wait_text(&c, "#est-result", "Tổng cộng").await;
    assert!(estimate.contains("170.000"), "{estimate}");
    check_view(&c, "driver lot and estimate, phone", "61-driver-lot-phone.png", Some("#estimate")).await;

    // 2. What the ticket owes; the transfer arrives; the page turns.
    click(&c, "#nav-owe").await;
    fill(&c, "#owe-q", &text).await;
    click(&c, "#owe-form button[type=submit]").await;
    let owed = wait_text(&c, "#owe-result", "Còn phải trả").await;
    assert!(owed.contains("50.000") && owed.contains("Khung giờ đầu"), "{owed}");
    let code = ticket.payment_code();
    assert!(owed.contains(code.as_str()), "the memo to type: {owed}");
    let qr = c.find(Locator::Css("#owe-result img.qr")).await.unwrap();
    assert!(qr.attr("alt").await.unwrap().unwrap().contains("VietQR"));
    check_view(&c, "driver owes, phone", "62-driver-owe-phone.png", Some("#owe-result .pay")).await;
    let body = json!({ "id": 77001, "gateway": "Vietcombank", "transactionDate": "2026-12-07 10:00:00",
        "accountNumber": "0011012345678", "code": null, "content": format!("MBVCB.{} chuyen tien", code.as_str()),
        "transferType": "in", "transferAmount": 50_000, "accumulated": 0, "referenceCode": "FT77001", "description": "" });
    let headers = [("Authorization", "Apikey driver-test-key"), ("Content-Type", "application/json")];
    let (status, answer) =
        http_with(http_port, "POST", "/api/v1/webhooks/sepay", &headers, Some(&body.to_string())).await.unwrap();
    assert_eq!(status, 200, "{answer}");
    let paid = wait_text(&c, "#owe-result .banner", "Đã thanh toán").await;
    assert!(paid.contains("ra trước"), "{paid}");
    check_view(&c, "driver paid, phone", "63-driver-paid-phone.png", None).await;

    // 3. The exit lane asks, the held transfer settles the stay, the car
    // leaves; the invoice's receipt opens from its link alone.
    let fee = serde_json::from_value(
        json!({ "amount": 50_000, "tariff_version": "hn-z1-2018-example", "class": "car", "items": [] }),
    )
    .unwrap();
    let at = parking_runtime::Clock::wall().now();
    let asked = GateEventKind::PaymentRequested {
        credential: Credential::Ticket { code: text.clone() },
        class: "car".parse().unwrap(),
        entered_at: entered,
        fee,
        payment_code: code,
        owed: Vnd::new(50_000),
    };
    publish(mqtt_port, "exit-1", 4, at, asked).await;
    let exit = GateEventKind::Exit {
        credential: Credential::Ticket { code: text.clone() },
        class: "car".parse().unwrap(),
        plate: None,
        entered_at: Some(entered),
        fee: None,
        settlement: Settlement::Transfer { payment_code: code, paid: Vnd::new(50_000) },
    };
    publish(mqtt_port, "exit-1", 5, at, exit).await;
    wait::until(15, "the stay's invoice", || async {
        api(http_port, "GET", "/api/v1/invoices", &token, None).await.as_array().is_some_and(|a| !a.is_empty())
    })
    .await;
    let invoices = api(http_port, "GET", "/api/v1/invoices", &token, None).await;
    let url = invoices[0]["receipt_url"].as_str().unwrap().to_owned();
    c.goto(&format!("{base}{url}")).await.unwrap();
    let receipt = wait_text(&c, "main", "Hóa đơn giá trị gia tăng").await;
    assert!(
        receipt.contains("50.000 đ") && receipt.contains(invoices[0]["lookup_code"].as_str().unwrap()),
        "{receipt}"
    );
    check_view(&c, "receipt, phone", "64-receipt-phone.png", None).await;
    let (status, _) = http_with(http_port, "GET", &format!("{url}x"), &[], None).await.unwrap();
    assert_eq!(status, 404, "an altered link opens nothing");

    // The free spaces follow: one car fewer inside.
    c.goto(&format!("{base}/driver/#lots")).await.unwrap();
    wait_text(&c, "#lots li.card", "120 còn trống trên 120").await;

    // 4. In English, and at a desktop's width.
    click(&c, "#lang").await;
    let english = wait_text(&c, "#lots li.card", "free").await;
    assert!(english.contains("Car") && english.contains("120 free of 120"), "{english}");
    c.set_window_size(1280, 900).await.unwrap();
    axe(&c, "driver lots, desktop, English").await;
    shot(&c, "65-driver-lots-desktop-en.png").await;
    c.goto(&format!("{base}/driver/#owe/{}", code.as_str())).await.unwrap();
    wait_text(&c, "#owe-error", "No vehicle is inside").await;
    axe(&c, "driver owe, desktop").await;
    shot(&c, "66-driver-owe-desktop.png").await;
    tokio::time::timeout(Duration::from_secs(10), c.close()).await.ok();
}
