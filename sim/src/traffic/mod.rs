//! Gate traffic: visits (a vehicle's entry and exit), made by the seeded
//! generator ([`generate`], its bad actors in `actors`), derived from a lot's occupancy series
//! ([`occupancy`]), or read from a trace file ([`trace`]).

mod actors;
pub mod generate;
pub mod occupancy;
pub mod trace;

use parking_core::{Epc, GateId, Plate, Timestamp, VehicleClass};
use serde::{Deserialize, Serialize};

/// How a vehicle identifies itself at the gates.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A UHF windshield tag: registered, linked to a prepaid account.
    Tag,
    /// A QR ticket taken at the entry, paid by VietQR at the exit.
    Ticket,
    /// A tag covered by a monthly pass.
    Pass,
}

impl CredentialKind {
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialKind::Tag => "tag",
            CredentialKind::Ticket => "ticket",
            CredentialKind::Pass => "pass",
        }
    }
}

/// Who is behind the wheel: most drivers, or one of the bad actors a lot
/// must handle.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Actor {
    #[default]
    Normal,
    /// Its tag is on the deny list (a stolen vehicle): refused at entry.
    Denylisted,
    /// Its tag's EPC copies another vehicle's, with another TID.
    Cloned,
    /// Follows the car in front through an open barrier, with no read.
    Tailgater,
    /// Pays less than the VietQR asks, then the rest.
    Underpayer,
    /// Shows a paid ticket at the exit from another car than the one it
    /// was printed to: held, and refused by staff.
    Thief,
    /// Its tag sits on another car than the registered one: flagged and
    /// held at both gates, released by staff.
    TagMoved,
}

impl Actor {
    pub fn as_str(self) -> &'static str {
        match self {
            Actor::Normal => "normal",
            Actor::Denylisted => "denylisted",
            Actor::Cloned => "cloned",
            Actor::Tailgater => "tailgater",
            Actor::Underpayer => "underpayer",
            Actor::Thief => "thief",
            Actor::TagMoved => "tag_moved",
        }
    }
}

/// One vehicle's visit to the lot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Visit {
    pub vehicle: u64,
    pub class: VehicleClass,
    pub credential: CredentialKind,
    /// The tag's EPC (tags and passes).
    pub epc: Option<Epc>,
    pub plate: Plate,
    pub entry_at: Timestamp,
    pub exit_at: Timestamp,
    pub entry_gate: GateId,
    pub exit_gate: GateId,
    pub actor: Actor,
    /// How long the driver takes to pay a VietQR at the exit, seconds.
    pub pay_delay_s: u32,
}

/// The EPC of vehicle `n`'s tag: `E2` and the vehicle number.
pub fn epc_of(n: u64) -> Epc {
    let mut b = [0u8; 12];
    b[0] = 0xE2;
    b[1] = 0x80;
    b[4..].copy_from_slice(&n.to_be_bytes());
    Epc::from_bytes(&b).unwrap_or_else(|_| unreachable!("12 bytes make an EPC"))
}

/// Why traffic could not be made or read.
#[derive(Debug, thiserror::Error)]
pub enum TrafficError {
    #[error("[traffic] {0}")]
    Settings(String),
    #[error("{file}, line {line}: {why}")]
    Line { file: String, line: u64, why: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}
