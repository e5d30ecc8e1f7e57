//! Reading the stored journal back: its lot and seals, its records in
//! pages, verification against the lot's public key, and the JSON-lines
//! export an independent verifier reads.

use parking_core::chain::{self, Chain, Record, Seal, Tamper, Verified, Verifier};
use sqlx::Row;

use crate::db::{Db, decode_error, parse_stored};

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
