//! The reader bridge, as its own process, survives a broker killed with
//! SIGKILL and restarted: reads made while the broker is gone are buffered
//! and delivered after it returns; none is lost.
//!
//! A simulated R2000 reader plays on one end of a real pty; the bridge
//! opens the other end by its path, as it would /dev/ttyUSB0.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::collections::HashSet;
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parking_core::wire::{self, NodeStatus, Read, ReadMsg};
use parking_tests::bins;
use parking_tests::devices::{Field, epc_text, play_r2000};
use parking_tests::mosquitto::Broker;
use parking_tests::wait;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;
use tokio_serial::{SerialPort, SerialStream};

/// A persistent-session subscriber that reports every read's EPC and
/// every status it sees, re-subscribing after each reconnect.
fn subscribe(port: u16, lot: &str) -> (mpsc::UnboundedReceiver<String>, mpsc::UnboundedReceiver<NodeStatus>) {
    let mut opts = MqttOptions::new("test-subscriber", "127.0.0.1", port);
    opts.set_clean_session(false);
    opts.set_keep_alive(Duration::from_secs(5));
    let (client, mut eventloop) = AsyncClient::new(opts, 64);
    let (reads_tx, reads_rx) = mpsc::unbounded_channel();
    let (status_tx, status_rx) = mpsc::unbounded_channel();
    let lot = lot.to_owned();
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    client.subscribe(format!("parking/{lot}/gate/+/read"), QoS::AtLeastOnce).await.unwrap();
                    client.subscribe(format!("parking/{lot}/node/+/status"), QoS::AtLeastOnce).await.unwrap();
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if p.topic.ends_with("/read") {
                        let msg: ReadMsg = wire::decode(&p.payload).unwrap();
                        if let Read::Tag(t) = msg.read {
                            let _ = reads_tx.send(t.epc.to_string());
                        }
                    } else {
                        let _ = status_tx.send(wire::decode(&p.payload).unwrap());
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    (reads_rx, status_rx)
}

async fn wait_for_reads(rx: &mut mpsc::UnboundedReceiver<String>, want: &[String], seen: &mut HashSet<String>) {
    let all = async {
        while !want.iter().all(|w| seen.contains(w)) {
            seen.insert(rx.recv().await.expect("subscriber alive"));
        }
    };
    if tokio::time::timeout(Duration::from_secs(30), all).await.is_err() {
        panic!("missing reads: want {want:?}, saw {seen:?}");
    }
}

struct Bridge(Child);

impl Drop for Bridge {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn bridge_survives_a_broker_restart_without_losing_a_read() {
    let mut broker = Broker::start().expect("start mosquitto");
    let (device, host) = SerialStream::pair().expect("pty pair");
    let tty = host.name().expect("pty slave path");
    // Keep this end open for the whole test: a pty master reads EIO while
    // no slave is open. The bridge opens the slave again by its path.
    let _host = host;
    let field: Field = Arc::new(Mutex::new(vec![1]));
    tokio::spawn(play_r2000(device, Arc::clone(&field)));

    let lot = "test-lot";
    let (mut reads, mut statuses) = subscribe(broker.port, lot);
    let dir = std::env::temp_dir().join(format!("parking-bridge-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("bridge.toml");
    std::fs::write(
        &config,
        format!(
            "[lot]\nid = \"{lot}\"\nname = \"t\"\nzone = \"z\"\n\
             [broker]\nembedded = false\nhost = \"127.0.0.1\"\nport = {}\n\
             [reader]\nnode = \"reader-t\"\ngate = \"entry-1\"\nprotocol = \"r2000\"\nport = \"{tty}\"\n\
             dedup_window_ms = 300\n",
            broker.port
        ),
    )
    .unwrap();
    let mut bridge = Bridge(
        bins::command("tag-reader")
            .args(["run", "--config"])
            .arg(&config)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("bridge.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    eprintln!("bridge log: {}", dir.join("bridge.log").display());

    let mut seen = HashSet::new();
    wait_for_reads(&mut reads, &[epc_text(1)], &mut seen).await;
    wait_for_status(&mut statuses, true).await;
    // Once the broker has saved the subscriber's persistent session, it crashes.
    assert!(broker.saved().await, "the broker saved its state");
    broker.kill();

    // While the broker is gone, five vehicles come and go.
    for n in 10..15u64 {
        // Each stands in the reader's field a moment, then drives off.
        *field.lock().unwrap() = vec![n];
        wait::hold(Duration::from_millis(400)).await;
        field.lock().unwrap().clear();
        wait::hold(Duration::from_millis(400)).await;
    }
    broker.restart().expect("restart mosquitto");
    let during: Vec<String> = (10..15).map(epc_text).collect();
    wait_for_reads(&mut reads, &during, &mut seen).await;
    for w in &during {
        assert!(seen.contains(w), "{w} lost");
    }

    // A bridge that dies (power cut) leaves its last will: offline.
    let _ = bridge.0.kill();
    let _ = bridge.0.wait();
    wait_for_status(&mut statuses, false).await;
}

async fn wait_for_status(rx: &mut mpsc::UnboundedReceiver<NodeStatus>, online: bool) {
    let found = async {
        loop {
            let s = rx.recv().await.expect("subscriber alive");
            if s.online == online && s.node.as_str() == "reader-t" {
                return;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(30), found).await.unwrap_or_else(|_| panic!("no status online={online}"));
}
