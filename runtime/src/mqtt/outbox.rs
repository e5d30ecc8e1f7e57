//! The publisher's bookkeeping: messages not yet acknowledged, in order,
//! which of them are in flight, and what a new session must send again.

use std::collections::{HashMap, VecDeque};

use super::OutMsg;

/// The messages not yet acknowledged, in order, and which of them are in
/// flight in the current session. Pure bookkeeping, no I/O.
#[derive(Debug)]
pub struct Outbox {
    queue: VecDeque<(u64, OutMsg)>,
    capacity: usize,
    next_seq: u64,
    /// The next sequence number to hand to the client.
    cursor: u64,
    /// Handed to the client, waiting for the packet id it was sent with.
    handed: VecDeque<u64>,
    by_pkid: HashMap<u16, u64>,
}

impl Outbox {
    pub fn new(capacity: usize) -> Self {
        Outbox {
            queue: VecDeque::new(),
            capacity: capacity.max(1),
            next_seq: 0,
            cursor: 0,
            handed: VecDeque::new(),
            by_pkid: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }

    /// Queues a message; returns the oldest one if it had to be dropped.
    pub fn push(&mut self, msg: OutMsg) -> Option<OutMsg> {
        let dropped = if self.queue.len() >= self.capacity { self.queue.pop_front().map(|(_, m)| m) } else { None };
        self.queue.push_back((self.next_seq, msg));
        self.next_seq += 1;
        dropped
    }

    /// A new session began: everything unacknowledged goes out again.
    pub fn new_session(&mut self) {
        self.handed.clear();
        self.by_pkid.clear();
        self.cursor = self.queue.front().map_or(self.next_seq, |(s, _)| *s);
    }

    /// Messages handed over and not yet acknowledged in this session.
    pub fn in_flight(&self) -> usize {
        self.handed.len() + self.by_pkid.len()
    }

    /// The next message to hand over, if any.
    pub fn next(&self) -> Option<(u64, &OutMsg)> {
        self.queue.iter().find(|(s, _)| *s >= self.cursor).map(|(s, m)| (*s, m))
    }

    /// The message `seq` was handed to the client.
    pub fn handed_over(&mut self, seq: u64) {
        self.handed.push_back(seq);
        self.cursor = seq + 1;
    }

    /// The client sent the oldest handed message with packet id `pkid`.
    pub fn sent(&mut self, pkid: u16) {
        if let Some(seq) = self.handed.pop_front() {
            self.by_pkid.insert(pkid, seq);
        }
    }

    /// The broker acknowledged `pkid`; true if that removed a message.
    pub fn acked(&mut self, pkid: u16) -> bool {
        let Some(seq) = self.by_pkid.remove(&pkid) else { return false };
        match self.queue.iter().position(|(s, _)| *s == seq) {
            Some(pos) => self.queue.remove(pos).is_some(),
            None => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(n: u8) -> OutMsg {
        OutMsg { topic: format!("t/{n}"), payload: vec![n], retain: false }
    }

    #[test]
    fn unacknowledged_messages_go_out_again_after_a_reconnect() {
        let mut o = Outbox::new(10);
        for n in 0..3 {
            o.push(msg(n));
        }
        o.new_session();
        for pkid in 1..=3u16 {
            let (seq, _) = o.next().unwrap();
            o.handed_over(seq);
            o.sent(pkid);
        }
        assert!(o.next().is_none());
        assert!(o.acked(1));
        assert!(!o.acked(1), "a duplicate ack removes nothing");
        assert_eq!(o.len(), 2);
        // The broker went away with 2 and 3 unacknowledged.
        o.new_session();
        assert_eq!(o.in_flight(), 0);
        assert_eq!(o.next().map(|(_, m)| m.payload.clone()), Some(vec![1]));
        o.handed_over(1);
        assert_eq!(o.next().map(|(_, m)| m.payload.clone()), Some(vec![2]));
        // An ack for a packet id of the old session is ignored.
        assert!(!o.acked(3));
    }

    #[test]
    fn a_full_outbox_drops_the_oldest_and_says_so() {
        let mut o = Outbox::new(2);
        assert!(o.push(msg(0)).is_none());
        assert!(o.push(msg(1)).is_none());
        assert_eq!(o.push(msg(2)), Some(msg(0)));
        o.new_session();
        assert_eq!(o.next().map(|(_, m)| m.payload.clone()), Some(vec![1]));
    }
}
