//! Ingestion through a real broker: events published by controllers (some
//! twice, as a controller re-sends after an outage) are committed once and
//! every delivery is acknowledged on the gate's `ack` topic, after commit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::collections::HashSet;
use std::time::Duration;

use lot_server::mqtt::ingest::{self as mqtt_ingest, IngestMetrics};
use lot_server::testing::TestDb;
use parking_core::wire::{self, Credential, EventAck, GateEvent, GateEventKind, V1};
use parking_core::{Epc, EventId, Timestamp, VehicleClass};
use parking_tests::mosquitto::Broker;
use parking_tests::mqtt::client;
use rumqttc::{Event, Packet, QoS};
use sqlx::Row;
use tokio_util::sync::CancellationToken;

fn entry(n: u64) -> GateEvent {
    let mut e = [0u8; 12];
    e[0] = 0xE2;
    e[4..].copy_from_slice(&n.to_be_bytes());
    GateEvent {
        v: V1,
        event_id: EventId::from_uuid(uuid::Uuid::from_u64_pair(42, n)),
        lot: "mqtt-lot".parse().unwrap(),
        gate: format!("entry-{}", n % 2 + 1).parse().unwrap(),
        seq: n,
        at: Timestamp::from_unix_seconds(1_790_000_000 + i64::try_from(n).unwrap()).unwrap(),
        list_version: 1,
        tariff_version: None,
        kind: GateEventKind::Entry {
            credential: Credential::Tag { epc: Epc::from_bytes(&e).unwrap(), tid: None },
            class: VehicleClass::Car,
            plate: None,
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn events_are_committed_once_and_acknowledged_after_commit() {
    let broker = Broker::start().expect("start mosquitto");
    let t = TestDb::sqlite().await.unwrap();
    let settings = parking_core::config::Loader::new()
        .file("<test>", format!("embedded = false\nhost = \"127.0.0.1\"\nport = {}\n", broker.port))
        .load::<parking_core::settings::BrokerSettings>()
        .unwrap();
    let metrics = IngestMetrics::new(&prometheus::Registry::new()).unwrap();
    let stop = CancellationToken::new();
    let (out, _link) =
        lot_server::mqtt::link::spawn_publisher(&settings, "test-ingest-ack", CancellationToken::new()).unwrap();
    let after = lot_server::mqtt::commands::AfterCommit {
        out,
        lists_changed: std::sync::Arc::default(),
        clock: parking_runtime::Clock::wall(),
    };
    let ingest = tokio::spawn(mqtt_ingest::run(
        t.db.clone(),
        "mqtt-lot".parse().unwrap(),
        settings,
        "test-ingest".into(),
        None,
        metrics.clone(),
        mqtt_ingest::SettleLink {
            policy: std::sync::Arc::new(lot_server::settlement::Policy::from_tax(&Default::default()).unwrap()),
            after,
        },
        stop.clone(),
    ));

    let (acks, mut ack_loop) = client(broker.port, "test-acks", true);
    let early =
        parking_tests::mqtt::subscribed(&acks, &mut ack_loop, &["parking/mqtt-lot/gate/+/ack".to_owned()]).await;
    assert!(early.is_empty(), "no acknowledgement before any event");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(String, EventAck)>();
    tokio::spawn(async move {
        loop {
            match ack_loop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = tx.send((p.topic.clone(), wire::decode::<EventAck>(&p.payload).unwrap()));
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    let (pubc, mut pub_loop) = client(broker.port, "test-controllers", true);
    tokio::spawn(async move {
        loop {
            if pub_loop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    parking_tests::wait::until(10, "the ingestion's subscription", || async { metrics.subscribed.get() == 1 }).await;

    // 200 events, the first 50 sent twice; one payload that is not an event.
    let events: Vec<GateEvent> = (1..=200).map(entry).collect();
    for e in events.iter().chain(events.iter().take(50)) {
        let topic = format!("parking/mqtt-lot/gate/{}/event", e.gate);
        pubc.publish(topic, QoS::AtLeastOnce, false, wire::encode(e)).await.unwrap();
    }
    pubc.publish("parking/mqtt-lot/gate/entry-1/event", QoS::AtLeastOnce, false, b"{not json".to_vec()).await.unwrap();

    let mut acked: Vec<EventId> = Vec::new();
    let collect = async {
        while acked.len() < 250 {
            let (topic, ack) = rx.recv().await.unwrap();
            // Each acknowledgement goes to the gate its events came from.
            for id in &ack.event_ids {
                let e = events.iter().find(|e| e.event_id == *id).expect("an id we sent");
                assert_eq!(topic, format!("parking/mqtt-lot/gate/{}/ack", e.gate));
            }
            acked.extend(ack.event_ids);
        }
    };
    tokio::time::timeout(Duration::from_secs(30), collect).await.expect("every delivery acknowledged");
    let distinct: HashSet<EventId> = acked.iter().copied().collect();
    assert_eq!(distinct.len(), 200);
    let stored: i64 = sqlx::query("SELECT COUNT(*) FROM gate_events").fetch_one(&t.db.pool).await.unwrap().get(0);
    let open: i64 =
        sqlx::query("SELECT COUNT(*) FROM sessions WHERE state = 'open'").fetch_one(&t.db.pool).await.unwrap().get(0);
    assert_eq!((stored, open), (200, 200), "each event once, one stay each");
    assert_eq!(metrics.events.get(), 200);
    assert_eq!(metrics.duplicates.get(), 50);
    assert_eq!(metrics.refused.get(), 1, "the malformed payload is counted, not fatal");
    stop.cancel();
    ingest.await.unwrap();
    t.drop_db().await;
}
