//! "Xe ra đúng xe vào" end to end, in a real headless Chromium against a
//! lot server on its embedded broker and a controller process, with the
//! lot's default plate policy (compare at the exit, hold a tag on another
//! vehicle):
//!
//! 1. a registered tag is read on a car whose camera plate is not the
//!    tag's: the entry lane holds it; the board shows why and both plates;
//!    the operator lets it go on with a note; the car enters, and the
//!    alarm is resolved with the operator's name;
//! 2. a ticket printed to one car is shown at the exit by another: the
//!    lane holds it; the operator refuses it; the lane denies it, and the
//!    ticket still lets its own car out to its fee;
//! 3. the held lane fits a phone's width, in English.
//!
//! Screenshots go to `target/test-artefacts/dashboard/plate-hold-*.png`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::time::Duration;

use fantoccini::{Client, Locator};
use parking_core::wire::Read;
use parking_tests::bins::{self, api};
use parking_tests::browser::{axe, browser, click, overflow, start_chromedriver, submit_login, wait_text};
use parking_tests::devices::epc_text;
use parking_tests::mosquitto::free_port;
use parking_tests::mqtt::{client, plate_read, read_msg, tag_read};
use parking_tests::wait;
use rumqttc::{AsyncClient, QoS};
use serde_json::{Value, json};

const LOT: &str = "plate-lot";

async fn shot(c: &Client, name: &str) {
    parking_tests::browser::shot(c, &format!("plate-hold-{name}")).await;
}

async fn publish(reads: &AsyncClient, gate: &str, payload: Option<Vec<u8>>) {
    let topic = format!("parking/{LOT}/gate/{gate}/read");
    reads.publish(topic, QoS::AtLeastOnce, false, payload.unwrap()).await.unwrap();
}

/// Decides the hold on `gate` from its panel's button, with a note.
async fn decide(c: &Client, gate: &str, button: &str, note: &str) {
    click(c, &format!(".lane[data-gate=\"{gate}\"] .held .{button}")).await;
    c.wait().for_element(Locator::Css("#hold-note")).await.unwrap().send_keys(note).await.unwrap();
    c.find(Locator::Css("#hold-confirm")).await.unwrap().click().await.unwrap();
}

