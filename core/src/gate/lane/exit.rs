//! The exit side of a lane: the plate check, pricing a stay, waiting for a
//! transfer, and letting the vehicle out.

use super::{Context, ExitWithoutEntry, Lane, Waiting, alarm, deny, emit};
use crate::gate::ticket::Ticket;
use crate::gate::{Action, ExitPlateCheck, Input, PaymentRequest, stay_code_for_tag};
use crate::money::Vnd;
use crate::payment_code::PaymentCode;
use crate::plate::Plate;
use crate::tariff::{Fee, fee};
use crate::timestamp::Timestamp;
use crate::vehicle::VehicleClass;
use crate::wire::{AlarmKind, Credential, DenyReason, Direction, GateEventKind, Settlement, TagPresence};

/// The prepaid account a tag's exit may be debited from, and how much it
/// may still spend under the lot's policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Payer {
    pub(super) account: String,
    pub(super) spendable: Option<Vnd>,
}

impl Lane {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn tag_exit(
        &mut self,
        credential: Credential,
        presence: TagPresence,
        class: VehicleClass,
        payer: Option<Payer>,
        plate: Option<Plate>,
        now: Timestamp,
        ctx: &mut Context<'_>,
    ) -> Vec<Action> {
        let epc = presence.epc.clone();
        let Some(inside) = ctx.lot.inside.get(&epc).cloned() else {
            if let Some(out) = self.reopen(&epc.to_string(), now, ctx) {
                return out;
            }
            let detail = format!("tag {epc} is not inside");
            return match self.cfg.exit_without_entry {
                ExitWithoutEntry::Refuse => {
                    deny(credential, DenyReason::NotInside, AlarmKind::ExitWithoutEntry, &detail)
                }
                ExitWithoutEntry::OpenAndCharge => {
                    let mut out = Vec::new();
                    self.open(now, &mut out);
                    let settlement = match payer {
                        Some(p) => Settlement::Account { account: p.account },
                        None => Settlement::Unpaid { owed: Vnd::ZERO },
                    };
                    out.push(alarm(AlarmKind::ExitWithoutEntry, detail));
                    out.push(emit(GateEventKind::Exit {
                        credential,
                        class,
                        plate,
                        entered_at: None,
                        fee: None,
                        settlement,
                    }));
                    out
                }
            };
        };
        if let Some(detail) = self.plate_mismatch(inside.plate.as_ref(), plate.as_ref(), &format!("tag {epc}")) {
            let plates = (inside.plate.clone(), plate.clone());
            return self.hold(Input::Tag(presence), credential, AlarmKind::PlateMismatch, plates, detail);
        }
        let fee = match self.price(&inside.class, inside.entered_at, now, ctx) {
            Ok(f) => f,
            Err(a) => return a,
        };
        let version = Some(fee.tariff_version.clone());
        let settlement = if fee.amount == Vnd::ZERO {
            Settlement::Free
        } else if let Some(p) = payer.filter(|p| p.spendable.is_none_or(|s| fee.amount <= s)) {
            // Within what the account may spend; otherwise the driver pays
            // the fee by transfer, like a tag without an account.
            Settlement::Account { account: p.account }
        } else {
            let code = stay_code_for_tag(&epc, inside.entered_at);
            let waiting =
                Waiting { code, fee, credential, entered_at: inside.entered_at, epc: Some(epc), ticket_serial: None };
            return self.await_payment(waiting, now, ctx);
        };
        let mut out = Vec::new();
        self.open(now, &mut out);
        ctx.lot.leave(&epc);
        out.push(Action::Emit {
            kind: GateEventKind::Exit {
                credential,
                class: inside.class,
                plate,
                entered_at: Some(inside.entered_at),
                fee: Some(fee),
                settlement,
            },
            tariff_version: version,
        });
        out
    }

    /// The fee under the tariff in force now, or the actions for a lane
    /// that cannot price the stay.
    fn price(
        &self,
        class: &VehicleClass,
        entered_at: Timestamp,
        now: Timestamp,
        ctx: &Context<'_>,
    ) -> Result<Fee, Vec<Action>> {
        let no_price = |detail: String| {
            vec![
                alarm(AlarmKind::NoTariff, detail),
                Action::Display {
                    lines: vec!["Vui lòng liên hệ nhân viên / Please see the operator".into()],
                    payment: None,
                },
            ]
        };
        let tariff = ctx
            .tariffs
            .in_force(ctx.zone, now)
            .ok_or_else(|| no_price(format!("no tariff in force for zone {}", ctx.zone)))?;
        fee(tariff, class, entered_at, now).map_err(|e| no_price(e.to_string()))
    }

