//! One lane's decisions: `Lane::handle(input, now, ctx) -> Vec<Action>`.
//!
//! Pure and synchronous: the controller's async loop feeds it reads, loop
//! changes, server messages and ticks, and performs the actions. Nothing
//! here waits for the network: every decision comes from the lists, the
//! tariff and the lot state the controller holds.

use super::lists::EdgeLists;
use super::lot::{Inside, LotState};
use super::safety::Safety;

mod exit;
mod reopen;
pub use super::config::{ExitWithoutEntry, LaneConfig};
use super::ticket::{Ticket, TicketKey};
use super::{Action, Input, alarm, emit};
use crate::ids::Epc;
use crate::payment_code::PaymentCode;
use crate::plate::Plate;
use crate::tariff::{Fee, TariffBook};
use crate::timestamp::Timestamp;
use crate::wire::{AlarmKind, Credential, DenyReason, DenyTarget, Direction, GateEventKind, Settlement, TagPresence};
use exit::Payer;

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
        Lane { cfg, safety: Safety::default(), last_plate: None, waiting: None }
    }

    pub fn config(&self) -> &LaneConfig {
        &self.cfg
    }

    /// Whether an exit is waiting for a transfer, and for which code.
    pub fn waiting_for(&self) -> Option<PaymentCode> {
        self.waiting.as_ref().map(|w| w.code)
    }

    /// Decides what to do about `input` at `now`.
    pub fn handle(&mut self, input: Input, now: Timestamp, ctx: &mut Context<'_>) -> Vec<Action> {
        let passage = matches!(input, Input::Loop { occupied: false });
        let mut out = match input {
            Input::Tag(p) => self.on_tag(p, now, ctx),
            Input::Qr(text) => self.on_qr(&text, now, ctx),
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
            Input::Tick => Vec::new(),
        };
        if passage {
            self.forget_open_once_passed(ctx);
        }
        self.remember_open(&out, now, ctx);
        out.extend(self.safety.on_tick(now, &self.cfg));
        out
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
        // A plate alone opens only for a pass holder.
        if ctx.lists.valid_pass(None, Some(&plate), now).is_some() {
            return self.pass_holder(credential, None, now, ctx);
        }
        Vec::new()
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
        let mut out = Vec::new();
        self.open(now, &mut out);
        let kind = match self.cfg.direction {
            Direction::Entry => {
                if let Some(e) = epc {
                    ctx.lot.enter(e, Inside { entered_at: now, class: pass.class.clone() });
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

    fn on_tag(&mut self, p: TagPresence, now: Timestamp, ctx: &mut Context<'_>) -> Vec<Action> {
        let credential = Credential::Tag { epc: p.epc.clone(), tid: p.tid.clone() };
        if let Some(reason) = ctx.lists.denied(&DenyTarget::Epc(p.epc.clone())) {
            return deny(credential, reason, AlarmKind::DenyListHit, &format!("tag {} is on the deny list", p.epc));
        }
        let plate = self.plate(now).cloned();
        if let Some(pl) = &plate {
            if let Some(reason) = ctx.lists.denied(&DenyTarget::Plate(pl.clone())) {
                return deny(credential, reason, AlarmKind::DenyListHit, &format!("plate {pl} is on the deny list"));
            }
        }
        let Some(entry) = ctx.lists.tag(&p.epc).cloned() else {
            // Unregistered: a ticket at entry; at exit only a pass helps.
            return match self.cfg.direction {
                Direction::Entry => self.issue_ticket(now, ctx),
                Direction::Exit => self.pass_holder(credential, Some(p.epc), now, ctx),
            };
        };
        if let (Some(read), Some(bound)) = (&p.tid, &entry.tid) {
            if read != bound {
                let detail = format!("tag {} read with TID {read}, registered with {bound}", p.epc);
                return deny(credential, DenyReason::ClonedTag, AlarmKind::ClonedTag, &detail);
            }
        }
        if let (Some(seen), Some(registered)) = (&plate, &entry.plate) {
            if seen != registered {
                let detail = format!("tag {} registered to {registered}, camera read {seen}", p.epc);
                return deny(credential, DenyReason::PlateMismatch, AlarmKind::ClonedTag, &detail);
            }
        }
        if let Some(account) = &entry.account {
            if let Some(reason) = ctx.lists.denied(&DenyTarget::Account(account.clone())) {
                return deny(credential, reason, AlarmKind::DenyListHit, &format!("account {account} is blocked"));
            }
        }
        if ctx.lists.valid_pass(Some(&p.epc), plate.as_ref(), now).is_some() {
            return self.pass_holder(credential, Some(p.epc), now, ctx);
        }
        match self.cfg.direction {
            Direction::Entry => {
                if ctx.lot.inside.contains_key(&p.epc) {
                    if let Some(out) = self.reopen(&p.epc.to_string(), now, ctx) {
                        return out;
                    }
                    let detail = format!("tag {} is already inside", p.epc);
                    return vec![
                        emit(GateEventKind::Denied { credential, reason: DenyReason::AlreadyInside }),
                        Action::Display { lines: vec![detail], payment: None },
                    ];
                }
                let mut out = Vec::new();
                self.open(now, &mut out);
                ctx.lot.enter(p.epc, Inside { entered_at: now, class: entry.class.clone() });
                out.push(emit(GateEventKind::Entry { credential, class: entry.class, plate: plate.or(entry.plate) }));
                out
            }
            Direction::Exit => {
                let payer = entry.account.map(|account| Payer { account, spendable: entry.spendable });
                self.tag_exit(credential, p.epc, entry.class, payer, plate, now, ctx)
            }
        }
    }

    fn issue_ticket(&mut self, now: Timestamp, ctx: &mut Context<'_>) -> Vec<Action> {
        let serial = ctx.lot.issue_ticket_serial();
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
            plate: self.plate(now).cloned(),
        }));
        out
    }
}
