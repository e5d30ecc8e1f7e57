//! The decision engine: every lane of this controller over one shared lot
//! state, the lists and the tariff. Synchronous and allocation-light: it
//! is the hot path that `controller bench` measures.
//!
//! It turns a lane's [`Action`]s into what the runtime performs: pulses,
//! display messages (with the VietQR payload built here), and complete
//! [`GateEvent`]s stamped with an id, a per-gate sequence number, the list
//! version and the tariff version. Changes to the lot state are kept for
//! the journal, which commits them with the events.

use std::collections::HashMap;

use parking_core::gate::{Action, Context, EdgeLists, Input, Lane, LaneConfig, ListsError, LotChange, LotState};
use parking_core::gate::{ExitWithoutEntry, Inside, Ticket, TicketKey};
use parking_core::tariff::TariffBook;
use parking_core::vietqr::VietQr;
use parking_core::wire::{
    AlarmKind, Command, Credential, DisplayMsg, GateEvent, GateEventKind, ListsDelta, ListsSnapshot, TariffMsg, V1,
};
use parking_core::{EventId, GateId, LotId, Timestamp};

use crate::settings::{BankSettings, ExitPolicy, LaneSettings, Settings};

/// Something the runtime must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Out {
    Pulse {
        lane: usize,
        ms: u16,
    },
    Display {
        lane: usize,
        msg: DisplayMsg,
    },
    /// A gate event to journal, then publish.
    Event(GateEvent),
    /// Print (or show) a ticket with this QR text.
    Ticket {
        lane: usize,
        text: String,
    },
    /// Call [`Engine::tick`] for this lane at this instant.
    WakeAt {
        lane: usize,
        at: Timestamp,
    },
}

/// Makes UUIDv7 event ids: the time of the decision, then 48 random bits
/// drawn once per process and a 32-bit counter, so ids are unique across
/// controllers and sort by time in the journal's index.
#[derive(Debug)]
pub struct EventIds {
    seed: [u8; 6],
    counter: u32,
}

impl EventIds {
    pub fn new(seed: [u8; 6]) -> Self {
        EventIds { seed, counter: 0 }
    }

    pub fn next(&mut self, at: Timestamp) -> EventId {
        self.counter = self.counter.wrapping_add(1);
        let mut rand = [0u8; 10];
        rand[..6].copy_from_slice(&self.seed);
        rand[6..].copy_from_slice(&self.counter.to_be_bytes());
        let ms = u64::try_from(at.unix_millis()).unwrap_or(0);
        EventId::from_uuid(uuid::Builder::from_unix_timestamp_millis(ms, &rand).into_uuid())
    }
}

#[derive(Debug)]
struct Slot {
    lane: Lane,
    gate: GateId,
    /// Sequence number of this gate's last event.
    seq: u64,
}

/// All lanes, their shared state, lists and tariff.
#[derive(Debug)]
pub struct Engine {
    lot_id: LotId,
    zone: String,
    key: TicketKey,
    bank: Option<BankSettings>,
    slots: Vec<Slot>,
    index: HashMap<GateId, usize>,
    lot: LotState,
    lists: EdgeLists,
    tariffs: TariffBook,
    ids: EventIds,
    /// Reused between calls, so a decision allocates little.
    scratch: Vec<Action>,
}

/// The pure configuration of one lane.
pub fn lane_config(lot: &LotId, s: &LaneSettings, settings: &Settings) -> LaneConfig {
    LaneConfig {
        lot: lot.clone(),
        gate: s.gate.clone(),
        direction: s.direction,
        pulse_ms: s.pulse_ms,
        pass_timeout_ms: s.pass_timeout_ms,
        arm_held_ms: s.arm_held_ms,
        tailgate_window_ms: s.tailgate_window_ms,
        ticket_class: settings.controller.ticket_class.clone(),
        min_plate_confidence: s.min_plate_confidence,
        plate_valid_ms: s.plate_valid_ms,
        reopen_within_ms: s.reopen_within_ms,
        exit_without_entry: match settings.controller.exit_without_entry {
            ExitPolicy::OpenAndCharge => ExitWithoutEntry::OpenAndCharge,
            ExitPolicy::Refuse => ExitWithoutEntry::Refuse,
        },
        plates: settings.plates.policy(),
    }
}

