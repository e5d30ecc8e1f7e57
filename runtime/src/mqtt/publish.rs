//! An MQTT publisher that loses nothing it accepted: QoS 1 with its own
//! bounded outbox, re-sent after every reconnect until the broker
//! acknowledges each message.
//!
//! rumqttc alone is not enough: when it reconnects to a broker that lost
//! the session (a broker restarted without persistence), it drops the
//! publishes that were in flight. So this task keeps every message until
//! its PUBACK arrives, and hands the unacknowledged ones to a fresh clean
//! session after each reconnect. A message may therefore arrive twice
//! (at-least-once); receivers deduplicate. A full outbox drops its oldest
//! message, and counts and logs it: never silently.
//!
//! Its counterpart for receiving is [`super::subscribe`]: every subscriber of the
//! system (controller, lot server) runs that one loop.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use rumqttc::{Event, MqttOptions, Outgoing, Packet, QoS};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{OutMsg, Outbox, PublisherStats, new_client};

/// Settings of the publisher.
#[derive(Clone, Debug)]
pub struct PublisherConfig {
    pub options: MqttOptions,
    /// Most messages kept while the broker is away.
    pub outbox_capacity: usize,
    /// Most messages in flight (sent, not yet acknowledged) at once.
    pub max_inflight: usize,
    /// Published (retained) at every connect, e.g. an online status.
    pub on_connect: Option<OutMsg>,
}

/// Publishes what arrives on `rx` until `shutdown`, then tries for up to
/// `drain` to empty the outbox before it returns.
pub async fn run(
    config: PublisherConfig,
    mut rx: mpsc::Receiver<OutMsg>,
    stats: Arc<PublisherStats>,
    shutdown: CancellationToken,
    drain: Duration,
) {
    let (client, mut eventloop) = new_client(config.options.clone(), config.max_inflight + 8);
    let mut outbox = Outbox::new(config.outbox_capacity);
    let mut connected = false;
    let mut backoff = Duration::from_millis(100);
    let mut input_open = true;
    let stopping = shutdown.clone();
    let drain_deadline = async move {
        stopping.cancelled().await;
        tokio::time::sleep(drain).await;
    };
    tokio::pin!(drain_deadline);
    let push = |outbox: &mut Outbox, msg: OutMsg| {
        if let Some(dropped) = outbox.push(msg) {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::error!(topic = %dropped.topic, "outbox full: dropped the oldest message");
        }
    };

    loop {
        if shutdown.is_cancelled() && outbox.is_empty() && !input_open {
            break;
        }
        tokio::select! {
            _ = &mut drain_deadline => {
                if !outbox.is_empty() {
                    tracing::warn!(left = outbox.len(), "stopping with messages not acknowledged");
                }
                break;
            }
            msg = rx.recv(), if input_open => match msg {
                Some(msg) => push(&mut outbox, msg),
                None => input_open = false,
            },
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    connected = true;
                    backoff = Duration::from_millis(100);
                    stats.connects.fetch_add(1, Ordering::Relaxed);
                    if let Some(status) = &config.on_connect {
                        push(&mut outbox, status.clone());
                    }
                    outbox.new_session();
                    tracing::info!(pending = outbox.len(), "connected to the broker");
                }
                Ok(Event::Outgoing(Outgoing::Publish(pkid))) => outbox.sent(pkid),
                Ok(Event::Incoming(Packet::PubAck(ack))) => {
                    if outbox.acked(ack.pkid) {
                        stats.acked.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if connected {
                        tracing::warn!(error = %e, pending = outbox.len(), "lost the broker; buffering");
                    }
                    connected = false;
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = &mut drain_deadline => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            },
        }
        stats.connected.store(connected, Ordering::Relaxed);
        stats.outbox.store(outbox.len() as u64, Ordering::Relaxed);
        // Hand over what the in-flight window allows, in order.
        while connected && outbox.in_flight() < config.max_inflight {
            let Some((seq, msg)) = outbox.next() else { break };
            match client.try_publish(msg.topic.clone(), QoS::AtLeastOnce, msg.retain, msg.payload.clone()) {
                Ok(()) => outbox.handed_over(seq),
                Err(_) => break,
            }
        }
    }
    let _ = client.try_disconnect();
}
