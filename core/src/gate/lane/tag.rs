//! A tag at the lane, in either direction: the deny list, a cloned tag
//! (another TID), a tag on another vehicle (a camera plate that is not
//! the registered one), the account, a pass, then entry or exit.

use super::exit::Payer;
use super::{Context, Lane, deny};
use crate::gate::lot::Inside;
use crate::gate::{Action, ExitPlateCheck, Input, OnOtherVehicle, alarm, emit};
use crate::timestamp::Timestamp;
use crate::wire::{AlarmKind, Credential, DenyReason, DenyTarget, Direction, GateEventKind, TagPresence};

impl Lane {
    pub(super) fn on_tag(&mut self, p: TagPresence, now: Timestamp, ctx: &mut Context<'_>) -> Vec<Action> {
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
        if let Some(account) = &entry.account {
            if let Some(reason) = ctx.lists.denied(&DenyTarget::Account(account.clone())) {
                return deny(credential, reason, AlarmKind::DenyListHit, &format!("account {account} is blocked"));
            }
        }
        // A lot that requires plates waits (boundedly) for the camera.
        if self.should_wait_for_plate(self.cfg.plates.exit_check == ExitPlateCheck::Require, now) {
            return self.await_plate(Input::Tag(p), now);
        }
        let mut out = Vec::new();
        if let (Some(seen), Some(registered)) = (&plate, &entry.plate) {
            if !self.waived && !seen.close_to(registered) {
                let detail = format!("tag {} registered to {registered}, camera read {seen}", p.epc);
                if self.cfg.plates.tag_on_other_vehicle == OnOtherVehicle::Hold {
                    let plates = (Some(registered.clone()), Some(seen.clone()));
                    return self.hold(Input::Tag(p), credential, AlarmKind::TagOnOtherVehicle, plates, detail);
                }
                out.push(alarm(AlarmKind::TagOnOtherVehicle, detail));
            }
        }
        if ctx.lists.valid_pass(Some(&p.epc), plate.as_ref(), now).is_some() {
            out.extend(self.pass_holder(credential, Some(p.epc), now, ctx));
            return out;
        }
        match self.cfg.direction {
            Direction::Entry => {
                if ctx.lot.inside.contains_key(&p.epc) {
                    if let Some(again) = self.reopen(&p.epc.to_string(), now, ctx) {
                        out.extend(again);
                        return out;
                    }
                    let detail = format!("tag {} is already inside", p.epc);
                    out.push(emit(GateEventKind::Denied { credential, reason: DenyReason::AlreadyInside }));
                    out.push(Action::Display { lines: vec![detail], payment: None });
                    return out;
                }
                self.open(now, &mut out);
                let plate = plate.or(entry.plate);
                let inside = Inside { entered_at: now, class: entry.class.clone(), plate: plate.clone() };
                ctx.lot.enter(p.epc, inside);
                out.push(emit(GateEventKind::Entry { credential, class: entry.class, plate }));
                out
            }
            Direction::Exit => {
                let payer = entry.account.map(|account| Payer { account, spendable: entry.spendable });
                out.extend(self.tag_exit(credential, p, entry.class, payer, plate, now, ctx));
                out
            }
        }
    }
}