/// The gate events of `kind` the server committed, oldest first.
async fn events(port: u16, token: &str, kind: &str) -> Vec<Value> {
    let mut list = api(port, "GET", &format!("/api/v1/events?kind={kind}"), token, None).await;
    let mut v: Vec<Value> = list.as_array_mut().map(std::mem::take).unwrap_or_default();
    v.reverse();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Chromium and ChromeDriver (apt-get install chromium chromium-driver); .ci/run runs it"]
async fn a_vehicle_that_is_not_the_one_that_entered_is_held_for_staff() {
    let (dir, lot) =
        bins::test_dir_with_tariff("plate-hold", LOT, include_str!("../fixtures/no-grace-tariff.toml")).unwrap();
    let (mqtt_port, http_port, metrics_port) = (free_port(), free_port(), free_port());
    let server_cfg = dir.join("lot-server.toml");
    std::fs::write(&server_cfg, parking_tests::embedded::embedded_server_toml(&lot, mqtt_port, http_port, &dir, ""))
        .unwrap();
    let admin = bins::token(&server_cfg, "admin").unwrap();
    bins::user(&server_cfg, "binh.tran", "operator", "Trần Thị Bình", "bãi xe an toàn 2026").unwrap();
    let secret =
        parking_tests::embedded::add_node(&server_cfg, "ctl-plates", "controller", &["entry-1", "exit-1"], None)
            .unwrap();
    let _server = bins::start_server(&server_cfg, &dir.join("lot-server.log"), http_port).await.unwrap();
    let vehicle =
        api(http_port, "POST", "/api/v1/vehicles", &admin, Some(json!({ "plate": "30E-555.55", "class": "car" })))
            .await;
    let tag = json!({ "epc": epc_text(9), "vehicle_id": vehicle["vehicle_id"] });
    api(http_port, "POST", "/api/v1/tags", &admin, Some(tag)).await;
    let version = api(http_port, "GET", "/api/v1/lists", &admin, None).await["version"].as_u64().unwrap();
    let ctl_cfg = dir.join("controller.toml");
    let lanes = "[bank]\nbin = \"970403\"\naccount = \"0011012345678\"\n\
                 [[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\n[[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n";
    let ctl =
        bins::controller_toml_with(&lot, mqtt_port, "ctl-plates", &dir.join("journal.sqlite"), metrics_port, "", lanes);
    std::fs::write(&ctl_cfg, parking_tests::embedded::with_password_file(&ctl, &secret)).unwrap();
    let _controller = bins::start_logged("controller", &ctl_cfg, &dir.join("controller.log")).unwrap();
    assert!(bins::wait_for_lists(metrics_port, version).await, "the controller holds the lists");

    let (_driver, driver_port) = start_chromedriver().await;
    let c = browser(driver_port).await;
    submit_login(&c, &format!("http://127.0.0.1:{http_port}/"), "binh.tran", "bãi xe an toàn 2026").await;
    c.wait().for_element(Locator::Css(".lane")).await.unwrap();
    wait_text(&c, ".lane[data-gate=\"entry-1\"] .badge", "trực tuyến").await;
    let (reads, mut reads_loop) = client(mqtt_port, "plate-reader", true);
    tokio::spawn(async move {
        loop {
            if reads_loop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });

    // 1. The tag of 30E-555.55 on a car the camera reads as 29C-777.77.
    publish(&reads, "entry-1", plate_read("entry-1", "29C-777.77", 0.93)).await;
    publish(&reads, "entry-1", tag_read("entry-1", 9, 3)).await;
    let held = wait_text(&c, ".lane[data-gate=\"entry-1\"] .held", "Thẻ gắn trên xe khác").await;
    assert!(held.contains("30E-555.55") && held.contains("29C-777.77"), "both plates side by side: {held}");
    assert!(!held.contains("tag_on_other_vehicle"), "words, not codes: {held}");
    axe(&c, "a held lane, desktop").await;
    shot(&c, "01-held-tag.png").await;
    decide(&c, "entry-1", "release-button", "Xe mượn của người nhà, đã kiểm tra giấy tờ").await;
    wait_text(&c, ".lane[data-gate=\"entry-1\"] .decision", "Cho vào").await;
    assert!(c.find_all(Locator::Css(".lane[data-gate=\"entry-1\"] .held")).await.unwrap().is_empty());
    wait::until(20, "the alarm to be resolved by the operator's decision", || async {
        let x =
            api(http_port, "GET", "/api/v1/exceptions?state=all&kind=alarm:tag_on_other_vehicle", &admin, None).await;
        x.as_array().and_then(|a| a.first()).is_some_and(|x| {
            x["state"] == "resolved" && x["resolved_by"].as_str().is_some_and(|b| b.contains("Trần Thị Bình: released"))
        })
    })
    .await;
    let decided = events(http_port, &admin, "hold_decided").await;
    assert_eq!(decided[0]["event"]["released"], json!(true), "{decided:?}");
    assert_eq!(events(http_port, &admin, "entry").await.len(), 1, "released, the car entered once");

    // 2. A ticket printed to 51F-111.11, shown at the exit by 29C-777.77.
    publish(&reads, "entry-1", plate_read("entry-1", "51F-111.11", 0.95)).await;
    publish(&reads, "entry-1", read_msg("entry-1", Read::TicketButton)).await;
    // Reads on one topic arrive in order: the plate before the button.
    let mut ticket = String::new();
    for _ in 0..200 {
        let entries = events(http_port, &admin, "entry").await;
        let printed = entries.iter().find(|e| e["event"]["plate"] == "51F-111.11");
        if let Some(code) = printed.and_then(|e| e["event"]["credential"]["code"].as_str()) {
            ticket = code.to_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!ticket.is_empty(), "the ticket's entry, with its plate, was committed");
    publish(&reads, "exit-1", plate_read("exit-1", "29C-777.77", 0.91)).await;
    publish(&reads, "exit-1", read_msg("exit-1", Read::Qr { text: ticket.clone() })).await;
    let held = wait_text(&c, ".lane[data-gate=\"exit-1\"] .held", "Biển số lúc ra khác lúc vào").await;
    assert!(held.contains("51F-111.11") && held.contains("29C-777.77"), "{held}");

    // 3. The held lane on a phone, in English.
    c.find(Locator::Css("#lang")).await.unwrap().click().await.unwrap();
    c.set_window_size(390, 844).await.unwrap();
    wait_text(&c, ".lane[data-gate=\"exit-1\"] .held", "Exit plate differs from entry").await;
    wait::until(10, "the board to fit a phone's width", || async { overflow(&c).await <= 0 }).await;
    axe(&c, "a held lane, phone, English").await;
    shot(&c, "02-held-ticket-phone.png").await;
    c.find(Locator::Css("#lang")).await.unwrap().click().await.unwrap();
    c.set_window_size(1280, 900).await.unwrap();

    decide(&c, "exit-1", "refuse-button", "Không phải xe đã gửi, giữ vé lại").await;
    wait_text(&c, ".lane[data-gate=\"exit-1\"] .decision", "Từ chối").await;
    let denied = events(http_port, &admin, "denied").await;
    assert!(denied.iter().any(|e| e["event"]["reason"] == "plate_mismatch"), "{denied:?}");
    assert!(events(http_port, &admin, "exit").await.is_empty(), "no one left");
    // The ticket's own car leaves with it, to its fee.
    publish(&reads, "exit-1", plate_read("exit-1", "51F-111.11", 0.9)).await;
    publish(&reads, "exit-1", read_msg("exit-1", Read::Qr { text: ticket })).await;
    wait_text(&c, ".lane[data-gate=\"exit-1\"] .waiting", "Đang chờ thanh toán").await;
    shot(&c, "03-own-car-pays.png").await;
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
