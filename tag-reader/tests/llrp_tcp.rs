//! The LLRP client against a simulated reader over real TCP on loopback:
//! the set-up a fixed reader needs, tags reported with antenna and RSSI,
//! keepalives answered, a reader that drops the connection and comes back,
//! a reader that goes silent, and a clean close.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tag_reader::codec::llrp::kind;
use tag_reader::codec::llrp::reader_side::SeenTag;
use tag_reader::llrp_client::{self, LlrpConfig};
use tag_reader::llrp_sim::SimReader;
use tag_reader::reader::ReaderEvent;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const EPC96: &str = "E200301666130121155074EF";
const EPC128: &str = "E2801105200074A5000000010000ABCD";

fn seen(epc: &str, antenna: u16, rssi: i8) -> SeenTag {
    SeenTag { epc: tag_reader::codec::parse_hex(epc).unwrap(), antenna, rssi, first_seen_us: 1_796_669_801_000_000 }
}

/// Events until `done` says enough, within 10 s.
async fn until(rx: &mut mpsc::Receiver<ReaderEvent>, mut done: impl FnMut(&ReaderEvent) -> bool) {
    tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(e) = rx.recv().await {
            if done(&e) {
                return;
            }
        }
        panic!("the client stopped");
    })
    .await
    .expect("within 10 s");
}

fn config(port: u16) -> LlrpConfig {
    let mut c = LlrpConfig::new("127.0.0.1", port, vec![1, 2], parking_runtime::Clock::wall());
    c.keepalive = Duration::from_millis(100);
    c.answer_timeout = Duration::from_secs(2);
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reader_is_set_up_reports_tags_drops_and_comes_back() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reader = SimReader::new(Duration::from_millis(30), Duration::from_millis(100));
    *reader.field.lock().unwrap() = vec![seen(EPC96, 1, -58), seen(EPC128, 2, -71)];
    let stats = Arc::clone(&reader.stats);
    let kick = reader.accept_all(listener);
    let (tx, mut rx) = mpsc::channel(256);
    let stop = CancellationToken::new();
    let client = tokio::spawn(llrp_client::run(config(port), tx, stop.clone()));

    let mut tags: HashMap<String, (u8, Option<i16>, u32)> = HashMap::new();
    let mut alive = false;
    until(&mut rx, |e| {
        match e {
            ReaderEvent::Alive(a) => alive = *a,
            ReaderEvent::Tag { report, .. } => {
                let t = tags.entry(report.epc.to_string()).or_insert((report.antenna, report.rssi, 0));
                t.2 += 1;
            }
            ReaderEvent::Code { .. } => panic!("a UHF reader sent a code"),
        }
        tags.len() == 2 && tags.values().all(|t| t.2 >= 3)
    })
    .await;
    assert!(alive);
    assert_eq!((tags[EPC96].0, tags[EPC96].1), (1, Some(-58)));
    assert_eq!((tags[EPC128].0, tags[EPC128].1), (2, Some(-71)), "a 128-bit EPC came as EPCData");
    let set_up =
        [kind::DELETE_ROSPEC, kind::SET_READER_CONFIG, kind::ADD_ROSPEC, kind::ENABLE_ROSPEC, kind::START_ROSPEC];
    // A keepalive may arrive mid-set-up on a slow machine; its ack is not a
    // set-up step, so the order is checked without the acks.
    let commands: Vec<u16> =
        stats.commands.lock().unwrap().iter().copied().filter(|k| *k != kind::KEEPALIVE_ACK).collect();
    assert_eq!(commands[..5], set_up);
    // Keepalives are answered.
    until(&mut rx, |_| stats.keepalive_acks.load(Ordering::Relaxed) >= 2).await;

    // The reader drops the connection: reported lost, then back and set up
    // again from scratch.
    kick.lock().unwrap().cancel();
    until(&mut rx, |e| matches!(e, ReaderEvent::Alive(false))).await;
    until(&mut rx, |e| matches!(e, ReaderEvent::Alive(true))).await;
    until(&mut rx, |e| matches!(e, ReaderEvent::Tag { .. })).await;
    let deletes = stats.commands.lock().unwrap().iter().filter(|k| **k == kind::DELETE_ROSPEC).count();
    assert_eq!(deletes, 2, "the old ROSpecs are cleared on each connection");

    // Shutdown closes the connection cleanly.
    stop.cancel();
    client.await.unwrap();
    assert_eq!(stats.commands.lock().unwrap().last(), Some(&kind::CLOSE_CONNECTION));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_reader_is_reported_lost_and_an_absent_one_is_retried() {
    // A reader that answers the set-up, then never says another word.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let reader = SimReader::new(Duration::from_millis(30), Duration::from_secs(3600));
    reader.accept_all(listener);
    let (tx, mut rx) = mpsc::channel(64);
    let stop = CancellationToken::new();
    let client = tokio::spawn(llrp_client::run(config(port), tx, stop.clone()));
    until(&mut rx, |e| matches!(e, ReaderEvent::Alive(true))).await;
    until(&mut rx, |e| matches!(e, ReaderEvent::Alive(false))).await;
    stop.cancel();
    client.await.unwrap();

    // Nothing listens: lost once, not once per retry.
    let port = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap().port();
    let (tx, mut rx) = mpsc::channel(64);
    let stop = CancellationToken::new();
    let client = tokio::spawn(llrp_client::run(config(port), tx, stop.clone()));
    until(&mut rx, |e| matches!(e, ReaderEvent::Alive(false))).await;
    let more = tokio::time::timeout(Duration::from_millis(700), rx.recv()).await;
    assert!(more.is_err(), "only one report of the reader being lost: {more:?}");
    stop.cancel();
    client.await.unwrap();
}
