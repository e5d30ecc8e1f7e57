//! The broker's shared state: every session by client id, the retained
//! messages, and the turn of each share group. A publish is routed here
//! to every session with a matching subscription, and to one member of
//! each `$share/{group}/{filter}` group (a connected one first).
//! Connections hold the lock only to queue or take packets.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use rumqttc::mqttbytes::QoS;
use rumqttc::mqttbytes::v4::{
    ConnAck, ConnectReturnCode, Packet, Publish, SubAck, Subscribe, SubscribeReasonCode, UnsubAck, Unsubscribe,
};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::Login;
use crate::session::{Session, Subscription};

/// A session and the handles of its live connection.
#[derive(Debug)]
struct Slot {
    session: Session,
    /// Wakes the connection's writer when there is something to send.
    notify: Arc<Notify>,
    /// Ends the live connection (another connection took the client id).
    kick: CancellationToken,
}

/// What a new connection gets: its number, its writer's wake-up, the token
/// that ends it, and whether a session was already there.
#[derive(Debug)]
pub(crate) struct Attached {
    pub connection: u64,
    pub notify: Arc<Notify>,
    pub kick: CancellationToken,
    pub session_present: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Router {
    sessions: HashMap<String, Slot>,
    retained: BTreeMap<String, Publish>,
    turns: HashMap<(String, String), usize>,
    connections: u64,
}

/// A share group's member: its client id, QoS, and whether it is connected.
type Member = (String, QoS, bool);

/// The lower of two QoS levels, and never above 1 (the broker sends at
/// most QoS 1; QoS 2 publishes are accepted and passed on at QoS 1).
fn lower(a: QoS, b: QoS) -> QoS {
    if a == QoS::AtMostOnce || b == QoS::AtMostOnce { QoS::AtMostOnce } else { QoS::AtLeastOnce }
}

/// `$share/{group}/{filter}` split into group and filter.
fn shared(filter: &str) -> (Option<String>, &str) {
    match filter.strip_prefix("$share/").and_then(|rest| rest.split_once('/')) {
        Some((group, f)) if !group.is_empty() && !group.contains(['+', '#']) => (Some(group.to_owned()), f),
        _ => (None, filter),
    }
}

impl Router {
    /// Attaches a connection to the session of `client_id`, making or
    /// resuming it. Refused if the session belongs to another user.
    pub(crate) fn connect(
        &mut self,
        client_id: &str,
        login: &Login,
        clean: bool,
    ) -> Result<Attached, ConnectReturnCode> {
        self.connections += 1;
        let connection = self.connections;
        let mut session_present = false;
        if let Some(old) = self.sessions.get_mut(client_id) {
            if old.session.user != login.user {
                return Err(ConnectReturnCode::NotAuthorized);
            }
            old.kick.cancel();
            if clean || !old.session.persistent {
                self.sessions.remove(client_id);
            } else {
                session_present = true;
            }
        }
        let slot = self.sessions.entry(client_id.to_owned()).or_insert_with(|| Slot {
            session: Session::new(login.user.clone(), login.grant.clone(), !clean),
            notify: Arc::new(Notify::new()),
            kick: CancellationToken::new(),
        });
        slot.kick = CancellationToken::new();
        slot.session.connection = connection;
        slot.session.grant = login.grant.clone();
        slot.session.control.clear();
        slot.session.resend = !slot.session.inflight.is_empty();
        slot.session.control.push_back(Packet::ConnAck(ConnAck::new(ConnectReturnCode::Success, session_present)));
        slot.notify.notify_one();
        Ok(Attached { connection, notify: slot.notify.clone(), kick: slot.kick.clone(), session_present })
    }

    /// Is `connection` still the live one of `client_id`?
    pub(crate) fn is_live(&self, client_id: &str, connection: u64) -> bool {
        self.sessions.get(client_id).is_some_and(|s| s.session.connection == connection)
    }

    /// The connection ended: a clean session goes, a persistent one waits.
    pub(crate) fn detach(&mut self, client_id: &str, connection: u64) {
        if let Some(slot) = self.sessions.get_mut(client_id).filter(|s| s.session.connection == connection) {
            slot.session.connection = 0;
            slot.session.control.clear();
            if !slot.session.persistent {
                self.sessions.remove(client_id);
            }
        }
    }

    /// Queues an answer (an ack, a ping response) for the live connection.
    pub(crate) fn answer(&mut self, client_id: &str, packet: Packet) {
        if let Some(slot) = self.sessions.get_mut(client_id) {
            slot.session.control.push_back(packet);
            slot.notify.notify_one();
        }
    }

