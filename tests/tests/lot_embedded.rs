//! A whole lot with nothing installed: the lot server with its embedded
//! broker, a controller process, and gate reads published through that
//! broker. The registry is changed over HTTP; the controller receives the
//! lists (snapshot, then a delta), lets the registered tag in, and the
//! server turns the entry into a session and acknowledges it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::time::Duration;

use parking_tests::bins::{self, http, http_get, metric};
use parking_tests::devices::epc_text;
use parking_tests::mosquitto::free_port;
use parking_tests::mqtt::{client, tag_read};
use rumqttc::QoS;

const LOT: &str = "embedded-lot";

async fn api(port: u16, method: &str, path: &str, token: &str, body: Option<serde_json::Value>) -> serde_json::Value {
    let body = body.map(|b| b.to_string());
    let (status, text) = http(port, method, path, Some(token), body.as_deref()).await.expect("the server answers");
    assert!((200..300).contains(&status), "{method} {path}: {status} {text}");
    serde_json::from_str(&text).unwrap_or(serde_json::Value::Null)
}

async fn lists_version(port: u16, token: &str) -> u64 {
    api(port, "GET", "/api/v1/lists", token, None).await["version"].as_u64().unwrap()
}

async fn open_sessions_for(port: u16, token: &str, epc: &str) -> bool {
    let path = format!("/api/v1/sessions?state=open&credential_key=tag:{epc}");
    for _ in 0..200 {
        if api(port, "GET", &path, token, None).await.as_array().is_some_and(|a| a.len() == 1) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lot_runs_on_the_embedded_broker() {
    let dir = std::env::temp_dir().join(format!("parking-embedded-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (mqtt_port, http_port, metrics_port) = (free_port(), free_port(), free_port());
    let lot = bins::lot_toml(LOT);
    let server_cfg = dir.join("lot-server.toml");
    std::fs::write(&server_cfg, parking_tests::embedded::embedded_server_toml(&lot, mqtt_port, http_port, &dir, ""))
        .unwrap();
    let token = bins::token(&server_cfg, "operator").unwrap();
    assert!(token.starts_with("lsk_"), "{token}");
    let log = dir.join("lot-server.log");
    eprintln!("logs in {}", dir.display());
    let mut server = bins::start_server(&server_cfg, &log, http_port).await.unwrap();

    let vehicle = api(
        http_port,
        "POST",
        "/api/v1/vehicles",
        &token,
        Some(serde_json::json!({ "plate": "29A-123.45", "class": "car" })),
    )
    .await;
    let tag = |n: u64| serde_json::json!({ "epc": epc_text(n), "vehicle_id": vehicle["vehicle_id"] });
    api(http_port, "POST", "/api/v1/tags", &token, Some(tag(1))).await;
    let v1 = lists_version(http_port, &token).await;

    let ctl_cfg = dir.join("controller.toml");
    let secret =
        parking_tests::embedded::add_node(&server_cfg, "ctl-e", "controller", &["entry-1", "exit-1"], None).unwrap();
    std::fs::write(
        &ctl_cfg,
        parking_tests::embedded::with_password_file(&bins::controller_toml(
            LOT,
            mqtt_port,
            "ctl-e",
            &dir.join("journal.sqlite"),
            metrics_port,
            "",
            "[[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\n[[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n",
        ), &secret),
    )
    .unwrap();
    let mut controller = bins::start_logged("controller", &ctl_cfg, &dir.join("controller.log")).unwrap();
    assert!(bins::wait_for_lists(metrics_port, v1).await, "the controller took the server's snapshot v{v1}");

    let (reads, mut reads_loop) = client(mqtt_port, "e2e-reader", true);
    tokio::spawn(async move {
        loop {
            if reads_loop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let topic = format!("parking/{LOT}/gate/entry-1/read");
    reads.publish(&topic, QoS::AtLeastOnce, false, tag_read("entry-1", 1, 3).unwrap()).await.unwrap();
    assert!(open_sessions_for(http_port, &token, &epc_text(1)).await, "tag 1's entry became an open session");

    // A tag registered while the controller runs reaches it as a delta.
    api(http_port, "POST", "/api/v1/tags", &token, Some(tag(2))).await;
    let v2 = lists_version(http_port, &token).await;
    assert!(v2 > v1);
    assert!(bins::wait_for_lists(metrics_port, v2).await, "the controller applied v{v2}");
    reads.publish(&topic, QoS::AtLeastOnce, false, tag_read("entry-1", 2, 3).unwrap()).await.unwrap();
    assert!(open_sessions_for(http_port, &token, &epc_text(2)).await, "tag 2's entry became an open session");

    // The server acknowledged both: the controller's journal is empty.
    let mut backlog = None;
    for _ in 0..200 {
        backlog =
            metric(&http_get(metrics_port, "/metrics").await.unwrap_or_default(), "parking_controller_events_backlog");
        if backlog == Some(0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(backlog, Some(0.0), "every event acknowledged after commit");
    let metrics = api(http_port, "GET", "/metrics", &token, None).await;
    assert_eq!(metrics, serde_json::Value::Null, "metrics are text, not JSON");
    let (_, text) = http(http_port, "GET", "/metrics", Some(&token), None).await.unwrap();
    assert_eq!(metric(&text, "parking_server_open_sessions"), Some(2.0), "{text}");
    assert_eq!(metric(&text, "parking_server_ingest_events_total"), Some(2.0), "{text}");
    controller.kill();
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
