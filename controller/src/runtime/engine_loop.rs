//! The engine task: the single owner of every decision. It takes reads,
//! loop changes, server commands, lists and tariff from one channel, fires
//! the lanes' timers, and hands what the engine decides to the journal
//! task: the events with the lot-state changes they imply, and the pulses
//! and displays that follow once those are committed.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_core::gate::{Input, LotChange};
use parking_core::wire::{self, BarrierState, GateTopic, Topics, V1};
use parking_core::{GateId, Timestamp};
use parking_runtime::mqtt::OutMsg;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::journal_task::{Deferred, JournalMsg};
use super::photos::PhotoJob;
use super::{EngineMsg, Shared};
use crate::engine::{Engine, Out};
use crate::journal::Entry;

/// The engine and where its outputs go.
pub(super) struct EngineLoop {
    pub(super) engine: Engine,
    pub(super) topics: Topics,
    pub(super) gates: Vec<GateId>,
    pub(super) journal: mpsc::Sender<JournalMsg>,
    pub(super) shared: Arc<Shared>,
    /// Timers the lanes asked for, earliest first.
    pub(super) wakes: BinaryHeap<Reverse<(Timestamp, usize)>>,
    /// Photos to take, if a lane has a camera snapshot.
    pub(super) photos: Option<mpsc::Sender<PhotoJob>>,
}

impl EngineLoop {
    pub(super) async fn run(mut self, mut rx: mpsc::Receiver<EngineMsg>, shutdown: CancellationToken) {
        let mut outs = Vec::with_capacity(16);
        loop {
            let next_wake = self.wakes.peek().map(|Reverse((at, _))| *at);
            // Lane timers are in clock time; the sleep is real.
            let sleep = next_wake.map_or(Duration::from_secs(3600), |at| self.shared.clock.real_wait(at));
            tokio::select! {
                _ = shutdown.cancelled() => break,
                msg = rx.recv() => match msg {
                    Some(msg) => self.on_msg(msg, &mut outs).await,
                    None => break,
                },
                _ = tokio::time::sleep(sleep), if next_wake.is_some() => {
                    let t = self.shared.clock.now();
                    while let Some(Reverse((at, lane))) = self.wakes.peek().copied() {
                        if at > t { break; }
                        self.wakes.pop();
                        self.engine.tick(lane, t, &mut outs);
                    }
                }
            }
            if !outs.is_empty() {
                self.perform(&mut outs, None).await;
            }
        }
    }

    async fn on_msg(&mut self, msg: EngineMsg, outs: &mut Vec<Out>) {
        let t = self.shared.clock.now();
        match msg {
            EngineMsg::Input { lane, input, received } => {
                match input {
                    Input::Tag(_) | Input::Qr(_) | Input::Plate { .. } | Input::TicketButton => {
                        self.shared.health.update(lane, |h| h.last_read_at = Some(t));
                    }
                    // The vehicle has passed: the cabinet closes the arm.
                    Input::Loop { occupied: false } => {
                        self.shared.health.update(lane, |h| h.barrier = BarrierState::Closed);
                    }
                    _ => {}
                }
                self.engine.handle(lane, input, t, outs);
                self.perform(outs, Some(received)).await;
            }
            EngineMsg::Command { lane, command } => self.engine.command(lane, command, t, outs),
            EngineMsg::Alarm { lane, alarm, detail } => self.engine.alarm(lane, alarm, detail, t, outs),
            EngineMsg::Peer { event, ack } => {
                self.engine.apply_peer(&event);
                // The lot-state changes it made go to the journal; the
                // broker hears the event was received once they are there.
                let changes = self.engine.take_changes();
                self.commit(Vec::new(), changes, ack.map(Deferred::Ack).into_iter().collect()).await;
            }
            EngineMsg::Snapshot { lists, payload } => {
                let version = lists.version;
                match self.engine.apply_snapshot(lists) {
                    Ok(()) => {
                        tracing::info!(version, tags = self.engine.lists().tag_count(), "lists snapshot applied");
                        let _ = self.journal.send(JournalMsg::SaveSnapshot { payload }).await;
                    }
                    Err(e) => tracing::debug!(error = %e, "lists snapshot not applied"),
                }
            }
            EngineMsg::Delta { delta, payload } => {
                let version = delta.to_version;
                match self.engine.apply_delta(delta) {
                    Ok(()) => {
                        tracing::info!(version, "lists delta applied");
                        let _ = self.journal.send(JournalMsg::SaveDelta { version, payload }).await;
                    }
                    Err(e @ parking_core::gate::ListsError::Stale { .. }) => {
                        tracing::debug!(error = %e, "lists delta already held");
                    }
                    Err(e) => tracing::warn!(error = %e, "lists delta not applied; waiting for a snapshot"),
                }
            }
            EngineMsg::Tariff { tariff, payload } => match self.engine.apply_tariff(tariff) {
                Ok(()) => {
                    tracing::info!("tariff applied");
                    let _ = self.journal.send(JournalMsg::SaveTariff { payload }).await;
                }
                Err(e) => tracing::error!(error = %e, "tariff refused"),
            },
        }
        self.shared.lists_version.store(self.engine.lists_version(), std::sync::atomic::Ordering::Relaxed);
    }

