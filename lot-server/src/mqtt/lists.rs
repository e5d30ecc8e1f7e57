//! Puts the lists on the broker, retained, for the controllers.
//!
//! After each registry change a delta from the last published version is
//! published at once on `parking/{lot}/lists/delta` (retained: a
//! controller that reconnects at exactly that version catches up from
//! it). The full snapshot on `parking/{lot}/lists` (retained) follows at
//! most `snapshot_every` after a change, and at start-up, so a controller
//! that missed a delta, or starts empty, is never behind for longer than
//! that. A large change goes out as a snapshot only.

use std::sync::Arc;
use std::time::Duration;

use parking_core::LotId;
use parking_core::wire::{self, LotTopic, Topics};
use parking_runtime::Clock;
use parking_runtime::mqtt::OutMsg;
use tokio::sync::{Notify, mpsc};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::db::Db;

/// More changed entries than this go out as a snapshot, not a delta.
const MAX_DELTA_ENTRIES: usize = 50_000;

/// How the publisher behaves.
#[derive(Clone, Debug)]
pub struct PublishConfig {
    pub lot: LotId,
    /// Longest a retained snapshot lags behind a change.
    pub snapshot_every: Duration,
    /// Also look for changes this often, in case another process made them.
    pub poll_every: Duration,
    /// Stamps each snapshot and delta.
    pub clock: Clock,
}

/// Publishes until `shutdown`. Database errors are logged and retried at
/// the next wake-up: the versions in the database are the truth, so
/// nothing is lost by publishing later.
pub async fn run(
    db: Db,
    config: PublishConfig,
    changed: Arc<Notify>,
    out: mpsc::Sender<OutMsg>,
    shutdown: CancellationToken,
) {
    let topics = Topics::new(config.lot.clone());
    let mut published: Option<u64> = None;
    let mut snapshot_due: Option<Instant> = Some(Instant::now());
    let mut last_snapshot: Option<Instant> = None;
    let mut last_snapshot_version: Option<u64> = None;
    loop {
        let wake_snapshot = async {
            match snapshot_due {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let snapshot_now = tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = wake_snapshot => true,
            _ = changed.notified() => false,
            _ = tokio::time::sleep(config.poll_every) => false,
        };
        let now = config.clock.now();
        if !snapshot_now {
            if let Some(from) = published {
                match crate::lists::delta_since(&db, &config.lot, from, now).await {
                    Ok(None) => continue,
                    Ok(Some(delta)) => {
                        let entries = delta.upsert_tags.len()
                            + delta.remove_tags.len()
                            + delta.upsert_deny.len()
                            + delta.remove_deny.len()
                            + delta.upsert_passes.len()
                            + delta.remove_passes.len();
                        if entries <= MAX_DELTA_ENTRIES {
                            let to = delta.to_version;
                            let msg = OutMsg {
                                topic: topics.lot(LotTopic::ListsDelta),
                                payload: wire::encode(&delta),
                                retain: true,
                            };
                            if out.send(msg).await.is_err() {
                                return;
                            }
                            tracing::info!(from, to, entries, "lists delta published");
                            published = Some(to);
                        } else {
                            snapshot_due = Some(Instant::now());
                            continue;
                        }
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "cannot read the lists changes; will retry");
                        continue;
                    }
                }
            }
            // A snapshot follows every change, at most `snapshot_every` late.
            let earliest = last_snapshot.map_or_else(Instant::now, |t| t + config.snapshot_every);
            snapshot_due = Some(snapshot_due.map_or(earliest, |d| d.min(earliest)));
            continue;
        }
        match crate::lists::snapshot(&db, &config.lot, now).await {
            Ok(s) if last_snapshot_version == Some(s.version) => snapshot_due = None,
            Ok(s) => {
                let (version, tags) = (s.version, s.tags.len());
                let msg = OutMsg { topic: topics.lot(LotTopic::Lists), payload: wire::encode(&s), retain: true };
                if out.send(msg).await.is_err() {
                    return;
                }
                tracing::info!(version, tags, "lists snapshot published");
                published = Some(published.map_or(version, |p| p.max(version)));
                last_snapshot = Some(Instant::now());
                last_snapshot_version = Some(version);
                snapshot_due = None;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the lists; will retry");
                snapshot_due = Some(Instant::now() + Duration::from_secs(1));
            }
        }
    }
}
