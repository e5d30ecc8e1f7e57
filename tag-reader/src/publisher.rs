//! An MQTT publisher that loses nothing it accepted: QoS 1 with its own
//! bounded outbox, re-sent after every reconnect until the broker
//! acknowledges each message.
//!
//! rumqttc alone is not enough: when it reconnects to a broker that lost
//! the session (a broker restarted without persistence), it drops the
//! publishes that were in flight. So this task keeps every message until
//! its PUBACK arrives, and hands the unacknowledged ones to a fresh clean
//! session after each reconnect. A message may therefore arrive twice
//! (at-least-once); receivers deduplicate. A full outbox drops its oldest
//! message, and counts and logs it: never silently.
//!
//! Its counterpart for receiving is [`subscribe`]: every subscriber of the
//! system (controller, lot server) runs that one loop.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use parking_core::settings::{BrokerSettings, TlsSettings};
use rumqttc::{
    AsyncClient, Event, EventLoop, LastWill, MqttOptions, Outgoing, Packet, QoS, TlsConfiguration, Transport,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// One message to publish with QoS 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutMsg {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

/// Counters shared with whoever watches the publisher.
#[derive(Debug, Default)]
pub struct PublisherStats {
    /// Messages the broker acknowledged.
    pub acked: AtomicU64,
    /// Messages dropped because the outbox was full.
    pub dropped: AtomicU64,
    /// Connections made (the first one included).
    pub connects: AtomicU64,
    /// Messages waiting for an acknowledgement.
    pub outbox: AtomicU64,
    pub connected: AtomicBool,
}

/// Settings of the publisher.
#[derive(Clone, Debug)]
pub struct PublisherConfig {
    pub options: MqttOptions,
    /// Most messages kept while the broker is away.
    pub outbox_capacity: usize,
    /// Most messages in flight (sent, not yet acknowledged) at once.
    pub max_inflight: usize,
    /// Published (retained) at every connect, e.g. an online status.
    pub on_connect: Option<OutMsg>,
}

/// Why a broker connection cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("broker.tls.{key}: cannot read {path}: {error}")]
    Read { key: &'static str, path: String, error: std::io::Error },
    #[error("broker.tls.{key}: {path} holds no PEM {what}")]
    NoPem { key: &'static str, path: String, what: &'static str },
    #[error("broker.tls: client_cert and client_key go together")]
    HalfIdentity,
}

/// The TLS transport `[broker.tls]` asks for: the CA to check the broker
/// against and, if set, this client's certificate and key (rustls, ring).
fn tls_transport(tls: &TlsSettings) -> Result<Transport, BrokerError> {
    let read = |key: &'static str, path: &std::path::Path| {
        std::fs::read(path).map_err(|error| BrokerError::Read { key, path: path.display().to_string(), error })
    };
    let pem = |key: &'static str, path: &std::path::Path, what: &'static str, found: bool| {
        if found { Ok(()) } else { Err(BrokerError::NoPem { key, path: path.display().to_string(), what }) }
    };
    let ca = read("ca_file", &tls.ca_file)?;
    let certs = rustls_pemfile::certs(&mut &ca[..]).filter_map(Result::ok).count();
    pem("ca_file", &tls.ca_file, "certificate", certs > 0)?;
    let client_auth = match (&tls.client_cert, &tls.client_key) {
        (Some(cert_path), Some(key_path)) => {
            let cert = read("client_cert", cert_path)?;
            let certs = rustls_pemfile::certs(&mut &cert[..]).filter_map(Result::ok).count();
            pem("client_cert", cert_path, "certificate", certs > 0)?;
            let key = read("client_key", key_path)?;
            let found = matches!(rustls_pemfile::private_key(&mut &key[..]), Ok(Some(_)));
            pem("client_key", key_path, "private key", found)?;
            Some((cert, key))
        }
        (None, None) => None,
        _ => return Err(BrokerError::HalfIdentity),
    };
    Ok(Transport::tls_with_config(TlsConfiguration::Simple { ca, alpn: None, client_auth }))
}

/// MQTT options from the `[broker]` settings: TCP_NODELAY on (see
/// DOMAIN.md §9: without it a round trip costs ~40 ms), credentials,
/// a retained last will, TLS with `[broker.tls]`.
pub fn mqtt_options(
    broker: &BrokerSettings,
    client_id: &str,
    will: Option<&OutMsg>,
) -> Result<MqttOptions, BrokerError> {
    let mut o = MqttOptions::new(client_id, broker.host.clone(), broker.port);
    o.set_keep_alive(Duration::from_secs(u64::from(broker.keep_alive_secs.max(5))));
    o.set_clean_session(true);
    o.set_max_packet_size(1024 * 1024, 1024 * 1024);
    if let (Some(user), Some(pass)) = (&broker.username, &broker.password) {
        o.set_credentials(user.clone(), pass.expose().to_owned());
    }
    if let Some(w) = will {
        o.set_last_will(LastWill::new(w.topic.clone(), w.payload.clone(), QoS::AtLeastOnce, w.retain));
    }
    if let Some(tls) = &broker.tls {
        o.set_transport(tls_transport(tls)?);
    }
    Ok(o)
}

