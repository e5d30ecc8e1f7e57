//! The registry: owners, their prepaid accounts, vehicles, the tags bound
//! to them and monthly passes. Every change that alters what a controller
//! must know commits, in the same transaction, the list entries it
//! changes under a new lists version ([`crate::lists`]), and wakes the
//! lists publisher.
//!
//! Layout:
//! - this file: the records, what a request may set, and the errors;
//! - `store`: the SQL, one function per operation.

mod store;

use std::sync::Arc;

use parking_core::ids::{Epc, Tid};
use parking_core::plate::Plate;
use parking_core::vehicle::VehicleClass;
use serde::{Deserialize, Serialize};
use time::Date;
use tokio::sync::Notify;

use crate::db::Db;

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// Why a registry operation did not happen.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    Conflict(String),
    /// The account holds less than the price.
    #[error("{0}")]
    Short(String),
    /// The tariff in force sells no pass for the class.
    #[error("{0}")]
    NoPassPrice(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

impl RegistryError {
    fn not_found(what: &'static str, id: &str) -> Self {
        RegistryError::NotFound { what, id: id.chars().take(64).collect() }
    }
}

/// The registry and the signal that wakes the lists publisher.
#[derive(Clone, Debug)]
pub struct Registry {
    pub db: Db,
    /// Notified after every commit that changed list entries.
    pub lists_changed: Arc<Notify>,
    /// What a top-up booked by hand owes in tax (its invoice, if any).
    pub policy: Arc<crate::settlement::Policy>,
}

/// A vehicle's owner. The citizen ID number is kept only as a salted
/// Argon2id hash: it can be checked, never read back.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Owner {
    pub owner_id: String,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    pub created_ms: i64,
    pub updated_ms: i64,
}

/// What creating or replacing an owner sets.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnerInput {
    pub name: String,
    /// The citizen ID (CCCD, 12 digits, or the older CMND, 9). Required at
    /// creation; on update, absent keeps the stored hash.
    #[serde(default)]
    pub id_number: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
}

impl std::fmt::Debug for OwnerInput {
    // The ID number is personal data: never in a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnerInput").field("name", &self.name).field("id_number", &"<redacted>").finish()
    }
}

/// A prepaid account. An exit of its vehicles is debited from it when the
/// fee is within the balance plus the credit limit (the lot's policy, per
/// account: 0 is strictly prepaid); otherwise that exit pays by transfer
/// at the lane. A blocked account is refused at the gate.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Account {
    pub account_id: String,
    pub owner_id: String,
    pub balance_vnd: i64,
    /// The code a driver puts in a transfer's memo to top the account up.
    pub topup_code: Option<String>,
    pub credit_limit_vnd: i64,
    pub state: AccountState,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    #[default]
    Active,
    Blocked,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountInput {
    pub owner_id: String,
    #[serde(default)]
    pub credit_limit_vnd: i64,
    #[serde(default)]
    pub state: AccountState,
}

/// A top-up of an account's balance, e.g. a bank transfer booked by hand.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopUpInput {
    pub amount_vnd: i64,
    /// Where the money came from (a bank reference): kept with the movement.
    pub reference: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Vehicle {
    pub vehicle_id: String,
    pub plate: Plate,
    pub class: VehicleClass,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_id: Option<String>,
    pub state: VehicleState,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VehicleState {
    #[default]
    Active,
    /// Reported stolen: its plate and tags are on the deny list.
    Stolen,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VehicleInput {
    pub plate: Plate,
    pub class: VehicleClass,
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    #[serde(default)]
    pub state: VehicleState,
}

/// A windshield tag: its EPC bound to the TID read at registration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Tag {
    pub epc: Epc,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tid: Option<Tid>,
    pub vehicle_id: String,
    pub state: TagState,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TagState {
    #[default]
    Active,
    /// Off the allow list (e.g. a replaced sticker): the vehicle takes a ticket.
    Suspended,
    /// Blocked by the lot: on the deny list, refused at the gate until
    /// unblocked.
    Blocked,
    /// On the deny list as stolen.
    Stolen,
    /// On the deny list as cloned, after a clone alarm was confirmed.
    Cloned,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagInput {
    pub epc: Epc,
    #[serde(default)]
    pub tid: Option<Tid>,
    pub vehicle_id: String,
    #[serde(default)]
    pub state: TagState,
}

/// The tag that replaces a lost or damaged one.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagReplacement {
    pub epc: Epc,
    #[serde(default)]
    pub tid: Option<Tid>,
}

/// A monthly pass, from its first to its last local day inclusive.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Pass {
    pub pass_id: String,
    pub vehicle_id: String,
    #[serde(with = "iso_date")]
    pub valid_from: Date,
    #[serde(with = "iso_date")]
    pub valid_until: Date,
    pub price_vnd: i64,
    pub state: PassState,
    pub created_ms: i64,
    pub updated_ms: i64,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PassState {
    #[default]
    Active,
    Cancelled,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassInput {
    pub vehicle_id: String,
    #[serde(with = "iso_date")]
    pub valid_from: Date,
    #[serde(with = "iso_date")]
    pub valid_until: Date,
    pub price_vnd: i64,
    #[serde(default)]
    pub state: PassState,
}

/// A monthly pass sold at the desk, paid from an account.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PassSaleInput {
    pub vehicle_id: String,
    /// 1 to 12.
    pub months: u32,
    /// The first day; today (local) by default.
    #[serde(default, with = "iso_date::option")]
    pub valid_from: Option<Date>,
    pub account_id: String,
}

/// A pass sold: the pass, what it cost under which tariff, and the
/// account's balance after paying.
#[derive(Clone, Debug, Serialize)]
pub struct SoldPass {
    pub pass: Pass,
    pub price_vnd: i64,
    pub tariff_version: String,
    pub balance_vnd: i64,
}

/// Paging and filters of a registry listing.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    /// Only records of this owner / vehicle / account, where that applies.
    #[serde(default)]
    pub owner_id: Option<String>,
    #[serde(default)]
    pub vehicle_id: Option<String>,
    #[serde(default)]
    pub account_id: Option<String>,
    /// Vehicles with this plate (any spelling).
    #[serde(default)]
    pub plate: Option<Plate>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub offset: Option<i64>,
}

impl ListQuery {
    fn page(&self) -> Result<(i64, i64), RegistryError> {
        crate::db::page(self.limit, self.offset).map_err(RegistryError::Invalid)
    }
}

/// A citizen ID: 9 (CMND) or 12 (CCCD) digits, spaces ignored.
fn citizen_id(raw: &str) -> Result<String, RegistryError> {
    let digits: String = raw.chars().filter(|c| !c.is_whitespace()).collect();
    if (digits.len() == 9 || digits.len() == 12) && digits.bytes().all(|b| b.is_ascii_digit()) {
        Ok(digits)
    } else {
        Err(RegistryError::Invalid("id_number must be 9 or 12 digits".into()))
    }
}

fn non_empty(field: &str, s: &str, max: usize) -> Result<(), RegistryError> {
    if s.trim().is_empty() || s.chars().count() > max {
        return Err(RegistryError::Invalid(format!("{field} must be 1 to {max} characters")));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
