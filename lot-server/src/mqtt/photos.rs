//! Lane photos from MQTT (`…/gate/+/photo`) into the lot's [`Photos`]:
//! a persistent session (QoS 1), shared by the instances of a share group
//! like ingestion, each photo acknowledged once kept or refused. A photo
//! that cannot be kept for the database's or the disk's sake is tried
//! again (back-off up to 5 s) before anything else is taken.

use parking_core::LotId;
use parking_core::settings::BrokerSettings;
use parking_core::wire::{self, GateTopic, PhotoMsg, Topics};
use prometheus::{IntCounterVec, Opts, Registry};
use tokio_util::sync::CancellationToken;

use crate::photos::{PhotoError, Photos};

/// Photos received, by what became of them: `kept`, `again` (already
/// kept), `refused` (not a photo).
#[derive(Clone, Debug)]
pub struct PhotoMetrics {
    pub photos: IntCounterVec,
}

impl PhotoMetrics {
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let photos = IntCounterVec::new(Opts::new("photos_total", "Lane photos received, by result"), &["result"])?;
        registry.register(Box::new(photos.clone()))?;
        Ok(PhotoMetrics { photos })
    }
}

/// Keeps the lot's lane photos until `shutdown`.
pub async fn run(
    photos: Photos,
    lot: LotId,
    broker: BrokerSettings,
    client_id: String,
    share_group: Option<String>,
    metrics: PhotoMetrics,
    shutdown: CancellationToken,
) {
    let topics = Topics::new(lot);
    let filter = super::ingest::shared(share_group.as_deref(), &topics.all_gates(GateTopic::Photo));
    let mut options = match parking_runtime::mqtt::mqtt_options(&broker, &client_id, None) {
        Ok(o) => o,
        Err(e) => return tracing::error!(error = %e, "lane photos: no broker link"),
    };
    options.set_clean_session(false);
    let mut keep = Keep { photos, metrics, shutdown: shutdown.clone() };
    parking_runtime::mqtt::subscribe("photos", options, &[filter], &shutdown, &mut keep).await;
}

struct Keep {
    photos: Photos,
    metrics: PhotoMetrics,
    shutdown: CancellationToken,
}

impl parking_runtime::mqtt::OnMessage for Keep {
    async fn on_message(&mut self, msg: rumqttc::Publish, ack: parking_runtime::mqtt::Ack) -> bool {
        let count = |result: &str| self.metrics.photos.with_label_values(&[result]).inc();
        let photo = match wire::decode::<PhotoMsg>(&msg.payload) {
            Ok(p) => p,
            Err(e) => {
                count("refused");
                tracing::warn!(topic = %msg.topic, error = %e, "lane photo refused");
                ack.send();
                return true;
            }
        };
        let mut backoff = std::time::Duration::from_millis(100);
        loop {
            match self.photos.keep(&photo).await {
                Ok(true) => count("kept"),
                Ok(false) => count("again"),
                Err(e @ (PhotoError::Db(_) | PhotoError::File { .. })) => {
                    tracing::error!(error = %e, "lane photo not kept yet; trying again");
                    tokio::select! {
                        _ = self.shutdown.cancelled() => return false,
                        _ = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(std::time::Duration::from_secs(5));
                    continue;
                }
                Err(e) => {
                    count("refused");
                    tracing::warn!(gate = %photo.gate, error = %e, "lane photo refused");
                }
            }
            break;
        }
        ack.send();
        true
    }
}
