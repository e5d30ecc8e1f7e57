//! Gate events from MQTT into the database, acknowledged after commit.
//!
//! One subscriber with a persistent session (QoS 1) feeds a bounded queue;
//! the committer takes what has queued (up to `MAX_BATCH`), commits it in
//! one transaction through [`crate::ingest::commit`], then publishes one
//! `EventAck` per gate naming the committed ids. A failed commit is
//! retried, never dropped: the events exist only in the queue (and in the
//! controllers' journals, which re-send whatever is not acknowledged).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_core::settings::BrokerSettings;
use parking_core::wire::{self, EventAck, GateEvent, GateTopic, Topics, V1};
use parking_core::{GateId, LotId};
use parking_runtime::mqtt::OutMsg;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge, Registry};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

use crate::db::Db;

/// Most events committed in one transaction.
pub const MAX_BATCH: usize = 1_000;

/// Ingestion metrics.
#[derive(Clone, Debug)]
pub struct IngestMetrics {
    pub events: IntCounter,
    pub duplicates: IntCounter,
    pub refused: IntCounter,
    pub commit_seconds: Histogram,
    pub backlog: IntGauge,
    /// 1 while the broker holds the ingestion's subscription.
    pub subscribed: IntGauge,
}

impl IngestMetrics {
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let m = IngestMetrics {
            events: IntCounter::new("ingest_events_total", "Gate events committed (first delivery)")?,
            duplicates: IntCounter::new(
                "ingest_duplicates_total",
                "Gate events delivered again, acknowledged, ignored",
            )?,
            refused: IntCounter::new("ingest_refused_total", "Payloads on an event topic that did not decode")?,
            commit_seconds: Histogram::with_opts(
                HistogramOpts::new("ingest_commit_seconds", "Time to commit one batch of gate events")
                    .buckets(prometheus::exponential_buckets(0.0005, 2.0, 14)?),
            )?,
            backlog: IntGauge::new("ingest_backlog", "Gate events received and not yet committed")?,
            subscribed: IntGauge::new("ingest_subscribed", "1 while the broker holds the ingestion's subscription")?,
        };
        registry.register(Box::new(m.events.clone()))?;
        registry.register(Box::new(m.duplicates.clone()))?;
        registry.register(Box::new(m.refused.clone()))?;
        registry.register(Box::new(m.commit_seconds.clone()))?;
        registry.register(Box::new(m.backlog.clone()))?;
        registry.register(Box::new(m.subscribed.clone()))?;
        Ok(m)
    }
}

/// Runs ingestion for `lot` until `shutdown`; commits what is queued
/// first. Acknowledgements go out through the lot's link, the one
/// `settle.after` publishes on.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    db: Db,
    lot: LotId,
    broker: BrokerSettings,
    client_id: String,
    share_group: Option<String>,
    metrics: IngestMetrics,
    settle: SettleLink,
    shutdown: CancellationToken,
) {
    let topics = Topics::new(lot.clone());
    let (tx, rx) = mpsc::channel::<(GateEvent, tracing::Span)>(65_536);
    let filter = shared(share_group.as_deref(), &topics.all_gates(GateTopic::Event));
    let sub = tokio::spawn(subscribe(broker, client_id, filter, tx, metrics.clone(), shutdown.clone()));
    committer(db, rx, topics, metrics, settle).await;
    let _ = sub.await;
}

/// The subscription for `filter`: shared by the instances of `group`
/// (each message to one of them), or this instance's own.
pub fn shared(group: Option<&str>, filter: &str) -> String {
    match group {
        Some(g) => format!("$share/{g}/{filter}"),
        None => filter.to_owned(),
    }
}

/// What ingestion needs for settlement: the VAT policy, and what to do
/// after each commit (lane commands out, the lists publisher woken when
/// account debits change what tags may spend).
#[derive(Clone, Debug)]
pub struct SettleLink {
    pub policy: Arc<crate::settlement::Policy>,
    pub after: super::commands::AfterCommit,
}

