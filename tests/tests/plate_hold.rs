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
//! 3. the held lane fits a phone's width, in English;
//! 4. photos: the entry lane's camera is a snapshot URL behind basic
//!    authentication, the exit's a frames directory; the held exit shows
//!    the ticket's entry photo beside the photo taken now, the plate
//!    alarm and the stay's detail show them too, and the API gives them
//!    only to staff.
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
const CAMERA_AUTH: &str = "Basic Y2FtOnNlY3JldA=="; // cam:secret

/// A lane photo: a 320×240 JPEG of one colour.
fn jpeg(rgb: [u8; 3]) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(320, 240, image::Rgb(rgb));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// The entry camera's snapshot URL: its photo to whoever gives the
/// password, 401 to anyone else; counts what it served.
async fn camera(photo: Vec<u8>) -> (u16, std::sync::Arc<std::sync::atomic::AtomicU32>) {
    use axum::http::{HeaderMap, StatusCode, header};
    let served = std::sync::Arc::new(std::sync::atomic::AtomicU32::new(0));
    let count = std::sync::Arc::clone(&served);
    let app = axum::Router::new().route(
        "/snapshot.jpg",
        axum::routing::get(move |headers: HeaderMap| async move {
            if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(CAMERA_AUTH) {
                return (StatusCode::UNAUTHORIZED, Vec::new());
            }
            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            (StatusCode::OK, photo.clone())
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, served)
}

/// Whether every photo under `css` has loaded (an image, not a placeholder).
async fn photos_loaded(c: &Client, css: &str, want: usize) -> bool {
    let script = format!(
        "const imgs = [...document.querySelectorAll('{css} .photo img')]; \
         return imgs.length === {want} && imgs.every((i) => i.complete && i.naturalWidth === 320);"
    );
    c.execute(&script, vec![]).await.ok().and_then(|v| v.as_bool()).unwrap_or(false)
}

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
    let (entry_photo, exit_photo) = (jpeg([200, 40, 40]), jpeg([40, 60, 200]));
    let (camera_port, served) = camera(entry_photo.clone()).await;
    let frames = dir.join("frames");
    std::fs::create_dir_all(&frames).unwrap();
    let lanes = format!(
        "[bank]\nbin = \"970403\"\naccount = \"0011012345678\"\n\
         [[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\n\
         snapshot = {{ kind = \"http\", url = \"http://cam:secret@127.0.0.1:{camera_port}/snapshot.jpg\" }}\n\
         [[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n\
         snapshot = {{ kind = \"dir\", dir = \"{}\", max_age_ms = 600000 }}\n",
        frames.display()
    );
    let ctl = bins::controller_toml_with(
        &lot,
        mqtt_port,
        "ctl-plates",
        &dir.join("journal.sqlite"),
        metrics_port,
        "",
        &lanes,
    );
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
    std::fs::write(frames.join("frame-0001.jpg"), &exit_photo).unwrap();
    publish(&reads, "exit-1", plate_read("exit-1", "29C-777.77", 0.91)).await;
    publish(&reads, "exit-1", read_msg("exit-1", Read::Qr { text: ticket.clone() })).await;
    let held = wait_text(&c, ".lane[data-gate=\"exit-1\"] .held", "Biển số lúc ra khác lúc vào").await;
    assert!(held.contains("51F-111.11") && held.contains("29C-777.77"), "{held}");

    // 4. Both photos on the held lane: the ticket's entry and the car now.
    wait::until(30, "the held exit to show the entry photo and the photo now", || async {
        photos_loaded(&c, ".lane[data-gate=\"exit-1\"] .held", 2).await
    })
    .await;
    assert!(served.load(std::sync::atomic::Ordering::Relaxed) >= 2, "the entry camera was asked, with its password");
    let held_event = events(http_port, &admin, "held").await.pop().unwrap()["event_id"].as_str().unwrap().to_owned();
    let pair = api(http_port, "GET", &format!("/api/v1/events/{held_event}/photos"), &admin, None).await;
    let entry_id = pair["entry"]["event_id"].as_str().unwrap().to_owned();
    let printed = events(http_port, &admin, "entry").await;
    let ticket_entry = printed.iter().find(|e| e["event"]["plate"] == "51F-111.11").unwrap();
    assert_eq!(entry_id, ticket_entry["event_id"].as_str().unwrap(), "the photo of the ticket's own entry");
    let fetch = |id: String, token: Option<String>| async move {
        bins::http_bytes(http_port, &format!("/api/v1/photos/{id}"), token.as_deref()).await.unwrap()
    };
    assert_eq!(fetch(entry_id.clone(), Some(admin.clone())).await, (200, entry_photo.clone()), "the camera's bytes");
    assert_eq!(fetch(held_event.clone(), Some(admin.clone())).await, (200, exit_photo.clone()), "the frame's bytes");
    assert_eq!(fetch(held_event.clone(), None).await.0, 401, "no photo without signing in");
    let tax = bins::token(&server_cfg, "tax_officer").unwrap();
    assert_eq!(fetch(held_event.clone(), Some(tax)).await.0, 403, "tax officers see no vehicles");
    shot(&c, "04-held-with-photos.png").await;
    // The plate alarm shows them too, in its own dialog.
    click(&c, "button[data-view=\"alarms\"]").await;
    click(&c, "tr.alarm-row[data-kind=\"alarm:plate_mismatch\"] .photos-button").await;
    wait::until(30, "the alarm's two photos", || async { photos_loaded(&c, "#photo-body", 2).await }).await;
    axe(&c, "a plate alarm's photos").await;
    shot(&c, "05-alarm-photos.png").await;
    click(&c, "#photo-close").await;
    click(&c, "button[data-view=\"gates\"]").await;

    // 3. The held lane on a phone, in English.
    c.find(Locator::Css("#lang")).await.unwrap().click().await.unwrap();
    c.set_window_size(390, 844).await.unwrap();
    wait_text(&c, ".lane[data-gate=\"exit-1\"] .held", "Exit plate differs from entry").await;
    wait::until(10, "the board to fit a phone's width", || async { overflow(&c).await <= 0 }).await;
    axe(&c, "a held lane, phone, English").await;
    shot(&c, "02-held-ticket-phone.png").await;
    // The held lane's photos, on the phone.
    c.execute("document.querySelector('.lane[data-gate=\"exit-1\"] .held .photos').scrollIntoView();", vec![])
        .await
        .unwrap();
    shot(&c, "02b-held-photos-phone.png").await;
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

    // The moved tag's stay shows its entry photo in its detail.
    click(&c, "button[data-view=\"sessions\"]").await;
    wait_text(&c, "#session-rows", &epc_text(9)).await;
    let open = format!(
        "const row = [...document.querySelectorAll('#session-rows tr.stay-row')].find((r) => r.textContent.includes('{}')); \
         row.querySelector('button.link').click(); return true;",
        epc_text(9)
    );
    c.execute(&open, vec![]).await.unwrap();
    wait::until(30, "the stay's entry photo", || async { photos_loaded(&c, "#stay-body", 1).await }).await;
    shot(&c, "06-stay-photos.png").await;
    c.close().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}
