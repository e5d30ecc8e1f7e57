//! The stored tamper-evident journal: records appended in the same
//! transaction as what they record (gate events as ingested, ledger
//! postings), chained by [`parking_core::chain`], sealed daily, and
//! verified by reading them back in pages.
//!
//! The chain's head row is locked by every append, so appends are
//! serialised: the order of `seq` is the order of commits.

use std::collections::BTreeMap;

use parking_core::chain::{self, Chain, Digest32, Record, Seal, Tamper, Verified, Verifier};
use sqlx::{Any, Row, Transaction};

use crate::db::{Backend, CHUNK, Db, decode_error, parse_stored};

/// What to record: when, what kind, and the thing as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub at_ms: i64,
    pub kind: String,
    pub body: String,
}

async fn head(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    lot: Option<&str>,
) -> Result<(String, Chain), sqlx::Error> {
    let lock = if backend == Backend::Postgres { " FOR UPDATE" } else { "" };
    let sql = format!("SELECT lot, last_seq, last_hash FROM journal_head WHERE id = 1{lock}");
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

/// Seals `day` (local, `YYYY-MM-DD`) at the journal's current end, with
/// the running totals: records, and fees settled (revenue plus VAT).
pub async fn seal(db: &Db, key: &chain::JournalSigningKey, day: &str, now_ms: i64) -> Result<Seal, sqlx::Error> {
    let fees = crate::settlement::ledger::trial(db).await?.fees_settled_vnd;
    let mut tx = db.begin_write().await?;
    let (_, chain) = head(&mut tx, db.backend, None).await?;
    let totals = BTreeMap::from([
        ("records".to_owned(), i64::try_from(chain.last_seq).unwrap_or(i64::MAX)),
        ("fees_settled_vnd".to_owned(), fees),
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

/// Reads the journal back in pages and checks it against `key`. The
/// outer error is the database's; the inner one says where and how the
/// journal was tampered with.
pub async fn verify(db: &Db, key: &chain::JournalVerifyingKey) -> Result<Result<Verified, Tamper>, sqlx::Error> {
    let lot: Option<String> =
        sqlx::query_scalar("SELECT lot FROM journal_head WHERE id = 1").fetch_optional(&db.pool).await?;
    let Some(lot) = lot else {
        return Ok(Ok(Verified { records: 0, last_hash: Chain::start("").last_hash, seals: 0 }));
    };
    let mut seals = Vec::new();
    for r in sqlx::query("SELECT day, last_seq, last_hash, totals, signature FROM journal_seals ORDER BY last_seq, day")
        .fetch_all(&db.pool)
        .await?
    {
        let totals: String = r.try_get(3)?;
        seals.push(Seal {
            day: r.try_get(0)?,
            last_seq: u64::try_from(r.try_get::<i64, _>(1)?).unwrap_or(0),
            last_hash: parse_stored("seal hash", &r.try_get::<String, _>(2)?)?,
            totals: serde_json::from_str(&totals).map_err(|e| decode_error("seal totals", e))?,
            signature: r.try_get(4)?,
        });
    }
    let mut v = match Verifier::new(&lot, &seals, key) {
        Ok(v) => v,
        Err(t) => return Ok(Err(t)),
    };
    // Pages by position, not by seq: a reordered or missing seq must be
    // seen as stored.
    let page = 50_000i64;
    let mut after: Option<i64> = None;
    loop {
        let rows = sqlx::query(
            "SELECT seq, at_ms, kind, body, prev_hash, hash FROM journal_records \
             WHERE ($1 IS NULL OR seq > $1) ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(page)
        .fetch_all(&db.pool)
        .await?;
        let n = rows.len();
        for r in &rows {
            let seq: i64 = r.try_get(0)?;
            let rec = Record {
                seq: u64::try_from(seq).unwrap_or(0),
                at_ms: r.try_get(1)?,
                kind: r.try_get(2)?,
                body: r.try_get(3)?,
                prev: parse_stored("journal hash", &r.try_get::<String, _>(4)?)?,
                hash: parse_stored("journal hash", &r.try_get::<String, _>(5)?)?,
            };
            if let Err(t) = v.push(&rec) {
                return Ok(Err(t));
            }
            after = Some(seq);
        }
        if i64::try_from(n).unwrap_or(0) < page {
            break;
        }
    }
    Ok(v.finish())
}

/// Seals each local day once it is over, checking every minute, until
/// `shutdown`. A day with no seal yet is sealed at the journal's end.
pub async fn seal_days(db: Db, key: chain::JournalSigningKey, shutdown: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(60));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = shutdown.cancelled() => return,
        }
        let now = tag_reader::reader::now();
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
                Err(e) => tracing::warn!(day, error = %e, "sealing the journal failed; will retry"),
            },
            Err(e) => tracing::warn!(error = %e, "reading the journal's seals failed; will retry"),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::on_both_databases;

    fn key() -> chain::JournalSigningKey {
        chain::signing_key("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap()
    }

    async fn add(db: &Db, n: usize) {
        let mut tx = db.begin_write().await.unwrap();
        let items: Vec<Item> = (0..n)
            .map(|i| Item {
                at_ms: 1_795_000_000_000 + i as i64,
                kind: "gate_event".into(),
                body: format!(r#"{{"n":{i}}}"#),
            })
            .collect();
        append(&mut tx, db.backend, Some("hn-01"), &items).await.unwrap();
        tx.commit().await.unwrap();
    }

    async fn stored_journal_verifies_and_shows_tampering(db: &Db) {
        let public = key().verifying_key();
        add(db, 120).await;
        seal(db, &key(), "2026-11-22", 1).await.unwrap();
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
