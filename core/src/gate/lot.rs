//! What all lanes of one controller share: the vehicles inside (for
//! anti-passback and exit fees) and the plate each came in with, the
//! plates of the tickets still out, the tickets already used, the next
//! ticket serial, each lane's last open whose vehicle has not yet been
//! seen to pass, and what the server says is still owed.
//!
//! A lot with several controllers numbers its tickets lot-wide: controller
//! `index` (0 to [`TICKET_SERIES`] − 1) issues serials `n × 64 + index`,
//! so no two controllers ever print the same serial (nor, through it, the
//! same payment code). Each applies the others' entries and exits from
//! their gate events ([`LotState::peer_entered`], [`LotState::peer_left`]).
//!
//! Every change that must survive a restart goes through a method that
//! also appends a [`LotChange`]; the controller drains them after each
//! decision and journals them in the same transaction as the decision's
//! events, so state and events can never disagree after a crash.

use std::collections::{HashMap, HashSet};

use crate::ids::{Epc, GateId};
use crate::money::Vnd;
use crate::payment_code::PaymentCode;
use crate::plate::Plate;
use crate::timestamp::Timestamp;
use crate::vehicle::VehicleClass;

/// Where a vehicle inside came in, for its exit fee, and the plate it
/// came in with, for the exit's plate check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Inside {
    pub entered_at: Timestamp,
    pub class: VehicleClass,
    pub plate: Option<Plate>,
}

/// A lane's last open, kept until its vehicle crosses the loop: if the
/// open never reached the barrier (the controller died between journaling
/// the passage and pulsing), the same credential at the same lane opens it
/// again, with no second event and no second charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LastOpen {
    /// The credential as read: the EPC, the QR text (a ticket, printed
    /// here or at the entry), or the plate.
    pub key: String,
    pub at: Timestamp,
}

