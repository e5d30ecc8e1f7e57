//! Reading what ingestion wrote: parking sessions, the gate-event journal
//! and the exceptions, and an operator resolving an exception. Searches
//! are bounded (at most 1,000 rows a page) and ordered newest first.

use parking_core::plate::Plate;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::Db;

/// Why a read or an update was refused.
#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("{0}")]
    Invalid(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

fn page(limit: Option<i64>, offset: Option<i64>) -> Result<(i64, i64), JournalError> {
    crate::db::page(limit, offset).map_err(JournalError::Invalid)
}

fn json_value(text: Option<String>) -> serde_json::Value {
    text.and_then(|t| serde_json::from_str(&t).ok()).unwrap_or(serde_json::Value::Null)
}

/// Filters of a session search; all optional, combined with AND.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionQuery {
    /// `open` or `closed`.
    pub state: Option<String>,
    /// Any spelling of a plate.
    pub plate: Option<Plate>,
    /// `tag:EPC`, `ticket:LOT:SERIAL` or `plate:COMPACT`.
    pub credential_key: Option<String>,
    /// `account`, `transfer`, `pass`, `free` or `unpaid`.
    pub settlement: Option<String>,
    /// Part of a plate, an EPC, a ticket number or a payment code, in any
    /// case, with or without separators (`30a`, `30A-123`, `e2003016`).
    pub q: Option<String>,
    /// A lane the stay entered or left by.
    pub gate: Option<String>,
    /// Stays that began (or, without an entry, ended) at or after this
    /// instant, Unix milliseconds.
    pub from_ms: Option<i64>,
    /// … and before this one.
    pub to_ms: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// One parking session.
#[derive(Clone, Debug, Serialize)]
pub struct Session {
    pub session_id: String,
    pub lot: String,
    pub credential_key: String,
    pub credential: serde_json::Value,
    pub class: String,
    pub plate: Option<String>,
    pub entry_event: Option<String>,
    pub entry_gate: Option<String>,
    pub entered_ms: Option<i64>,
    pub exit_event: Option<String>,
    pub exit_gate: Option<String>,
    pub exited_ms: Option<i64>,
    pub duration_s: Option<i64>,
    pub fee_vnd: Option<i64>,
    pub tariff_version: Option<String>,
    pub settlement: Option<String>,
    pub settlement_detail: serde_json::Value,
    pub state: String,
}

fn session(r: &AnyRow) -> Result<Session, sqlx::Error> {
    Ok(Session {
        session_id: r.try_get("session_id")?,
        lot: r.try_get("lot")?,
        credential_key: r.try_get("credential_key")?,
        credential: json_value(r.try_get("credential")?),
        class: r.try_get("class")?,
        plate: r.try_get("plate")?,
        entry_event: r.try_get("entry_event")?,
        entry_gate: r.try_get("entry_gate")?,
        entered_ms: r.try_get("entered_ms")?,
        exit_event: r.try_get("exit_event")?,
        exit_gate: r.try_get("exit_gate")?,
        exited_ms: r.try_get("exited_ms")?,
        duration_s: r.try_get("duration_s")?,
        fee_vnd: r.try_get("fee_vnd")?,
        tariff_version: r.try_get("tariff_version")?,
        settlement: r.try_get("settlement")?,
        settlement_detail: json_value(r.try_get("settlement_detail")?),
        state: r.try_get("state")?,
    })
}

fn one_of(field: &str, value: &Option<String>, allowed: &[&str]) -> Result<(), JournalError> {
    match value {
        Some(v) if !allowed.contains(&v.as_str()) => {
            Err(JournalError::Invalid(format!("{field} must be one of {}, not `{v}`", allowed.join(", "))))
        }
        _ => Ok(()),
    }
}

/// Sessions matching `q`, newest first.
pub async fn sessions(db: &Db, q: &SessionQuery) -> Result<Vec<Session>, JournalError> {
    let (limit, offset) = page(q.limit, q.offset)?;
    one_of("state", &q.state, &["open", "closed"])?;
    one_of("settlement", &q.settlement, &["account", "transfer", "pass", "free", "unpaid"])?;
    let search = q.q.as_deref().map(searched).transpose()?;
    let rows = sqlx::query(
        "SELECT * FROM sessions WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR plate = $2) \
         AND ($3 IS NULL OR credential_key = $3) AND ($4 IS NULL OR settlement = $4) \
         AND ($5 IS NULL OR COALESCE(entered_ms, exited_ms) >= $5) \
         AND ($6 IS NULL OR COALESCE(entered_ms, exited_ms) < $6) \
         AND ($9 IS NULL OR plate LIKE $9 OR UPPER(credential_key) LIKE $9 \
              OR EXISTS (SELECT 1 FROM payment_requests p WHERE p.credential_key = sessions.credential_key \
                         AND p.entered_ms = sessions.entered_ms AND p.payment_code LIKE $9)) \
         AND ($10 IS NULL OR entry_gate = $10 OR exit_gate = $10) \
         ORDER BY COALESCE(entered_ms, exited_ms) DESC, session_id LIMIT $7 OFFSET $8",
    )
    .bind(q.state.clone())
    .bind(q.plate.as_ref().map(|p| p.compact().to_owned()))
    .bind(q.credential_key.clone())
    .bind(q.settlement.clone())
    .bind(q.from_ms)
    .bind(q.to_ms)
    .bind(limit)
    .bind(offset)
    .bind(search)
    .bind(q.gate.clone().filter(|g| !g.is_empty()))
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(session).collect::<Result<_, _>>()?)
}

