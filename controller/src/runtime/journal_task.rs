//! The journal task: the only writer of the journal. It commits the
//! engine's events in batches (one transaction, one fsync per batch),
//! publishes each committed event at once, deletes events the server
//! acknowledges, and re-sends the backlog oldest first at a bounded rate.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use parking_core::gate::LotChange;
use parking_core::wire::{EventAck, GateTopic, Topics};
use parking_core::{EventId, GateId};
use tag_reader::publisher::OutMsg;
use tag_reader::reader::now;
use tokio::sync::mpsc;

use super::Shared;
use crate::delivery::Delivery;
use crate::journal::{Entry, Journal, Unacked};

/// Most events committed in one transaction.
const MAX_BATCH: usize = 512;

/// What the journal task is asked to do.
#[derive(Debug)]
pub enum JournalMsg {
    Commit { entries: Vec<Entry>, changes: Vec<LotChange>, decided: Instant },
    SaveSnapshot { payload: bytes::Bytes },
    SaveDelta { version: u64, payload: Vec<u8> },
    SaveTariff { payload: Vec<u8> },
}

/// Backlog settings.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Events per second re-sent from the backlog.
    pub backlog_rate: u32,
    pub ack_timeout_ms: u64,
}

fn event_msg(topics: &Topics, gate: &str, payload: Vec<u8>) -> Option<OutMsg> {
    let gate: GateId = gate.parse().ok()?;
    Some(OutMsg { topic: topics.gate(&gate, GateTopic::Event), payload, retain: false })
}

/// Runs until the engine's sender is dropped and everything it sent is
/// committed.
#[allow(clippy::too_many_arguments)]
pub async fn run(
    mut journal: Journal,
    mut rx: mpsc::Receiver<JournalMsg>,
    mut acks: mpsc::Receiver<EventAck>,
    out: mpsc::Sender<OutMsg>,
    topics: Topics,
    unacked: Vec<Unacked>,
    limits: Limits,
    shared: Arc<Shared>,
) {
    let m = &shared.metrics;
    // A network timeout, meant in real time: stretched under a simulated clock.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]
    let ack_timeout = (limits.ack_timeout_ms as f64 * tag_reader::clock::speed()) as u64;
    let mut delivery = Delivery::new(ack_timeout);
    for u in unacked {
        delivery.journaled(u.seq, u.event_id, None);
    }
    m.backlog.set(i64::try_from(delivery.backlog()).unwrap_or(i64::MAX));
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    // Re-sends allowed per 100 ms tick; at least one so a backlog moves.
    let per_tick = usize::try_from(limits.backlog_rate / 10).unwrap_or(1).max(1);
    let mut acks_open = true;
    loop {
        tokio::select! {
            biased;
            msg = rx.recv() => {
                let Some(first) = msg else { break };
                let mut batch = vec![first];
                while batch.len() < MAX_BATCH {
                    match rx.try_recv() {
                        Ok(m) => batch.push(m),
                        Err(_) => break,
                    }
                }
                commit(&mut journal, batch, &mut delivery, &out, &topics, &shared).await;
            }
            ack = acks.recv(), if acks_open => match ack {
                Some(first) => {
                    let mut ids: Vec<EventId> = first.event_ids;
                    while let Ok(more) = acks.try_recv() {
                        ids.extend(more.event_ids);
                    }
                    ids.retain(|id| delivery.acked(id));
                    if !ids.is_empty() {
                        match journal.ack(&ids).await {
                            Ok(n) => m.events_acked.inc_by(n),
                            Err(e) => tracing::error!(error = %e, "cannot delete acknowledged events"),
                        }
                    }
                }
                None => acks_open = false,
            },
            _ = tick.tick() => {
                if shared.publisher.connected.load(Ordering::Relaxed) {
                    resend(&mut journal, &mut delivery, per_tick, &out, &topics, &shared).await;
                }
            }
        }
        m.backlog.set(i64::try_from(delivery.backlog()).unwrap_or(i64::MAX));
    }
    tracing::info!(backlog = delivery.backlog(), "journal closed");
}

async fn commit(
    journal: &mut Journal,
    batch: Vec<JournalMsg>,
    delivery: &mut Delivery,
    out: &mpsc::Sender<OutMsg>,
    topics: &Topics,
    shared: &Shared,
) {
    let m = &shared.metrics;
    let mut entries = Vec::new();
    let mut changes = Vec::new();
    let mut oldest: Option<Instant> = None;
    for msg in batch {
        match msg {
            JournalMsg::Commit { entries: e, changes: c, decided } => {
                entries.extend(e);
                changes.extend(c);
                oldest = Some(oldest.map_or(decided, |o| o.min(decided)));
            }
            JournalMsg::SaveSnapshot { payload } => {
                if let Err(e) = journal.save_snapshot(&payload).await {
                    tracing::error!(error = %e, "cannot save the lists snapshot");
                }
            }
            JournalMsg::SaveDelta { version, payload } => {
                if let Err(e) = journal.save_delta(version, &payload).await {
                    tracing::error!(error = %e, "cannot save a lists delta");
                }
            }
            JournalMsg::SaveTariff { payload } => {
                if let Err(e) = journal.save_tariff(&payload).await {
                    tracing::error!(error = %e, "cannot save the tariff");
                }
            }
        }
    }
    if entries.is_empty() && changes.is_empty() {
        return;
    }
    // A failed commit is retried: the events exist nowhere else yet.
    let mut delay = Duration::from_millis(50);
    let seqs = loop {
        match journal.commit(&entries, &changes).await {
            Ok(seqs) => break seqs,
            Err(e) => {
                tracing::error!(error = %e, events = entries.len(), "journal commit failed; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    };
    if let Some(t) = oldest {
        m.journal_ms.observe(t.elapsed().as_secs_f64() * 1e3);
    }
    m.events_journaled.inc_by(entries.len() as u64);
    let connected = shared.publisher.connected.load(Ordering::Relaxed);
    let now_ms = now().unix_millis();
    for (entry, seq) in entries.into_iter().zip(seqs) {
        let id = entry.event.event_id;
        let sent = connected
            && event_msg(topics, entry.event.gate.as_str(), entry.payload).is_some_and(|msg| out.try_send(msg).is_ok());
        delivery.journaled(seq, id, sent.then_some(now_ms));
    }
}

async fn resend(
    journal: &mut Journal,
    delivery: &mut Delivery,
    max: usize,
    out: &mpsc::Sender<OutMsg>,
    topics: &Topics,
    shared: &Shared,
) {
    let now_ms = now().unix_millis();
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
