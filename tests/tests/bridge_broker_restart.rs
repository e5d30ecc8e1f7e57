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

use bytes::BytesMut;
use parking_core::wire::{self, NodeStatus, Read, ReadMsg};
use parking_tests::bins;
use parking_tests::mosquitto::Broker;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use tag_reader::codec::r2000::{self, R2000Codec, R2000Frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_serial::{SerialPort, SerialStream};
use tokio_util::codec::Decoder;

fn epc(n: u8) -> [u8; 12] {
    [0xE2, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, n]
}

fn epc_text(n: u8) -> String {
    epc(n).iter().map(|b| format!("{b:02X}")).collect()
}

fn tag_frame(e: &[u8; 12]) -> Vec<u8> {
    let mut f = vec![0xA0, 0x13, 0x01, 0x89, 0x04, 0x30, 0x00];
    f.extend_from_slice(e);
    f.push(0x40);
    f.push(r2000::checksum(&f));
    f
}

fn end_of_round() -> Vec<u8> {
    let mut f = vec![0xA0, 0x0A, 0x01, 0x89, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01];
    f.push(r2000::checksum(&f));
    f
}

/// Answers every inventory command with the tags now in the field.
async fn play_reader(mut port: SerialStream, field: Arc<Mutex<Vec<u8>>>) {
    let mut codec = R2000Codec::new(1);
    let mut buf = BytesMut::new();
    let mut chunk = [0u8; 256];
    loop {
        let n = match port.read(&mut chunk).await {
            Ok(0) => return,
            Ok(n) => n,
            // EIO while the bridge has the slave closed (between reopens).
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        buf.extend_from_slice(&chunk[..n]);
        while let Ok(Some(frame)) = codec.decode(&mut buf) {
            if let R2000Frame::Other { cmd: r2000::CMD_REALTIME_INVENTORY, .. } = frame {
                let tags: Vec<u8> = field.lock().unwrap().clone();
                let mut out = Vec::new();
                for t in tags {
                    out.extend(tag_frame(&epc(t)));
                }
                out.extend(end_of_round());
                if port.write_all(&out).await.is_err() {
                    return;
                }
            }
        }
    }
}

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
    let field = Arc::new(Mutex::new(vec![1u8]));
    tokio::spawn(play_reader(device, Arc::clone(&field)));

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
    // Let the broker save the subscriber's persistent session, then crash it.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    broker.kill();

    // While the broker is gone, five vehicles come and go.
    for n in 10..15u8 {
        *field.lock().unwrap() = vec![n];
        tokio::time::sleep(Duration::from_millis(400)).await;
        field.lock().unwrap().clear();
        tokio::time::sleep(Duration::from_millis(400)).await;
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
