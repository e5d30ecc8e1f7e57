//! What the server acknowledged, deleted from the journal; and the
//! backlog, re-sent oldest first at a bounded rate.

use std::time::Instant;

use parking_core::EventId;

use super::{Task, event_msg};

impl Task {
    /// The server acknowledged these events.
    pub(super) async fn acked(&mut self, mut ids: Vec<EventId>) {
        if let Some(held) = &mut self.held {
            ids.retain(|id| {
                let is_held = held.ids.contains(id);
                if is_held {
                    held.acked.insert(*id);
                }
                !is_held
            });
        }
        ids.retain(|id| self.delivery.acked(id));
        if !ids.is_empty() {
            self.delete(ids).await;
        }
    }

    pub(super) async fn delete(&mut self, ids: Vec<EventId>) {
        match self.journal.ack(&ids).await {
            Ok(n) => self.shared.metrics.events_acked.inc_by(n),
            Err(e) => {
                tracing::error!(error = %e, events = ids.len(), "cannot delete acknowledged events; trying again later");
                self.undeleted.extend(ids);
                self.retry_at = self.retry_at.max(Instant::now() + self.retry_delay);
            }
        }
    }

    pub(super) async fn resend(&mut self, max: usize) {
        let (journal, delivery, out, topics, shared) =
            (&mut self.journal, &mut self.delivery, &self.outputs.out, &self.topics, &self.shared);
        let now_ms = self.shared.clock.now_ms();
        let due = delivery.due(now_ms, max);
        if due.is_empty() {
            return;
        }
        let rows = match journal.payloads(&due).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the backlog");
                return;
            }
        };
        let found: std::collections::HashSet<i64> = rows.iter().map(|(s, _, _)| *s).collect();
        for seq in due.iter().filter(|s| !found.contains(s)) {
            delivery.forget(*seq);
        }
        for (seq, gate, payload) in rows {
            let Some(msg) = event_msg(topics, &gate, payload) else {
                tracing::error!(seq, gate, "journal row with a bad gate id");
                delivery.forget(seq);
                continue;
            };
            if out.try_send(msg).is_err() {
                break; // the publisher is busy; the rest waits for the next tick
            }
            delivery.mark_sent(seq, now_ms);
            shared.metrics.events_resent.inc();
        }
    }
}
