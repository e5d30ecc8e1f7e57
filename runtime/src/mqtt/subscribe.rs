//! The one subscriber loop every receiver of the system runs.
//!
//! Acknowledgements are the handler's: each message comes with its
//! [`Ack`], which a handler sends once the message is safe (handed on, or
//! committed). A message whose ack was never sent is delivered again by
//! the broker when the session reconnects (clean session off), so a
//! process killed between receiving a message and keeping what it said
//! loses nothing.

use std::time::Duration;

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use tokio_util::sync::CancellationToken;

use super::new_client;

/// The broker's acknowledgement of one received message, to send when the
/// message is safe. Dropped unsent, the broker delivers it again after a
/// reconnect.
#[derive(Debug)]
pub struct Ack {
    client: AsyncClient,
    /// The message's id and QoS (its payload is not kept).
    id: Publish,
}

impl Ack {
    fn new(client: &AsyncClient, msg: &Publish) -> Ack {
        let mut id = Publish::new("", msg.qos, Vec::<u8>::new());
        id.pkid = msg.pkid;
        Ack { client: client.clone(), id }
    }

    /// Acknowledges the message; it is not delivered again.
    pub fn send(self) {
        if let Err(e) = self.client.try_ack(&self.id) {
            // The connection's queue is full or gone: the broker will
            // deliver the message again, and receivers apply it once.
            tracing::debug!(pkid = self.id.pkid, error = %e, "acknowledgement not sent");
        }
    }
}

/// What a subscriber does with each message; false stops it (its
/// receiver is gone). The handler sends `ack` once the message is safe.
pub trait OnMessage: Send {
    fn on_message(&mut self, msg: Publish, ack: Ack) -> impl std::future::Future<Output = bool> + Send;

    /// The broker acknowledged every subscription of this connection:
    /// from now on, what is published on the filters reaches the handler.
    fn on_subscribed(&mut self) {}
}

/// Receives until `shutdown` (or until the handler returns false): with
/// the options' session (persistent when clean session is off), the
/// `filters` subscribed at QoS 1 after every connect, reconnecting with
/// back-off from 100 ms to 5 s, acknowledging what the handler says is
/// safe. `name` labels the log lines.
pub async fn subscribe(
    name: &str,
    mut options: MqttOptions,
    filters: &[String],
    shutdown: &CancellationToken,
    handler: &mut impl OnMessage,
) {
    options.set_manual_acks(true);
    let (client, mut eventloop) = new_client(options, 1024);
    let mut backoff = Duration::from_millis(100);
    let mut acked = 0usize;
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => break,
            e = eventloop.poll() => e,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_millis(100);
                acked = 0;
                for f in filters {
                    if let Err(e) = client.subscribe(f.clone(), QoS::AtLeastOnce).await {
                        tracing::error!(subscriber = name, filter = %f, error = %e, "cannot subscribe");
                    }
                }
                tracing::info!(subscriber = name, "subscribed");
            }
            Ok(Event::Incoming(Packet::SubAck(_))) => {
                acked += 1;
                if acked == filters.len() {
                    handler.on_subscribed();
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                let ack = Ack::new(&client, &p);
                if !handler.on_message(p, ack).await {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(subscriber = name, error = %e, "lost the broker; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
    let _ = client.try_disconnect();
}
