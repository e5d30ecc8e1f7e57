//! The embedded broker of a real `lot-server run` refuses what it must:
//! anonymous clients, wrong secrets, a controller publishing for another
//! controller's gate (an event, a barrier command), a reader bridge
//! commanding a barrier, anyone subscribing to `#`. And a connection storm
//! of 2,000 clients loses nothing any of them was told was delivered.
//! The users are `[[nodes]]` entries, their secrets written by the server
//! on its first start.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use lot_server::bench::broker::{Target, storm};
use parking_tests::bins;
use parking_tests::mosquitto::free_port;
use rumqttc::{AsyncClient, ConnectReturnCode, ConnectionError, Event, EventLoop, MqttOptions, Packet, QoS};

const LOT: &str = "closed-lot";

fn connect(port: u16, id: &str, login: Option<(&str, &str)>) -> (AsyncClient, EventLoop) {
    let mut o = MqttOptions::new(id, "127.0.0.1", port);
    if let Some((u, p)) = login {
        o.set_credentials(u, p);
    }
    parking_runtime::mqtt::new_client(o, 64)
}

/// Polls until the broker answers the connection: Ok, or its refusal.
async fn connack(ev: &mut EventLoop) -> Result<(), ConnectReturnCode> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ev.poll()).await.expect("the broker answers") {
            Ok(Event::Incoming(Packet::ConnAck(_))) => return Ok(()),
            Err(ConnectionError::ConnectionRefused(code)) => return Err(code),
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

/// The return codes of the next SUBACK.
async fn suback(ev: &mut EventLoop) -> Vec<rumqttc::SubscribeReasonCode> {
    loop {
        if let Event::Incoming(Packet::SubAck(a)) = ev.poll().await.unwrap() {
            return a.return_codes;
        }
    }
}

/// Keeps a client's connection served in the background.
fn pump(mut ev: EventLoop) {
    tokio::spawn(async move { while ev.poll().await.is_ok() {} });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_embedded_broker_refuses_what_it_must() {
    let dir = std::env::temp_dir().join(format!("parking-broker-refuses-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (mqtt_port, http_port) = (free_port(), free_port());
    let secret_file = |node: &str| dir.join("secrets").join(format!("{node}.secret"));
    let node = |id: &str, kind: &str, gates: &str| {
        format!(
            "[[nodes]]\nid = \"{id}\"\nkind = \"{kind}\"\ngates = [{gates}]\nsecret_file = \"{}\"\n",
            secret_file(id).display()
        )
    };
    let nodes = [
        node("ctl-a", "controller", "\"entry-a\""),
        node("ctl-b", "controller", "\"entry-b\""),
        node("reader-a", "reader", "\"entry-a\""),
        node("storm", "reader", "\"storm\""),
    ]
    .concat();
    let cfg = dir.join("lot-server.toml");
    std::fs::write(
        &cfg,
        parking_tests::embedded::embedded_server_toml(&bins::lot_toml(LOT), mqtt_port, http_port, &dir, &nodes),
    )
    .unwrap();
    let _server = bins::start_server(&cfg, &dir.join("lot-server.log"), http_port).await.unwrap();
    let secret = |node: &str| std::fs::read_to_string(secret_file(node)).unwrap().trim().to_owned();
    let (ctl_a, reader_a) = (secret("ctl-a"), secret("reader-a"));
    assert_eq!(ctl_a.len(), 64, "a 64-digit secret");
    let stored = std::fs::read(dir.join("lot.sqlite")).unwrap();
    assert!(!stored.windows(ctl_a.len()).any(|w| w == ctl_a.as_bytes()), "the secret itself is not stored");

    // Anonymous and wrong secrets.
    let (_c, mut ev) = connect(mqtt_port, "anonymous", None);
    assert_eq!(connack(&mut ev).await, Err(ConnectReturnCode::NotAuthorized));
    let (_c, mut ev) = connect(mqtt_port, "guesser", Some(("ctl-a", "0123456789")));
    assert_eq!(connack(&mut ev).await, Err(ConnectReturnCode::BadUserNamePassword));
    let (_c, mut ev) = connect(mqtt_port, "ctl-b-as-a", Some(("ctl-b", &ctl_a)));
    assert_eq!(
        connack(&mut ev).await,
        Err(ConnectReturnCode::BadUserNamePassword),
        "one node's secret is not another's"
    );

    // The lot server's side watches every gate topic.
    let (watch, mut watch_ev) =
        connect(mqtt_port, "watcher", Some(("lot-server", parking_tests::embedded::HARNESS_PASSWORD)));
    connack(&mut watch_ev).await.unwrap();
    watch.subscribe(format!("parking/{LOT}/gate/#"), QoS::AtLeastOnce).await.unwrap();
    assert!(matches!(suback(&mut watch_ev).await[..], [rumqttc::SubscribeReasonCode::Success(_)]));

    // Controller A poses as B (an event, a barrier command) and a reader
    // commands a barrier; then each publishes what it may, as a marker:
    // the markers arrive, what came before them on the same connection never.
    let (a, mut a_ev) = connect(mqtt_port, "ctl-a-in", Some(("ctl-a", &ctl_a)));
    connack(&mut a_ev).await.unwrap();
    a.subscribe("#", QoS::AtLeastOnce).await.unwrap();
    assert_eq!(suback(&mut a_ev).await, [rumqttc::SubscribeReasonCode::Failure], "a controller subscribed to #");
    let (r, mut r_ev) = connect(mqtt_port, "reader-a", Some(("reader-a", &reader_a)));
    connack(&mut r_ev).await.unwrap();
    r.subscribe("#", QoS::AtLeastOnce).await.unwrap();
    assert_eq!(suback(&mut r_ev).await, [rumqttc::SubscribeReasonCode::Failure], "a reader subscribed to #");
    let topic = |gate: &str, kind: &str| format!("parking/{LOT}/gate/{gate}/{kind}");
    a.publish(topic("entry-b", "event"), QoS::AtLeastOnce, false, "forged event").await.unwrap();
    a.publish(topic("entry-b", "barrier"), QoS::AtLeastOnce, false, "forged barrier").await.unwrap();
    a.publish(topic("entry-a", "status"), QoS::AtLeastOnce, false, "marker a").await.unwrap();
    r.publish(topic("entry-a", "barrier"), QoS::AtLeastOnce, false, "reader's barrier").await.unwrap();
    r.publish(topic("entry-a", "cmd"), QoS::AtLeastOnce, false, "reader's command").await.unwrap();
    r.publish(topic("entry-a", "read"), QoS::AtLeastOnce, false, "marker r").await.unwrap();
    pump(a_ev);
    pump(r_ev);
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(seen.contains(&"marker a".to_owned()) && seen.contains(&"marker r".to_owned())) {
        match tokio::time::timeout_at(deadline, watch_ev.poll()).await {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => seen.push(String::from_utf8_lossy(&p.payload).into_owned()),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("{e}"),
            Err(_) => panic!("the markers never arrived: {seen:?}"),
        }
    }
    assert_eq!(seen.len(), 2, "a refused publish got through: {seen:?}");
    pump(watch_ev);

    // 2,000 clients at once: every acknowledged publish arrives.
    let target = Target { host: "127.0.0.1".into(), port: mqtt_port, login: Some(("storm".into(), secret("storm"))) };
    let counter = Target {
        login: Some(("lot-server".into(), parking_tests::embedded::HARNESS_PASSWORD.into())),
        ..target.clone()
    };
    let s = storm(&target, &counter, &topic("storm", "read"), 2_000).await.unwrap();
    eprintln!("storm: {s:?}");
    assert_eq!(s.lost, 0, "acknowledged and lost: {s:?}");
    assert!(s.acknowledged > 0, "{s:?}");
    assert_eq!(s.acknowledged + s.refused, 2_000);
}
