//! A transfer's row: what became of it (applied, credited, refunded, its
//! state), inserted with the transfer or updated when it is resolved.

use sqlx::{Any, Transaction};

use super::Incoming;
use crate::db::{Backend, CHUNK};

/// What a transfer's row records once applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct Applied {
    pub(super) payment_code: Option<String>,
    pub(super) target: Option<String>,
    pub(super) applied: i64,
    pub(super) credited: i64,
    pub(super) refund: i64,
    pub(super) state: &'static str,
}

/// Inserts new transfers with what became of them.
pub(super) async fn insert_transfers(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    rows: &[(&Incoming, Applied)],
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    for chunk in backend.chunks(rows, CHUNK / 2) {
        let sql = format!(
            "INSERT INTO transfers (transfer_id, provider, provider_tx, amount_vnd, memo, bank_account, reference, \
             transferred_ms, received_ms, payment_code, target, applied_vnd, credited_vnd, refund_vnd, state) VALUES {}",
            backend.placeholders(chunk.len(), 15)
        );
        let mut q = sqlx::query(&sql).persistent(backend.cache_statements());
        for (t, a) in chunk {
            q = q
                .bind(t.transfer_id())
                .bind(t.provider.as_str())
                .bind(t.provider_tx.clone())
                .bind(t.amount.get())
                .bind(t.memo.clone())
                .bind(t.bank_account.clone())
                .bind(t.reference.clone())
                .bind(t.transferred_at.unix_millis())
                .bind(now_ms)
                .bind(a.payment_code.clone())
                .bind(a.target.clone())
                .bind(a.applied)
                .bind(a.credited)
                .bind(a.refund)
                .bind(a.state);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Records what became of an existing transfer (held, or in suspense).
pub(super) async fn update_transfer(tx: &mut Transaction<'_, Any>, id: &str, a: &Applied) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE transfers SET payment_code = COALESCE($1, payment_code), target = $2, applied_vnd = $3, \
         credited_vnd = $4, refund_vnd = $5, state = $6 WHERE transfer_id = $7",
    )
    .bind(a.payment_code.clone())
    .bind(a.target.clone())
    .bind(a.applied)
    .bind(a.credited)
    .bind(a.refund)
    .bind(a.state)
    .bind(id.to_owned())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
