//! Tax: the record of every sale, the e-invoices issued for them, and the
//! revenue reports tax officers check.
//!
//! - A **sale** is written in the transaction that books it: an exit
//!   debited to an account (ingest), a stay settled by transfer (the
//!   settlement writer), a pass or free exit (counted, nothing owed), an
//!   account top-up. Revenue reports read `sales` alone.
//! - [`invoicing`]: the issuer numbers due sales without gaps per series,
//!   builds their `TDiep` XML and queues them to an [`invoicing::InvoiceSink`],
//!   retrying failed deliveries; none of it is on a gate's path;
//!   [`invoice_api`]: the provider's HTTPS API as a sink, and the sink a
//!   lot's settings choose.
//! - [`report`]: revenue by day and month, lot, class, channel and VAT
//!   rate, and the reconciliation (its list of mismatches in `mismatches`),
//!   for the period a [`query`] names;
//!   [`export`] as CSV, JSON or XLSX, the workbook in Vietnamese or
//!   English ([`sheet_words`]);
//! - [`receipts`]: each invoice's public receipt link, its key stored
//!   hashed; [`receipt`]: the receipt read back from the invoice's XML.

pub mod export;
pub mod invoice_api;
pub mod invoicing;
mod mismatches;
pub mod query;
pub mod receipt;
pub mod receipts;
pub mod report;
pub mod sheet_words;
#[cfg(test)]
mod tests;

use parking_core::timestamp::Timestamp;
use parking_core::vat::VatRate;
use serde::{Deserialize, Serialize};
use sqlx::{Any, Transaction};

use crate::db::{Backend, CHUNK, ISO_DATE};

/// How a sale was paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// Debited from a prepaid account at the exit.
    Account,
    /// Paid by a VietQR bank transfer.
    Transfer,
    /// Covered by a monthly pass (nothing owed at the exit).
    Pass,
    /// Within the grace period (nothing owed).
    Free,
    /// A top-up booked by hand.
    Manual,
}

impl Channel {
    pub const ALL: [Channel; 5] = [Channel::Account, Channel::Transfer, Channel::Pass, Channel::Free, Channel::Manual];

    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Account => "account",
            Channel::Transfer => "transfer",
            Channel::Pass => "pass",
            Channel::Free => "free",
            Channel::Manual => "manual",
        }
    }
}

impl std::str::FromStr for Channel {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Channel::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("unknown channel {s:?}: account, transfer, pass, free or manual"))
    }
}

/// What was sold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SaleKind {
    Stay,
    TopUp,
}

impl SaleKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SaleKind::Stay => "stay",
            SaleKind::TopUp => "topup",
        }
    }
}

/// One sale, as booked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sale {
    /// The ledger entry that booked it, or `exit:{event}` for a sale of
    /// nothing (pass, free).
    pub id: String,
    pub lot: String,
    pub kind: SaleKind,
    /// The vehicle class; `-` for a top-up.
    pub class: String,
    pub channel: Channel,
    pub at_ms: i64,
    /// Payment code, account or credential.
    pub reference: String,
    pub entered_ms: Option<i64>,
    pub exited_ms: Option<i64>,
    pub rate: VatRate,
    /// VAT included.
    pub total: i64,
    /// Whether an invoice is due for it.
    pub invoice: bool,
}

impl Sale {
    /// (pre-tax, VAT) of the total.
    pub fn split(&self) -> (i64, i64) {
        let (net, vat) = self.rate.split(parking_core::money::Vnd::new(self.total));
        (net.get(), vat.get())
    }

    /// The local date of the sale, `YYYY-MM-DD`.
    pub fn day(&self) -> String {
        local_day(self.at_ms)
    }
}

/// The local date of an instant, `YYYY-MM-DD`.
pub fn local_day(at_ms: i64) -> String {
    Timestamp::from_unix_millis(at_ms)
        .and_then(|t| t.local_date().format(ISO_DATE).ok())
        .unwrap_or_else(|| "0000-00-00".to_owned())
}

pub(crate) const SALE_COLUMNS: &str = "sale_id, lot, kind, day, class, channel, invoice, at_ms, reference, \
    entered_ms, exited_ms, vat_bp, net_vnd, vat_vnd, total_vnd";

/// Writes sales in multi-row inserts. A sale already written (the same
/// ledger entry) is a conflict, as in the ledger: its transaction fails.
pub async fn write(tx: &mut Transaction<'_, Any>, backend: Backend, sales: &[Sale]) -> Result<(), sqlx::Error> {
    for chunk in backend.chunks(sales, CHUNK / 2) {
        let sql = format!("INSERT INTO sales ({SALE_COLUMNS}) VALUES {}", backend.placeholders(chunk.len(), 15));
        let mut q = sqlx::query(&sql).persistent(backend.cache_statements());
        for s in chunk {
            let (net, vat) = s.split();
            q = q
                .bind(s.id.clone())
                .bind(s.lot.clone())
                .bind(s.kind.as_str())
                .bind(s.day())
                .bind(s.class.clone())
                .bind(s.channel.as_str())
                .bind(if s.invoice { "due" } else { "none" })
                .bind(s.at_ms)
                .bind(s.reference.clone())
                .bind(s.entered_ms)
                .bind(s.exited_ms)
                .bind(i64::from(s.rate.basis_points()))
                .bind(net)
                .bind(vat)
                .bind(s.total);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}
