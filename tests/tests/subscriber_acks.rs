//! The subscriber loop acknowledges a message only when its handler says
//! it is safe: against a real Mosquitto, a message whose ack was never sent
//! (the process died before keeping what it said) is delivered again when
//! the persistent session comes back, and acknowledged ones are not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::time::Duration;

use parking_runtime::mqtt::{Ack, OnMessage, subscribe};
use parking_tests::mosquitto::Broker;
use parking_tests::mqtt::publish_once;
use rumqttc::{MqttOptions, Publish};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Passes each payload on; acknowledges all but `hold`.
struct Handler(mpsc::UnboundedSender<String>);

impl OnMessage for Handler {
    async fn on_message(&mut self, msg: Publish, ack: Ack) -> bool {
        let text = String::from_utf8_lossy(&msg.payload).into_owned();
        if text != "hold" {
            ack.send();
        }
        self.0.send(text).is_ok()
    }
}

/// Runs a subscriber with a persistent session until `n` messages came
/// (or none came for `quiet`), then stops it as a crash would (no further
/// acks).
async fn receive(port: u16, n: usize, quiet: Duration) -> Vec<String> {
    let mut options = MqttOptions::new("acks-test", "127.0.0.1", port);
    options.set_clean_session(false);
    let (tx, mut rx) = mpsc::unbounded_channel();
    let stop = CancellationToken::new();
    let task = {
        let stop = stop.clone();
        tokio::spawn(async move {
            subscribe("test", options, &["acks/#".to_owned()], &stop, &mut Handler(tx)).await;
        })
    };
    let mut got = Vec::new();
    while got.len() < n {
        match tokio::time::timeout(quiet, rx.recv()).await {
            Ok(Some(m)) => got.push(m),
            _ => break,
        }
    }
    // Acks already sent reach the broker before the session goes.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.cancel();
    task.await.unwrap();
    got
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn a_message_never_acknowledged_comes_again_and_acknowledged_ones_do_not() {
    let broker = Broker::start().expect("start mosquitto");
    // The first connection makes the session and its subscription.
    let wait = Duration::from_secs(10);
    assert!(receive(broker.port, 0, wait).await.is_empty());
    for text in ["a", "hold", "b"] {
        publish_once(broker.port, "acks/x", text.as_bytes().to_vec(), false).await;
    }
    assert_eq!(receive(broker.port, 3, wait).await, ["a", "hold", "b"]);
    // Back: only the message never acknowledged, once more (and again,
    // since it is still not acknowledged), nothing else.
    let again = receive(broker.port, 1, wait).await;
    assert_eq!(again, ["hold"]);
    // A window for a wrongly redelivered message to show up in.
    let after = receive(broker.port, 2, Duration::from_secs(1)).await;
    assert_eq!(after, ["hold"], "a and b were acknowledged: {after:?}");
}
