//! What all lanes of one controller share: the vehicles inside (for
//! anti-passback and exit fees), the tickets already used, the next ticket
//! serial, and what the server says is still owed.
//!
//! Every change that must survive a restart goes through a method that
//! also appends a [`LotChange`]; the controller drains them after each
//! decision and journals them in the same transaction as the decision's
//! events, so state and events can never disagree after a crash.

use std::collections::{HashMap, HashSet};

use crate::ids::Epc;
use crate::money::Vnd;
use crate::payment_code::PaymentCode;
use crate::timestamp::Timestamp;
use crate::vehicle::VehicleClass;

/// Where a vehicle inside came in, for its exit fee.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inside {
    pub entered_at: Timestamp,
    pub class: VehicleClass,
}

/// A change to persist.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LotChange {
    Entered {
        epc: Epc,
        inside: Inside,
    },
    Left {
        epc: Epc,
    },
    TicketUsed {
        serial: u64,
    },
    /// Serials below `next` are taken.
    TicketSerial {
        next: u64,
    },
}

/// State shared by all lanes of a controller.
#[derive(Clone, Debug, Default)]
pub struct LotState {
    /// Tags inside the lot (anti-passback), with their entry.
    pub inside: HashMap<Epc, Inside>,
    /// What is still owed per payment code, as the server last said. Not
    /// persisted: the server repeats it.
    pub owed: HashMap<PaymentCode, Vnd>,
    /// Ticket serials that already let a vehicle out.
    pub used_tickets: HashSet<u64>,
    /// Next ticket serial.
    pub next_ticket_serial: u64,
    /// Changes since the last [`LotState::take_changes`].
    changes: Vec<LotChange>,
}

impl LotState {
    /// A tag entered.
    pub fn enter(&mut self, epc: Epc, inside: Inside) {
        self.changes.push(LotChange::Entered { epc: epc.clone(), inside: inside.clone() });
        self.inside.insert(epc, inside);
    }

    /// A tag left; its entry, if it was inside.
    pub fn leave(&mut self, epc: &Epc) -> Option<Inside> {
        let was = self.inside.remove(epc);
        if was.is_some() {
            self.changes.push(LotChange::Left { epc: epc.clone() });
        }
        was
    }

    /// A ticket let its vehicle out; it cannot be used again.
    pub fn use_ticket(&mut self, serial: u64) {
        if self.used_tickets.insert(serial) {
            self.changes.push(LotChange::TicketUsed { serial });
        }
    }

    /// Takes the next ticket serial.
    pub fn issue_ticket_serial(&mut self) -> u64 {
        let serial = self.next_ticket_serial;
        self.next_ticket_serial += 1;
        self.changes.push(LotChange::TicketSerial { next: self.next_ticket_serial });
        serial
    }

    /// The changes since the last call, oldest first.
    pub fn take_changes(&mut self) -> Vec<LotChange> {
        std::mem::take(&mut self.changes)
    }

    /// Replays persisted changes (at start-up), without logging them again.
    pub fn restore(&mut self, change: LotChange) {
        match change {
            LotChange::Entered { epc, inside } => {
                self.inside.insert(epc, inside);
            }
            LotChange::Left { epc } => {
                self.inside.remove(&epc);
            }
            LotChange::TicketUsed { serial } => {
                self.used_tickets.insert(serial);
            }
            LotChange::TicketSerial { next } => self.next_ticket_serial = self.next_ticket_serial.max(next),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_logged_once_and_restore_rebuilds_the_state() {
        let epc: Epc = "E2000000000000000000000A".parse().unwrap();
        let inside = Inside { entered_at: Timestamp::UNIX_EPOCH, class: VehicleClass::Car };
        let mut lot = LotState::default();
        lot.enter(epc.clone(), inside.clone());
        assert_eq!(lot.issue_ticket_serial(), 0);
        lot.use_ticket(0);
        lot.use_ticket(0);
        assert_eq!(lot.leave(&epc), Some(inside.clone()));
        assert_eq!(lot.leave(&epc), None, "leaving twice changes nothing");
        let changes = lot.take_changes();
        assert_eq!(changes.len(), 4, "{changes:?}");
        assert!(lot.take_changes().is_empty());

        let mut again = LotState::default();
        for c in changes {
            again.restore(c);
        }
        assert!(again.inside.is_empty());
        assert!(again.used_tickets.contains(&0));
        assert_eq!(again.next_ticket_serial, 1);
        assert!(again.take_changes().is_empty(), "restoring logs nothing");
    }
}
