//! The gate: what a lane decides, as a pure state machine.
//!
//! Layout:
//! - `mod.rs`: the inputs a lane takes and the actions it asks for;
//! - `config`: how a lane behaves ([`LaneConfig`]) and the plate policy
//!   ([`PlatePolicy`]);
//! - [`lane`]: `Lane::handle(input, now, ctx) -> Vec<Action>`, the flows
//!   (entry, exit, tickets, passes, deny list, anti-passback, plates and
//!   holds for staff, safety);
//! - [`lists`]: the allow/deny lists and passes at the edge, versioned;
//! - [`lot`]: what all lanes of a controller share: who is inside and
//!   with which plate, tickets' entry plates, used tickets, what is owed,
//!   and the log of changes to persist;
//! - `safety`: opens matched to loop passages; the safety alarms;
//! - [`ticket`]: QR tickets signed with the lot's key.
//!
//! Flows, in short: a registered tag opens an entry and is recorded
//! inside; an unregistered tag or the ticket button gets a signed QR
//! ticket and an open. At exit, a pass holder opens; an account-linked tag
//! opens at once with the fee computed here; a ticket or a tag without an
//! account opens when its fee is zero or paid, otherwise the lane shows a
//! VietQR for the fee and opens when the server confirms the transfer.
//! Deny-list hits, cloned tags (another TID) and forged or reused tickets
//! are refused with an alarm. A plate at the exit that is not the stay's
//! entry plate, or a tag on a car that is not its registered one, holds
//! the lane for staff to release or refuse (`lane/plates.rs`). Safety:
//! there is no close action at all; every open expects a loop passage
//! within `pass_timeout_ms`, and a passage with no open to match is a
//! tailgater.

mod config;
pub mod lane;
pub mod lists;
pub mod lot;
mod safety;
pub mod ticket;

use crate::ids::Epc;
use crate::money::Vnd;
use crate::payment_code::PaymentCode;
use crate::plate::Plate;
use crate::tariff::TariffVersion;
use crate::timestamp::Timestamp;
use crate::wire::{AlarmKind, GateEventKind, ManualOpenReason, TagPresence};

pub use config::{ExitPlateCheck, ExitWithoutEntry, LaneConfig, OnOtherVehicle, PlatePolicy};
pub use lane::{Context, HOLD_TEXT, Lane};
pub use lists::{EdgeLists, ListsError};
pub use lot::{Inside, LastOpen, LotChange, LotState, TICKET_SERIES};
pub use ticket::{Ticket, TicketError, TicketKey, stay_code_for_serial};

/// What a lane is told.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A tag presence (deduplicated reads).
    Tag(TagPresence),
    /// A QR code the lane camera read: a ticket or a phone screen.
    Qr(String),
    /// An ANPR camera's plate read.
    Plate { plate: Plate, confidence: f32 },
    /// The driver pressed for a ticket (no tag).
    TicketButton,
    /// The loop detector under the arm changed state.
    Loop { occupied: bool },
    /// The server says a transfer for this code arrived; `remaining` is
    /// what is still owed.
    /// With the receipt's link once nothing remains, if the server has one.
    PaymentConfirmed { payment_code: PaymentCode, remaining: Vnd, receipt: Option<String> },
    /// An operator opens the barrier by hand, with a reason.
    ManualOpen { operator: String, reason: ManualOpenReason, note: String },
    /// Staff decide a lane held for a plate check: release (the stay goes
    /// on to its fee) or refuse.
    HoldDecision { operator: String, release: bool, note: String },
    /// Time passed (the controller calls at the instants of `WakeAt`).
    Tick,
}

/// What to show a driver who must pay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentRequest {
    pub amount: Vnd,
    pub code: PaymentCode,
}

/// What a lane asks the controller to do. There is no close: the barrier
/// cabinet's own safety logic closes the arm.
#[derive(Clone, Debug, PartialEq)]
pub enum Action {
    /// Pulse the OPEN contact.
    Pulse { ms: u16 },
    /// Show lines on the lane display, with a VietQR when money is owed.
    Display { lines: Vec<String>, payment: Option<PaymentRequest> },
    /// Journal and publish a gate event (alarms included). The controller
    /// adds the ids, sequence, time and list version.
    Emit { kind: GateEventKind, tariff_version: Option<TariffVersion> },
    /// Print (or show) a ticket with this QR text.
    PrintTicket { text: String },
    /// Show a paid stay's receipt link as a QR code, as the vehicle leaves.
    ShowReceipt { url: String },
    /// Call `handle(Input::Tick, …)` at this instant.
    WakeAt(Timestamp),
}

/// The payment code of a stay by a tag without an account: FNV-1a over
/// the EPC and the entry second, so the lot server derives the same code
/// from the entry event it holds.
pub fn stay_code_for_tag(epc: &Epc, entered_at: Timestamp) -> PaymentCode {
    let mut h: u32 = 0x811c_9dc5;
    let secs = entered_at.unix_seconds().to_be_bytes();
    for b in epc.as_bytes().iter().chain(secs.iter()) {
        h ^= u32::from(*b);
        h = h.wrapping_mul(0x0100_0193);
    }
    PaymentCode::stay(h)
}

#[cfg(test)]
mod tests;

/// A gate event to emit, its tariff version filled in later if it has one.
pub(crate) fn emit(kind: GateEventKind) -> Action {
    Action::Emit { kind, tariff_version: None }
}

/// An alarm to emit.
pub(crate) fn alarm(alarm: AlarmKind, detail: impl Into<String>) -> Action {
    emit(GateEventKind::Alarm { alarm, detail: detail.into() })
}
