//! The journal task: the only writer of the journal. It commits the
//! engine's events in batches (one transaction, one fsync per batch), then
//! performs what the lanes decided (pulses, tickets, displays) and
//! publishes the events; it deletes events the server acknowledges, and
//! re-sends the backlog oldest first at a bounded rate.
//!
//! A commit that fails (a full or failing disk) does not stop the lanes:
//! the task raises a `journal_failing` alarm on each lane, performs the
//! lanes' actions anyway, publishes the events from memory, and holds them
//! and their lot-state changes in memory, committing them (oldest first,
//! in one transaction) as soon as the journal takes writes again.
//!
//! Parts: this file (the task, its commits and actions), `failing` (the
//! held events while the journal fails, and the retries), `sending`
//! (acknowledgements, deletions and the backlog's re-sends).

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use parking_core::gate::LotChange;
use parking_core::wire::{EventAck, GateTopic, Topics};
use parking_core::{EventId, GateId};
use parking_runtime::mqtt::OutMsg;
use tokio::sync::mpsc;

mod failing;
mod sending;

use failing::Held;

use super::{EngineMsg, Shared};
use crate::delivery::Delivery;
use crate::journal::{Entry, Journal, Unacked};

/// Most events committed in one transaction.
const MAX_BATCH: usize = 512;
/// Longest wait between two tries of a failing journal.
const MAX_RETRY: Duration = Duration::from_secs(5);

/// What a lane does once its decision is committed.
#[derive(Debug)]
pub enum Deferred {
    /// An OPEN pulse; `received` is when its input arrived, if one did.
    Pulse { lane: usize, ms: u16, received: Option<Instant> },
    /// A display or a printed ticket.
    Publish(OutMsg),
    /// The broker's acknowledgement of a message the batch took in.
    Ack(parking_runtime::mqtt::Ack),
}

/// What the journal task is asked to do.
#[derive(Debug)]
pub enum JournalMsg {
    Commit { entries: Vec<Entry>, changes: Vec<LotChange>, actions: Vec<Deferred>, decided: Instant },
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

/// Where the journal task's work goes.
#[derive(Debug)]
pub struct Outputs {
    /// The MQTT publisher on the lot's broker (events).
    pub out: mpsc::Sender<OutMsg>,
    /// The publisher the lanes' displays go to (the devices' broker, if
    /// they have one).
    pub devices: mpsc::Sender<OutMsg>,
    /// Each lane's pulse queue.
    pub barriers: Vec<mpsc::Sender<(usize, u16)>>,
    /// The engine, told of a failing journal (it raises the alarms).
    pub engine: mpsc::Sender<EngineMsg>,
}

fn event_msg(topics: &Topics, gate: &str, payload: Vec<u8>) -> Option<OutMsg> {
    let gate: GateId = gate.parse().ok()?;
    Some(OutMsg { topic: topics.gate(&gate, GateTopic::Event), payload, retain: false })
}

struct Task {
    journal: Journal,
    delivery: Delivery,
    outputs: Outputs,
    topics: Topics,
    shared: Arc<Shared>,
    held: Option<Held>,
    /// Acknowledged events whose rows could not be deleted yet.
    undeleted: Vec<EventId>,
    retry_at: Instant,
    retry_delay: Duration,
}

/// Runs until the engine's sender is dropped and everything it sent is
/// committed (or, the journal failing, tried once more).
#[allow(clippy::too_many_arguments)]
pub async fn run(
    journal: Journal,
    mut rx: mpsc::Receiver<JournalMsg>,
    mut acks: mpsc::Receiver<EventAck>,
    outputs: Outputs,
    topics: Topics,
    unacked: Vec<Unacked>,
    limits: Limits,
    shared: Arc<Shared>,
) {
    // A network timeout, meant in real time: stretched under a simulated clock.
    let ack_timeout = shared.clock.stretch(Duration::from_millis(limits.ack_timeout_ms));
    let ack_timeout = u64::try_from(ack_timeout.as_millis()).unwrap_or(u64::MAX);
    let mut delivery = Delivery::new(ack_timeout);
    for u in unacked {
        delivery.journaled(u.seq, u.event_id, None);
    }
    let mut task = Task {
        journal,
        delivery,
        outputs,
        topics,
        shared,
        held: None,
        undeleted: Vec::new(),
        retry_at: Instant::now(),
        retry_delay: Duration::from_millis(50),
    };
    task.gauges();
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
                task.commit(batch).await;
            }
            ack = acks.recv(), if acks_open => match ack {
                Some(first) => {
                    let mut ids: Vec<EventId> = first.event_ids;
                    while let Ok(more) = acks.try_recv() {
                        ids.extend(more.event_ids);
                    }
                    task.acked(ids).await;
                }
                None => acks_open = false,
            },
            _ = tick.tick() => {
                if task.held.is_some() || !task.undeleted.is_empty() {
                    task.retry().await;
                }
                if task.shared.publisher.connected.load(Ordering::Relaxed) {
                    task.resend(per_tick).await;
                }
            }
        }
        task.gauges();
    }
    if task.held.is_some() {
        task.retry_at = Instant::now();
        task.retry().await;
    }
    if let Some(held) = &task.held {
        let unacked = held.entries.len() - held.acked.len();
        tracing::error!(
            events = held.entries.len(),
            unacked,
            "stopping with events the journal never took: those the server has not acknowledged are lost"
        );
    }
    tracing::info!(backlog = task.delivery.backlog(), "journal closed");
}

