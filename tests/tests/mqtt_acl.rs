//! Credentials per controller: Mosquitto with a password file and the ACL
//! that `controller mosquitto-acl` prints for each controller. A real lot
//! server and controller work under it (lists in, events out); a client
//! with one controller's credentials cannot publish an event for another
//! controller's gate (the server never sees it); anonymous clients and
//! wrong passwords are refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;
use std::time::Duration;

use parking_tests::bins::{self, api};
use parking_tests::mosquitto::{Broker, free_port};
use parking_tests::mqtt::tag_read;
use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, MqttOptions, Packet, QoS};
use serde_json::json;

const LOT: &str = "acl-lot";

fn connect(port: u16, id: &str, user: Option<(&str, &str)>) -> (AsyncClient, rumqttc::EventLoop) {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    if let Some((u, p)) = user {
        o.set_credentials(u, p);
    }
    AsyncClient::new(o, 64)
}

/// Polls until the broker answers the connection: Ok, or its refusal.
async fn connack(events: &mut rumqttc::EventLoop) -> Result<(), ConnectReturnCode> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), events.poll()).await.expect("the broker answers") {
            Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
            Err(ConnectionError::ConnectionRefused(code)) => return Err(code),
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

#[tokio::test]
#[ignore = "needs Mosquitto (PARKING_TEST_MOSQUITTO) and mosquitto_passwd; .ci/run runs it"]
async fn one_controller_cannot_pose_as_another() {
    let dir = std::env::temp_dir().join(format!("parking-acl-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let lot = bins::lot_toml(LOT);
    let (broker_port_hint, metrics_port) = (free_port(), free_port());
    // Each controller's own config; its ACL block comes from it.
    let ctl_cfg = |node: &str, gates: &[&str]| {
        let lanes: String =
            gates.iter().map(|g| format!("[[lanes]]\ngate = \"{g}\"\ndirection = \"entry\"\n")).collect();
        let toml = bins::controller_toml(
            LOT,
            broker_port_hint,
            node,
            &dir.join(format!("{node}.sqlite")),
            metrics_port,
            "",
            &lanes,
        );
        let path = dir.join(format!("{node}.toml"));
        let creds = format!("port = {broker_port_hint}\nusername = \"{node}\"\npassword = \"{node}-secret\"\n");
        std::fs::write(&path, toml.replace(&format!("port = {broker_port_hint}\n"), &creds)).unwrap();
        path
    };
    let a = ctl_cfg("ctl-a", &["entry-1"]);
    let b = ctl_cfg("ctl-b", &["entry-2"]);
    let mut acl = format!(
        "user lot-server\ntopic readwrite parking/{LOT}/#\nuser test-reader\ntopic write parking/{LOT}/gate/+/read\n"
    );
    for cfg in [&a, &b] {
        let out = bins::command("controller").args(["mosquitto-acl", "--config"]).arg(cfg).output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        acl.push_str(&String::from_utf8(out.stdout).unwrap());
    }
    assert!(acl.contains("user ctl-a\n") && acl.contains(&format!("topic write parking/{LOT}/gate/entry-2/event")));
    std::fs::write(dir.join("acl"), &acl).unwrap();
    let passwd = dir.join("passwd");
    for (i, (user, pass)) in [
        ("lot-server", "server-secret"),
        ("ctl-a", "ctl-a-secret"),
        ("ctl-b", "ctl-b-secret"),
        ("test-reader", "reader-secret"),
    ]
    .iter()
    .enumerate()
    {
        let mut cmd = Command::new("mosquitto_passwd");
        if i == 0 {
            cmd.arg("-c");
        }
        let status = cmd.arg("-b").arg(&passwd).args([user, pass]).status().expect("mosquitto_passwd");
        assert!(status.success());
    }
    let broker = Broker::start_with(&format!(
        "allow_anonymous false\npassword_file {}\nacl_file {}\n",
        passwd.display(),
        dir.join("acl").display()
    ))
    .expect("start mosquitto");
    // The controller configs were written before the broker's port was known.
    for cfg in [&a, &b] {
        let text = std::fs::read_to_string(cfg)
            .unwrap()
            .replace(&format!("port = {broker_port_hint}\n"), &format!("port = {}\n", broker.port));
        std::fs::write(cfg, text).unwrap();
    }

    // Anonymous, and a wrong password: refused.
    let (_c, mut ev) = connect(broker.port, "anon", None);
    assert!(connack(&mut ev).await.is_err(), "anonymous refused");
    let (_c, mut ev) = connect(broker.port, "guess", Some(("ctl-a", "guess")));
    assert!(connack(&mut ev).await.is_err(), "a wrong password refused");

    // The lot server, as its own broker user.
    let http_port = free_port();
    let server_cfg = dir.join("lot-server.toml");
    let creds = "username = \"lot-server\"\npassword = \"server-secret\"\n";
    let server_toml = bins::server_toml(&lot, broker.port, http_port, &dir, "");
    let server_toml =
        server_toml.replace(&format!("port = {}\n", broker.port), &format!("port = {}\n{creds}", broker.port));
    std::fs::write(&server_cfg, server_toml).unwrap();
    let token = bins::token(&server_cfg, "operator").unwrap();
    let mut server = bins::start_server(&server_cfg, &dir.join("lot-server.log"), http_port).await.unwrap();
    let version = api(http_port, "GET", "/api/v1/lists", &token, None).await["version"].as_u64().unwrap();

    // Controller A runs under its ACL: it takes the lists, and a read at
    // its gate becomes an event the server stores.
    let mut ctl = bins::start_logged("controller", &a, &dir.join("ctl-a.log")).unwrap();
    assert!(bins::wait_for_lists(metrics_port, version).await, "ctl-a took the lists v{version} under its ACL");
    let (reader, mut reader_loop) = connect(broker.port, "test-reader", Some(("test-reader", "reader-secret")));
    // The read is queued in the client and goes out once it is connected.
    tokio::spawn(async move { while reader_loop.poll().await.is_ok() {} });
    reader
        .publish(
            format!("parking/{LOT}/gate/entry-1/read"),
            QoS::AtLeastOnce,
            false,
            tag_read("entry-1", 5, 3).unwrap(),
        )
        .await
        .unwrap();
    let mut events = json!([]);
    for _ in 0..100 {
        events = api(http_port, "GET", "/api/v1/events", &token, None).await;
        if events.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let gates: Vec<&str> = events.as_array().unwrap().iter().filter_map(|e| e["gate"].as_str()).collect();
    assert!(gates.contains(&"entry-1"), "{events}");

    // An impostor with ctl-a's credentials posts an event as entry-2
    // (ctl-b's gate): the broker drops it; the server never sees it.
    let (impostor, mut imp_loop) = connect(broker.port, "ctl-a-impostor", Some(("ctl-a", "ctl-a-secret")));
    assert!(connack(&mut imp_loop).await.is_ok());
    tokio::spawn(async move { while imp_loop.poll().await.is_ok() {} });
    let forged = json!({
        "v": 1, "event_id": "00000000-0000-4000-8000-00000000f0f0", "lot": LOT, "gate": "entry-2", "seq": 1,
        "at": "2026-11-24T10:00:00+07:00", "list_version": 1, "type": "manual_open",
        "operator": "nobody", "reason": "other", "note": "let me in",
    });
    impostor
        .publish(format!("parking/{LOT}/gate/entry-2/event"), QoS::AtLeastOnce, false, forged.to_string())
        .await
        .unwrap();
    // The control: the same event for ctl-a's own gate is accepted, so
    // the payload is one the server takes.
    let mut own = forged.clone();
    own["gate"] = json!("entry-1");
    own["event_id"] = json!("00000000-0000-4000-8000-00000000f0f1");
    impostor
        .publish(format!("parking/{LOT}/gate/entry-1/event"), QoS::AtLeastOnce, false, own.to_string())
        .await
        .unwrap();
    let mut events = json!([]);
    for _ in 0..100 {
        events = api(http_port, "GET", "/api/v1/events?kind=manual_open", &token, None).await;
        if events.as_array().is_some_and(|a| !a.is_empty()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let manual: Vec<&str> = events.as_array().unwrap().iter().filter_map(|e| e["gate"].as_str()).collect();
    assert_eq!(manual, ["entry-1"], "only the event on ctl-a's own gate got through: {events}");
    let all = api(http_port, "GET", "/api/v1/events", &token, None).await;
    assert!(
        all.as_array().unwrap().iter().all(|e| e["gate"] != json!("entry-2")),
        "a forged event for another controller's gate got through: {all}"
    );
    ctl.kill();
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

/// The broker users `lot-server node export --mosquitto` writes work in a
/// real Mosquitto: each node's secret against its `$6$` hash, and each
/// node's grant as its ACL block.
#[tokio::test]
#[ignore = "needs Mosquitto (PARKING_TEST_MOSQUITTO); .ci/run runs it"]
async fn the_exported_users_work_in_mosquitto() {
    let dir = bins::fresh_dir("export").unwrap();
    let cfg = dir.join("lot-server.toml");
    std::fs::write(&cfg, bins::server_toml(&bins::lot_toml(LOT), 1883, free_port(), &dir, "")).unwrap();
    let add = |node: &str, kind: &str, gates: &[&str]| {
        let path = parking_tests::embedded::add_node(&cfg, node, kind, gates, None).unwrap();
        std::fs::read_to_string(path).unwrap()
    };
    let (srv, ctl_a, _ctl_b) =
        (add("srv", "server", &[]), add("ctl-a", "controller", &["entry-1"]), add("ctl-b", "controller", &["entry-2"]));
    let out = bins::command("lot-server")
        .args(["node", "export", "--mosquitto"])
        .arg(dir.join("mosquitto"))
        .arg("--config")
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let passwd = std::fs::read_to_string(dir.join("mosquitto/passwd")).unwrap();
    assert!(passwd.lines().all(|l| l.contains(":$6$")) && !passwd.contains(&ctl_a), "{passwd}");
    let broker = Broker::start_with(&format!(
        "allow_anonymous false\npassword_file {}\nacl_file {}\n",
        dir.join("mosquitto/passwd").display(),
        dir.join("mosquitto/acl").display()
    ))
    .expect("start mosquitto");

    let (_c, mut ev) = connect(broker.port, "ctl-a-wrong", Some(("ctl-a", "not-its-secret")));
    assert!(connack(&mut ev).await.is_err(), "a wrong secret accepted");
    let (_c, mut ev) = connect(broker.port, "ctl-b-with-a", Some(("ctl-b", &ctl_a)));
    assert!(connack(&mut ev).await.is_err(), "one node's secret accepted for another");
    let (watch, mut watch_ev) = connect(broker.port, "srv", Some(("srv", &srv)));
    connack(&mut watch_ev).await.expect("the server node's secret works");
    watch.subscribe(format!("parking/{LOT}/gate/+/event"), QoS::AtLeastOnce).await.unwrap();
    let (a, mut a_ev) = connect(broker.port, "ctl-a", Some(("ctl-a", &ctl_a)));
    connack(&mut a_ev).await.expect("a controller's secret works");
    tokio::spawn(async move { while a_ev.poll().await.is_ok() {} });
    // Wait for the subscription before publishing.
    loop {
        if let Event::Incoming(Packet::SubAck(_)) = watch_ev.poll().await.unwrap() {
            break;
        }
    }
    a.publish(format!("parking/{LOT}/gate/entry-2/event"), QoS::AtLeastOnce, false, "posing as b").await.unwrap();
    a.publish(format!("parking/{LOT}/gate/entry-1/event"), QoS::AtLeastOnce, false, "its own").await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Event::Incoming(Packet::Publish(p)) = watch_ev.poll().await.unwrap() {
                return String::from_utf8_lossy(&p.payload).into_owned();
            }
        }
    })
    .await
    .expect("the controller's own event arrives");
    assert_eq!(got, "its own", "the event for another controller's gate got through");
}
