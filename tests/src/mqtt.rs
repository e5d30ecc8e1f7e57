//! MQTT helpers for tests: a client that plays the lot server's side of
//! the event protocol (records every gate event and acknowledges it), and
//! a plain publisher.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parking_core::wire::{self, EventAck, GateEvent, V1};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};

/// A client connected to a test broker with TCP_NODELAY. It signs in as
/// the lot server (`embedded::HARNESS_PASSWORD`): the embedded broker takes no
/// anonymous client, and Mosquitto in the tests ignores credentials.
pub fn client(port: u16, id: &str, clean: bool) -> (AsyncClient, rumqttc::EventLoop) {
    let mut opts = MqttOptions::new(id, "127.0.0.1", port);
    opts.set_credentials("lot-server", crate::embedded::HARNESS_PASSWORD);
    opts.set_clean_session(clean);
    opts.set_keep_alive(Duration::from_secs(5));
    opts.set_max_packet_size(64 * 1024 * 1024, 64 * 1024 * 1024);
    parking_runtime::mqtt::new_client(opts, 1024)
}

/// Every gate event delivered, duplicates included, in arrival order.
#[derive(Debug, Clone, Default)]
pub struct EventSink {
    pub events: Arc<Mutex<Vec<GateEvent>>>,
    /// Acknowledge what arrives (as the lot server does after its commit).
    pub acking: Arc<AtomicBool>,
}

impl EventSink {
    /// Subscribes to every gate's events of `lot` with a persistent session.
    pub fn spawn(port: u16, lot: &str) -> EventSink {
        let sink = EventSink { acking: Arc::new(AtomicBool::new(true)), ..EventSink::default() };
        let (client, mut eventloop) = client(port, &format!("test-server-{}", std::process::id()), false);
        let lot = lot.to_owned();
        let s = sink.clone();
        tokio::spawn(async move {
            loop {
                match eventloop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = client.subscribe(format!("parking/{lot}/gate/+/event"), QoS::AtLeastOnce).await;
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let Ok(event) = wire::decode::<GateEvent>(&p.payload) else { continue };
                        if s.acking.load(Ordering::Relaxed) {
                            let ack = EventAck { v: V1, event_ids: vec![event.event_id] };
                            let topic = format!("parking/{lot}/gate/{}/ack", event.gate);
                            let _ = client.publish(topic, QoS::AtLeastOnce, false, wire::encode(&ack)).await;
                        }
                        if let Ok(mut e) = s.events.lock() {
                            e.push(event);
                        }
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                }
            }
        });
        sink
    }

    pub fn snapshot(&self) -> Vec<GateEvent> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Waits until `done` holds for the events seen, or `secs` pass.
    pub async fn wait_for(&self, secs: u64, done: impl Fn(&[GateEvent]) -> bool) -> bool {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        while tokio::time::Instant::now() < deadline {
            if done(&self.snapshot()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        done(&self.snapshot())
    }
}

/// Publishes one message (QoS 1) and waits until the broker has it.
pub async fn publish_once(port: u16, topic: &str, payload: Vec<u8>, retain: bool) {
    let (client, mut eventloop) = client(port, &format!("test-pub-{}-{}", std::process::id(), topic.len()), true);
    let _ = client.publish(topic, QoS::AtLeastOnce, retain, payload).await;
    let acked = async {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => return,
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(10), acked).await;
    let _ = client.disconnect().await;
}

/// A `ListsSnapshot` (version 1) registering tags `devices::epc(n)` of
/// `class`, each with account `acc-{n}`: the retained payload for
/// `parking/{lot}/lists`.
pub fn lists_snapshot(
    lot: &str,
    tags: impl IntoIterator<Item = u64>,
    class: parking_core::VehicleClass,
) -> Option<Vec<u8>> {
    use parking_core::wire::{ListsSnapshot, TagEntry};
    let tags = tags
        .into_iter()
        .map(|n| {
            Some(TagEntry {
                epc: parking_core::Epc::from_bytes(&crate::devices::epc(n)).ok()?,
                tid: None,
                plate: None,
                class: class.clone(),
                account: Some(format!("acc-{n}")),
                spendable: None,
            })
        })
        .collect::<Option<Vec<_>>>()?;
    let s = ListsSnapshot {
        v: V1,
        lot: lot.parse().ok()?,
        version: 1,
        issued_at: parking_core::Timestamp::UNIX_EPOCH,
        tags,
        deny: Vec::new(),
        passes: Vec::new(),
    };
    Some(wire::encode(&s))
}

/// A `ReadMsg` of `read` at `gate`, now.
pub fn read_msg(gate: &str, read: parking_core::wire::Read) -> Option<Vec<u8>> {
    let at = now()?;
    Some(wire::encode(&parking_core::wire::ReadMsg { v: V1, gate: gate.parse().ok()?, at, read }))
}

fn now() -> Option<parking_core::Timestamp> {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_millis();
    parking_core::Timestamp::from_unix_millis(i64::try_from(ms).ok()?)
}

/// An ANPR camera's read of `plate` at `gate`, now.
pub fn plate_read(gate: &str, plate: &str, confidence: f32) -> Option<Vec<u8>> {
    let read = parking_core::wire::Read::Plate { text: plate.to_owned(), plate: plate.parse().ok(), confidence };
    read_msg(gate, read)
}

/// A `ReadMsg` of a tag presence of `devices::epc(n)` at `gate`, now.
pub fn tag_read(gate: &str, n: u64, reads: u32) -> Option<Vec<u8>> {
    use parking_core::wire::{Read, ReadMsg, TagPresence};
    let at = now()?;
    let p = TagPresence {
        epc: parking_core::Epc::from_bytes(&crate::devices::epc(n)).ok()?,
        tid: None,
        antenna: 0,
        rssi: None,
        first_seen: at,
        last_seen: at,
        reads,
    };
    Some(wire::encode(&ReadMsg { v: V1, gate: gate.parse().ok()?, at, read: Read::Tag(p) }))
}

/// Subscribes to `filters` (QoS 1) and polls `eventloop` until the broker
/// has acknowledged every subscription, so what is published afterwards
/// reaches this client. Messages that arrived meanwhile (retained ones)
/// are returned, not lost.
#[allow(clippy::panic)]
pub async fn subscribed(
    client: &AsyncClient,
    eventloop: &mut rumqttc::EventLoop,
    filters: &[String],
) -> Vec<rumqttc::Publish> {
    for f in filters {
        let _ = client.subscribe(f.clone(), QoS::AtLeastOnce).await;
    }
    let mut acked = 0;
    let mut early = Vec::new();
    let wait = async {
        while acked < filters.len() {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::SubAck(_))) => acked += 1,
                Ok(Event::Incoming(Packet::Publish(p))) => early.push(p),
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    };
    if tokio::time::timeout(Duration::from_secs(10), wait).await.is_err() {
        panic!("the broker never acknowledged the subscriptions {filters:?}");
    }
    early
}
