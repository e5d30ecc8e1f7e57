//! While the journal fails: the events and lot-state changes held in
//! memory, the lanes' `journal_failing` alarms, and the retries with
//! back-off until a commit takes them.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use parking_core::EventId;
use parking_core::gate::LotChange;
use parking_core::wire::AlarmKind;

use super::{MAX_RETRY, Task};
use crate::journal::{Entry, JournalError};
use crate::runtime::EngineMsg;

/// Events and lot-state changes decided while the journal failed, in
/// decision order: in memory only, until a commit takes them.
#[derive(Debug, Default)]
pub(super) struct Held {
    pub(super) entries: Vec<Entry>,
    /// When each entry was handed to the publisher (ms), if it was.
    pub(super) sent: Vec<Option<i64>>,
    pub(super) changes: Vec<LotChange>,
    pub(super) ids: HashSet<EventId>,
    /// Held events the server has acknowledged already.
    pub(super) acked: HashSet<EventId>,
}

impl Task {
    /// The journal just failed: hold from now on, and alarm every lane.
    pub(super) fn failing(&mut self, error: &JournalError, events: usize) {
        tracing::error!(
            error = %error,
            events,
            "journal commit failed: the lanes go on, their events are held in memory until the journal takes them"
        );
        self.held = Some(Held::default());
        self.retry_delay = Duration::from_millis(50);
        self.retry_at = Instant::now() + self.retry_delay;
        for lane in 0..self.outputs.barriers.len() {
            let detail = format!("the controller's journal cannot be written ({error}): events are held in memory");
            let msg = EngineMsg::Alarm { lane, alarm: AlarmKind::JournalFailing, detail };
            if self.outputs.engine.try_send(msg).is_err() {
                tracing::error!(lane, "engine queue full: journal alarm not raised");
            }
        }
    }

    /// Tries the failing journal again: the held events and changes, then
    /// the deletions of acknowledged rows that failed.
    pub(super) async fn retry(&mut self) {
        if Instant::now() < self.retry_at {
            return;
        }
        if let Some(held) = self.held.take() {
            match self.journal.commit(&held.entries, &held.changes).await {
                Ok(seqs) => {
                    tracing::info!(
                        events = held.entries.len(),
                        "the journal takes writes again: held events committed"
                    );
                    self.shared.metrics.events_journaled.inc_by(held.entries.len() as u64);
                    for ((entry, sent), seq) in held.entries.into_iter().zip(held.sent).zip(seqs) {
                        let id = entry.event.event_id;
                        if held.acked.contains(&id) {
                            self.undeleted.push(id);
                        } else {
                            self.delivery.journaled(seq, id, sent);
                        }
                    }
                }
                Err(e) => {
                    tracing::debug!(error = %e, events = held.entries.len(), "journal still failing");
                    self.held = Some(held);
                    self.retry_delay = (self.retry_delay * 2).min(MAX_RETRY);
                    self.retry_at = Instant::now() + self.retry_delay;
                    return;
                }
            }
        }
        if !self.undeleted.is_empty() {
            let ids = std::mem::take(&mut self.undeleted);
            self.delete(ids).await;
        }
    }
}
