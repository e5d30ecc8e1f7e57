//! MQTT over TLS against a real Mosquitto listening with a certificate the
//! test makes (openssl): every process's clients come from
//! `parking_runtime::mqtt::mqtt_options`, which takes `[broker.tls]`.
//! A client that trusts the broker's CA connects and its messages go
//! through; one that trusts another CA, or speaks plain TCP to the TLS
//! port, never connects; a missing CA file is a clear error; and a
//! controller process configured with `[broker.tls]` comes online through
//! the TLS listener.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test: a failure is the assertion

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use parking_core::settings::{BrokerSettings, TlsSettings};
use parking_runtime::mqtt::{mqtt_options, new_client};
use parking_tests::bins;
use parking_tests::mosquitto::{Broker, free_port};
use rumqttc::{Event, Packet, QoS};

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().expect("run openssl");
    assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// A CA, and a certificate it signed for 127.0.0.1; returns the CA's PEM.
fn make_ca(dir: &Path, name: &str) -> PathBuf {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            &format!("/CN={name}"),
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.pem"),
        ],
    );
    dir.join(format!("{name}.pem"))
}

fn make_server_cert(dir: &Path, ca: &str) {
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            "server.key",
            "-out",
            "server.csr",
        ],
    );
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            &format!("{ca}.pem"),
            "-CAkey",
            &format!("{ca}.key"),
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "san.ext",
            "-out",
            "server.pem",
        ],
    );
}

fn settings(port: u16, tls: Option<TlsSettings>) -> BrokerSettings {
    BrokerSettings {
        embedded: false,
        host: "127.0.0.1".into(),
        port,
        username: None,
        password: None,
        password_file: None,
        keep_alive_secs: 15,
        tls,
    }
}

/// Whether a client with these settings is accepted within 5 s; the last
/// error if not.
async fn connects(settings: &BrokerSettings, id: &str) -> Result<(), String> {
    let (_client, mut events) = new_client(mqtt_options(settings, id, None).unwrap(), 16);
    let mut last = String::from("no answer");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while tokio::time::Instant::now() < deadline {
        match tokio::time::timeout_at(deadline, events.poll()).await {
            Ok(Ok(Event::Incoming(Packet::ConnAck(_)))) => return Ok(()),
            Ok(Ok(_)) => {}
            Ok(Err(e)) => {
                last = e.to_string();
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(_) => break,
        }
    }
    Err(last)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto and openssl; .ci/run runs it"]
async fn only_clients_that_trust_the_brokers_ca_reach_it_over_tls() {
    let dir = std::env::temp_dir().join(format!("parking-tls-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let ca = make_ca(&dir, "lot-ca");
    let stranger = make_ca(&dir, "other-ca");
    make_server_cert(&dir, "lot-ca");
    let broker = Broker::start_with(&format!(
        "allow_anonymous true\ncafile {}\ncertfile {}\nkeyfile {}\n",
        ca.display(),
        dir.join("server.pem").display(),
        dir.join("server.key").display()
    ))
    .expect("start mosquitto with TLS");
    let trusted = settings(broker.port, Some(TlsSettings { ca_file: ca.clone(), client_cert: None, client_key: None }));

    // Trusting the lot's CA: a message goes through, encrypted.
    let (sub, mut sub_events) = new_client(mqtt_options(&trusted, "tls-sub", None).unwrap(), 16);
    sub.subscribe("parking/tls-lot/#", QoS::AtLeastOnce).await.unwrap();
    let (publisher, mut pub_events) = new_client(mqtt_options(&trusted, "tls-pub", None).unwrap(), 16);
    tokio::spawn(async move { while pub_events.poll().await.is_ok() {} });
    let mut published = false;
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match sub_events.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) if !published => {
                    publisher.publish("parking/tls-lot/hello", QoS::AtLeastOnce, false, "xin chào").await.unwrap();
                    published = true;
                }
                Ok(Event::Incoming(Packet::Publish(p))) => return p.payload,
                Ok(_) => {}
                Err(e) => panic!("the trusting subscriber lost its TLS link: {e}"),
            }
        }
    })
    .await
    .expect("the message crossed the TLS broker");
    assert_eq!(&got[..], "xin chào".as_bytes());

    // Trusting another CA: the handshake fails, nothing connects.
    let wrong = settings(broker.port, Some(TlsSettings { ca_file: stranger, client_cert: None, client_key: None }));
    let err = connects(&wrong, "tls-wrong-ca").await.expect_err("a client trusting another CA connected");
    eprintln!("trusting another CA: {err}");
    // Plain TCP to the TLS listener: no MQTT session either.
    let plain = settings(broker.port, None);
    assert!(connects(&plain, "tls-plain").await.is_err(), "a plain-TCP client connected to the TLS port");
    // A CA file that is not there is named at start-up.
    let missing =
        settings(broker.port, Some(TlsSettings { ca_file: dir.join("nope.pem"), client_cert: None, client_key: None }));
    let e = mqtt_options(&missing, "tls-missing", None).expect_err("a missing CA file accepted");
    assert!(e.to_string().contains("nope.pem"), "{e}");
    // Half a client identity is a configuration error too.
    let half = settings(
        broker.port,
        Some(TlsSettings { ca_file: ca.clone(), client_cert: Some(ca.clone()), client_key: None }),
    );
    assert!(mqtt_options(&half, "tls-half", None).is_err(), "a client certificate without its key accepted");

    // A controller process on `[broker.tls]` comes online through it.
    let lot = bins::lot_toml("tls-lot");
    let cdir = dir.join("controller");
    std::fs::create_dir_all(&cdir).unwrap();
    let toml = cdir.join("controller.toml");
    let text = bins::controller_toml_with(
        &lot,
        broker.port,
        "ctl-tls",
        &cdir.join("journal.sqlite"),
        free_port(),
        "",
        bins::BANK_AND_FOUR_LANES,
    );
    std::fs::write(&toml, format!("{text}[broker.tls]\nca_file = \"{}\"\n", ca.display())).unwrap();
    let (watch, mut watch_events) = new_client(mqtt_options(&trusted, "tls-watch", None).unwrap(), 16);
    watch.subscribe("parking/tls-lot/node/ctl-tls/status", QoS::AtLeastOnce).await.unwrap();
    let _controller = bins::start_logged("controller", &toml, &cdir.join("controller.log")).unwrap();
    let online = tokio::time::timeout(Duration::from_secs(60), async {
        loop {
            if let Ok(Event::Incoming(Packet::Publish(p))) = watch_events.poll().await {
                let status: serde_json::Value = serde_json::from_slice(&p.payload).unwrap();
                if status["online"] == true {
                    return status;
                }
            }
        }
    })
    .await
    .unwrap_or_else(|_| {
        let log = std::fs::read_to_string(cdir.join("controller.log")).unwrap_or_default();
        panic!("the controller never came online over TLS:\n{log}")
    });
    assert_eq!(online["node"], "ctl-tls");
    let _ = std::fs::remove_dir_all(&dir);
}
