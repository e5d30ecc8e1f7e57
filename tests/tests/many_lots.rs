//! One lot-server process serving two lots (`[lot]` and a `[[lots]]`
//! entry) on its embedded broker and SQLite, with a controller in each
//! lot. The lots are kept apart by their id: the same plate registered in
//! both is two vehicles, each lot's token is refused by the other, each
//! controller receives only its own lot's lists, a read at `entry-1` of
//! one lot becomes a session of that lot only, and each lot has its own
//! metrics, journal, dashboard and sign-in cookie.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::time::Duration;

use parking_tests::bins::{self, api, http, http_full, metric};
use parking_tests::devices::epc_text;
use parking_tests::mosquitto::free_port;
use parking_tests::mqtt::{client, tag_read};
use rumqttc::QoS;

const A: &str = "lot-a";
const B: &str = "lot-b";

/// Registers a car with tag `n` in the lot whose API is under `base`;
/// returns the lists version after it.
async fn register(port: u16, base: &str, token: &str, n: u64) -> u64 {
    let car = serde_json::json!({ "plate": "29A-123.45", "class": "car" });
    let vehicle = api(port, "POST", &format!("{base}/api/v1/vehicles"), token, Some(car)).await;
    let tag = serde_json::json!({ "epc": epc_text(n), "vehicle_id": vehicle["vehicle_id"] });
    api(port, "POST", &format!("{base}/api/v1/tags"), token, Some(tag)).await;
    api(port, "GET", &format!("{base}/api/v1/lists"), token, None).await["version"].as_u64().unwrap()
}

