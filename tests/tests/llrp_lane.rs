//! A fixed LLRP reader on an entry lane: a simulated reader on loopback
//! TCP, the controller as its own process. The reader is set up, a
//! registered tag in its field opens the lane and is recorded; the reader
//! drops the connection: the lane raises `reader_offline`, the controller
//! reconnects and sets it up again, and the next tag is let in.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::sync::Arc;
use std::time::Duration;

use parking_core::VehicleClass;
use parking_core::wire::{AlarmKind, Credential, GateEvent, GateEventKind};
use parking_tests::bins;
use parking_tests::devices::{epc, epc_text};
use parking_tests::mosquitto::{Broker, free_port};
use parking_tests::mqtt::{EventSink, lists_snapshot, publish_once};
use tag_reader::codec::llrp::reader_side::SeenTag;
use tag_reader::llrp_sim::SimReader;
use tokio::net::TcpListener;

const LOT: &str = "llrp-lot";

fn entered(events: &[GateEvent], n: u64) -> bool {
    events.iter().any(|e| {
        matches!(&e.kind, GateEventKind::Entry { credential: Credential::Tag { epc, .. }, .. } if epc.to_string() == epc_text(n))
    })
}

fn in_field(reader: &SimReader, n: u64) {
    let tag = SeenTag { epc: epc(n).to_vec(), antenna: 1, rssi: -60, first_seen_us: 0 };
    *reader.field.lock().unwrap() = vec![tag];
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn an_llrp_reader_lets_a_tag_in_drops_and_is_set_up_again() {
    let broker = Broker::start().expect("start mosquitto");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let reader_port = listener.local_addr().unwrap().port();
    let reader = SimReader::new(Duration::from_millis(50), Duration::from_millis(200));
    let stats = Arc::clone(&reader.stats);
    let kick = reader.accept_all(listener);
    let sink = EventSink::spawn(broker.port, LOT);
    publish_once(
        broker.port,
        &format!("parking/{LOT}/lists"),
        lists_snapshot(LOT, 1..=5, VehicleClass::Car).unwrap(),
        true,
    )
    .await;
    let dir = bins::fresh_dir("llrp-lane").unwrap();
    let metrics_port = free_port();
    let lanes = format!(
        "[[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\ndedup_window_ms = 300\n\
         reader = {{ kind = \"llrp\", host = \"127.0.0.1\", port = {reader_port}, antennas = [1], keepalive_ms = 200 }}\n\
         [[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n"
    );
    let config = dir.join("controller.toml");
    let toml = bins::controller_toml(LOT, broker.port, "ctl-l", &dir.join("journal.sqlite"), metrics_port, "", &lanes);
    std::fs::write(&config, toml).unwrap();
    let mut controller = bins::start_logged("controller", &config, &dir.join("controller.log")).unwrap();
    assert!(bins::wait_for_lists(metrics_port, 1).await, "the controller applied the lists");

    in_field(&reader, 1);
    assert!(sink.wait_for(20, |e| entered(e, 1)).await, "tag 1 let in through the LLRP reader");
    reader.field.lock().unwrap().clear();

    // The reader drops the connection: an alarm, then a new set-up.
    kick.lock().unwrap().cancel();
    let offline = |e: &[GateEvent]| {
        e.iter().any(|e| matches!(e.kind, GateEventKind::Alarm { alarm: AlarmKind::ReaderOffline, .. }))
    };
    assert!(sink.wait_for(20, offline).await, "reader_offline raised when the reader dropped");
    in_field(&reader, 2);
    assert!(sink.wait_for(20, |e| entered(e, 2)).await, "tag 2 let in after the reconnection");
    let commands = stats.commands.lock().unwrap().clone();
    let deletes = commands.iter().filter(|k| **k == tag_reader::codec::llrp::kind::DELETE_ROSPEC).count();
    assert!(deletes >= 2, "set up again after the drop: {commands:?}");
    controller.kill();
}
