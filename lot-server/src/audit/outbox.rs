//! The journal's outbox: items queued in the transactions that make them
//! happen, and the task that chains them in order.

use parking_runtime::Clock;
use parking_runtime::every::Every;
use sqlx::{Any, Row, Transaction};

use super::append;
use crate::db::{Backend, CHUNK, Db};

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
        // The chain's head first: another lot-server instance chaining the
        // same outbox waits here until it has committed, and the read below
        // then no longer sees what it chained (and deleted).
        super::head(&mut tx, db.backend, None).await?;
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
pub async fn run(db: Db, clock: Clock, shutdown: tokio_util::sync::CancellationToken) {
    let mut every = Every::new(std::time::Duration::from_millis(250), &shutdown, clock);
    loop {
        let stop = every.tick().await.is_none();
        if let Err(e) = chain_pending(&db).await {
            tracing::warn!(error = %e, "chaining the journal failed; will retry");
        }
        if stop {
            return;
        }
    }
}
