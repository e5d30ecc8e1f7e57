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

use std::collections::BTreeMap;

use parking_core::chain::{self, Chain, Digest32, Record, Seal, Tamper, Verified, Verifier};
use sqlx::{Any, Row, Transaction};

use crate::db::{Backend, CHUNK, Db, decode_error, parse_stored};

/// What to record: a key naming it uniquely (`events:{first event}`,
/// `posting:{entry}`, `invoice:{series}-{number}`…), when, what kind, and
/// the thing as JSON text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub key: String,
    pub at_ms: i64,
    pub kind: String,
    pub body: String,
}

impl Item {
    pub fn new(key: impl Into<String>, at_ms: i64, kind: &str, body: &impl serde::Serialize) -> Self {
        Item { key: key.into(), at_ms, kind: kind.to_owned(), body: crate::db::json_text(body) }
    }
}

/// Queues `items` for the journal in the caller's transaction. An item
/// whose key is already queued is not queued again.
pub async fn queue(tx: &mut Transaction<'_, Any>, backend: Backend, items: &[Item]) -> Result<(), sqlx::Error> {
    for rows in backend.chunks(items, CHUNK) {
        let sql = format!(
            "INSERT INTO journal_outbox (key, at_ms, kind, body) VALUES {} ON CONFLICT (key) DO NOTHING",
            backend.placeholders(rows.len(), 4)
        );
        let mut q = sqlx::query(&sql).persistent(backend.cache_statements());
        for i in rows {
            q = q.bind(i.key.clone()).bind(i.at_ms).bind(i.kind.clone()).bind(i.body.clone());
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Queues the tariff the server starts with: its zone and the whole book,
/// with the book's SHA-256, so every tariff version in force is on record.
pub async fn record_tariff(
    db: &Db,
    zone: &impl serde::Serialize,
    book: &impl serde::Serialize,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    use sha2::Digest as _;
    let text = crate::db::json_text(book);
    let digest = hex::encode(sha2::Sha256::digest(text.as_bytes()));
    let body = serde_json::json!({ "zone": zone, "book_sha256": digest, "book": book });
    let mut tx = db.begin_write().await?;
    queue(&mut tx, db.backend, &[Item::new(format!("tariff:{digest}:{now_ms}"), now_ms, "tariff_version", &body)])
        .await?;
    tx.commit().await
}

/// Chains everything queued, oldest first, in transactions of up to
/// 5,000 items; returns how many. Each transaction deletes exactly the
/// items it chained (by key: on PostgreSQL an item with an earlier time
/// may commit after a later one was read, and must wait for the next
/// round rather than vanish).
pub async fn chain_pending(db: &Db) -> Result<usize, sqlx::Error> {
    let mut total = 0;
    loop {
        // A plain read first: an empty outbox, the usual case, must not take
        // the write lock (on SQLite, the database's) four times a second.
        let any: Option<String> =
            sqlx::query_scalar("SELECT key FROM journal_outbox LIMIT 1").fetch_optional(&db.pool).await?;
        if any.is_none() {
            return Ok(total);
        }
        let mut tx = db.begin_write().await?;
        let rows = sqlx::query("SELECT key, at_ms, kind, body FROM journal_outbox ORDER BY at_ms, key LIMIT 5000")
            .fetch_all(&mut *tx)
            .await?;
        if rows.is_empty() {
            return Ok(total);
        }
        let items: Vec<Item> = rows
            .iter()
            .map(|r| Ok(Item { key: r.try_get(0)?, at_ms: r.try_get(1)?, kind: r.try_get(2)?, body: r.try_get(3)? }))
            .collect::<Result<_, sqlx::Error>>()?;
        append(&mut tx, db.backend, None, &items).await?;
        for keys in items.chunks(CHUNK) {
            let sql = format!("DELETE FROM journal_outbox WHERE key IN ({})", db.backend.params(1, keys.len()));
            let mut q = sqlx::query(&sql).persistent(false);
            for i in keys {
                q = q.bind(i.key.clone());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        total += items.len();
    }
}

/// How many items wait in the outbox.
pub async fn pending(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM journal_outbox").fetch_one(&db.pool).await
}

/// Chains the outbox every 250 ms until `shutdown`, then once more.
pub async fn run(db: Db, shutdown: tokio_util::sync::CancellationToken) {
    let mut every = crate::Every::new(std::time::Duration::from_millis(250), &shutdown);
    loop {
        let stop = !every.tick().await;
        if let Err(e) = chain_pending(&db).await {
            tracing::warn!(error = %e, "chaining the journal failed; will retry");
        }
        if stop {
            return;
        }
    }
}

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

/// The journal's lot (None: nothing recorded yet).
pub async fn lot(db: &Db) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT lot FROM journal_head WHERE id = 1").fetch_optional(&db.pool).await
}

/// Every seal, in order.
pub async fn seals(db: &Db) -> Result<Vec<Seal>, sqlx::Error> {
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
    Ok(seals)
}

/// Reads every record in `seq` order, a page at a time, handing each to
/// `f`; stops early when `f` says so (false).
pub async fn each_record(db: &Db, mut f: impl FnMut(Record) -> bool) -> Result<(), sqlx::Error> {
    let page = 50_000i64;
    // A plain range on the primary key, so each page is an index seek
    // (an `OR $1 IS NULL` here made SQLite scan the table for every page).
    let mut after = i64::MIN;
    loop {
        let rows = sqlx::query(
            "SELECT seq, at_ms, kind, body, prev_hash, hash FROM journal_records WHERE seq > $1 ORDER BY seq LIMIT $2",
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
            if !f(rec) {
                return Ok(());
            }
            after = seq;
        }
        if i64::try_from(n).unwrap_or(0) < page {
            return Ok(());
        }
    }
}

/// Reads the journal back in pages and checks it against `key`. The
/// outer error is the database's; the inner one says where and how the
/// journal was tampered with. Records are read in `seq` order, so a
/// reordered, missing or inserted record is seen as stored.
pub async fn verify(db: &Db, key: &chain::JournalVerifyingKey) -> Result<Result<Verified, Tamper>, sqlx::Error> {
    let Some(lot) = lot(db).await? else {
        return Ok(Ok(Verified { records: 0, last_hash: Chain::start("").last_hash, seals: 0 }));
    };
    let mut v = match Verifier::new(&lot, &seals(db).await?, key) {
        Ok(v) => v,
        Err(t) => return Ok(Err(t)),
    };
    let mut tamper = None;
    each_record(db, |rec| match v.push(&rec) {
        Ok(()) => true,
        Err(t) => {
            tamper = Some(t);
            false
        }
    })
    .await?;
    Ok(match tamper {
        Some(t) => Err(t),
        None => v.finish(),
    })
}

/// Writes the journal as JSON lines for an independent verifier: a
/// header (`{"journal": lot}`), every record, then every seal
/// (`{"seal": …}`). Returns how many records.
pub async fn export(db: &Db, out: &mut impl std::io::Write) -> Result<u64, anyhow::Error> {
    let lot = lot(db).await?.unwrap_or_default();
    writeln!(out, "{}", serde_json::json!({ "journal": lot }))?;
    let mut n = 0u64;
    let mut failed: Option<std::io::Error> = None;
    each_record(db, |rec| {
        match serde_json::to_string(&rec).map_err(std::io::Error::other).and_then(|l| writeln!(out, "{l}")) {
            Ok(()) => {
                n += 1;
                true
            }
            Err(e) => {
                failed = Some(e);
                false
            }
        }
    })
    .await?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    for s in seals(db).await? {
        writeln!(out, "{}", serde_json::json!({ "seal": s }))?;
    }
    Ok(n)
}

/// Seals each local day once it is over, checking every minute, until
/// `shutdown`. A day with no seal yet is sealed at the journal's end.
pub async fn seal_days(db: Db, key: chain::JournalSigningKey, shutdown: tokio_util::sync::CancellationToken) {
    let mut every = crate::Every::new(std::time::Duration::from_secs(60), &shutdown);
    while every.tick().await {
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
