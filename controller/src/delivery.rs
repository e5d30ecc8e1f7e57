//! Which journaled events still need sending: pure bookkeeping of the
//! events the server has not acknowledged, in journal order.
//!
//! A live event is sent as soon as it is committed. One that was never
//! sent (the broker was away) or whose acknowledgement has not come within
//! the timeout is due again; the runtime re-sends due events oldest first,
//! at a bounded rate, so a backlog drains in order without crowding out
//! live traffic.

use std::collections::{BTreeMap, HashMap};

use parking_core::EventId;

#[derive(Clone, Debug)]
struct Pending {
    event_id: EventId,
    /// When it was last handed to the publisher (ms), if ever.
    sent_ms: Option<i64>,
}

/// Unacknowledged events.
#[derive(Debug)]
pub struct Delivery {
    pending: BTreeMap<i64, Pending>,
    by_id: HashMap<EventId, i64>,
    ack_timeout_ms: i64,
}

impl Delivery {
    pub fn new(ack_timeout_ms: u64) -> Self {
        Delivery {
            pending: BTreeMap::new(),
            by_id: HashMap::new(),
            ack_timeout_ms: i64::try_from(ack_timeout_ms).unwrap_or(i64::MAX),
        }
    }

    /// An event is in the journal at `seq`; `sent_ms` if it went out at once.
    pub fn journaled(&mut self, seq: i64, event_id: EventId, sent_ms: Option<i64>) {
        self.by_id.insert(event_id, seq);
        self.pending.insert(seq, Pending { event_id, sent_ms });
    }

    /// The server acknowledged `id`: true if it was pending.
    pub fn acked(&mut self, id: &EventId) -> bool {
        match self.by_id.remove(id) {
            Some(seq) => self.pending.remove(&seq).is_some(),
            None => false,
        }
    }

    /// Up to `max` journal rows due for (re)sending at `now_ms`, oldest first.
    pub fn due(&self, now_ms: i64, max: usize) -> Vec<i64> {
        self.pending
            .iter()
            .filter(|(_, p)| p.sent_ms.is_none_or(|t| now_ms - t >= self.ack_timeout_ms))
            .take(max)
            .map(|(seq, _)| *seq)
            .collect()
    }

    pub fn mark_sent(&mut self, seq: i64, now_ms: i64) {
        if let Some(p) = self.pending.get_mut(&seq) {
            p.sent_ms = Some(now_ms);
        }
    }

    /// The row vanished from the journal (acknowledged meanwhile).
    pub fn forget(&mut self, seq: i64) {
        if let Some(p) = self.pending.remove(&seq) {
            self.by_id.remove(&p.event_id);
        }
    }

    /// Events journaled and not yet acknowledged.
    pub fn backlog(&self) -> usize {
        self.pending.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u64) -> EventId {
        EventId::from_uuid(uuid::Uuid::from_u64_pair(0, n))
    }

    #[test]
    fn unsent_and_timed_out_events_are_due_oldest_first() {
        let mut d = Delivery::new(1_000);
        d.journaled(3, id(3), None);
        d.journaled(1, id(1), Some(0));
        d.journaled(2, id(2), Some(900));
        assert_eq!(d.due(500, 10), vec![3], "only the never-sent one");
        assert_eq!(d.due(1_000, 10), vec![1, 3], "1 timed out");
        assert_eq!(d.due(2_000, 2), vec![1, 2], "at most max, in journal order");
        d.mark_sent(3, 2_000);
        assert_eq!(d.due(2_000, 10), vec![1, 2]);
        assert!(d.acked(&id(1)));
        assert!(!d.acked(&id(1)), "a duplicate ack changes nothing");
        d.forget(2);
        assert_eq!(d.backlog(), 1);
        assert!(!d.acked(&id(2)));
    }
}
