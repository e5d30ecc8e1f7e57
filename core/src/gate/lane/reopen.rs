//! An open given again: the lane remembers its last open until the
//! vehicle crosses the loop ([`LastOpen`], persisted with the lot state).
//! If the open never reached the barrier (the controller died after
//! journaling the passage, before the pulse) or the arm came down before
//! the vehicle moved, the same credential read again at the same lane
//! within `reopen_within_ms` opens it again: no second event, no second
//! charge. It is asked only where the read would otherwise be refused for
//! the passage already made (inside at an entry, not inside at an exit, a
//! used ticket), after the deny list and the account checks: a tag whose
//! account was blocked meanwhile is refused. A driver whose entry ticket
//! was printed shows it to the lane.
//! Anything else (another credential, another lane, the vehicle already
//! past the loop, the window over) is decided afresh; the ticket button
//! always prints a new ticket, since it cannot tell one driver from the
//! next.

use super::{Context, Lane};
use crate::gate::Action;
use crate::gate::lot::LastOpen;
use crate::timestamp::Timestamp;
use crate::wire::{Credential, GateEventKind};

/// What the driver sees when the barrier opens again.
const AGAIN: &str = "Mời đi tiếp / Please go ahead";

/// A credential as the lane remembers it: what a reader reports for it.
fn key_of(credential: &Credential) -> Option<String> {
    match credential {
        Credential::Tag { epc, .. } => Some(epc.to_string()),
        Credential::Ticket { code } => Some(code.clone()),
        Credential::Plate { plate } => Some(plate.to_string()),
        Credential::None => None,
    }
}

impl Lane {
    /// The open again, if `key` (an EPC, a QR text) is the credential of
    /// this lane's last open, whose vehicle has not passed, within the
    /// window. Asked only where the credential would otherwise be refused
    /// for a passage already made (inside at an entry, not inside at an
    /// exit, a used ticket), after the deny list and the account checks.
    pub(super) fn reopen(&mut self, key: &str, now: Timestamp, ctx: &Context<'_>) -> Option<Vec<Action>> {
        let last = ctx.lot.last_open.get(&self.cfg.gate)?;
        let age = now.since(last.at).whole_milliseconds();
        if last.key != key || !(0..=i128::from(self.cfg.reopen_within_ms)).contains(&age) {
            return None;
        }
        let mut out = Vec::new();
        // The open the loop still waits for covers this vehicle; after a
        // restart nothing waits, and this open is expected to be crossed.
        if self.safety.pending() == 0 {
            self.open(now, &mut out);
        } else {
            out.push(Action::Pulse { ms: self.cfg.pulse_ms });
        }
        out.push(Action::Display { lines: vec![AGAIN.into()], payment: None });
        Some(out)
    }

    /// Whether the barrier is up for `key`: its open, not yet crossed,
    /// within the pass timeout.
    pub(super) fn opened_for(&self, key: &str, now: Timestamp, ctx: &Context<'_>) -> bool {
        let up = |l: &LastOpen| {
            l.key == key && (0..=i128::from(self.cfg.pass_timeout_ms)).contains(&now.since(l.at).whole_milliseconds())
        };
        self.safety.pending() > 0 && ctx.lot.last_open.get(&self.cfg.gate).is_some_and(up)
    }

    /// Remembers the open `out` decided, if it let a vehicle in or out.
    pub(super) fn remember_open(&self, out: &[Action], now: Timestamp, ctx: &mut Context<'_>) {
        if !out.iter().any(|a| matches!(a, Action::Pulse { .. })) {
            return;
        }
        let key = out.iter().find_map(|a| match a {
            Action::Emit {
                kind: GateEventKind::Entry { credential, .. } | GateEventKind::Exit { credential, .. },
                ..
            } => key_of(credential),
            _ => None,
        });
        if let Some(key) = key {
            ctx.lot.opened(self.cfg.gate.clone(), LastOpen { key, at: now });
        }
    }

    /// The loop cleared: once every open's vehicle has crossed, the lane
    /// forgets its last open.
    pub(super) fn forget_open_once_passed(&self, ctx: &mut Context<'_>) {
        if self.safety.pending() == 0 {
            ctx.lot.passed(&self.cfg.gate);
        }
    }
}
