//! A QR scanner on an exit lane: a fixed-mount scanner played on a pty
//! sends codes as lines, the controller (its own process) takes each as a
//! ticket read and decides; line noise before a code decides nothing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use parking_core::VehicleClass;
use parking_core::wire::{Credential, DenyReason, GateEventKind};
use parking_tests::bins::{self, http_get};
use parking_tests::mosquitto::{Broker, free_port};
use parking_tests::mqtt::{EventSink, lists_snapshot, publish_once};
use tokio::io::AsyncWriteExt;
use tokio_serial::{SerialPort, SerialStream};

const LOT: &str = "scanner-lot";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn a_code_from_the_exit_scanner_is_decided_as_a_ticket() {
    let broker = Broker::start().expect("start mosquitto");
    let (mut scanner, host) = SerialStream::pair().expect("pty pair");
    let tty = host.name().unwrap();
    let sink = EventSink::spawn(broker.port, LOT);
    let lists = lists_snapshot(LOT, 1..=2, VehicleClass::Car).unwrap();
    publish_once(broker.port, &format!("parking/{LOT}/lists"), lists, true).await;
    let dir = bins::fresh_dir("scanner-lane").unwrap();
    let metrics_port = free_port();
    let config = dir.join("controller.toml");
    let lanes = format!(
        "[[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\n\
         [[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n\
         reader = {{ kind = \"serial\", protocol = \"scanner\", port = \"{tty}\", baud = 9600 }}\n"
    );
    let toml = bins::controller_toml(LOT, broker.port, "ctl-s", &dir.join("journal.sqlite"), metrics_port, "", &lanes);
    std::fs::write(&config, toml).unwrap();
    let mut controller = bins::start_logged("controller", &config, &dir.join("controller.log")).unwrap();
    assert!(bins::wait_for_lists(metrics_port, 1).await, "the controller applied the lists");

    // Noise, a keep-alive blank line, then a code that is no ticket of
    // this lot, split across two writes as a slow UART delivers it.
    scanner.write_all(b"\xFF\x00\xFE\r\n\r\nNOT-A-").await.unwrap();
    scanner.flush().await.unwrap();
    scanner.write_all(b"TICKET\r\n").await.unwrap();
    scanner.flush().await.unwrap();
    let refused = |e: &[parking_core::wire::GateEvent]| {
        e.iter().any(|e| {
            matches!(&e.kind, GateEventKind::Denied { credential: Credential::Ticket { code }, reason: DenyReason::ForgedTicket }
                if code == "NOT-A-TICKET")
        })
    };
    assert!(sink.wait_for(20, refused).await, "the scanned code was refused as a forged ticket: {:?}", sink.snapshot());
    let decided: Vec<_> = sink
        .snapshot()
        .into_iter()
        .filter(|e| e.gate.as_str() == "exit-1" && matches!(e.kind, GateEventKind::Denied { .. }))
        .collect();
    assert_eq!(decided.len(), 1, "the noise decided nothing: {decided:?}");
    let health = http_get(metrics_port, "/health").await.unwrap_or_default();
    let lanes: serde_json::Value = serde_json::from_str(&health).unwrap();
    let exit = lanes["lanes"].as_array().unwrap().iter().find(|l| l["gate"] == "exit-1").cloned().unwrap();
    assert_eq!(exit["reader_alive"], true, "{health}");
    controller.kill();
    drop(host);
}
