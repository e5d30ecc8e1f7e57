//! Daily seals: a day's end of the chain signed with the lot's key, with
//! the running totals (records, fees settled, invoices), made by hand or
//! by the task that seals each day once it is over.

use std::collections::BTreeMap;

use parking_core::chain::{self, Seal};

use super::{chain_pending, head};
use crate::db::Db;

/// Seals `day` (local, `YYYY-MM-DD`) at the journal's current end, with
/// the running totals: records, fees settled (revenue plus VAT), invoices
/// issued and their total.
pub async fn seal(db: &Db, key: &chain::JournalSigningKey, day: &str, now_ms: i64) -> Result<Seal, sqlx::Error> {
    chain_pending(db).await?;
    let fees = crate::settlement::ledger::trial(db).await?.fees_settled_vnd;
    let mut tx = db.begin_write().await?;
    let (_, chain) = head(&mut tx, db.backend, None).await?;
    let (invoices, invoiced): (i64, i64) =
        sqlx::query_as("SELECT COUNT(*), CAST(COALESCE(SUM(total_vnd), 0) AS BIGINT) FROM invoices")
            .fetch_one(&mut *tx)
            .await?;
    let totals = BTreeMap::from([
        ("records".to_owned(), i64::try_from(chain.last_seq).unwrap_or(i64::MAX)),
        ("fees_settled_vnd".to_owned(), fees),
        ("invoices".to_owned(), invoices),
        ("invoiced_vnd".to_owned(), invoiced),
    ]);
    let s = Seal::sign(key, day, &chain, totals);
    sqlx::query(
        "INSERT INTO journal_seals (day, last_seq, last_hash, totals, signature, public_key, sealed_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(s.day.clone())
    .bind(i64::try_from(s.last_seq).unwrap_or(i64::MAX))
    .bind(s.last_hash.to_string())
    .bind(crate::db::json_text(&s.totals))
    .bind(s.signature.clone())
    .bind(chain::public_hex(key))
    .bind(now_ms)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(s)
}

/// Seals each local day once it is over, checking every minute, until
/// `shutdown`. A day with no seal yet is sealed at the journal's end.
pub async fn seal_days(
    db: Db,
    key: chain::JournalSigningKey,
    clock: parking_runtime::Clock,
    shutdown: tokio_util::sync::CancellationToken,
) {
    let mut every = parking_runtime::every::Every::new(std::time::Duration::from_secs(60), &shutdown, clock);
    while let Some(now) = every.tick().await {
        let Some(yesterday) = now.local_date().previous_day() else { continue };
        let day = yesterday.format(crate::db::ISO_DATE).unwrap_or_default();
        let sealed: Result<Option<String>, sqlx::Error> =
            sqlx::query_scalar("SELECT day FROM journal_seals WHERE day = $1")
                .bind(day.clone())
                .fetch_optional(&db.pool)
                .await;
        match sealed {
            Ok(Some(_)) => {}
            Ok(None) => match seal(&db, &key, &day, now.unix_millis()).await {
                Ok(s) => tracing::info!(day, last_seq = s.last_seq, "journal sealed"),
                // Another instance on the same database sealed it first.
                Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                    tracing::debug!(day, "journal already sealed by another instance");
                }
                Err(e) => tracing::warn!(day, error = %e, "sealing the journal failed; will retry"),
            },
            Err(e) => tracing::warn!(error = %e, "reading the journal's seals failed; will retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use parking_runtime::Clock;

    use super::*;

    /// The sealer takes its day from the clock it is handed: with the
    /// clock on 24 November it seals the 23rd, whatever the wall says.
    async fn the_clocks_yesterday_is_sealed(db: &Db) {
        super::super::init(db, "hn-01").await.unwrap();
        let now: parking_core::Timestamp = "2026-11-24T10:00:00+07:00".parse().unwrap();
        let clock = Clock::manual(now);
        let stop = tokio_util::sync::CancellationToken::new();
        let task = tokio::spawn(seal_days(db.clone(), super::super::tests_key(), clock, stop.clone()));
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
        let sealed = loop {
            let row: Option<(String, i64)> =
                sqlx::query_as("SELECT day, sealed_ms FROM journal_seals").fetch_optional(&db.pool).await.unwrap();
            if let Some(row) = row {
                break row;
            }
            assert!(tokio::time::Instant::now() < deadline, "no day was sealed");
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        };
        stop.cancel();
        task.await.unwrap();
        assert_eq!(sealed, ("2026-11-23".to_owned(), now.unix_millis()));
    }
    crate::on_both_databases!(seals_follow_the_clock, the_clocks_yesterday_is_sealed);
}
