//! The server's one outgoing MQTT link per lot: acknowledgements, lane
//! commands, lists, tariff and its own status, through the lossless
//! publisher of `parking_runtime::mqtt`.

use std::sync::Arc;
use std::time::Duration;

use parking_core::settings::BrokerSettings;
use parking_runtime::mqtt::{self, BrokerError, OutMsg, PublisherConfig, PublisherStats};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The server's one outgoing MQTT link (acknowledgements, lists, tariff,
/// its status): a publisher with an outbox that survives broker outages.
/// `options` carry the client id and last will; `on_connect` is published
/// (retained) at every connect; `stats` tell readiness whether it is up.
/// Returns its input and a handle that finishes after `stop`, once the
/// outbox is drained or 3 s have passed.
pub fn spawn_link(
    mut options: rumqttc::MqttOptions,
    on_connect: Option<OutMsg>,
    stats: Arc<PublisherStats>,
    stop: CancellationToken,
) -> (mpsc::Sender<OutMsg>, tokio::task::JoinHandle<()>) {
    // Lists snapshots of a large lot exceed the default 1 MiB.
    options.set_max_packet_size(1024 * 1024, 256 * 1024 * 1024);
    let (out_tx, out_rx) = mpsc::channel::<OutMsg>(65_536);
    let config = PublisherConfig { options, outbox_capacity: 100_000, max_inflight: 1_000, on_connect };
    let handle = tokio::spawn(mqtt::run(config, out_rx, stats, stop, Duration::from_secs(3)));
    (out_tx, handle)
}

/// [`spawn_link`] with no last will or status, for the bench and tests.
pub fn spawn_publisher(
    broker: &BrokerSettings,
    client_id: &str,
    stop: CancellationToken,
) -> Result<(mpsc::Sender<OutMsg>, tokio::task::JoinHandle<()>), BrokerError> {
    let options = mqtt::mqtt_options(broker, client_id, None)?;
    Ok(spawn_link(options, None, Arc::new(PublisherStats::default()), stop))
}
