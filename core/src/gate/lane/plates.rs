//! "Xe ra đúng xe vào": the vehicle leaving must be the one that entered
//! on that ticket or tag.
//!
//! - **Waiting for the camera.** A decision that needs a plate and has
//!   none (a ticket printed or shown under a plate check; any credential
//!   when the lot requires plates) waits up to `plates.wait_ms` for the
//!   lane's camera, then goes on with or without it. The wait is the only
//!   time a camera can add to a decision.
//! - **Comparing.** The exit plate is compared with the stay's entry plate
//!   ([`Plate::close_to`]: one ANPR error is tolerated). A mismatch, or a
//!   plate missing where the lot requires one, holds the lane.
//! - **Holding.** A held lane raises its alarm, shows "chờ nhân viên xác
//!   nhận", and takes no other credential until staff decide
//!   ([`Input::HoldDecision`]). The hold is journaled as a `held` event
//!   (raised at the server as its alarm). Released, the held credential is decided
//!   again with the plate checks waived (the fee still applies); refused,
//!   the vehicle is denied. Both are journaled as `hold_decided` with the
//!   operator's name. A manual open also ends the hold.

use super::{Context, Lane};
use crate::gate::{Action, ExitPlateCheck, Input, emit};
use crate::plate::Plate;
use crate::timestamp::Timestamp;
use crate::wire::{AlarmKind, Credential, DenyReason, GateEventKind};

/// What a held lane shows.
pub const HOLD_TEXT: &str = "Chờ nhân viên xác nhận / Waiting for staff";
/// What a refused vehicle is shown.
const REFUSED: &str = "Không được qua, vui lòng liên hệ nhân viên / Refused: please see the staff";

/// A credential held for staff to decide.
#[derive(Clone, Debug)]
pub(super) struct Held {
    input: Input,
    credential: Credential,
}

/// A credential waiting for the camera's plate read.
#[derive(Clone, Debug)]
pub(super) struct Awaiting {
    input: Input,
    until: Timestamp,
}

impl Lane {
    /// Whether the lane is holding a credential or waiting for a plate:
    /// another credential then decides nothing.
    pub(super) fn busy(&self) -> bool {
        self.held.is_some() || self.awaiting.is_some()
    }

    /// Whether a decision that `wants` a plate should wait for one.
    pub(super) fn should_wait_for_plate(&self, wants: bool, now: Timestamp) -> bool {
        wants && !self.waited && self.cfg.plates.wait_ms > 0 && self.plate(now).is_none()
    }

    /// Waits for a plate read, deciding `input` when it comes or when the
    /// wait is over.
    pub(super) fn await_plate(&mut self, input: Input, now: Timestamp) -> Vec<Action> {
        let until = now.checked_add(time::Duration::milliseconds(i64::from(self.cfg.plates.wait_ms))).unwrap_or(now);
        self.awaiting = Some(Awaiting { input, until });
        vec![Action::WakeAt(until)]
    }

    /// A confident plate read came: the credential waiting for it is
    /// decided now.
    pub(super) fn plate_arrived(&mut self, now: Timestamp, ctx: &mut Context<'_>) -> Vec<Action> {
        match self.awaiting.take() {
            Some(a) => self.redo(a.input, false, now, ctx),
            None => Vec::new(),
        }
    }

    /// Time passed: a wait for a plate that is over decides without it.
    pub(super) fn plate_wait_over(&mut self, now: Timestamp, ctx: &mut Context<'_>) -> Vec<Action> {
        match self.awaiting.take_if(|a| now >= a.until) {
            Some(a) => self.redo(a.input, false, now, ctx),
            None => Vec::new(),
        }
    }

    /// Decides `input` again, after a wait (`waived`: with the plate
    /// checks passed by staff).
    fn redo(&mut self, input: Input, waived: bool, now: Timestamp, ctx: &mut Context<'_>) -> Vec<Action> {
        self.waited = true;
        self.waived = waived;
        let out = self.dispatch(input, now, ctx);
        self.waited = false;
        self.waived = false;
        out
    }

    /// Why the plate `leaving` is not the plate the stay `entered` with,
    /// under the lot's policy; `what` names the stay (a ticket, a tag).
    pub(super) fn plate_mismatch(
        &self,
        entered: Option<&Plate>,
        leaving: Option<&Plate>,
        what: &str,
    ) -> Option<String> {
        if self.waived {
            return None;
        }
        let require = match self.cfg.plates.exit_check {
            ExitPlateCheck::Off => return None,
            ExitPlateCheck::Match => false,
            ExitPlateCheck::Require => true,
        };
        match (entered, leaving) {
            (Some(e), Some(l)) if e.close_to(l) => None,
            (Some(e), Some(l)) => Some(format!("{what} entered as {e}, leaving as {l}")),
            _ if !require => None,
            (Some(e), None) => Some(format!("{what} entered as {e}, no plate read at the exit")),
            (None, Some(l)) => Some(format!("{what} entered with no plate read, leaving as {l}")),
            (None, None) => Some(format!("{what}: no plate read at entry or at exit")),
        }
    }

    /// Holds the lane for staff, with the alarm that says why and the
    /// plates (`entered`, `seen`) staff compare.
    pub(super) fn hold(
        &mut self,
        input: Input,
        credential: Credential,
        alarm: AlarmKind,
        (entered, seen): (Option<Plate>, Option<Plate>),
        detail: String,
    ) -> Vec<Action> {
        let held = emit(GateEventKind::Held { credential: credential.clone(), alarm, entered, seen, detail });
        self.held = Some(Held { input, credential });
        vec![held, Action::Display { lines: vec![HOLD_TEXT.into()], payment: None }]
    }

    /// Staff decided the held lane. Nothing is held (decided already, or
    /// the lane restarted): nothing happens.
    pub(super) fn decide_hold(
        &mut self,
        operator: String,
        release: bool,
        note: String,
        now: Timestamp,
        ctx: &mut Context<'_>,
    ) -> Vec<Action> {
        let Some(held) = self.held.take() else { return Vec::new() };
        let mut out = vec![emit(GateEventKind::HoldDecided { operator, released: release, note })];
        if release {
            out.extend(self.redo(held.input, true, now, ctx));
        } else {
            out.push(emit(GateEventKind::Denied { credential: held.credential, reason: DenyReason::PlateMismatch }));
            out.push(Action::Display { lines: vec![REFUSED.into()], payment: None });
        }
        out
    }

    /// A manual open ends any hold or wait: the operator decided.
    pub(super) fn end_hold(&mut self) {
        self.held = None;
        self.awaiting = None;
    }
}