    /// Hands the engine's outputs to the journal task: the events and the
    /// lot-state changes to commit, and what the lanes do once they are on
    /// disk (pulses, tickets, displays), in the order decided. A barrier
    /// never opens for a passage the journal does not hold, so a crash
    /// cannot lose one (a group commit: a few milliseconds).
    async fn perform(&mut self, outs: &mut Vec<Out>, received: Option<Instant>) {
        let mut entries = Vec::new();
        let mut actions = Vec::new();
        let display = |gate: &GateId, payload: Vec<u8>| {
            Deferred::Publish(OutMsg { topic: self.topics.gate(gate, GateTopic::Display), payload, retain: true })
        };
        for out in outs.drain(..) {
            match out {
                Out::Pulse { lane, ms } => {
                    if let Some(r) = received {
                        self.shared.metrics.decision_seconds.observe(r.elapsed().as_secs_f64());
                    }
                    actions.push(Deferred::Pulse { lane, ms, received });
                }
                Out::Display { lane, msg } => {
                    if let Some(gate) = self.gates.get(lane) {
                        actions.push(display(gate, wire::encode(&msg)));
                    }
                }
                Out::Ticket { lane, text } => {
                    if let Some(gate) = self.gates.get(lane) {
                        let msg = wire::DisplayMsg {
                            v: V1,
                            gate: gate.clone(),
                            at: self.shared.clock.now(),
                            lines: vec!["Vé của bạn / Your ticket".into()],
                            vietqr: None,
                            amount: None,
                            ticket: Some(text),
                            receipt: None,
                        };
                        actions.push(display(gate, wire::encode(&msg)));
                    }
                }
                Out::Event(event) => {
                    if let parking_core::wire::GateEventKind::Alarm { alarm, .. } = &event.kind {
                        let kind = serde_json::to_value(alarm).ok().and_then(|v| v.as_str().map(str::to_owned));
                        self.shared.metrics.alarms.with_label_values(&[kind.as_deref().unwrap_or("other")]).inc();
                        tracing::warn!(gate = %event.gate, alarm = ?alarm, "alarm");
                    }
                    self.photograph(&event);
                    let payload = wire::encode(&event);
                    entries.push(Entry { event, payload });
                }
                Out::WakeAt { lane, at } => self.wakes.push(Reverse((at, lane))),
            }
        }
        let changes = self.engine.take_changes();
        self.commit(entries, changes, actions).await;
    }

    /// Asks for the lane's photo of an entry, an exit or a hold; never
    /// waits (a full queue of photos loses this one, counted).
    fn photograph(&self, event: &wire::GateEvent) {
        use parking_core::wire::GateEventKind as K;
        let Some(photos) = &self.photos else { return };
        if !matches!(event.kind, K::Entry { .. } | K::Exit { .. } | K::Held { .. }) {
            return;
        }
        let Some(lane) = self.gates.iter().position(|g| *g == event.gate) else { return };
        if photos.try_send(PhotoJob { lane, event_id: event.event_id }).is_err() {
            self.shared.metrics.photos.with_label_values(&["dropped"]).inc();
        }
    }

    /// Hands events, lot-state changes and what follows them to the
    /// journal task, if there is anything.
    async fn commit(&mut self, entries: Vec<Entry>, changes: Vec<LotChange>, actions: Vec<Deferred>) {
        if !entries.is_empty() || !changes.is_empty() || !actions.is_empty() {
            let msg = JournalMsg::Commit { entries, changes, actions, decided: Instant::now() };
            if self.journal.send(msg).await.is_err() {
                tracing::error!("the journal task is gone: events cannot be recorded");
            }
        }
    }
}
