//! The broker over real sockets, with rumqttc (the system's own client):
//! credentials, ACLs, persistent sessions, last wills, shutdown.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_broker::{Authenticator, Broker, ConnectReturnCode, Grant, Login};
use rumqttc::{AsyncClient, ConnectionError, Event, EventLoop, LastWill, MqttOptions, Packet, QoS};

struct Users(HashMap<String, (String, Arc<Grant>)>);

impl Authenticator for Users {
    fn authenticate(&self, _client: &str, credentials: Option<(&str, &str)>) -> Result<Login, ConnectReturnCode> {
        let (user, pass) = credentials.ok_or(ConnectReturnCode::NotAuthorized)?;
        match self.0.get(user) {
            Some((p, grant)) if p == pass => Ok(Login { user: user.into(), grant: grant.clone() }),
            _ => Err(ConnectReturnCode::BadUserNamePassword),
        }
    }
}

fn grant(read: &[&str], write: &[&str]) -> Arc<Grant> {
    Arc::new(Grant {
        read: read.iter().map(|s| (*s).to_owned()).collect(),
        write: write.iter().map(|s| (*s).to_owned()).collect(),
    })
}

async fn broker() -> Broker {
    let users = Users(HashMap::from([
        ("server".into(), ("s3cret-server".into(), grant(&["lot/#"], &["lot/#"]))),
        ("gate-a".into(), ("s3cret-a".into(), grant(&["lot/a/cmd"], &["lot/a/event", "lot/node/gate-a"]))),
    ]));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    Broker::start(listener, Arc::new(users)).unwrap()
}

fn client(b: &Broker, id: &str, login: Option<(&str, &str)>, clean: bool) -> (AsyncClient, EventLoop) {
    let mut o = MqttOptions::new(id, "127.0.0.1", b.local_addr().port());
    o.set_clean_session(clean);
    o.set_keep_alive(Duration::from_secs(5));
    if let Some((u, p)) = login {
        o.set_credentials(u, p);
    }
    AsyncClient::new(o, 64)
}

/// Polls until the broker answers the connection.
async fn connack(ev: &mut EventLoop) -> Result<bool, ConnectReturnCode> {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), ev.poll()).await.expect("the broker answers") {
            Ok(Event::Incoming(Packet::ConnAck(a))) => return Ok(a.session_present),
            Err(ConnectionError::ConnectionRefused(code)) => return Err(code),
            Ok(_) => {}
            Err(e) => panic!("{e}"),
        }
    }
}

/// The next publish's (topic, payload), or None after `wait` of quiet.
async fn next_publish(ev: &mut EventLoop, wait: Duration) -> Option<(String, String)> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, ev.poll()).await {
            Err(_) => return None,
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                return Some((p.topic, String::from_utf8_lossy(&p.payload).into_owned()));
            }
            Ok(Ok(_)) => {}
            Ok(Err(e)) => panic!("{e}"),
        }
    }
}

/// Polls until the SUBACK; its codes.
async fn suback(ev: &mut EventLoop) -> Vec<rumqttc::SubscribeReasonCode> {
    loop {
        if let Event::Incoming(Packet::SubAck(a)) = ev.poll().await.unwrap() {
            return a.return_codes;
        }
    }
}

#[tokio::test]
async fn no_credentials_and_wrong_ones_are_refused() {
    let b = broker().await;
    let (_c, mut ev) = client(&b, "anon", None, true);
    assert_eq!(connack(&mut ev).await, Err(ConnectReturnCode::NotAuthorized));
    let (_c, mut ev) = client(&b, "guess", Some(("server", "password")), true);
    assert_eq!(connack(&mut ev).await, Err(ConnectReturnCode::BadUserNamePassword));
    let (_c, mut ev) = client(&b, "right", Some(("server", "s3cret-server")), true);
    assert_eq!(connack(&mut ev).await, Ok(false));
    b.shutdown().await;
}

#[tokio::test]
async fn a_publish_outside_the_grant_never_arrives_and_a_wide_subscription_is_refused() {
    let b = broker().await;
    let (srv, mut srv_ev) = client(&b, "srv", Some(("server", "s3cret-server")), true);
    connack(&mut srv_ev).await.unwrap();
    srv.subscribe("lot/#", QoS::AtLeastOnce).await.unwrap();
    suback(&mut srv_ev).await;
    let (gate, mut gate_ev) = client(&b, "gate-a", Some(("gate-a", "s3cret-a")), true);
    connack(&mut gate_ev).await.unwrap();
    gate.subscribe("#", QoS::AtLeastOnce).await.unwrap();
    assert_eq!(suback(&mut gate_ev).await, [rumqttc::SubscribeReasonCode::Failure]);
    gate.publish("lot/b/event", QoS::AtLeastOnce, false, "posing as b").await.unwrap();
    gate.publish("lot/a/cmd", QoS::AtLeastOnce, false, "a command").await.unwrap();
    gate.publish("lot/a/event", QoS::AtLeastOnce, false, "mine").await.unwrap();
    let pump = tokio::spawn(async move { while gate_ev.poll().await.is_ok() {} });
    let got = next_publish(&mut srv_ev, Duration::from_secs(5)).await;
    assert_eq!(
        got,
        Some(("lot/a/event".into(), "mine".into())),
        "the refused ones came first or the allowed one never"
    );
    assert_eq!(next_publish(&mut srv_ev, Duration::from_millis(300)).await, None);
    pump.abort();
    b.shutdown().await;
}