/// How many controllers can number tickets in one lot.
pub const TICKET_SERIES: u64 = 64;
const TICKET_SERIES_U8: u8 = 64;

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
    /// The ticket `serial` was issued to the vehicle with this plate.
    TicketPlate {
        serial: u64,
        plate: Plate,
    },
    /// Serials below `next` are taken.
    TicketSerial {
        next: u64,
    },
    /// The lane at `gate` opened for `open.key`.
    Opened {
        gate: GateId,
        open: LastOpen,
    },
    /// The vehicles the lane at `gate` opened for have crossed its loop.
    Passed {
        gate: GateId,
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
    /// The entry plate of each ticket still out, where one was read.
    pub ticket_plates: HashMap<u64, Plate>,
    /// How many tickets this controller has issued: its next serial is
    /// `next_ticket_serial × TICKET_SERIES + series`.
    pub next_ticket_serial: u64,
    /// This controller's place in the lot's ticket numbering.
    pub series: u8,
    /// Each lane's last open whose vehicle has not been seen to pass.
    pub last_open: HashMap<GateId, LastOpen>,
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

    /// The lane at `gate` opened for `open.key`.
    pub fn opened(&mut self, gate: GateId, open: LastOpen) {
        self.changes.push(LotChange::Opened { gate: gate.clone(), open: open.clone() });
        self.last_open.insert(gate, open);
    }

    /// Every vehicle the lane at `gate` opened for has crossed its loop.
    pub fn passed(&mut self, gate: &GateId) {
        if self.last_open.remove(gate).is_some() {
            self.changes.push(LotChange::Passed { gate: gate.clone() });
        }
    }

    /// The ticket `serial` was issued to the vehicle with `plate`.
    pub fn ticket_plate(&mut self, serial: u64, plate: Plate) {
        if self.used_tickets.contains(&serial) || self.ticket_plates.get(&serial) == Some(&plate) {
            return;
        }
        self.changes.push(LotChange::TicketPlate { serial, plate: plate.clone() });
        self.ticket_plates.insert(serial, plate);
    }

    /// A ticket let its vehicle out; it cannot be used again.
    pub fn use_ticket(&mut self, serial: u64) {
        self.ticket_plates.remove(&serial);
        if self.used_tickets.insert(serial) {
            self.changes.push(LotChange::TicketUsed { serial });
        }
    }

    /// A state whose tickets are numbered in `series` (below
    /// [`TICKET_SERIES`]).
    pub fn with_series(series: u8) -> Self {
        LotState { series: series % TICKET_SERIES_U8, ..LotState::default() }
    }

    /// Takes the next ticket serial.
    pub fn issue_ticket_serial(&mut self) -> u64 {
        let serial = self.next_ticket_serial * TICKET_SERIES + u64::from(self.series);
        self.next_ticket_serial += 1;
        self.changes.push(LotChange::TicketSerial { next: self.next_ticket_serial });
        serial
    }

    /// Another controller of the lot let `epc` in at `inside.entered_at`.
    /// A stay already known that began later is kept (the peer's event
    /// came late).
    pub fn peer_entered(&mut self, epc: Epc, inside: Inside) {
        if self.inside.get(&epc).is_some_and(|known| known.entered_at > inside.entered_at) {
            return;
        }
        self.enter(epc, inside);
    }

    /// Another controller of the lot let `epc` out at `at`; a stay that
    /// began after that is another one and stays.
    pub fn peer_left(&mut self, epc: &Epc, at: Timestamp) {
        if self.inside.get(epc).is_some_and(|known| known.entered_at <= at) {
            self.leave(epc);
        }
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
                self.ticket_plates.remove(&serial);
                self.used_tickets.insert(serial);
            }
            LotChange::TicketPlate { serial, plate } => {
                if !self.used_tickets.contains(&serial) {
                    self.ticket_plates.insert(serial, plate);
                }
            }
            LotChange::TicketSerial { next } => self.next_ticket_serial = self.next_ticket_serial.max(next),
            LotChange::Opened { gate, open } => {
                self.last_open.insert(gate, open);
            }
            LotChange::Passed { gate } => {
                self.last_open.remove(&gate);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_are_logged_once_and_restore_rebuilds_the_state() {
        let epc: Epc = "E2000000000000000000000A".parse().unwrap();
        let inside = Inside { entered_at: Timestamp::UNIX_EPOCH, class: VehicleClass::Car, plate: None };
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

    #[test]
    fn a_lanes_last_open_lasts_until_its_vehicle_passes() {
        let gate: GateId = "exit-1".parse().unwrap();
        let open = LastOpen { key: "E2000000000000000000000A".into(), at: Timestamp::UNIX_EPOCH };
        let mut lot = LotState::default();
        lot.opened(gate.clone(), open.clone());
        let mut restarted = LotState::default();
        for c in lot.take_changes() {
            restarted.restore(c);
        }
        assert_eq!(restarted.last_open.get(&gate), Some(&open), "a restart keeps it");
        lot.passed(&gate);
        lot.passed(&gate);
        let changes = lot.take_changes();
        assert_eq!(changes, [LotChange::Passed { gate: gate.clone() }], "passing twice logs once");
        for c in changes {
            restarted.restore(c);
        }
        assert!(restarted.last_open.is_empty());
    }

    #[test]
    fn a_tickets_plate_lasts_until_the_ticket_is_used() {
        let plate: Plate = "29A-123.45".parse().unwrap();
        let mut lot = LotState::default();
        lot.ticket_plate(64, plate.clone());
        lot.ticket_plate(64, plate.clone());
        let mut restarted = LotState::default();
        for c in lot.take_changes() {
            restarted.restore(c);
        }
        assert_eq!(restarted.ticket_plates.get(&64), Some(&plate), "a restart keeps it, logged once");
        lot.use_ticket(64);
        lot.ticket_plate(64, plate.clone());
        assert!(lot.ticket_plates.is_empty(), "a used ticket's plate is not taken again");
        for c in lot.take_changes() {
            restarted.restore(c);
        }
        assert!(restarted.ticket_plates.is_empty() && restarted.used_tickets.contains(&64));
    }

    #[test]
    fn controllers_number_tickets_apart() {
        let mut a = LotState::with_series(0);
        let mut b = LotState::with_series(5);
        let serials: Vec<u64> = (0..3).flat_map(|_| [a.issue_ticket_serial(), b.issue_ticket_serial()]).collect();
        assert_eq!(serials, [0, 5, 64, 69, 128, 133]);
        let mut restored = LotState::with_series(5);
        for c in b.take_changes() {
            restored.restore(c);
        }
        assert_eq!(restored.issue_ticket_serial(), 197, "a restart goes on where it stopped");
    }

    #[test]
    fn a_peer_event_that_comes_late_does_not_undo_a_newer_stay() {
        let epc: Epc = "E2000000000000000000000A".parse().unwrap();
        let at = |s| Timestamp::from_unix_seconds(s).unwrap();
        let mut lot = LotState::default();
        lot.peer_entered(epc.clone(), Inside { entered_at: at(100), class: VehicleClass::Car, plate: None });
        lot.peer_left(&epc, at(50));
        assert!(lot.inside.contains_key(&epc), "an exit before the entry is an older stay's");
        lot.peer_entered(epc.clone(), Inside { entered_at: at(90), class: VehicleClass::Car, plate: None });
        assert_eq!(lot.inside[&epc].entered_at, at(100), "an older entry does not replace a newer one");
        lot.peer_left(&epc, at(200));
        assert!(lot.inside.is_empty());
        assert_eq!(lot.take_changes().len(), 2, "entered at 100, left at 200");
    }
}