impl Engine {
    /// An engine for the configured lanes, with the tariff book known at
    /// start-up (the server's retained tariff replaces it when it arrives).
    pub fn new(settings: &Settings, key: TicketKey, tariffs: TariffBook, ids: EventIds) -> Self {
        let lot_id = settings.lot.id.clone();
        let slots: Vec<Slot> = settings
            .lanes
            .iter()
            .map(|l| Slot { lane: Lane::new(lane_config(&lot_id, l, settings)), gate: l.gate.clone(), seq: 0 })
            .collect();
        let index = slots.iter().enumerate().map(|(i, s)| (s.gate.clone(), i)).collect();
        Engine {
            lot_id,
            zone: settings.lot.zone.clone(),
            key,
            bank: settings.bank.clone(),
            slots,
            index,
            lot: LotState::with_series(settings.controller.index),
            lists: EdgeLists::default(),
            tariffs,
            ids,
            scratch: Vec::with_capacity(8),
        }
    }

    pub fn lane_index(&self, gate: &GateId) -> Option<usize> {
        self.index.get(gate).copied()
    }

    pub fn gate(&self, lane: usize) -> Option<&GateId> {
        self.slots.get(lane).map(|s| &s.gate)
    }

    pub fn lanes(&self) -> usize {
        self.slots.len()
    }

    pub fn lists_version(&self) -> u64 {
        self.lists.version()
    }

    pub fn lists(&self) -> &EdgeLists {
        &self.lists
    }

    pub fn tariffs(&self) -> &TariffBook {
        &self.tariffs
    }

    pub fn lot(&self) -> &LotState {
        &self.lot
    }

    /// Restores persisted state at start-up: the lot state, and each
    /// gate's last sequence number.
    pub fn restore(&mut self, changes: impl IntoIterator<Item = LotChange>, seqs: &HashMap<String, u64>) {
        for c in changes {
            self.lot.restore(c);
        }
        for slot in &mut self.slots {
            slot.seq = seqs.get(slot.gate.as_str()).copied().unwrap_or(0);
        }
    }

    /// The lot-state changes since the last call, for the journal.
    pub fn take_changes(&mut self) -> Vec<LotChange> {
        self.lot.take_changes()
    }

    /// Decides about `input` at lane `lane`, appending to `out`.
    pub fn handle(&mut self, lane: usize, input: Input, now: Timestamp, out: &mut Vec<Out>) {
        let Some(slot) = self.slots.get_mut(lane) else { return };
        let mut ctx = Context {
            lists: &self.lists,
            tariffs: &self.tariffs,
            zone: &self.zone,
            key: &self.key,
            lot: &mut self.lot,
        };
        let mut actions = std::mem::take(&mut self.scratch);
        actions.extend(slot.lane.handle(input, now, &mut ctx));
        for action in actions.drain(..) {
            self.perform(lane, action, now, out);
        }
        self.scratch = actions;
    }

    /// A timer set with [`Out::WakeAt`] fired.
    pub fn tick(&mut self, lane: usize, now: Timestamp, out: &mut Vec<Out>) {
        self.handle(lane, Input::Tick, now, out);
    }

    /// A command from the server for gate `lane`. A payment confirmation
    /// goes to whichever lane waits for that code (the driver may have
    /// moved lanes), or is remembered for when the vehicle reaches one.
    pub fn command(&mut self, lane: usize, command: Command, now: Timestamp, out: &mut Vec<Out>) {
        match command {
            Command::PaymentConfirmed { payment_code, remaining, receipt, .. } => {
                let target = self.slots.iter().position(|s| s.lane.waiting_for() == Some(payment_code)).unwrap_or(lane);
                self.handle(target, Input::PaymentConfirmed { payment_code, remaining, receipt }, now, out);
            }
            Command::ManualOpen { operator, reason, note } => {
                self.handle(lane, Input::ManualOpen { operator, reason, note }, now, out);
            }
            Command::HoldDecision { operator, release, note } => {
                self.handle(lane, Input::HoldDecision { operator, release, note }, now, out);
            }
            Command::ShowMessage { text } => {
                if let Some(gate) = self.gate(lane).cloned() {
                    let msg = DisplayMsg {
                        v: V1,
                        gate,
                        at: now,
                        lines: vec![text],
                        vietqr: None,
                        amount: None,
                        ticket: None,
                        receipt: None,
                    };
                    out.push(Out::Display { lane, msg });
                }
            }
        }
    }

