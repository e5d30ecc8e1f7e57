//! What the lot server publishes for controllers to decide from: allow and
//! deny lists, passes, and the tariff. Each is versioned; a controller
//! applies a version whole or not at all and records it on every event.

use serde::{Deserialize, Serialize};
use time::Date;

use super::V1;
use super::gate::DenyReason;
use crate::ids::{Epc, LotId, Tid};
use crate::money::Vnd;
use crate::plate::Plate;
use crate::tariff::TariffBook;
use crate::timestamp::Timestamp;
use crate::vehicle::VehicleClass;

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// A registered tag: what a controller needs to open for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagEntry {
    pub epc: Epc,
    /// The TID bound to the EPC at registration; a read with another TID
    /// is a clone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tid: Option<Tid>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate: Option<Plate>,
    pub class: VehicleClass,
    /// The prepaid account an exit is debited from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// How much the account may still be debited under the lot's policy
    /// (the balance, plus the credit limit where the lot allows credit).
    /// An exit whose fee is above it pays by transfer instead. Absent
    /// means no limit is known at the edge.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spendable: Option<Vnd>,
}

/// What a deny-list entry matches.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "value", rename_all = "snake_case")]
pub enum DenyTarget {
    Epc(Epc),
    Plate(Plate),
    Account(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DenyEntry {
    pub target: DenyTarget,
    pub reason: DenyReason,
}

/// A monthly pass: valid from its first to its last day, inclusive, in
/// local dates.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassEntry {
    pub pass: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub epc: Option<Epc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plate: Option<Plate>,
    pub class: VehicleClass,
    #[serde(with = "iso_date")]
    pub valid_from: Date,
    #[serde(with = "iso_date")]
    pub valid_until: Date,
}

impl PassEntry {
    /// Whether the pass covers the local date of `at`.
    pub fn valid_at(&self, at: Timestamp) -> bool {
        let d = at.local_date();
        self.valid_from <= d && d <= self.valid_until
    }
}

/// `parking/{lot}/lists` (retained): the whole lists at one version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListsSnapshot {
    pub v: V1,
    pub lot: LotId,
    pub version: u64,
    pub issued_at: Timestamp,
    pub tags: Vec<TagEntry>,
    pub deny: Vec<DenyEntry>,
    pub passes: Vec<PassEntry>,
}

/// `parking/{lot}/lists/delta`: the changes from `from_version` to
/// `to_version`. A controller that does not hold `from_version` ignores it
/// and waits for the next snapshot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListsDelta {
    pub v: V1,
    pub lot: LotId,
    pub from_version: u64,
    pub to_version: u64,
    pub issued_at: Timestamp,
    #[serde(default)]
    pub upsert_tags: Vec<TagEntry>,
    #[serde(default)]
    pub remove_tags: Vec<Epc>,
    #[serde(default)]
    pub upsert_deny: Vec<DenyEntry>,
    #[serde(default)]
    pub remove_deny: Vec<DenyTarget>,
    #[serde(default)]
    pub upsert_passes: Vec<PassEntry>,
    #[serde(default)]
    pub remove_passes: Vec<String>,
}

/// `parking/{lot}/tariff` (retained): every tariff of the lot's zone, so a
/// controller can price a stay that began under the previous version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TariffMsg {
    pub v: V1,
    pub lot: LotId,
    pub zone: String,
    pub issued_at: Timestamp,
    pub book: TariffBook,
}