/// A client and its eventloop with TCP_NODELAY set (DOMAIN.md §9): every
/// MQTT client of the system is made here.
pub fn new_client(options: MqttOptions, cap: usize) -> (AsyncClient, EventLoop) {
    let (client, mut eventloop) = AsyncClient::new(options, cap);
    let mut net = rumqttc::NetworkOptions::new();
    net.set_tcp_nodelay(true);
    eventloop.set_network_options(net);
    (client, eventloop)
}

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

/// Publishes what arrives on `rx` until `shutdown`, then tries for up to
/// `drain` to empty the outbox before it returns.
pub async fn run(
    config: PublisherConfig,
    mut rx: mpsc::Receiver<OutMsg>,
    stats: Arc<PublisherStats>,
    shutdown: CancellationToken,
    drain: Duration,
) {
    let (client, mut eventloop) = new_client(config.options.clone(), config.max_inflight + 8);
    let mut outbox = Outbox::new(config.outbox_capacity);
    let mut connected = false;
    let mut backoff = Duration::from_millis(100);
    let mut input_open = true;
    let stopping = shutdown.clone();
    let drain_deadline = async move {
        stopping.cancelled().await;
        tokio::time::sleep(drain).await;
    };
    tokio::pin!(drain_deadline);
    let push = |outbox: &mut Outbox, msg: OutMsg| {
        if let Some(dropped) = outbox.push(msg) {
            stats.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::error!(topic = %dropped.topic, "outbox full: dropped the oldest message");
        }
    };

    loop {
        if shutdown.is_cancelled() && outbox.is_empty() && !input_open {
            break;
        }
        tokio::select! {
            _ = &mut drain_deadline => {
                if !outbox.is_empty() {
                    tracing::warn!(left = outbox.len(), "stopping with messages not acknowledged");
                }
                break;
            }
            msg = rx.recv(), if input_open => match msg {
                Some(msg) => push(&mut outbox, msg),
                None => input_open = false,
            },
            event = eventloop.poll() => match event {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    connected = true;
                    backoff = Duration::from_millis(100);
                    stats.connects.fetch_add(1, Ordering::Relaxed);
                    if let Some(status) = &config.on_connect {
                        push(&mut outbox, status.clone());
                    }
                    outbox.new_session();
                    tracing::info!(pending = outbox.len(), "connected to the broker");
                }
                Ok(Event::Outgoing(Outgoing::Publish(pkid))) => outbox.sent(pkid),
                Ok(Event::Incoming(Packet::PubAck(ack))) => {
                    if outbox.acked(ack.pkid) {
                        stats.acked.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    if connected {
                        tracing::warn!(error = %e, pending = outbox.len(), "lost the broker; buffering");
                    }
                    connected = false;
                    tokio::select! {
                        _ = tokio::time::sleep(backoff) => {}
                        _ = &mut drain_deadline => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(5));
                }
            },
        }
        stats.connected.store(connected, Ordering::Relaxed);
        stats.outbox.store(outbox.len() as u64, Ordering::Relaxed);
        // Hand over what the in-flight window allows, in order.
        while connected && outbox.in_flight() < config.max_inflight {
            let Some((seq, msg)) = outbox.next() else { break };
            match client.try_publish(msg.topic.clone(), QoS::AtLeastOnce, msg.retain, msg.payload.clone()) {
                Ok(()) => outbox.handed_over(seq),
                Err(_) => break,
            }
        }
    }
    let _ = client.try_disconnect();
}

/// What a subscriber does with each message; false stops it (its
/// receiver is gone).
pub trait OnMessage: Send {
    fn on_message(&mut self, msg: rumqttc::Publish) -> impl std::future::Future<Output = bool> + Send;
}

/// Receives until `shutdown` (or until the handler returns false): with
/// the options' session (persistent when clean session is off), the
/// `filters` subscribed at QoS 1 after every connect, reconnecting with
/// back-off from 100 ms to 5 s. `name` labels the log lines.
pub async fn subscribe(
    name: &str,
    options: MqttOptions,
    filters: &[String],
    shutdown: &CancellationToken,
    handler: &mut impl OnMessage,
) {
    let (client, mut eventloop) = new_client(options, 1024);
    let mut backoff = Duration::from_millis(100);
    loop {
        let event = tokio::select! {
            _ = shutdown.cancelled() => break,
            e = eventloop.poll() => e,
        };
        match event {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                backoff = Duration::from_millis(100);
                for f in filters {
                    if let Err(e) = client.subscribe(f.clone(), QoS::AtLeastOnce).await {
                        tracing::error!(subscriber = name, filter = %f, error = %e, "cannot subscribe");
                    }
                }
                tracing::info!(subscriber = name, "subscribed");
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                if !handler.on_message(p).await {
                    break;
                }
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(subscriber = name, error = %e, "lost the broker; retrying");
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(5));
            }
        }
    }
    let _ = client.try_disconnect();
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