    pub(super) fn on_qr(&mut self, text: &str, now: Timestamp, ctx: &mut Context<'_>) -> Vec<Action> {
        if self.cfg.direction == Direction::Entry {
            // The ticket this lane printed, shown because the arm stayed down.
            if let Some(out) = self.reopen(text, now, ctx) {
                return out;
            }
            return vec![Action::Display {
                lines: vec!["Vé dùng ở làn ra / Tickets are for the exit lane".into()],
                payment: None,
            }];
        }
        let credential = Credential::Ticket { code: text.to_owned() };
        let ticket = match Ticket::verify(text, ctx.key, &self.cfg.lot) {
            Ok(t) => t,
            Err(e) => return deny(credential, DenyReason::ForgedTicket, AlarmKind::ForgedTicket, &e.to_string()),
        };
        if ctx.lot.used_tickets.contains(&ticket.serial) {
            if let Some(out) = self.reopen(text, now, ctx) {
                return out;
            }
            let detail = format!("ticket {} already let a vehicle out", ticket.serial);
            return deny(credential, DenyReason::TicketAlreadyUsed, AlarmKind::ForgedTicket, &detail);
        }
        let entered = ctx.lot.ticket_plates.get(&ticket.serial).cloned();
        let require = self.cfg.plates.exit_check == ExitPlateCheck::Require;
        let wants = self.cfg.plates.exit_check != ExitPlateCheck::Off && (entered.is_some() || require);
        if self.should_wait_for_plate(wants, now) {
            return self.await_plate(Input::Qr(text.to_owned()), now);
        }
        let what = format!("ticket {}", ticket.serial);
        let seen = self.plate(now).cloned();
        if let Some(detail) = self.plate_mismatch(entered.as_ref(), seen.as_ref(), &what) {
            return self.hold(
                Input::Qr(text.to_owned()),
                credential,
                AlarmKind::PlateMismatch,
                (entered, seen),
                detail,
            );
        }
        let fee = match self.price(&ticket.class, ticket.entered_at, now, ctx) {
            Ok(f) => f,
            Err(a) => return a,
        };
        let code = ticket.payment_code();
        let waiting = Waiting {
            code,
            fee,
            credential,
            entered_at: ticket.entered_at,
            epc: None,
            ticket_serial: Some(ticket.serial),
        };
        if waiting.fee.amount == Vnd::ZERO {
            return self.release(waiting, Settlement::Free, now, ctx);
        }
        self.await_payment(waiting, now, ctx)
    }

    /// Opens at once if the code was paid in advance; otherwise shows the
    /// VietQR for what is owed and waits.
    fn await_payment(&mut self, w: Waiting, now: Timestamp, ctx: &mut Context<'_>) -> Vec<Action> {
        let owed = ctx.lot.owed.get(&w.code).copied().unwrap_or(w.fee.amount);
        if owed == Vnd::ZERO {
            let settlement = Settlement::Transfer { payment_code: w.code, paid: w.fee.amount };
            return self.release(w, settlement, now, ctx);
        }
        let lines = vec![format!("Phí / Fee: {}", w.fee.amount), format!("Mã / Code: {}", w.code)];
        let request = Action::Emit {
            kind: GateEventKind::PaymentRequested {
                credential: w.credential.clone(),
                class: w.fee.class.clone(),
                entered_at: w.entered_at,
                fee: w.fee.clone(),
                payment_code: w.code,
                owed,
            },
            tariff_version: Some(w.fee.tariff_version.clone()),
        };
        let action = Action::Display { lines, payment: Some(PaymentRequest { amount: owed, code: w.code }) };
        self.waiting = Some(w);
        vec![request, action]
    }

    pub(super) fn release(
        &mut self,
        w: Waiting,
        settlement: Settlement,
        now: Timestamp,
        ctx: &mut Context<'_>,
    ) -> Vec<Action> {
        let mut out = Vec::new();
        self.open(now, &mut out);
        if let Some(serial) = w.ticket_serial {
            ctx.lot.use_ticket(serial);
        }
        if let Some(epc) = &w.epc {
            ctx.lot.leave(epc);
        }
        ctx.lot.owed.remove(&w.code);
        let version = Some(w.fee.tariff_version.clone());
        out.push(Action::Emit {
            kind: GateEventKind::Exit {
                credential: w.credential,
                class: w.fee.class.clone(),
                plate: self.plate(now).cloned(),
                entered_at: Some(w.entered_at),
                fee: Some(w.fee),
                settlement,
            },
            tariff_version: version,
        });
        out
    }

    pub(super) fn on_paid(
        &mut self,
        code: PaymentCode,
        remaining: Vnd,
        receipt: Option<String>,
        now: Timestamp,
        ctx: &mut Context<'_>,
    ) -> Vec<Action> {
        ctx.lot.owed.insert(code, remaining);
        let Some(w) = self.waiting.take_if(|w| w.code == code) else { return Vec::new() };
        if remaining > Vnd::ZERO {
            let lines = vec![format!("Còn thiếu / Still owed: {remaining}"), format!("Mã / Code: {code}")];
            self.waiting = Some(w);
            return vec![Action::Display { lines, payment: Some(PaymentRequest { amount: remaining, code }) }];
        }
        let settlement = Settlement::Transfer { payment_code: code, paid: w.fee.amount };
        let mut out = self.release(w, settlement, now, ctx);
        out.extend(receipt.map(|url| Action::ShowReceipt { url }));
        out
    }
}
