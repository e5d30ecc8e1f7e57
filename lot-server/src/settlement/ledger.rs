//! The double-entry ledger: every money movement is one entry whose lines
//! sum to zero (debits positive, credits negative), written in the same
//! transaction as the change it records. Entry ids are derived from what
//! caused them (`apply:sepay:92704`, `receive:…` for money held in suspense,
//! `settle:PK…`, `debit:{event}`, `refund:…`), so
//! a movement can never be posted twice: the second insert would violate
//! the primary key and roll its transaction back.
//!
//! Accounts:
//! - `bank`: the lot's bank account (an asset; money in is a debit);
//! - `driver:{account}`: what the lot owes a prepaid account (a credit
//!   balance is money the driver has on it);
//! - `stay_deposits`: transfers received for stays not yet fully paid;
//! - `revenue:{class}`: fees earned, VAT excluded, by vehicle class;
//! - `vat_payable`: VAT collected on those fees;
//! - `suspense`: money received that matches nothing yet;
//! - `refunds`: money owed back to payers.

use std::collections::BTreeMap;

use sqlx::{Any, Row, Transaction};

use crate::db::{Backend, CHUNK, Db};

pub const BANK: &str = "bank";
pub const STAY_DEPOSITS: &str = "stay_deposits";
pub const VAT_PAYABLE: &str = "vat_payable";
pub const SUSPENSE: &str = "suspense";
pub const REFUNDS: &str = "refunds";

pub fn driver(account: &str) -> String {
    format!("driver:{account}")
}

pub fn revenue(class: &str) -> String {
    format!("revenue:{class}")
}

/// One balanced entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: String,
    pub at_ms: i64,
    pub memo: String,
    pub lines: Vec<(String, i64)>,
}

impl Entry {
    pub fn new(id: impl Into<String>, at_ms: i64, memo: impl Into<String>) -> Self {
        Entry { id: id.into(), at_ms, memo: memo.into(), lines: Vec::new() }
    }

    /// Adds a line; zero amounts are left out.
    pub fn line(mut self, account: impl Into<String>, amount: i64) -> Self {
        if amount != 0 {
            self.lines.push((account.into(), amount));
        }
        self
    }
}

/// Refuses an entry whose lines do not sum to zero.
pub fn check(e: &Entry) -> Result<(), sqlx::Error> {
    let sum: i128 = e.lines.iter().map(|(_, a)| i128::from(*a)).sum();
    if sum != 0 {
        return Err(sqlx::Error::Protocol(format!("ledger entry {} does not balance: off by {sum} đồng", e.id)));
    }
    Ok(())
}

/// Writes entries in multi-row inserts, refusing any that does not
/// balance, and queues each for the journal.
pub async fn write(tx: &mut Transaction<'_, Any>, backend: Backend, entries: &[Entry]) -> Result<(), sqlx::Error> {
    let mut rows: Vec<(&Entry, i64, &str, i64)> = Vec::new();
    for e in entries {
        check(e)?;
        for (i, (account, amount)) in e.lines.iter().enumerate() {
            rows.push((e, i64::try_from(i).unwrap_or(i64::MAX), account.as_str(), *amount));
        }
    }
    for chunk in backend.chunks(&rows, CHUNK) {
        let sql = format!(
            "INSERT INTO ledger_postings (entry_id, line, at_ms, account, amount_vnd, memo) VALUES {}",
            backend.placeholders(chunk.len(), 6)
        );
        let mut q = sqlx::query(&sql).persistent(backend.cache_statements());
        for (e, line, account, amount) in chunk {
            q = q
                .bind(e.id.clone())
                .bind(*line)
                .bind(e.at_ms)
                .bind((*account).to_owned())
                .bind(*amount)
                .bind(e.memo.clone());
        }
        q.execute(&mut **tx).await?;
    }
    // Every entry into the tamper-evident journal, with its lines.
    let items: Vec<crate::audit::Item> = entries
        .iter()
        .map(|e| {
            let body = serde_json::json!({ "entry": e.id, "memo": e.memo, "lines": e.lines });
            crate::audit::Item::new(format!("posting:{}", e.id), e.at_ms, "posting", &body)
        })
        .collect();
    crate::audit::queue(tx, backend, &items).await
}

/// The balance of every ledger account (debit positive).
pub async fn balances(db: &Db) -> Result<BTreeMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT account, CAST(SUM(amount_vnd) AS BIGINT) FROM ledger_postings GROUP BY account ORDER BY account",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?))).collect()
}

/// The ledger at a glance: every account's balance, the grand total
/// (zero unless the books are broken) and entries that do not balance.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Trial {
    pub balances: BTreeMap<String, i64>,
    pub total: i64,
    pub unbalanced_entries: Vec<String>,
    /// Revenue plus VAT: what settled fees add up to.
    pub fees_settled_vnd: i64,
}

pub async fn trial(db: &Db) -> Result<Trial, sqlx::Error> {
    let balances = balances(db).await?;
    let total = balances.values().sum();
    let unbalanced = sqlx::query_scalar(
        "SELECT entry_id FROM ledger_postings GROUP BY entry_id HAVING SUM(amount_vnd) <> 0 ORDER BY entry_id LIMIT 100",
    )
    .fetch_all(&db.pool)
    .await?;
    let fees_settled_vnd = -balances
        .iter()
        .filter(|(k, _)| k.starts_with("revenue:") || k.as_str() == VAT_PAYABLE)
        .map(|(_, v)| v)
        .sum::<i64>();
    Ok(Trial { balances, total, unbalanced_entries: unbalanced, fees_settled_vnd })
}