#[tokio::test]
async fn a_persistent_session_gets_what_came_while_it_was_away() {
    let b = broker().await;
    let (gate, mut ev) = client(&b, "gate-a", Some(("gate-a", "s3cret-a")), false);
    connack(&mut ev).await.unwrap();
    gate.subscribe("lot/a/cmd", QoS::AtLeastOnce).await.unwrap();
    suback(&mut ev).await;
    gate.disconnect().await.unwrap();
    while ev.poll().await.is_ok() {}
    let (srv, mut srv_ev) = client(&b, "srv", Some(("server", "s3cret-server")), true);
    connack(&mut srv_ev).await.unwrap();
    srv.publish("lot/a/cmd", QoS::AtLeastOnce, false, "open").await.unwrap();
    // Wait for the broker's ack: the message is routed before the gate returns.
    loop {
        if let Event::Incoming(Packet::PubAck(_)) = srv_ev.poll().await.unwrap() {
            break;
        }
    }
    let (_gate, mut ev) = client(&b, "gate-a", Some(("gate-a", "s3cret-a")), false);
    assert_eq!(connack(&mut ev).await, Ok(true), "the session was kept");
    assert_eq!(next_publish(&mut ev, Duration::from_secs(5)).await, Some(("lot/a/cmd".into(), "open".into())));
    b.shutdown().await;
}

#[tokio::test]
async fn a_lost_client_s_will_is_published_and_retained_and_a_forbidden_will_is_refused() {
    let b = broker().await;
    let mut o = MqttOptions::new("gate-bad-will", "127.0.0.1", b.local_addr().port());
    o.set_credentials("gate-a", "s3cret-a");
    o.set_last_will(LastWill::new("lot/b/event", "x", QoS::AtLeastOnce, false));
    let (_bad, mut bad_ev) = AsyncClient::new(o, 8);
    assert_eq!(connack(&mut bad_ev).await, Err(ConnectReturnCode::NotAuthorized));
    let mut o = MqttOptions::new("gate-w", "127.0.0.1", b.local_addr().port());
    o.set_credentials("gate-a", "s3cret-a");
    o.set_last_will(LastWill::new("lot/node/gate-a", "offline", QoS::AtLeastOnce, true));
    let (g, mut ev) = AsyncClient::new(o, 8);
    connack(&mut ev).await.unwrap();
    drop(g);
    drop(ev); // the socket closes without DISCONNECT
    let (srv, mut srv_ev) = client(&b, "srv", Some(("server", "s3cret-server")), true);
    connack(&mut srv_ev).await.unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut got = None;
    while got.is_none() && tokio::time::Instant::now() < deadline {
        srv.subscribe("lot/node/+", QoS::AtLeastOnce).await.unwrap();
        got = next_publish(&mut srv_ev, Duration::from_millis(200)).await;
    }
    assert_eq!(got, Some(("lot/node/gate-a".into(), "offline".into())));
    b.shutdown().await;
}

#[tokio::test]
async fn shutdown_ends_every_connection() {
    let b = broker().await;
    let (_c, mut ev) = client(&b, "srv", Some(("server", "s3cret-server")), true);
    connack(&mut ev).await.unwrap();
    tokio::time::timeout(Duration::from_secs(5), b.shutdown()).await.expect("the broker stops");
    let end = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            if ev.poll().await.is_err() {
                return;
            }
        }
    })
    .await;
    assert!(end.is_ok(), "the client was not disconnected");
}

#[tokio::test]
async fn an_empty_client_id_with_a_clean_session_gets_one_and_without_is_refused() {
    let b = broker().await;
    let (_c, mut ev) = client(&b, "", Some(("server", "s3cret-server")), true);
    assert_eq!(connack(&mut ev).await, Ok(false));
    // rumqttc will not send an empty id with a persistent session: by hand.
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let mut s = tokio::net::TcpStream::connect(b.local_addr()).await.unwrap();
    let mut body = vec![0, 4, b'M', b'Q', b'T', b'T', 4, 0xC0, 0, 60, 0, 0];
    for field in ["server", "s3cret-server"] {
        body.extend([0, u8::try_from(field.len()).unwrap()]);
        body.extend(field.as_bytes());
    }
    let mut packet = vec![0x10, u8::try_from(body.len()).unwrap()];
    packet.extend(body);
    s.write_all(&packet).await.unwrap();
    let mut connack = [0u8; 4];
    s.read_exact(&mut connack).await.unwrap();
    assert_eq!(connack, [0x20, 2, 0, ConnectReturnCode::BadClientId as u8]);
    b.shutdown().await;
}
