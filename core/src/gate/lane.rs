//! One lane's decisions: `Lane::handle(input, now, ctx) -> Vec<Action>`.
//!
//! Pure and synchronous: the controller's async loop feeds it reads, loop
//! changes, server messages and ticks, and performs the actions. Nothing
//! here waits for the network: every decision comes from the lists, the
//! tariff and the lot state the controller holds.
//!
//! Parts: `tag` (a tag in either direction), `exit` (pricing, payment,
//! tickets at the exit), `plates` (waiting for the camera, comparing entry
//! and exit plates, holding for staff), `reopen` (an open given again).

use super::lists::EdgeLists;
use super::lot::{Inside, LotState};
use super::safety::Safety;

mod exit;
mod plates;
mod reopen;
mod tag;
use super::config::ExitPlateCheck;
pub use super::config::{ExitWithoutEntry, LaneConfig};
use super::ticket::{Ticket, TicketKey};
use super::{Action, Input, alarm, emit};
use crate::ids::Epc;
use crate::payment_code::PaymentCode;
use crate::plate::Plate;
use crate::tariff::{Fee, TariffBook};
use crate::timestamp::Timestamp;
use crate::wire::{AlarmKind, Credential, DenyReason, DenyTarget, Direction, GateEventKind, Settlement};
pub use plates::HOLD_TEXT;
use plates::{Awaiting, Held};

/// Everything a decision may consult.
#[derive(Debug)]
pub struct Context<'a> {
    pub lists: &'a EdgeLists,
    pub tariffs: &'a TariffBook,
    pub zone: &'a str,
    pub key: &'a TicketKey,
    pub lot: &'a mut LotState,
}

/// An exit waiting for its transfer.
#[derive(Clone, Debug)]
struct Waiting {
    code: PaymentCode,
    fee: Fee,
    credential: Credential,
    entered_at: Timestamp,
    epc: Option<Epc>,
    ticket_serial: Option<u64>,
}

/// One lane.
#[derive(Debug)]
pub struct Lane {
    cfg: LaneConfig,
    safety: Safety,
    last_plate: Option<(Plate, Timestamp)>,
    waiting: Option<Waiting>,
    /// A credential held for staff (a plate mismatch, a tag on another
    /// vehicle).
    held: Option<Held>,
    /// A credential waiting for the camera's plate.
    awaiting: Option<Awaiting>,
    /// Set while a credential is decided again after its wait for a plate.
    waited: bool,
    /// Set while a held credential is decided again after staff released it.
    waived: bool,
}

fn deny(credential: Credential, reason: DenyReason, alarm_kind: AlarmKind, detail: &str) -> Vec<Action> {
    vec![
        emit(GateEventKind::Denied { credential, reason }),
        alarm(alarm_kind, detail),
        Action::Display {
            lines: vec!["Vui lòng liên hệ nhân viên / Please see the operator".into()], payment: None
        },
    ]
}

impl Lane {
    pub fn new(cfg: LaneConfig) -> Self {
        Lane {
            cfg,
            safety: Safety::default(),
            last_plate: None,
            waiting: None,
            held: None,
            awaiting: None,
            waited: false,
            waived: false,
        }
    }

    pub fn config(&self) -> &LaneConfig {
        &self.cfg
    }

    /// Whether an exit is waiting for a transfer, and for which code.
    pub fn waiting_for(&self) -> Option<PaymentCode> {
        self.waiting.as_ref().map(|w| w.code)
    }

    /// Whether the lane holds a vehicle for staff to decide.
    pub fn held(&self) -> bool {
        self.held.is_some()
    }

    /// Decides what to do about `input` at `now`.
    pub fn handle(&mut self, input: Input, now: Timestamp, ctx: &mut Context<'_>) -> Vec<Action> {
        let passage = matches!(input, Input::Loop { occupied: false });
        let mut out = self.dispatch(input, now, ctx);
        if passage {
            self.forget_open_once_passed(ctx);
            // The plate read was the vehicle's that just crossed.
            self.last_plate = None;
        }
        self.remember_open(&out, now, ctx);
        out.extend(self.safety.on_tick(now, &self.cfg));
        out
    }

    fn dispatch(&mut self, input: Input, now: Timestamp, ctx: &mut Context<'_>) -> Vec<Action> {
        match input {
            Input::Tag(_) | Input::Qr(_) | Input::TicketButton if self.busy() => Vec::new(),
            Input::Tag(p) => self.on_tag(p, now, ctx),
            Input::Qr(text) => self.on_qr(&text, now, ctx),
            Input::Plate { plate, confidence } if self.awaiting.is_some() => {
                if confidence < self.cfg.min_plate_confidence {
                    return Vec::new();
                }
                self.last_plate = Some((plate, now));
                self.plate_arrived(now, ctx)
            }
            Input::Plate { plate, confidence } => self.on_plate(plate, confidence, now, ctx),
            Input::TicketButton => match self.cfg.direction {
                Direction::Entry => self.issue_ticket(now, ctx),
                Direction::Exit => Vec::new(),
            },
            Input::Loop { occupied } => self.safety.on_loop(occupied, now, &self.cfg),
            Input::PaymentConfirmed { payment_code, remaining, receipt } => {
                self.on_paid(payment_code, remaining, receipt, now, ctx)
            }
            Input::ManualOpen { operator, reason, note } => {
                // The operator decides for whoever waits: the lane stops
                // waiting and lets the vehicle out owing what it owes, so
                // its stay closes as unpaid and it is no longer inside.
                let manual = emit(GateEventKind::ManualOpen { operator, reason, note });
                self.end_hold();
                match self.waiting.take() {
                    Some(w) => {
                        let owed = ctx.lot.owed.get(&w.code).copied().unwrap_or(w.fee.amount);
                        let mut out = vec![manual];
                        out.extend(self.release(w, Settlement::Unpaid { owed }, now, ctx));
                        out
                    }
                    None => {
                        let mut out = Vec::new();
                        self.open(now, &mut out);
                        out.push(manual);
                        out
                    }
                }
            }
            Input::HoldDecision { operator, release, note } => self.decide_hold(operator, release, note, now, ctx),
            Input::Tick => self.plate_wait_over(now, ctx),
        }
    }