    /// Another controller of the lot let a vehicle in or out: the lot
    /// state follows (who is inside, the tickets used), so a vehicle may
    /// leave by any controller's lane. Its own gates' events are not
    /// peers'.
    pub fn apply_peer(&mut self, event: &GateEvent) {
        if event.lot != self.lot_id || self.index.contains_key(&event.gate) {
            return;
        }
        match &event.kind {
            GateEventKind::Entry { credential: Credential::Tag { epc, .. }, class, plate } => {
                let inside = Inside { entered_at: event.at, class: class.clone(), plate: plate.clone() };
                self.lot.peer_entered(epc.clone(), inside);
            }
            GateEventKind::Entry { credential: Credential::Ticket { code }, plate: Some(plate), .. } => {
                if let Ok(ticket) = Ticket::verify(code, &self.key, &self.lot_id) {
                    self.lot.ticket_plate(ticket.serial, plate.clone());
                }
            }
            GateEventKind::Exit { credential: Credential::Tag { epc, .. }, .. } => self.lot.peer_left(epc, event.at),
            GateEventKind::Exit { credential: Credential::Ticket { code }, .. } => {
                if let Ok(ticket) = Ticket::verify(code, &self.key, &self.lot_id) {
                    self.lot.use_ticket(ticket.serial);
                }
            }
            _ => {}
        }
    }

    /// Raises an alarm that no lane decided: a reader gone silent, a
    /// barrier that does not answer.
    pub fn alarm(&mut self, lane: usize, alarm: AlarmKind, detail: String, now: Timestamp, out: &mut Vec<Out>) {
        self.emit(lane, GateEventKind::Alarm { alarm, detail }, None, now, out);
    }

    pub fn apply_snapshot(&mut self, s: ListsSnapshot) -> Result<(), ListsError> {
        let lot = self.lot_id.as_str().to_owned();
        self.lists.apply_snapshot(&lot, s)
    }

    pub fn apply_delta(&mut self, d: ListsDelta) -> Result<(), ListsError> {
        self.lists.apply_delta(d)
    }

    /// Replaces the tariff book with the server's, if it is for this lot
    /// and prices this lot's zone.
    pub fn apply_tariff(&mut self, t: TariffMsg) -> Result<(), String> {
        if t.lot != self.lot_id {
            return Err(format!("tariff for lot {}, this controller runs {}", t.lot, self.lot_id));
        }
        if !t.book.tariffs().iter().any(|x| x.zone() == self.zone) {
            return Err(format!("the tariff book has nothing for zone {}", self.zone));
        }
        self.tariffs = t.book;
        Ok(())
    }

    fn perform(&mut self, lane: usize, action: Action, now: Timestamp, out: &mut Vec<Out>) {
        match action {
            Action::Pulse { ms } => out.push(Out::Pulse { lane, ms }),
            Action::Display { lines, payment } => {
                let Some(gate) = self.gate(lane).cloned() else { return };
                let (vietqr, amount) = match (payment, &self.bank) {
                    (Some(p), Some(bank)) => {
                        let qr = VietQr {
                            merchant_name: bank.account_name.clone(),
                            ..VietQr::payment(&bank.bin, &bank.account, p.amount, p.code.as_str())
                        };
                        (qr.encode().ok(), Some(p.amount))
                    }
                    (Some(p), None) => (None, Some(p.amount)),
                    (None, _) => (None, None),
                };
                out.push(Out::Display {
                    lane,
                    msg: DisplayMsg { v: V1, gate, at: now, lines, vietqr, amount, ticket: None, receipt: None },
                });
            }
            Action::ShowReceipt { url } => {
                let Some(gate) = self.gate(lane).cloned() else { return };
                let lines = vec!["Cảm ơn! Quét mã để lấy biên lai / Thank you! Scan for your receipt".into()];
                let msg = DisplayMsg {
                    v: V1,
                    gate,
                    at: now,
                    lines,
                    vietqr: None,
                    amount: None,
                    ticket: None,
                    receipt: Some(url),
                };
                out.push(Out::Display { lane, msg });
            }
            Action::Emit { kind, tariff_version } => self.emit(lane, kind, tariff_version, now, out),
            Action::PrintTicket { text } => out.push(Out::Ticket { lane, text }),
            Action::WakeAt(at) => out.push(Out::WakeAt { lane, at }),
        }
    }

    fn emit(
        &mut self,
        lane: usize,
        kind: GateEventKind,
        tariff_version: Option<parking_core::tariff::TariffVersion>,
        now: Timestamp,
        out: &mut Vec<Out>,
    ) {
        let Some(slot) = self.slots.get_mut(lane) else { return };
        slot.seq += 1;
        // Every event records the tariff it was decided under: the one the
        // fee used, else the one in force.
        let tariff_version =
            tariff_version.or_else(|| self.tariffs.in_force(&self.zone, now).map(|t| t.version().clone()));
        out.push(Out::Event(GateEvent {
            v: V1,
            event_id: self.ids.next(now),
            lot: self.lot_id.clone(),
            gate: slot.gate.clone(),
            seq: slot.seq,
            at: now,
            list_version: self.lists.version(),
            tariff_version,
            kind,
        }));
    }
}
