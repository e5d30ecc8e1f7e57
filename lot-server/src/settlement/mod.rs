//! Settlement: matching bank transfers to what exit lanes asked to be
//! paid, account debits and top-ups, and the double-entry ledger.
//!
//! How money moves:
//! - An exit lane that cannot open for free or on an account shows a
//!   dynamic VietQR with the stay's payment code, and emits a
//!   `payment_requested` event; ingestion makes it a `payment_requests`
//!   row ([`on_gate_events`]).
//! - A transfer arrives by webhook ([`webhook`]) or by the reconciliation
//!   poller ([`reconcile`]) and is applied once per provider id
//!   ([`apply_transfer`]): to a stay by the `PK…` code in its memo, to an
//!   account by its `TK…` top-up code, held when its stay code is not known
//!   yet (the notification beat the lane's event), or put in suspense for
//!   an operator when it matches nothing.
//! - A stay paid in full is settled: its fee moves from `stay_deposits` to
//!   revenue (by class, VAT excluded) and VAT payable, once. More than the
//!   fee, or a second payment, goes to the driver's account when the tag
//!   has one, otherwise to refunds. The waiting lane is told what remains
//!   (`Command::PaymentConfirmed`, one-way), and opens at zero.
//! - An exit on an account-linked tag is debited from the account when its
//!   event is ingested. A monthly pass sold at the desk is debited from the
//!   account the same way ([`pass_sale`]).
//!
//! Every step is one database transaction with its ledger entry, so the
//! postings sum to zero at every commit.
//!
//! Layout:
//! - `mod.rs`: the policy, transfers as reported, dispositions, lane commands;
//! - `apply`: applying transfers (stay, top-up, held, suspense), set-based;
//! - `effects`: what one transaction reads and defers (requests, entries, sales, balances);
//! - `events`: the ingest side (payment requests, account debits, pass and free exits as sales);
//! - `rows`: a transfer's row, inserted or updated with what became of it;
//! - `topup`: account top-ups (by transfer, by an operator, by hand);
//! - `resolve`: suspense resolved by hand, refunds sent, top-up codes;
//! - [`pass_sale`]: a monthly pass paid from an account;
//! - [`ledger`], [`records`], [`settler`], [`webhook`], [`reconcile`].

mod apply;
mod effects;
mod events;
pub mod ledger;
pub mod pass_sale;
pub mod reconcile;
pub mod records;
mod resolve;
mod rows;
pub mod settler;
#[cfg(test)]
pub(crate) mod tests;
mod topup;
pub mod webhook;

pub use apply::{apply_transfer, apply_transfers};
pub use effects::Effects;
pub use events::{Raised, on_gate_events};
pub use resolve::{Resolution, ResolveError, assign_topup_code, assign_topup_codes, refund_paid, resolve};
pub use topup::manual_top_up;

use parking_core::ids::{GateId, LotId};
use parking_core::money::Vnd;
use parking_core::payment_code::PaymentCode;
use parking_core::timestamp::Timestamp;
use parking_core::vat::VatSchedule;
use parking_core::wire::Command;
use serde::{Deserialize, Serialize};

/// What settlement needs from the lot's configuration.
#[derive(Debug, Clone)]
pub struct Policy {
    /// VAT rates by date: tariff prices include VAT.
    pub vat: VatSchedule,
    /// The lot whose sales this server books (top-ups name no lot).
    pub lot: String,
    /// Whether a top-up gets its own invoice (`[invoice] topups`). If so,
    /// stays debited to an account get none: their VAT was invoiced when
    /// the money came in.
    pub invoice_topups: bool,
    /// The lot's receiving account `(BIN, number)`, for the desk's top-up
    /// VietQR; none when not configured.
    pub bank: Option<(String, String)>,
    /// Receipts' links, when invoices are issued: a lane shows a paid
    /// stay's as the vehicle leaves.
    pub receipts: Option<crate::tax::receipts::ReceiptLinks>,
    /// `[settlement] pay_link`: a template of a link opening banking apps.
    pub pay_link: Option<String>,
}

impl Policy {
    pub fn from_tax(tax: &crate::settings::TaxSettings) -> Result<Self, parking_core::vat::VatError> {
        Ok(Policy {
            vat: tax.schedule()?,
            lot: String::new(),
            invoice_topups: false,
            bank: None,
            receipts: None,
            pay_link: None,
        })
    }
}

/// Who told us about a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Sepay,
    Casso,
    /// Booked by hand through the API (an account top-up).
    Manual,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Sepay => "sepay",
            Provider::Casso => "casso",
            Provider::Manual => "manual",
        }
    }
}

/// A transfer into the lot's bank account, as a provider reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    pub provider: Provider,
    /// The provider's transaction id: the deduplication key.
    pub provider_tx: String,
    pub amount: Vnd,
    /// The memo as the bank delivered it.
    pub memo: String,
    /// A code the provider already parsed from the memo (SePay's `code`).
    pub code_hint: Option<String>,
    pub bank_account: Option<String>,
    pub reference: Option<String>,
    pub transferred_at: Timestamp,
}

impl Incoming {
    pub fn transfer_id(&self) -> String {
        format!("{}:{}", self.provider.as_str(), self.provider_tx)
    }
}

/// What became of a transfer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Disposition {
    /// Already applied under the same provider id: nothing changed.
    Duplicate,
    /// Applied to a stay. `remaining` is still owed; `excess` went to the
    /// driver's account or to refunds (`excess_to`).
    Stay {
        payment_code: PaymentCode,
        applied: Vnd,
        remaining: Vnd,
        excess: Vnd,
        excess_to: Option<String>,
        settled: bool,
    },
    /// Credited to a prepaid account.
    TopUp { account_id: String, amount: Vnd },
    /// Carries a stay code no lane has asked for yet: held, and applied
    /// when the request arrives.
    Held { payment_code: PaymentCode },
    /// Matches nothing: an operator must resolve it.
    Suspense,
    /// An operator sent a transfer in suspense back to the payer's queue.
    RefundQueued { amount: Vnd },
}

impl Disposition {
    pub fn name(&self) -> &'static str {
        match self {
            Disposition::Duplicate => "duplicate",
            Disposition::Stay { settled: true, .. } => "settled",
            Disposition::Stay { .. } => "partial",
            Disposition::TopUp { .. } => "top_up",
            Disposition::Held { .. } => "held",
            Disposition::Suspense => "suspense",
            Disposition::RefundQueued { .. } => "refund_queued",
        }
    }
}

/// A command for a lane, to publish once the transaction has committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneCommand {
    pub lot: LotId,
    pub gate: GateId,
    pub command: Command,
}
