//! Free spaces retained on `parking/{lot}/availability`, for anyone
//! subscribed (a city's boards, a navigation service): counted every
//! `every`, and published when a figure changed, so a subscriber that
//! connects gets the latest at once and then only changes.

use std::time::Duration;

use parking_core::settings::LotSettings;
use parking_core::wire::{LotTopic, Topics};
use parking_runtime::Clock;
use parking_runtime::mqtt::OutMsg;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::availability::{self, ClassFree};
use crate::db::Db;

/// Publishes until `shutdown`. A database error is logged and the count
/// tried again at the next tick: the figures are derived, nothing is lost.
pub async fn run(
    db: Db,
    site: LotSettings,
    clock: Clock,
    every: Duration,
    out: mpsc::Sender<OutMsg>,
    shutdown: CancellationToken,
) {
    if site.capacity.is_empty() {
        return;
    }
    let topic = Topics::new(site.id.clone()).lot(LotTopic::Availability);
    let mut published: Option<Vec<ClassFree>> = None;
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        let figures = match availability::read(&db, &site, clock.now()).await {
            Ok(f) => f,
            Err(e) => {
                tracing::warn!(error = %e, "cannot count free spaces; will try again");
                continue;
            }
        };
        if published.as_ref() == Some(&figures.classes) {
            continue;
        }
        let payload = match serde_json::to_vec(&figures) {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "cannot encode the free spaces");
                continue;
            }
        };
        if out.send(OutMsg { topic: topic.clone(), payload, retain: true }).await.is_err() {
            return;
        }
        published = Some(figures.classes);
    }
}
