//! One client's session: its subscriptions, what waits to be sent to it,
//! and what was sent at QoS 1 but not yet acknowledged. A session with
//! `clean_session = false` outlives its connection, so messages for it
//! are kept while it is away and sent again, with their packet ids, when
//! it comes back (MQTT 3.1.1, 4.4).

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use parking_core::wire::acl::Grant;
use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{Packet, Publish};

/// Most messages kept for one absent or slow client; beyond it the oldest
/// go (and are counted), so one dead subscriber cannot fill the memory.
pub(crate) const MAX_QUEUED: usize = 100_000;
/// Most QoS 1 messages sent to a client and not yet acknowledged.
pub(crate) const MAX_INFLIGHT: usize = 1_000;

/// A subscription: its filter (without `$share/{group}/`), the QoS asked
/// for, and its share group if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Subscription {
    pub filter: String,
    pub qos: QoS,
    pub group: Option<String>,
}

#[derive(Debug)]
pub(crate) struct Session {
    /// The broker user that owns the session: another user may not take
    /// its client id (and with it its subscriptions).
    pub user: String,
    pub grant: Arc<Grant>,
    pub persistent: bool,
    /// Which connection is live (0: none); bumped on each connect, so a
    /// replaced connection's tasks see they are no longer wanted.
    pub connection: u64,
    pub subs: Vec<Subscription>,
    /// Acknowledgements and answers to send first (not kept across a
    /// reconnect).
    pub control: VecDeque<Packet>,
    pub queue: VecDeque<Publish>,
    pub inflight: BTreeMap<u16, Publish>,
    /// Send `inflight` again (a reconnect) before anything new.
    pub resend: bool,
    next_pkid: u16,
    pub dropped: u64,
}

impl Session {
    pub(crate) fn new(user: String, grant: Arc<Grant>, persistent: bool) -> Session {
        Session {
            user,
            grant,
            persistent,
            connection: 0,
            subs: Vec::new(),
            control: VecDeque::new(),
            queue: VecDeque::new(),
            inflight: BTreeMap::new(),
            resend: false,
            next_pkid: 0,
            dropped: 0,
        }
    }

    /// Queues `msg` at `qos` (already lowered to the subscription's).
    pub(crate) fn enqueue(&mut self, mut msg: Publish, qos: QoS) {
        if self.connection == 0 && qos == QoS::AtMostOnce {
            return; // QoS 0 is never kept for an absent client
        }
        msg.qos = qos;
        msg.dup = false;
        msg.pkid = 0;
        if self.queue.len() >= MAX_QUEUED {
            self.queue.pop_front();
            self.dropped += 1;
            if self.dropped.is_power_of_two() {
                tracing::warn!(user = %self.user, dropped = self.dropped, "a client's queue is full; its oldest messages go");
            }
        }
        self.queue.push_back(msg);
    }

    /// The best subscription of this session matching `topic` (highest
    /// QoS), if any, ignoring shared ones (the router picks those).
    pub(crate) fn best_match(&self, topic: &str) -> Option<QoS> {
        self.subs
            .iter()
            .filter(|s| s.group.is_none() && parking_core::wire::acl::matches(&s.filter, topic))
            .map(|s| s.qos)
            .max_by_key(|q| *q as u8)
    }

    /// What the connection's writer sends next: answers first, then
    /// unacknowledged messages again after a reconnect, then new ones up
    /// to the in-flight window.
    pub(crate) fn take_outgoing(&mut self) -> Vec<Packet> {
        let mut out: Vec<Packet> = self.control.drain(..).collect();
        if self.resend {
            self.resend = false;
            out.extend(self.inflight.values().map(|p| {
                let mut p = p.clone();
                p.dup = true;
                Packet::Publish(p)
            }));
        }
        while self.inflight.len() < MAX_INFLIGHT {
            let Some(mut msg) = self.queue.pop_front() else { break };
            if msg.qos != QoS::AtMostOnce {
                msg.pkid = self.pkid();
                self.inflight.insert(msg.pkid, msg.clone());
            }
            out.push(Packet::Publish(msg));
        }
        out
    }

    /// A packet id not in flight (1..=65535; 0 is not an id).
    fn pkid(&mut self) -> u16 {
        loop {
            self.next_pkid = self.next_pkid.checked_add(1).unwrap_or(1);
            if !self.inflight.contains_key(&self.next_pkid) {
                return self.next_pkid;
            }
        }
    }

    /// The client acknowledged `pkid`: true if that frees room to send.
    pub(crate) fn acked(&mut self, pkid: u16) -> bool {
        self.inflight.remove(&pkid).is_some() && !self.queue.is_empty()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;

    fn session() -> Session {
        let mut s = Session::new("u".into(), Arc::new(Grant::default()), true);
        s.connection = 1;
        s
    }

    #[test]
    fn qos1_messages_wait_for_their_ack_and_go_again_after_a_reconnect() {
        let mut s = session();
        s.enqueue(Publish::new("a", QoS::AtLeastOnce, "1"), QoS::AtLeastOnce);
        s.enqueue(Publish::new("a", QoS::AtLeastOnce, "2"), QoS::AtMostOnce);
        let out = s.take_outgoing();
        assert_eq!(out.len(), 2);
        assert_eq!(s.inflight.len(), 1, "only the QoS 1 message waits for an ack");
        s.resend = true;
        let again = s.take_outgoing();
        let Some(Packet::Publish(p)) = again.first() else { panic!("nothing sent again: {again:?}") };
        assert!(p.dup && p.pkid == 1 && p.payload.as_ref() == b"1");
        s.acked(1);
        assert!(s.inflight.is_empty());
    }

    #[test]
    fn qos0_is_not_kept_for_an_absent_client_and_the_queue_is_bounded() {
        let mut s = session();
        s.connection = 0;
        s.enqueue(Publish::new("a", QoS::AtMostOnce, "x"), QoS::AtMostOnce);
        assert!(s.queue.is_empty());
        for i in 0..MAX_QUEUED + 3 {
            s.enqueue(Publish::new("a", QoS::AtLeastOnce, i.to_string()), QoS::AtLeastOnce);
        }
        assert_eq!(s.queue.len(), MAX_QUEUED);
        assert_eq!(s.dropped, 3);
        assert_eq!(s.queue.front().map(|p| p.payload.clone()), Some("3".into()));
    }

    #[test]
    fn the_window_holds_back_what_is_beyond_it_and_ids_skip_those_in_flight() {
        let mut s = session();
        for _ in 0..MAX_INFLIGHT + 5 {
            s.enqueue(Publish::new("a", QoS::AtLeastOnce, "x"), QoS::AtLeastOnce);
        }
        assert_eq!(s.take_outgoing().len(), MAX_INFLIGHT);
        assert_eq!(s.queue.len(), 5);
        assert!(s.acked(7), "an ack makes room while more waits");
        assert_eq!(s.take_outgoing().len(), 1);
        assert!(s.inflight.contains_key(&(u16::try_from(MAX_INFLIGHT).unwrap() + 1)));
    }
}