/// A free-text search as a `LIKE` pattern: its letters and digits in
/// upper case (plates, EPCs, codes are stored so), anywhere in the value.
/// Only letters and digits pass, so no `%` or `_` of the caller's does.
/// The whole text is at most 200 characters, as the API document says.
fn searched(raw: &str) -> Result<String, JournalError> {
    if raw.chars().count() > 200 {
        return Err(JournalError::Invalid("q: at most 200 characters".into()));
    }
    let compact: String = raw.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
    if !(2..=64).contains(&compact.len()) {
        return Err(JournalError::Invalid(
            "q: 2 to 64 letters and digits of a plate, a tag, a ticket or a code".into(),
        ));
    }
    Ok(format!("%{compact}%"))
}

pub async fn session_by_id(db: &Db, id: &str) -> Result<Session, JournalError> {
    let row = sqlx::query("SELECT * FROM sessions WHERE session_id = $1")
        .bind(id.to_owned())
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| {
            JournalError::NotFound(format!("session {} not found", id.chars().take(64).collect::<String>()))
        })?;
    Ok(session(&row)?)
}

/// Filters of the gate-event journal.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    pub gate: Option<String>,
    /// One of `GateEventKind::NAMES`: `entry`, `exit`, `denied`,
    /// `manual_open`, `alarm`, `held`, `hold_decided`, `payment_requested`.
    pub kind: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// One committed gate event, as the controller sent it.
#[derive(Clone, Debug, Serialize)]
pub struct JournalEvent {
    pub event_id: String,
    pub gate: String,
    pub seq: i64,
    pub at_ms: i64,
    pub kind: String,
    pub received_ms: i64,
    pub event: serde_json::Value,
}

/// Gate events matching `q`, newest first.
pub async fn events(db: &Db, q: &EventQuery) -> Result<Vec<JournalEvent>, JournalError> {
    let (limit, offset) = page(q.limit, q.offset)?;
    one_of("kind", &q.kind, &parking_core::wire::GateEventKind::NAMES)?;
    let rows = sqlx::query(
        "SELECT event_id, gate, seq, at_ms, kind, received_ms, payload FROM gate_events \
         WHERE ($1 IS NULL OR gate = $1) AND ($2 IS NULL OR kind = $2) AND ($3 IS NULL OR at_ms >= $3) \
         AND ($4 IS NULL OR at_ms < $4) ORDER BY at_ms DESC, event_id LIMIT $5 OFFSET $6",
    )
    .bind(q.gate.clone())
    .bind(q.kind.clone())
    .bind(q.from_ms)
    .bind(q.to_ms)
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    let event = |r: &AnyRow| -> Result<JournalEvent, sqlx::Error> {
        Ok(JournalEvent {
            event_id: r.try_get(0)?,
            gate: r.try_get(1)?,
            seq: r.try_get(2)?,
            at_ms: r.try_get(3)?,
            kind: r.try_get(4)?,
            received_ms: r.try_get(5)?,
            event: json_value(r.try_get(6)?),
        })
    };
    Ok(rows.iter().map(event).collect::<Result<_, _>>()?)
}

/// Filters of the exception list.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExceptionQuery {
    /// `open` (the default) or `resolved`, or `all`.
    pub state: Option<String>,
    pub kind: Option<String>,
    pub gate: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Something an operator must look at.
#[derive(Clone, Debug, Serialize)]
pub struct ExceptionRecord {
    pub exception_id: String,
    pub gate: String,
    pub kind: String,
    pub detail: String,
    pub event_id: String,
    pub session_id: Option<String>,
    pub at_ms: i64,
    pub state: String,
    pub acknowledged_by: Option<String>,
    pub acknowledged_ms: Option<i64>,
    pub resolved_by: Option<String>,
    pub resolved_ms: Option<i64>,
    pub resolution: Option<String>,
}

