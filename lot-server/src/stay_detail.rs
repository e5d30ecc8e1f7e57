//! A stay, whole, for the operator who opens it: the stay itself, its gate
//! events (the entry, each time an exit lane asked for payment, the exit,
//! each with whether a lane photo of it is kept),
//! its fee line by line as the tariff engine worked it out, the transfers
//! that paid it, and its invoices.

use serde::Serialize;
use sqlx::Row;

use crate::db::Db;
use crate::journal::{self, JournalError, Session};
use crate::settlement::records::TransferRecord;

/// One gate event of the stay.
#[derive(Debug, Serialize)]
pub struct StayEvent {
    pub event_id: String,
    pub gate: String,
    pub kind: String,
    pub at_ms: i64,
    /// The lane photo taken at it (`/api/v1/photos/{event_id}`), if kept.
    pub photo: bool,
}

/// An invoice issued for the stay.
#[derive(Debug, Serialize)]
pub struct StayInvoice {
    /// The sale it invoices: what its receipt's key is derived from.
    pub sale_id: String,
    pub series: String,
    pub number: i64,
    pub issued_ms: i64,
    pub lookup_code: String,
    pub total_vnd: i64,
}

#[derive(Debug, Serialize)]
pub struct StayDetail {
    pub session: Session,
    pub events: Vec<StayEvent>,
    /// The fee as computed at the exit, or at the last payment request of
    /// a stay still inside; none for a stay with no fee yet.
    pub fee: Option<serde_json::Value>,
    pub payments: Vec<TransferRecord>,
    pub invoices: Vec<StayInvoice>,
}

pub async fn detail(db: &Db, id: &str) -> Result<StayDetail, JournalError> {
    let session = journal::session_by_id(db, id).await?;
    // The payment codes exit lanes showed for this stay.
    let requests = sqlx::query(
        "SELECT payment_code, event_id FROM payment_requests \
         WHERE credential_key = $1 AND entered_ms = $2 ORDER BY requested_ms",
    )
    .bind(session.credential_key.clone())
    .bind(session.entered_ms)
    .fetch_all(&db.pool)
    .await?;
    let mut codes = Vec::new();
    let mut event_ids: Vec<String> = session.entry_event.iter().cloned().collect();
    for r in &requests {
        codes.push(r.try_get::<String, _>("payment_code")?);
        event_ids.push(r.try_get("event_id")?);
    }
    event_ids.extend(session.exit_event.iter().cloned());
    let mut events = Vec::new();
    let mut fee = None;
    for event_id in &event_ids {
        let Some(row) = sqlx::query(
            "SELECT g.event_id, g.gate, g.kind, g.at_ms, g.payload, p.event_id AS photo FROM gate_events g \
             LEFT JOIN photos p ON p.event_id = g.event_id WHERE g.event_id = $1",
        )
        .bind(event_id.clone())
        .fetch_optional(&db.pool)
        .await?
        else {
            continue;
        };
        let payload: String = row.try_get("payload")?;
        if let Some(f) = serde_json::from_str::<serde_json::Value>(&payload).ok().and_then(|v| v.get("fee").cloned()) {
            fee = Some(f);
        }
        events.push(StayEvent {
            event_id: row.try_get("event_id")?,
            gate: row.try_get("gate")?,
            kind: row.try_get("kind")?,
            at_ms: row.try_get("at_ms")?,
            photo: row.try_get::<Option<String>, _>("photo")?.is_some(),
        });
    }
    events.sort_by_key(|e| e.at_ms);
    let mut payments = Vec::new();
    for code in &codes {
        let rows = sqlx::query("SELECT * FROM transfers WHERE payment_code = $1 ORDER BY received_ms")
            .bind(code.clone())
            .fetch_all(&db.pool)
            .await?;
        for r in &rows {
            payments.push(TransferRecord::from_row(r)?);
        }
    }
    // The stay's sales: booked at its exit, or when a transfer under one
    // of its codes settled it.
    let mut invoices: Vec<StayInvoice> = Vec::new();
    let exit_sale = session.exit_event.as_ref().map(|e| format!("exit:{e}"));
    let mut keys: Vec<Option<String>> = codes.iter().cloned().map(Some).collect();
    keys.push(None);
    for code in keys {
        let rows = sqlx::query(
            "SELECT i.sale_id, i.series, i.number, i.issued_ms, i.lookup_code, i.total_vnd FROM invoices i \
             JOIN sales s ON s.sale_id = i.sale_id \
             WHERE s.kind = 'stay' AND (s.reference = $1 OR s.sale_id = $2 \
                OR (s.class = $3 AND s.entered_ms = $4 AND s.exited_ms = $5)) ORDER BY i.issued_ms",
        )
        .bind(code)
        .bind(exit_sale.clone())
        .bind(session.class.clone())
        .bind(session.entered_ms)
        .bind(session.exited_ms)
        .fetch_all(&db.pool)
        .await?;
        for r in &rows {
            let invoice = StayInvoice {
                sale_id: r.try_get("sale_id")?,
                series: r.try_get("series")?,
                number: r.try_get("number")?,
                issued_ms: r.try_get("issued_ms")?,
                lookup_code: r.try_get("lookup_code")?,
                total_vnd: r.try_get("total_vnd")?,
            };
            if !invoices.iter().any(|i| (i.series.as_str(), i.number) == (invoice.series.as_str(), invoice.number)) {
                invoices.push(invoice);
            }
        }
    }
    Ok(StayDetail { session, events, fee, payments, invoices })
}