/// The open sessions of tag `n` in the lot under `base`, once there are
/// `want` of them (5 s at most), or as many as there are then.
async fn open_sessions(port: u16, base: &str, token: &str, n: u64, want: usize) -> usize {
    let path = format!("{base}/api/v1/sessions?state=open&credential_key=tag:{}", epc_text(n));
    let mut found = 0;
    for _ in 0..100 {
        found = api(port, "GET", &path, token, None).await.as_array().map_or(0, Vec::len);
        if found == want {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_server_keeps_two_lots_apart() {
    let dir = std::env::temp_dir().join(format!("parking-many-lots-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (mqtt_port, http_port) = (free_port(), free_port());
    let tariffs = bins::repo_root().join("config/tariffs");
    let lot_b = format!(
        "[tax]\njournal_key = \"{}\"\n[[lots]]\nid = \"{B}\"\nname = \"Lot B\"\nzone = \"hanoi-zone-1\"\ntariff_dir = \"{}\"\n",
        "7".repeat(64),
        tariffs.display()
    );
    let cfg = dir.join("lot-server.toml");
    std::fs::write(
        &cfg,
        parking_tests::embedded::embedded_server_toml(&bins::lot_toml(A), mqtt_port, http_port, &dir, &lot_b),
    )
    .unwrap();
    let token_a = bins::token(&cfg, "operator").unwrap();
    let token_b = bins::lot_token(&cfg, "operator", Some(B)).unwrap();
    let unknown = bins::lot_token(&cfg, "operator", Some("lot-z")).unwrap_err();
    assert!(unknown.contains("--lot lot-z") && unknown.contains("lot-a, lot-b"), "{unknown}");
    assert!(dir.join("lot.lot-b.sqlite").exists(), "lot B's database is its own file beside lot A's");
    // The controllers' broker users, before the server starts (it reads
    // new ones every 2 s; a controller refused meanwhile backs off).
    for lot in [A, B] {
        parking_tests::embedded::add_node(&cfg, &format!("ctl-{lot}"), "controller", &["entry-1"], Some(lot)).unwrap();
    }
    eprintln!("logs in {}", dir.display());
    let mut server = bins::start_server(&cfg, &dir.join("lot-server.log"), http_port).await.unwrap();

    // Each lot's token opens its own lot only; `[lot]` is also at /lots/lot-a.
    let me = |path: &'static str, token: String| async move { http(http_port, "GET", path, Some(&token), None).await };
    assert_eq!(me("/api/v1/me", token_a.clone()).await.unwrap().0, 200);
    assert_eq!(me("/lots/lot-a/api/v1/me", token_a.clone()).await.unwrap().0, 200);
    assert_eq!(me("/lots/lot-b/api/v1/me", token_b.clone()).await.unwrap().0, 200);
    assert_eq!(me("/api/v1/me", token_b.clone()).await.unwrap().0, 401, "lot B's token at lot A");
    assert_eq!(me("/lots/lot-b/api/v1/me", token_a.clone()).await.unwrap().0, 401, "lot A's token at lot B");
    assert_eq!(me("/lots/lot-z/api/v1/me", token_a.clone()).await.unwrap().0, 404, "no such lot");

    // The same plate is a vehicle of each lot; each has its own lists.
    let va = register(http_port, "", &token_a, 1).await;
    let vb = register(http_port, "/lots/lot-b", &token_b, 2).await;
    for (base, token, mine, theirs) in [("", &token_a, 1, 2), ("/lots/lot-b", &token_b, 2, 1)] {
        let tags = api(http_port, "GET", &format!("{base}/api/v1/tags"), token, None).await.to_string();
        assert!(tags.contains(&epc_text(mine)) && !tags.contains(&epc_text(theirs)), "{base}: {tags}");
        let vehicles = api(http_port, "GET", &format!("{base}/api/v1/vehicles"), token, None).await;
        assert_eq!(vehicles.as_array().map(Vec::len), Some(1), "{base}: {vehicles}");
    }

    let lane = "[[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\n";
    let mut controllers = Vec::new();
    let mut metrics_ports = Vec::new();
    for (lot, version) in [(A, va), (B, vb)] {
        let port = free_port();
        let ctl = dir.join(format!("controller-{lot}.toml"));
        let journal = dir.join(format!("journal-{lot}.sqlite"));
        // Node ids are broker users, one per controller across the lots.
        let node = format!("ctl-{lot}");
        let secret = dir.join("secrets").join(format!("{node}.secret"));
        let toml = bins::controller_toml(lot, mqtt_port, &node, &journal, port, "", lane);
        std::fs::write(&ctl, parking_tests::embedded::with_password_file(&toml, &secret)).unwrap();
        controllers.push(bins::start_logged("controller", &ctl, &dir.join(format!("controller-{lot}.log"))).unwrap());
        assert!(bins::wait_for_lists(port, version).await, "{lot}'s controller took its own lists, v{version}");
        metrics_ports.push(port);
    }

    let (reads, mut reads_loop) = client(mqtt_port, "many-lots-reader", true);
    tokio::spawn(async move {
        loop {
            if reads_loop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    // Gate entry-1 of each lot: the same gate id, two lanes.
    for (lot, n) in [(A, 1), (B, 2)] {
        let topic = format!("parking/{lot}/gate/entry-1/read");
        reads.publish(&topic, QoS::AtLeastOnce, false, tag_read("entry-1", n, 3).unwrap()).await.unwrap();
    }
    assert_eq!(open_sessions(http_port, "", &token_a, 1, 1).await, 1, "tag 1 entered lot A");
    assert_eq!(open_sessions(http_port, "/lots/lot-b", &token_b, 2, 1).await, 1, "tag 2 entered lot B");
    assert_eq!(open_sessions(http_port, "", &token_a, 2, 0).await, 0, "lot A has no stay of tag 2");
    assert_eq!(open_sessions(http_port, "/lots/lot-b", &token_b, 1, 0).await, 0, "lot B has no stay of tag 1");

    for (base, token) in [("", &token_a), ("/lots/lot-b", &token_b)] {
        let (_, text) = http(http_port, "GET", &format!("{base}/metrics"), Some(token), None).await.unwrap();
        assert_eq!(metric(&text, "parking_server_open_sessions"), Some(1.0), "{base}: {text}");
        assert_eq!(metric(&text, "parking_server_ingest_events_total"), Some(1.0), "{base}: {text}");
        let verified = api(http_port, "GET", &format!("{base}/api/v1/journal/verify"), token, None).await;
        assert_eq!(verified["ok"], true, "{base}: {verified}");
        assert!(verified["records"].as_u64().is_some_and(|n| n > 0), "{base}: {verified}");
    }

    // Each lot's dashboard, and a sign-in cookie for its own routes only.
    let (status, _, page) = http_full(http_port, "GET", "/lots/lot-b/", &[], None).await.unwrap();
    assert_eq!(status, 200);
    assert!(page.contains("<html"), "{page}");
    let (status, _, same) = http_full(http_port, "GET", "/lots/lot-b", &[], None).await.unwrap();
    assert_eq!((status, same == page), (200, true), "the page without the slash too");
    let body = serde_json::json!({ "token": token_b }).to_string();
    let (status, head, _) = http_full(http_port, "POST", "/lots/lot-b/api/v1/login", &[], Some(&body)).await.unwrap();
    assert_eq!(status, 200, "{head}");
    assert!(head.contains("Path=/lots/lot-b/;"), "{head}");
    let body = serde_json::json!({ "token": token_a }).to_string();
    let (_, head, _) = http_full(http_port, "POST", "/api/v1/login", &[], Some(&body)).await.unwrap();
    assert!(head.contains("Path=/;"), "{head}");
    let doc = api(http_port, "GET", "/lots/lot-b/openapi.json", &token_b, None).await;
    assert_eq!(doc["servers"][0]["url"], "/lots/lot-b", "{}", doc["servers"]);
    assert_eq!(http(http_port, "GET", "/health/ready", None, None).await.unwrap().0, 200);
    assert_eq!(http(http_port, "GET", "/lots/lot-b/health/ready", None, None).await.unwrap().0, 200);

    // The acknowledgements reached each controller: nothing held back.
    for port in metrics_ports {
        let mut backlog = None;
        for _ in 0..100 {
            let text = bins::http_get(port, "/metrics").await.unwrap_or_default();
            backlog = metric(&text, "parking_controller_events_backlog");
            if backlog == Some(0.0) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(backlog, Some(0.0), "controller on :{port} had its event acknowledged");
    }
    for c in &mut controllers {
        c.kill();
    }
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