async fn subscribe(
    broker: BrokerSettings,
    client_id: String,
    filter: String,
    tx: mpsc::Sender<(GateEvent, tracing::Span)>,
    metrics: IngestMetrics,
    shutdown: CancellationToken,
) {
    let mut options = match parking_runtime::mqtt::mqtt_options(&broker, &client_id, None) {
        Ok(o) => o,
        Err(e) => return tracing::error!(error = %e, "ingestion: no broker link"),
    };
    options.set_clean_session(false);
    let subscribed = metrics.subscribed.clone();
    parking_runtime::mqtt::subscribe("ingest", options, &[filter], &shutdown, &mut Queue { tx, metrics }).await;
    subscribed.set(0);
}

/// Decodes each gate event onto the committer's queue.
struct Queue {
    tx: mpsc::Sender<(GateEvent, tracing::Span)>,
    metrics: IngestMetrics,
}

impl parking_runtime::mqtt::OnMessage for Queue {
    /// Acknowledged once queued: the controller re-sends an event until the
    /// server's own acknowledgement says it is committed.
    async fn on_message(&mut self, msg: rumqttc::Publish, ack: parking_runtime::mqtt::Ack) -> bool {
        match wire::decode::<GateEvent>(&msg.payload) {
            Ok(event) => {
                self.metrics.backlog.inc();
                // One span per event: the batch that commits it and the
                // acknowledgement that releases it follow from it.
                let span =
                    tracing::debug_span!("gate_event", event_id = %event.event_id, gate = %event.gate, seq = event.seq);
                span.in_scope(|| tracing::trace!("received"));
                let queued = self.tx.send((event, span)).await.is_ok();
                ack.send();
                queued
            }
            Err(e) => {
                self.metrics.refused.inc();
                tracing::warn!(topic = %msg.topic, error = %e, "gate event refused");
                ack.send();
                true
            }
        }
    }

    fn on_subscribed(&mut self) {
        self.metrics.subscribed.set(1);
    }
}

async fn committer(
    db: Db,
    mut rx: mpsc::Receiver<(GateEvent, tracing::Span)>,
    topics: Topics,
    metrics: IngestMetrics,
    settle: SettleLink,
) {
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first.0];
        let mut spans = vec![first.1];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok((e, s)) => {
                    batch.push(e);
                    spans.push(s);
                }
                Err(_) => break,
            }
        }
        let span = tracing::info_span!("ingest_batch", events = batch.len());
        for s in &spans {
            span.follows_from(s);
        }
        let outcome = async {
            let mut delay = Duration::from_millis(50);
            loop {
                let started = Instant::now();
                match crate::ingest::commit(&db, &settle.policy, &batch, settle.after.clock.now()).await {
                    Ok(outcome) => {
                        metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
                        tracing::debug!(new = outcome.new, "committed");
                        return outcome;
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "commit failed; retrying");
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
            }
        }
        .instrument(span.clone())
        .await;
        metrics.backlog.sub(i64::try_from(batch.len()).unwrap_or(0));
        metrics.events.inc_by(outcome.new as u64);
        metrics.duplicates.inc_by((batch.len() - outcome.new) as u64);
        // One acknowledgement per gate, after the commit.
        let mut by_gate: BTreeMap<&GateId, Vec<parking_core::EventId>> = BTreeMap::new();
        for e in &batch {
            by_gate.entry(&e.gate).or_default().push(e.event_id);
        }
        let _enter = span.enter();
        for (gate, event_ids) in by_gate {
            let ack = EventAck { v: V1, event_ids };
            let msg = OutMsg { topic: topics.gate(gate, GateTopic::Ack), payload: wire::encode(&ack), retain: false };
            if settle.after.out.send(msg).await.is_err() {
                tracing::error!("the acknowledgement publisher is gone");
            }
        }
        settle.after.publish(&outcome.commands, outcome.lists_changed).await;
        drop(_enter);
        for s in &spans {
            s.in_scope(|| tracing::trace!("committed and acknowledged"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::shared;

    #[test]
    fn a_share_group_subscribes_through_share() {
        assert_eq!(shared(Some("g"), "parking/l/gate/+/event"), "$share/g/parking/l/gate/+/event");
        assert_eq!(shared(None, "parking/l/gate/+/event"), "parking/l/gate/+/event");
    }
}
