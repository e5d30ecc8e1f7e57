//! What operators and admins do by hand: resolve a transfer in suspense,
//! record a refund sent; and the accounts' top-up codes.

use parking_core::money::Vnd;
use parking_core::payment_code::PaymentCode;
use serde::Deserialize;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::apply::apply_to_stay;
use super::effects::Effects;
use super::ledger::{BANK, Entry, REFUNDS, SUSPENSE};
use super::rows::{Applied, update_transfer};
use super::topup::{TopUp, top_up};
use super::{Disposition, Policy};
use crate::db::Db;
use crate::tax::Channel;

/// How an operator resolves a transfer in suspense.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Resolution {
    /// Apply it to a stay's payment code.
    Stay { payment_code: PaymentCode, note: String },
    /// Credit it to a prepaid account.
    Account { account_id: String, note: String },
    /// Queue it to be sent back.
    Refund { note: String },
}

/// Why a resolution was refused.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("transfer {0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Resolves a transfer in suspense (or held) by hand. Returns the new
/// disposition and the commands to publish.
pub async fn resolve(
    db: &Db,
    policy: &Policy,
    transfer_id: &str,
    how: &Resolution,
    by: &str,
    now_ms: i64,
) -> Result<(Disposition, Effects, bool), ResolveError> {
    let mut tx = db.begin_write().await?;
    crate::db::lock_tx(&mut tx, db, crate::db::TxLock::Stays).await?;
    let sql = format!("SELECT amount_vnd, state FROM transfers WHERE transfer_id = $1{}", db.backend.for_update());
    let row: Option<AnyRow> = sqlx::query(&sql).bind(transfer_id.to_owned()).fetch_optional(&mut *tx).await?;
    let Some(row) = row else { return Err(ResolveError::NotFound(transfer_id.to_owned())) };
    let amount: i64 = row.try_get(0)?;
    let state: String = row.try_get(1)?;
    if state != "suspense" && state != "held" {
        return Err(ResolveError::Conflict(format!("transfer {transfer_id} is {state}, not in suspense")));
    }
    let mut fx = Effects::default();
    let (disposition, note) = match how {
        Resolution::Stay { payment_code, note } => {
            let Some(mut r) = fx.request(&mut tx, db.backend, payment_code).await? else {
                return Err(ResolveError::Conflict(format!("no lane has asked for payment code {payment_code}")));
            };
            let (d, row) =
                apply_to_stay(&mut tx, policy, &mut r, transfer_id, amount, SUSPENSE, &mut fx, now_ms).await?;
            update_transfer(&mut tx, transfer_id, &row).await?;
            (d, note)
        }
        Resolution::Account { account_id, note } => {
            let to = TopUp { transfer_id, code: None, account: account_id, amount };
            let (d, row) = match top_up(&mut tx, policy, &to, SUSPENSE, Channel::Transfer, &mut fx, now_ms).await {
                Err(sqlx::Error::RowNotFound) => {
                    return Err(ResolveError::Conflict(format!("account {account_id} not found")));
                }
                other => other?,
            };
            update_transfer(&mut tx, transfer_id, &row).await?;
            (d, note)
        }
        Resolution::Refund { note } => {
            fx.post(
                Entry::new(format!("apply:{transfer_id}"), now_ms, format!("transfer {transfer_id} to refund"))
                    .line(SUSPENSE, amount)
                    .line(REFUNDS, -amount),
            )?;
            let row =
                Applied { target: Some("refund".into()), refund: amount, state: "resolved", ..Applied::default() };
            update_transfer(&mut tx, transfer_id, &row).await?;
            (Disposition::RefundQueued { amount: Vnd::new(amount) }, note)
        }
    };
    sqlx::query(
        "UPDATE transfers SET state = 'resolved', note = $1, resolved_by = $2, resolved_ms = $3 WHERE transfer_id = $4",
    )
    .bind(note.clone())
    .bind(by.to_owned())
    .bind(now_ms)
    .bind(transfer_id.to_owned())
    .execute(&mut *tx)
    .await?;
    let lists_changed = fx.finish(&mut tx, db.backend, now_ms).await?;
    tx.commit().await?;
    Ok((disposition, fx, lists_changed))
}

/// Records that a queued refund went out of the bank account.
pub async fn refund_paid(
    db: &Db,
    transfer_id: &str,
    reference: &str,
    by: &str,
    now_ms: i64,
) -> Result<i64, ResolveError> {
    let mut tx = db.begin_write().await?;
    let sql =
        format!("SELECT refund_vnd, refund_paid_ms FROM transfers WHERE transfer_id = $1{}", db.backend.for_update());
    let row: Option<AnyRow> = sqlx::query(&sql).bind(transfer_id.to_owned()).fetch_optional(&mut *tx).await?;
    let Some(row) = row else { return Err(ResolveError::NotFound(transfer_id.to_owned())) };
    let amount: i64 = row.try_get(0)?;
    let paid: Option<i64> = row.try_get(1)?;
    if amount <= 0 {
        return Err(ResolveError::Conflict(format!("transfer {transfer_id} has no refund queued")));
    }
    if paid.is_some() {
        return Err(ResolveError::Conflict(format!("the refund of transfer {transfer_id} was already paid")));
    }
    let entry =
        Entry::new(format!("refund:{transfer_id}"), now_ms, format!("refund paid by {by}, bank ref {reference}"))
            .line(REFUNDS, amount)
            .line(BANK, -amount);
    let mut fx = Effects::default();
    fx.post(entry)?;
    fx.finish(&mut tx, db.backend, now_ms).await?;
    sqlx::query("UPDATE transfers SET refund_paid_ms = $1 WHERE transfer_id = $2")
        .bind(now_ms)
        .bind(transfer_id.to_owned())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(amount)
}

/// Gives every account without one a top-up code (`TK…`), unique.
pub async fn assign_topup_codes(db: &Db) -> Result<usize, sqlx::Error> {
    let missing: Vec<String> =
        sqlx::query_scalar("SELECT account_id FROM accounts WHERE topup_code IS NULL").fetch_all(&db.pool).await?;
    let mut n = 0;
    for account in missing {
        let mut tx = db.begin_write().await?;
        assign_topup_code(&mut tx, &account).await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// A fresh random top-up code for `account`, retried on the rare collision.
pub async fn assign_topup_code(tx: &mut Transaction<'_, Any>, account: &str) -> Result<PaymentCode, sqlx::Error> {
    for _ in 0..16 {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        let code = PaymentCode::new("TK", u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        let taken: Option<String> = sqlx::query_scalar("SELECT account_id FROM accounts WHERE topup_code = $1")
            .bind(code.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_none() {
            sqlx::query("UPDATE accounts SET topup_code = $1 WHERE account_id = $2 AND topup_code IS NULL")
                .bind(code.to_string())
                .bind(account.to_owned())
                .execute(&mut **tx)
                .await?;
            return Ok(code);
        }
    }
    Err(sqlx::Error::Protocol("could not find a free top-up code in 16 tries".into()))
}