impl Task {
    fn gauges(&self) {
        let m = &self.shared.metrics;
        m.backlog.set(i64::try_from(self.delivery.backlog()).unwrap_or(i64::MAX));
        let held = self.held.as_ref().map_or(0, |h| h.entries.len());
        m.events_held.set(i64::try_from(held).unwrap_or(i64::MAX));
        m.journal_failing.set(i64::from(self.held.is_some()));
    }

    /// Commits a batch, then performs its lanes' actions and publishes its
    /// events; with the journal failing, holds them in memory instead.
    async fn commit(&mut self, batch: Vec<JournalMsg>) {
        let mut entries = Vec::new();
        let mut changes = Vec::new();
        let mut actions = Vec::new();
        let mut oldest: Option<Instant> = None;
        for msg in batch {
            match msg {
                JournalMsg::Commit { entries: e, changes: c, actions: a, decided } => {
                    entries.extend(e);
                    changes.extend(c);
                    actions.extend(a);
                    oldest = Some(oldest.map_or(decided, |o| o.min(decided)));
                }
                JournalMsg::SaveSnapshot { payload } => {
                    if let Err(e) = self.journal.save_snapshot(&payload).await {
                        tracing::error!(error = %e, "cannot save the lists snapshot");
                    }
                }
                JournalMsg::SaveDelta { version, payload } => {
                    if let Err(e) = self.journal.save_delta(version, &payload).await {
                        tracing::error!(error = %e, "cannot save a lists delta");
                    }
                }
                JournalMsg::SaveTariff { payload } => {
                    if let Err(e) = self.journal.save_tariff(&payload).await {
                        tracing::error!(error = %e, "cannot save the tariff");
                    }
                }
            }
        }
        if entries.is_empty() && changes.is_empty() {
            self.act(actions);
            return;
        }
        if self.held.is_none() {
            match self.journal.commit(&entries, &changes).await {
                Ok(seqs) => {
                    let m = &self.shared.metrics;
                    if let Some(t) = oldest {
                        m.journal_seconds.observe(t.elapsed().as_secs_f64());
                    }
                    m.events_journaled.inc_by(entries.len() as u64);
                    // The events go to the publisher before the pulses go
                    // out, so that word of an entry is on its way to the
                    // lot's other controllers before the vehicle moves.
                    let now_ms = self.shared.clock.now_ms();
                    for (entry, seq) in entries.into_iter().zip(seqs) {
                        let id = entry.event.event_id;
                        let sent = self.publish(&entry).then_some(now_ms);
                        self.delivery.journaled(seq, id, sent);
                    }
                    self.act(actions);
                    return;
                }
                Err(e) => self.failing(&e, entries.len()),
            }
        }
        // Not on disk: the lanes go on, the events go out from memory.
        self.act(actions);
        let now_ms = self.shared.clock.now_ms();
        let sent: Vec<Option<i64>> = entries.iter().map(|e| self.publish(e).then_some(now_ms)).collect();
        let held = self.held.get_or_insert_with(Held::default);
        held.ids.extend(entries.iter().map(|e| e.event.event_id));
        held.entries.extend(entries);
        held.sent.extend(sent);
        held.changes.extend(changes);
    }

    /// Pulses barriers and publishes displays, in the order decided.
    fn act(&self, actions: Vec<Deferred>) {
        let m = &self.shared.metrics;
        for action in actions {
            match action {
                Deferred::Pulse { lane, ms, received } => {
                    m.pulses.inc();
                    if let Some(b) = self.outputs.barriers.get(lane) {
                        if b.try_send((lane, ms)).is_err() {
                            tracing::error!(lane, "barrier queue full: pulse not delivered");
                        }
                    }
                    if let Some(r) = received {
                        m.open_seconds.observe(r.elapsed().as_secs_f64());
                    }
                }
                Deferred::Publish(msg) => {
                    if self.outputs.devices.try_send(msg).is_err() {
                        tracing::warn!("publisher queue full: a display was not sent");
                    }
                }
                Deferred::Ack(ack) => ack.send(),
            }
        }
    }

    /// Hands a live event to the publisher; false if it could not go now.
    fn publish(&self, entry: &Entry) -> bool {
        self.shared.publisher.connected.load(Ordering::Relaxed)
            && event_msg(&self.topics, entry.event.gate.as_str(), entry.payload.clone())
                .is_some_and(|msg| self.outputs.out.try_send(msg).is_ok())
    }
}