    fn open(&mut self, now: Timestamp, out: &mut Vec<Action>) {
        let deadline = self.safety.opened(now, &self.cfg);
        out.push(Action::Pulse { ms: self.cfg.pulse_ms });
        out.push(Action::WakeAt(deadline));
    }

    /// The recent, confident plate read, if any.
    fn plate(&self, now: Timestamp) -> Option<&Plate> {
        self.last_plate
            .as_ref()
            .filter(|(_, at)| now.since(*at).whole_milliseconds() <= i128::from(self.cfg.plate_valid_ms))
            .map(|(p, _)| p)
    }

    fn on_plate(&mut self, plate: Plate, confidence: f32, now: Timestamp, ctx: &mut Context<'_>) -> Vec<Action> {
        if confidence < self.cfg.min_plate_confidence {
            return Vec::new();
        }
        self.last_plate = Some((plate.clone(), now));
        let credential = Credential::Plate { plate: plate.clone() };
        if let Some(reason) = ctx.lists.denied(&DenyTarget::Plate(plate.clone())) {
            return deny(credential, reason, AlarmKind::DenyListHit, &format!("plate {plate} is on the deny list"));
        }
        // A plate alone opens only for a pass holder. A pass bound to a
        // tag opens as that tag: the stay is the tag's whichever the lane
        // read first, and the tag read after it opens nothing new.
        let Some(pass) = ctx.lists.valid_pass(None, Some(&plate), now) else { return Vec::new() };
        match pass.epc.clone() {
            Some(epc) => self.pass_holder(Credential::Tag { epc: epc.clone(), tid: None }, Some(epc), now, ctx),
            None => self.pass_holder(credential, None, now, ctx),
        }
    }

    fn pass_holder(
        &mut self,
        credential: Credential,
        epc: Option<Epc>,
        now: Timestamp,
        ctx: &mut Context<'_>,
    ) -> Vec<Action> {
        let plate = self.plate(now).cloned();
        let Some(pass) = ctx.lists.valid_pass(epc.as_ref(), plate.as_ref(), now).cloned() else { return Vec::new() };
        // The same vehicle read again (its plate, then its tag): while the
        // barrier is up for it, its open stands; after, it opens again.
        if let Some(e) = &epc {
            let moved = ctx.lot.inside.contains_key(e) == (self.cfg.direction == Direction::Entry);
            let key = e.to_string();
            if moved && self.opened_for(&key, now, ctx) {
                return Vec::new();
            }
            if let Some(again) = moved.then(|| self.reopen(&key, now, ctx)).flatten() {
                return again;
            }
        }
        let mut out = Vec::new();
        self.open(now, &mut out);
        let kind = match self.cfg.direction {
            Direction::Entry => {
                if let Some(e) = epc {
                    ctx.lot.enter(e, Inside { entered_at: now, class: pass.class.clone(), plate: plate.clone() });
                }
                GateEventKind::Entry { credential, class: pass.class, plate }
            }
            Direction::Exit => {
                let entered_at = epc.and_then(|e| ctx.lot.leave(&e)).map(|i| i.entered_at);
                GateEventKind::Exit {
                    credential,
                    class: pass.class,
                    plate,
                    entered_at,
                    fee: None,
                    settlement: Settlement::Pass { pass: pass.pass },
                }
            }
        };
        out.push(emit(kind));
        out
    }

    fn issue_ticket(&mut self, now: Timestamp, ctx: &mut Context<'_>) -> Vec<Action> {
        // The plate the exit will compare with is read before printing.
        if self.should_wait_for_plate(self.cfg.plates.exit_check != ExitPlateCheck::Off, now) {
            return self.await_plate(Input::TicketButton, now);
        }
        let serial = ctx.lot.issue_ticket_serial();
        let plate = self.plate(now).cloned();
        if let Some(p) = &plate {
            ctx.lot.ticket_plate(serial, p.clone());
        }
        let entered_at = Timestamp::from_unix_seconds(now.unix_seconds()).unwrap_or(now);
        let ticket = Ticket {
            lot: self.cfg.lot.clone(),
            gate: self.cfg.gate.clone(),
            serial,
            entered_at,
            class: self.cfg.ticket_class.clone(),
        };
        let Ok(text) = ticket.sign(ctx.key) else {
            return vec![alarm(AlarmKind::ConfigError, "ticket key unusable: cannot issue tickets")];
        };
        let mut out = vec![Action::PrintTicket { text: text.clone() }];
        self.open(now, &mut out);
        out.push(emit(GateEventKind::Entry {
            credential: Credential::Ticket { code: text },
            class: ticket.class,
            plate,
        }));
        out
    }
}