fn exception(r: &AnyRow) -> Result<ExceptionRecord, sqlx::Error> {
    Ok(ExceptionRecord {
        exception_id: r.try_get("exception_id")?,
        gate: r.try_get("gate")?,
        kind: r.try_get("kind")?,
        detail: r.try_get("detail")?,
        event_id: r.try_get("event_id")?,
        session_id: r.try_get("session_id")?,
        at_ms: r.try_get("at_ms")?,
        state: r.try_get("state")?,
        acknowledged_by: r.try_get("acknowledged_by")?,
        acknowledged_ms: r.try_get("acknowledged_ms")?,
        resolved_by: r.try_get("resolved_by")?,
        resolved_ms: r.try_get("resolved_ms")?,
        resolution: r.try_get("resolution")?,
    })
}

/// Exceptions matching `q`, newest first.
pub async fn exceptions(db: &Db, q: &ExceptionQuery) -> Result<Vec<ExceptionRecord>, JournalError> {
    let (limit, offset) = page(q.limit, q.offset)?;
    let state = q.state.clone().unwrap_or_else(|| "open".into());
    one_of("state", &Some(state.clone()), &["open", "acknowledged", "unresolved", "resolved", "all"])?;
    let rows = sqlx::query(
        "SELECT * FROM exceptions WHERE ($1 = 'all' OR state = $1 OR ($1 = 'unresolved' AND state <> 'resolved')) \
         AND ($2 IS NULL OR kind = $2) \
         AND ($3 IS NULL OR gate = $3) ORDER BY at_ms DESC, exception_id LIMIT $4 OFFSET $5",
    )
    .bind(state)
    .bind(q.kind.clone())
    .bind(q.gate.clone())
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await?;
    Ok(rows.iter().map(exception).collect::<Result<_, _>>()?)
}

/// Marks an open exception as seen by `by`: someone is on it.
pub async fn acknowledge_exception(db: &Db, id: &str, by: &str, now_ms: i64) -> Result<ExceptionRecord, JournalError> {
    let done = sqlx::query(
        "UPDATE exceptions SET state = 'acknowledged', acknowledged_by = $1, acknowledged_ms = $2 \
         WHERE exception_id = $3 AND state = 'open'",
    )
    .bind(by.to_owned())
    .bind(now_ms)
    .bind(id.to_owned())
    .execute(&db.pool)
    .await?;
    changed(db, id, done.rows_affected()).await
}

/// The exception after an update that changed `rows` of it: not found,
/// already in the state asked for (conflict), or the record.
async fn changed(db: &Db, id: &str, rows: u64) -> Result<ExceptionRecord, JournalError> {
    let row = sqlx::query("SELECT * FROM exceptions WHERE exception_id = $1")
        .bind(id.to_owned())
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| {
            JournalError::NotFound(format!("exception {} not found", id.chars().take(80).collect::<String>()))
        })?;
    if rows == 0 {
        let state: String = row.try_get("state")?;
        return Err(JournalError::Conflict(format!("exception {id} is already {state}")));
    }
    Ok(exception(&row)?)
}

/// Closes an open exception with who closed it and why.
pub async fn resolve_exception(
    db: &Db,
    id: &str,
    by: &str,
    note: &str,
    now_ms: i64,
) -> Result<ExceptionRecord, JournalError> {
    if note.trim().is_empty() || note.chars().count() > 1000 {
        return Err(JournalError::Invalid("note must be 1 to 1000 characters: say what was done".into()));
    }
    let done = sqlx::query(
        "UPDATE exceptions SET state = 'resolved', resolved_by = $1, resolved_ms = $2, resolution = $3 \
         WHERE exception_id = $4 AND state <> 'resolved'",
    )
    .bind(by.to_owned())
    .bind(now_ms)
    .bind(note.trim().to_owned())
    .bind(id.to_owned())
    .execute(&db.pool)
    .await?;
    changed(db, id, done.rows_affected()).await
}

/// How many stays are open now (for `/metrics`).
pub async fn open_sessions(db: &Db) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE state = 'open'").fetch_one(&db.pool).await
}

#[cfg(test)]
mod tests {
    use super::searched;

    #[test]
    fn a_search_is_its_letters_and_digits_within_the_documented_length() {
        assert_eq!(searched(" 30a-12 ").ok().as_deref(), Some("%30A12%"));
        assert!(searched("a").is_err(), "one letter is too few");
        assert!(searched(&"9".repeat(65)).is_err(), "65 letters are too many");
        // Few letters, but more characters than the API document allows.
        let long = format!("ab{}", "é".repeat(199));
        assert!(searched(&long).is_err(), "201 characters accepted");
        assert!(searched(&format!("ab{}", "é".repeat(198))).is_ok());
    }
}
