//! The one subscriber loop every receiver of the system runs.

use std::time::Duration;

use rumqttc::{Event, MqttOptions, Packet, QoS};
use tokio_util::sync::CancellationToken;

use super::new_client;

/// What a subscriber does with each message; false stops it (its
/// receiver is gone).
pub trait OnMessage: Send {
    fn on_message(&mut self, msg: rumqttc::Publish) -> impl std::future::Future<Output = bool> + Send;

    /// The broker acknowledged every subscription of this connection:
    /// from now on, what is published on the filters reaches the handler.
    fn on_subscribed(&mut self) {}
}

/// Receives until `shutdown` (or until the handler returns false): with
/// the options' session (persistent when clean session is off), the
/// `filters` subscribed at QoS 1 after every connect, reconnecting with
/// back-off from 100 ms to 5 s. `name` labels the log lines.
pub async fn subscribe(
    name: &str,
    options: MqttOptions,
    filters: &[String],
    shutdown: &CancellationToken,
    handler: &mut impl OnMessage,
) {
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
                if !handler.on_message(p).await {
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
