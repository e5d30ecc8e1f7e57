//! The stored tamper-evident journal: what happens is queued in the
//! transaction that makes it happen ([`queue`]: gate events as ingested,
//! manual opens, ledger postings, list and tariff versions, invoices),
//! chained in order by one task ([`chain_pending`], [`run`]) with
//! [`parking_core::chain`], sealed daily, and verified by reading the
//! records back in pages.
//!
//! Why an outbox: a queued item commits or rolls back with what it
//! records, so nothing is lost or recorded that did not happen; and the
//! hot paths (ingest, the settlement writer) never wait on the chain's
//! head, which only the chaining task and the sealer lock. An item waits
//! in the outbox for at most a chaining interval (250 ms).
//!
//! Layout: `mod.rs` the chain's head and appending; `outbox` what is
//! queued and the task that chains it; `seal` the daily seals and their
//! task; `read` reading the journal back: verification and export.

#[cfg(test)]
use parking_core::chain;
use parking_core::chain::{Chain, Digest32, Record};
use sqlx::{Any, Row, Transaction};

use crate::db::{Backend, CHUNK, Db, parse_stored};

mod outbox;
mod read;
mod seal;

pub use outbox::{Item, chain_pending, pending, queue, record_tariff, run};
pub use read::{each_record, export, lot, seals, verify};
pub use seal::{seal, seal_days};

async fn head(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    lot: Option<&str>,
) -> Result<(String, Chain), sqlx::Error> {
    let sql = format!("SELECT lot, last_seq, last_hash FROM journal_head WHERE id = 1{}", backend.for_update());
    if let Some(row) = sqlx::query(&sql).fetch_optional(&mut **tx).await? {
        let lot: String = row.try_get(0)?;
        let last_seq: i64 = row.try_get(1)?;
        let last_hash: Digest32 = parse_stored("journal hash", &row.try_get::<String, _>(2)?)?;
        return Ok((lot, Chain { last_seq: u64::try_from(last_seq).unwrap_or(0), last_hash }));
    }
    // The first record: the chain starts at the lot's genesis. A server
    // names its lot at start (`init`); a writer that does not know it
    // leaves "unknown", which the verifier reads back from this row.
    let lot = lot.unwrap_or("unknown").to_owned();
    let start = Chain::start(&lot);
    sqlx::query(
        "INSERT INTO journal_head (id, lot, last_seq, last_hash) VALUES (1, $1, 0, $2) ON CONFLICT (id) DO NOTHING",
    )
    .bind(lot.clone())
    .bind(start.last_hash.to_string())
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query(&sql).fetch_one(&mut **tx).await?;
    let lot: String = row.try_get(0)?;
    Ok((lot.clone(), Chain::start(&lot)))
}

/// Starts the journal for `lot` if it has not started.
pub async fn init(db: &Db, lot: &str) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    head(&mut tx, db.backend, Some(lot)).await?;
    tx.commit().await
}

/// Appends `items`, in order, in the caller's transaction.
pub async fn append(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    lot: Option<&str>,
    items: &[Item],
) -> Result<(), sqlx::Error> {
    if items.is_empty() {
        return Ok(());
    }
    let (_, mut chain) = head(tx, backend, lot).await?;
    let records: Vec<Record> = items.iter().map(|i| chain.append(i.at_ms, &i.kind, i.body.clone())).collect();
    for rows in backend.chunks(&records, CHUNK) {
        let sql = format!(
            "INSERT INTO journal_records (seq, at_ms, kind, body, prev_hash, hash) VALUES {}",
            backend.placeholders(rows.len(), 6)
        );
        let mut q = sqlx::query(&sql).persistent(backend.cache_statements());
        for r in rows {
            q = q
                .bind(i64::try_from(r.seq).unwrap_or(i64::MAX))
                .bind(r.at_ms)
                .bind(r.kind.clone())
                .bind(r.body.clone())
                .bind(r.prev.to_string())
                .bind(r.hash.to_string());
        }
        q.execute(&mut **tx).await?;
    }
    sqlx::query("UPDATE journal_head SET last_seq = $1, last_hash = $2 WHERE id = 1")
        .bind(i64::try_from(chain.last_seq).unwrap_or(i64::MAX))
        .bind(chain.last_hash.to_string())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The RFC 8032 test key 1, for tests.
#[cfg(test)]
pub(crate) fn tests_key() -> chain::JournalSigningKey {
    chain::signing_key("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
        .unwrap_or_else(|_| unreachable!("a valid seed"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::on_both_databases;
    use parking_core::chain::Tamper;

    fn key() -> chain::JournalSigningKey {
        tests_key()
    }

    async fn add(db: &Db, n: usize) {
        let mut tx = db.begin_write().await.unwrap();
        let items: Vec<Item> = (0..n)
            .map(|i| Item {
                key: format!("test:{i}:{}", uuid_like()),
                at_ms: 1_795_000_000_000 + i as i64,
                kind: "gate_event".into(),
                body: format!(r#"{{"n":{i}}}"#),
            })
            .collect();
        queue(&mut tx, db.backend, &items).await.unwrap();
        tx.commit().await.unwrap();
        assert_eq!(pending(db).await.unwrap(), i64::try_from(n).unwrap());
        assert_eq!(chain_pending(db).await.unwrap(), n);
        assert_eq!(pending(db).await.unwrap(), 0);
    }

    fn uuid_like() -> u64 {
        use std::sync::atomic::{AtomicU64, Ordering};
        static N: AtomicU64 = AtomicU64::new(0);
        N.fetch_add(1, Ordering::Relaxed)
    }

    async fn stored_journal_verifies_and_shows_tampering(db: &Db) {
        init(db, "hn-01").await.unwrap();
        let public = key().verifying_key();
        add(db, 120).await;
        seal(db, &key(), "2026-11-22", 1).await.unwrap();
        // A second instance sealing the same day is told it is sealed
        // (seal_days takes that as done).
        match seal(db, &key(), "2026-11-22", 2).await {
            Err(sqlx::Error::Database(e)) => assert!(e.is_unique_violation(), "{e}"),
            other => panic!("a day sealed twice: {other:?}"),
        }
        add(db, 30).await;
        let v = verify(db, &public).await.unwrap().unwrap();
        assert_eq!((v.records, v.seals), (150, 1));
        // Edited in the database.
        sqlx::query("UPDATE journal_records SET body = '{\"n\":999}' WHERE seq = 77").execute(&db.pool).await.unwrap();
        assert_eq!(verify(db, &public).await.unwrap(), Err(Tamper::Edited { seq: 77 }));
        sqlx::query("UPDATE journal_records SET body = '{\"n\":76}' WHERE seq = 77").execute(&db.pool).await.unwrap();
        assert!(verify(db, &public).await.unwrap().is_ok(), "restored");
        // Deleted.
        sqlx::query("DELETE FROM journal_records WHERE seq = 100").execute(&db.pool).await.unwrap();
        assert_eq!(verify(db, &public).await.unwrap(), Err(Tamper::Deleted { from: 100, to: 100 }));
        // Checked with another key: the seal does not verify.
        let other = chain::signing_key(&"11".repeat(32)).unwrap().verifying_key();
        assert!(matches!(verify(db, &other).await.unwrap(), Err(Tamper::BadSignature { .. })));
    }
    on_both_databases!(journal_in_the_database, stored_journal_verifies_and_shows_tampering);
}
