//! The close of a shift or a day: over a window of time, the entries and
//! exits, revenue by channel, every manual open with the person and the
//! reason, the exceptions still open, the invoices issued and those
//! waiting, and who signed in. One page an operator prints and signs.

use serde::Serialize;
use sqlx::Row;

use crate::db::Db;
use crate::journal::{self, ExceptionQuery, ExceptionRecord, JournalError};

#[derive(Debug, Serialize)]
pub struct Channel {
    pub channel: String,
    pub count: i64,
    pub total_vnd: i64,
}

#[derive(Debug, Serialize)]
pub struct ManualOpen {
    pub at_ms: i64,
    pub gate: String,
    pub operator: String,
    pub reason: String,
    pub note: String,
}

#[derive(Debug, Serialize)]
pub struct Close {
    pub from_ms: i64,
    pub to_ms: i64,
    pub entries: i64,
    pub exits: i64,
    pub revenue: Vec<Channel>,
    pub revenue_total_vnd: i64,
    pub manual_opens: Vec<ManualOpen>,
    /// Unresolved when the close was drawn up, whenever they were raised.
    pub open_exceptions: Vec<ExceptionRecord>,
    pub invoices_issued: i64,
    pub invoices_issued_vnd: i64,
    /// Sales of the window whose invoice is still to be issued.
    pub invoices_waiting: i64,
    pub signed_in: Vec<serde_json::Value>,
}

/// The close of `[from_ms, to_ms)`.
pub async fn close(db: &Db, from_ms: i64, to_ms: i64) -> Result<Close, JournalError> {
    if to_ms <= from_ms || to_ms - from_ms > 31 * 86_400_000 {
        return Err(JournalError::Invalid("from_ms and to_ms: a window of up to 31 days, from before to".into()));
    }
    let count = |kind: &'static str| async move {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM gate_events WHERE kind = $1 AND at_ms >= $2 AND at_ms < $3")
            .bind(kind)
            .bind(from_ms)
            .bind(to_ms)
            .fetch_one(&db.pool)
            .await
    };
    let (entries, exits) = (count("entry").await?, count("exit").await?);
    let revenue = sqlx::query(
        "SELECT channel, COUNT(*) AS n, CAST(COALESCE(SUM(total_vnd), 0) AS BIGINT) AS total FROM sales \
         WHERE at_ms >= $1 AND at_ms < $2 GROUP BY channel ORDER BY channel",
    )
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| Ok(Channel { channel: r.try_get("channel")?, count: r.try_get("n")?, total_vnd: r.try_get("total")? }))
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let revenue_total_vnd = revenue.iter().map(|c| c.total_vnd).sum();
    let manual_opens = sqlx::query(
        "SELECT at_ms, gate, payload FROM gate_events WHERE kind = 'manual_open' AND at_ms >= $1 AND at_ms < $2 \
         ORDER BY at_ms",
    )
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        let payload: serde_json::Value = serde_json::from_str(&r.try_get::<String, _>("payload")?).unwrap_or_default();
        let text = |k: &str| payload[k].as_str().unwrap_or_default().to_owned();
        Ok(ManualOpen {
            at_ms: r.try_get("at_ms")?,
            gate: r.try_get("gate")?,
            operator: text("operator"),
            reason: text("reason"),
            note: text("note"),
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let unresolved = ExceptionQuery { state: Some("unresolved".into()), limit: Some(1000), ..Default::default() };
    let open_exceptions = journal::exceptions(db, &unresolved).await?;
    let issued = sqlx::query(
        "SELECT COUNT(*) AS n, CAST(COALESCE(SUM(total_vnd), 0) AS BIGINT) AS total FROM invoices WHERE issued_ms >= $1 AND issued_ms < $2",
    )
    .bind(from_ms)
    .bind(to_ms)
    .fetch_one(&db.pool)
    .await?;
    let invoices_waiting: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sales WHERE invoice = 'due' AND at_ms >= $1 AND at_ms < $2")
            .bind(from_ms)
            .bind(to_ms)
            .fetch_one(&db.pool)
            .await?;
    Ok(Close {
        from_ms,
        to_ms,
        entries,
        exits,
        revenue,
        revenue_total_vnd,
        manual_opens,
        open_exceptions,
        invoices_issued: issued.try_get("n")?,
        invoices_issued_vnd: issued.try_get("total")?,
        invoices_waiting,
        signed_in: crate::people::sessions::signed_in(db, from_ms, to_ms).await?,
    })
}
