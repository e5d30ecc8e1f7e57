//! The controller keeps deciding while the broker is gone, and delivers
//! every event it decided once the broker is back.
//!
//! A real lane: an R2000 reader and a Modbus relay board (whose input 0 is
//! the loop detector) played on ptys, the controller as its own process,
//! a real Mosquitto that the test kills with SIGKILL and restarts, and a
//! test client that acknowledges events as the lot server does.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use parking_core::VehicleClass;
use parking_core::wire::{Credential, GateEventKind};
use parking_tests::bins::{self, http_get, metric};
use parking_tests::devices::{self, Board, BoardState, Field, epc_text};
use parking_tests::mosquitto::{Broker, free_port};
use parking_tests::mqtt::{EventSink, lists_snapshot, publish_once};
use parking_tests::wait;
use tokio_serial::{SerialPort, SerialStream};

const LOT: &str = "offline-lot";

async fn wait_until(secs: u64, what: &str, cond: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond() {
        assert!(tokio::time::Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A vehicle with tag `n` stops at the lane, is read, the barrier opens,
/// it drives over the loop and leaves the field.
async fn vehicle(field: &Field, board: &Board, n: u64, pulses_before: usize) {
    *field.lock().unwrap() = vec![n];
    wait_until(20, &format!("the barrier to open for tag {n}"), || devices::pulses(board, 0).len() > pulses_before)
        .await;
    field.lock().unwrap().clear();
    // It stands on the loop a moment, then leaves; the next one comes once
    // this one is past the reader's dedup window.
    board.lock().unwrap().inputs[0] = true;
    wait::hold(Duration::from_millis(250)).await;
    board.lock().unwrap().inputs[0] = false;
    wait::hold(Duration::from_millis(400)).await;
}

fn entries_by_tag(events: &[parking_core::wire::GateEvent]) -> HashMap<String, HashSet<parking_core::EventId>> {
    let mut by: HashMap<String, HashSet<parking_core::EventId>> = HashMap::new();
    for e in events {
        if let GateEventKind::Entry { credential: Credential::Tag { epc, .. }, .. } = &e.kind {
            by.entry(epc.to_string()).or_default().insert(e.event_id);
        }
    }
    by
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn gates_keep_deciding_offline_and_the_backlog_drains_on_reconnect() {
    let mut broker = Broker::start().expect("start mosquitto");
    let (reader_dev, reader_host) = SerialStream::pair().expect("pty pair");
    let (board_dev, board_host) = SerialStream::pair().expect("pty pair");
    let reader_tty = reader_host.name().unwrap();
    let board_tty = board_host.name().unwrap();
    let (_keep_reader, _keep_board) = (reader_host, board_host);
    let field: Field = Arc::new(Mutex::new(Vec::new()));
    let board: Board = Arc::new(Mutex::new(BoardState { inputs: vec![false], ..BoardState::default() }));
    tokio::spawn(devices::play_r2000(reader_dev, Arc::clone(&field)));
    tokio::spawn(devices::play_relay_board(board_dev, 1, Arc::clone(&board)));

    let sink = EventSink::spawn(broker.port, LOT);
    publish_once(
        broker.port,
        &format!("parking/{LOT}/lists"),
        lists_snapshot(LOT, 1..=20, VehicleClass::Car).unwrap(),
        true,
    )
    .await;

    let dir = std::env::temp_dir().join(format!("parking-offline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let metrics_port = free_port();
    let config = dir.join("controller.toml");
    std::fs::write(
        &config,
        bins::controller_toml(
            LOT,
            broker.port,
            "ctl-t",
            &dir.join("journal.sqlite"),
            metrics_port,
            "backlog_rate = 50\nack_timeout_ms = 5000\n",
            &format!(
                "[[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\ndedup_window_ms = 300\n\
                 reader = {{ kind = \"serial\", protocol = \"r2000\", port = \"{reader_tty}\" }}\n\
                 barrier = {{ kind = \"modbus\", port = \"{board_tty}\", address = 1, coil = 0 }}\n\
                 loop = {{ kind = \"modbus\", input = 0 }}\n\
                 [[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n"
            ),
        ),
    )
    .unwrap();
    let log = dir.join("controller.log");
    eprintln!("controller log: {}", log.display());
    let mut controller = bins::start_logged("controller", &config, &log).unwrap();

    // Online: the lists arrive, a registered tag opens and is recorded.
    assert!(bins::wait_for_lists(metrics_port, 1).await, "the controller applied the lists");
    vehicle(&field, &board, 1, 0).await;
    assert!(sink.wait_for(20, |e| entries_by_tag(e).contains_key(&epc_text(1))).await, "entry of tag 1");
    let held = devices::pulses(&board, 0);
    assert!(held[0] >= Duration::from_millis(300), "a pulse of about 400 ms: {held:?}");

    // The broker dies. Four vehicles come in meanwhile: every one opens.
    assert!(broker.saved().await, "the broker saved its sessions");
    broker.kill();
    for (i, n) in (2..=5).enumerate() {
        vehicle(&field, &board, n, 1 + i).await;
    }
    assert_eq!(devices::pulses(&board, 0).len(), 5, "every vehicle was let in while offline");
    let offline = entries_by_tag(&sink.snapshot());
    assert!((2..=5).all(|n| !offline.contains_key(&epc_text(n))), "nothing could be delivered while offline");

    // Still offline, the controller restarts (a power cut): it decides from
    // the lists it saved on disk, so tag 6 is recognised, not ticketed.
    controller.kill();
    let mut controller = bins::start_logged("controller", &config, &log).unwrap();
    assert!(bins::wait_for_lists(metrics_port, 1).await, "the controller applied the lists");
    vehicle(&field, &board, 6, 5).await;

    // The broker returns: the backlog drains, and the server acknowledges.
    broker.restart().expect("restart mosquitto");
    let all: Vec<String> = (1..=6).map(epc_text).collect();
    assert!(
        sink.wait_for(60, |e| {
            let by = entries_by_tag(e);
            all.iter().all(|t| by.contains_key(t))
        })
        .await,
        "entries delivered after reconnect: {:?}",
        entries_by_tag(&sink.snapshot()).keys().collect::<Vec<_>>()
    );
    // Exactly one decision per vehicle, whatever the redeliveries.
    let by = entries_by_tag(&sink.snapshot());
    for t in &all {
        assert_eq!(by[t].len(), 1, "tag {t} has one entry event");
    }
    // The gate's sequence numbers are 1.. without a gap or a repeat.
    let mut seqs: Vec<u64> = sink
        .snapshot()
        .iter()
        .filter(|e| e.gate.as_str() == "entry-1" && matches!(e.kind, GateEventKind::Entry { .. }))
        .map(|e| e.seq)
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=6).collect::<Vec<u64>>(), "one number per event, across the restart");
    // Every event acknowledged: the journal's backlog is empty.
    let mut backlog = None;
    for _ in 0..200 {
        let body = http_get(metrics_port, "/metrics").await.unwrap_or_default();
        backlog = metric(&body, "parking_controller_events_backlog");
        if backlog == Some(0.0) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(backlog, Some(0.0), "journal backlog after the acknowledgements");
    let health = http_get(metrics_port, "/health").await.unwrap_or_default();
    assert!(health.contains("\"gate\":\"entry-1\"") && health.contains("\"reader_alive\":true"), "{health}");
    controller.kill();
}