    /// What the writer of `connection` sends next; `None` once it is not
    /// the live connection any more.
    pub(crate) fn take(&mut self, client_id: &str, connection: u64) -> Option<Vec<Packet>> {
        let slot = self.sessions.get_mut(client_id).filter(|s| s.session.connection == connection)?;
        Some(slot.session.take_outgoing())
    }

    pub(crate) fn acked(&mut self, client_id: &str, pkid: u16) {
        if let Some(slot) = self.sessions.get_mut(client_id) {
            if slot.session.acked(pkid) {
                slot.notify.notify_one();
            }
        }
    }

    /// Routes a publish the sender was allowed to make.
    pub(crate) fn publish(&mut self, msg: Publish) {
        if msg.retain {
            if msg.payload.is_empty() {
                self.retained.remove(&msg.topic);
            } else {
                self.retained.insert(msg.topic.clone(), msg.clone());
            }
        }
        let mut out = msg;
        out.retain = false;
        // One member of each share group whose filter matches.
        let mut groups: BTreeMap<(String, String), Vec<Member>> = BTreeMap::new();
        for (id, slot) in &mut self.sessions {
            if let Some(qos) = slot.session.best_match(&out.topic) {
                slot.session.enqueue(out.clone(), lower(qos, out.qos));
                slot.notify.notify_one();
            }
            for s in slot.session.subs.iter().filter(|s| s.group.is_some()) {
                if parking_core::wire::acl::matches(&s.filter, &out.topic) {
                    let key = (s.group.clone().unwrap_or_default(), s.filter.clone());
                    groups.entry(key).or_default().push((id.clone(), s.qos, slot.session.connection != 0));
                }
            }
        }
        for (key, mut members) in groups {
            // Connected members take turns; with none connected, the
            // absent ones keep the message for when they return.
            if members.iter().any(|m| m.2) {
                members.retain(|m| m.2);
            }
            members.sort_by(|a, b| a.0.cmp(&b.0));
            let turn = self.turns.entry(key).or_default();
            *turn = turn.wrapping_add(1);
            let (id, qos, _) = &members[*turn % members.len()];
            if let Some(slot) = self.sessions.get_mut(id) {
                slot.session.enqueue(out.clone(), lower(*qos, out.qos));
                slot.notify.notify_one();
            }
        }
    }

    /// Adds the subscriptions the session's grant allows, answers with
    /// one code per filter (failure for each refused one), then sends the
    /// retained messages the new subscriptions match.
    pub(crate) fn subscribe(&mut self, client_id: &str, sub: Subscribe) -> Vec<String> {
        let mut refused = Vec::new();
        let Some(slot) = self.sessions.get_mut(client_id) else { return refused };
        let mut codes = Vec::new();
        let mut fresh = Vec::new();
        for f in sub.filters {
            let (group, filter) = shared(&f.path);
            if !slot.session.grant.may_subscribe(filter) {
                codes.push(SubscribeReasonCode::Failure);
                refused.push(f.path.clone());
                continue;
            }
            let qos = lower(f.qos, QoS::AtLeastOnce);
            let s = Subscription { filter: filter.to_owned(), qos, group };
            slot.session.subs.retain(|old| old.filter != s.filter || old.group != s.group);
            if s.group.is_none() {
                fresh.push((s.filter.clone(), qos));
            }
            slot.session.subs.push(s);
            codes.push(SubscribeReasonCode::Success(qos));
        }
        slot.session.control.push_back(Packet::SubAck(SubAck::new(sub.pkid, codes)));
        for (filter, qos) in fresh {
            for msg in self.retained.values().filter(|m| parking_core::wire::acl::matches(&filter, &m.topic)) {
                let mut m = msg.clone();
                m.retain = true;
                let q = lower(qos, m.qos);
                slot.session.enqueue(m, q);
            }
        }
        slot.notify.notify_one();
        refused
    }

    pub(crate) fn unsubscribe(&mut self, client_id: &str, unsub: Unsubscribe) {
        let Some(slot) = self.sessions.get_mut(client_id) else { return };
        for path in &unsub.topics {
            let (group, filter) = shared(path);
            slot.session.subs.retain(|s| s.filter != filter || s.group != group);
        }
        slot.session.control.push_back(Packet::UnsubAck(UnsubAck::new(unsub.pkid)));
        slot.notify.notify_one();
    }

    /// Ends every connection (shutdown).
    pub(crate) fn kick_all(&self) {
        for slot in self.sessions.values() {
            slot.kick.cancel();
        }
    }
}

#[cfg(test)]
mod tests;
