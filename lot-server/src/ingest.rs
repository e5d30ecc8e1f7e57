//! Exactly-once ingestion of gate events: a batch is committed in one
//! transaction, each event inserted only if its id is new, and only new
//! events change sessions and exceptions. A redelivered event is still
//! acknowledged (it is committed), and changes nothing.
//!
//! Sessions are keyed by credential (`tag:EPC`, `ticket:LOT:SERIAL`,
//! `plate:COMPACT`). Deliveries may come out of order (a controller drains
//! its backlog after an outage while another lane is live): an exit with
//! no entry makes a closed session and an `exit_without_entry` exception;
//! when the entry then arrives, it completes that session and resolves the
//! exception.

use parking_core::wire::{Credential, GateEvent, GateEventKind, Settlement};
use parking_core::{EventId, Timestamp};
use sqlx::{Any, Row, Transaction};

use crate::db::Db;

/// The key a session is found by.
pub fn credential_key(lot: &str, c: &Credential) -> String {
    match c {
        Credential::Tag { epc, .. } => format!("tag:{epc}"),
        // `PT1.{lot}.{gate}.{serial}.…`: the serial is unique per lot.
        Credential::Ticket { code } => match code.split('.').nth(3) {
            Some(serial) => format!("ticket:{lot}:{serial}"),
            None => format!("ticket:{lot}:{code}"),
        },
        Credential::Plate { plate } => format!("plate:{}", plate.compact()),
        Credential::None => "none".to_owned(),
    }
}

fn settlement_kind(s: &Settlement) -> &'static str {
    match s {
        Settlement::Account { .. } => "account",
        Settlement::Transfer { .. } => "transfer",
        Settlement::Pass { .. } => "pass",
        Settlement::Free => "free",
        Settlement::Unpaid { .. } => "unpaid",
    }
}

fn kind_name(k: &GateEventKind) -> &'static str {
    match k {
        GateEventKind::Entry { .. } => "entry",
        GateEventKind::Exit { .. } => "exit",
        GateEventKind::Denied { .. } => "denied",
        GateEventKind::ManualOpen { .. } => "manual_open",
        GateEventKind::Alarm { .. } => "alarm",
    }
}

fn json<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// What a batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Every event of the batch, now committed: acknowledge them all.
    pub committed: Vec<EventId>,
    /// How many were new (the rest were redeliveries).
    pub new: usize,
}

/// Commits a batch of events in one transaction.
pub async fn commit(db: &Db, events: &[GateEvent], now: Timestamp) -> Result<Outcome, sqlx::Error> {
    let mut tx = db.pool.begin().await?;
    let mut out = Outcome::default();
    // Entries before exits within a batch, then by time: a backlog
    // delivered together builds its sessions in order.
    let mut order: Vec<&GateEvent> = events.iter().collect();
    order.sort_by_key(|e| (e.at, !matches!(e.kind, GateEventKind::Entry { .. })));
    for e in order {
        let inserted = sqlx::query(
            "INSERT INTO gate_events (event_id, lot, gate, seq, at_ms, kind, list_version, tariff_version, payload, received_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(e.event_id.to_string())
        .bind(e.lot.as_str())
        .bind(e.gate.as_str())
        .bind(i64::try_from(e.seq).unwrap_or(i64::MAX))
        .bind(e.at.unix_millis())
        .bind(kind_name(&e.kind))
        .bind(i64::try_from(e.list_version).unwrap_or(i64::MAX))
        .bind(e.tariff_version.as_ref().map(|v| v.as_str().to_owned()))
        .bind(json(e))
        .bind(now.unix_millis())
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if inserted == 1 {
            apply(&mut tx, e).await?;
            out.new += 1;
        }
        out.committed.push(e.event_id);
    }
    tx.commit().await?;
    Ok(out)
}

async fn exception(
    tx: &mut Transaction<'_, Any>,
    e: &GateEvent,
    kind: &str,
    detail: &str,
    session: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO exceptions (exception_id, lot, gate, kind, detail, event_id, session_id, at_ms, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'open') ON CONFLICT (exception_id) DO NOTHING",
    )
    .bind(format!("{}:{kind}", e.event_id))
    .bind(e.lot.as_str())
    .bind(e.gate.as_str())
    .bind(kind)
    .bind(detail)
    .bind(e.event_id.to_string())
    .bind(session.map(str::to_owned))
    .bind(e.at.unix_millis())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// What a new event does to sessions and exceptions.
async fn apply(tx: &mut Transaction<'_, Any>, e: &GateEvent) -> Result<(), sqlx::Error> {
    let lot = e.lot.as_str();
    let at = e.at.unix_millis();
    match &e.kind {
        GateEventKind::Entry { credential, class, plate } => {
            let key = credential_key(lot, credential);
            // An exit that arrived first: this entry completes it.
            let orphan = sqlx::query(
                "SELECT session_id, exited_ms FROM sessions WHERE lot = $1 AND credential_key = $2 \
                 AND entry_event IS NULL AND exited_ms >= $3 ORDER BY exited_ms LIMIT 1",
            )
            .bind(lot)
            .bind(&key)
            .bind(at)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(row) = orphan {
                let id: String = row.try_get(0)?;
                let exited: i64 = row.try_get(1)?;
                sqlx::query(
                    "UPDATE sessions SET entry_event = $1, entry_gate = $2, entered_ms = $3, duration_s = $4 \
                     WHERE session_id = $5",
                )
                .bind(e.event_id.to_string())
                .bind(e.gate.as_str())
                .bind(at)
                .bind((exited - at) / 1000)
                .bind(&id)
                .execute(&mut **tx)
                .await?;
                sqlx::query(
                    "UPDATE exceptions SET state = 'resolved', resolved_by = 'entry delivered late', resolved_ms = $1 \
                     WHERE session_id = $2 AND kind = 'exit_without_entry' AND state <> 'resolved'",
                )
                .bind(at)
                .bind(&id)
                .execute(&mut **tx)
                .await?;
                return Ok(());
            }
            let open = sqlx::query(
                "SELECT session_id FROM sessions WHERE lot = $1 AND credential_key = $2 AND state = 'open' \
                 AND entered_ms <= $3",
            )
            .bind(lot)
            .bind(&key)
            .bind(at)
            .fetch_all(&mut **tx)
            .await?;
            for row in open {
                let id: String = row.try_get(0)?;
                sqlx::query("UPDATE sessions SET state = 'closed', settlement = 'superseded' WHERE session_id = $1")
                    .bind(&id)
                    .execute(&mut **tx)
                    .await?;
                exception(tx, e, "double_entry", &format!("{key} entered again while inside"), Some(&id)).await?;
            }
            sqlx::query(
                "INSERT INTO sessions (session_id, lot, credential_key, credential, class, plate, entry_event, entry_gate, \
                 entered_ms, state) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open') ON CONFLICT (session_id) DO NOTHING",
            )
            .bind(e.event_id.to_string())
            .bind(lot)
            .bind(&key)
            .bind(json(credential))
            .bind(class.as_str())
            .bind(plate.as_ref().map(|p| p.to_string()))
            .bind(e.event_id.to_string())
            .bind(e.gate.as_str())
            .bind(at)
            .execute(&mut **tx)
            .await?;
        }
        GateEventKind::Exit { credential, class, plate, entered_at, fee, settlement } => {
            let key = credential_key(lot, credential);
            let fee_vnd = fee.as_ref().map(|f| f.amount.get());
            let tariff =
                fee.as_ref().map(|f| f.tariff_version.to_string()).or(e.tariff_version.as_ref().map(|v| v.to_string()));
            let open = sqlx::query(
                "SELECT session_id, entered_ms FROM sessions WHERE lot = $1 AND credential_key = $2 AND state = 'open' \
                 AND entered_ms <= $3 ORDER BY entered_ms DESC LIMIT 1",
            )
            .bind(lot)
            .bind(&key)
            .bind(at)
            .fetch_optional(&mut **tx)
            .await?;
            if let Some(row) = open {
                let id: String = row.try_get(0)?;
                let entered: i64 = row.try_get(1)?;
                sqlx::query(
                    "UPDATE sessions SET exit_event = $1, exit_gate = $2, exited_ms = $3, duration_s = $4, fee_vnd = $5, \
                     tariff_version = $6, settlement = $7, settlement_detail = $8, state = 'closed', \
                     plate = COALESCE(plate, $9) WHERE session_id = $10",
                )
                .bind(e.event_id.to_string())
                .bind(e.gate.as_str())
                .bind(at)
                .bind((at - entered) / 1000)
                .bind(fee_vnd)
                .bind(tariff)
                .bind(settlement_kind(settlement))
                .bind(json(settlement))
                .bind(plate.as_ref().map(|p| p.to_string()))
                .bind(&id)
                .execute(&mut **tx)
                .await?;
            } else {
                let id = e.event_id.to_string();
                let entered = entered_at.map(|t| t.unix_millis());
                sqlx::query(
                    "INSERT INTO sessions (session_id, lot, credential_key, credential, class, plate, entered_ms, exit_event, \
                     exit_gate, exited_ms, duration_s, fee_vnd, tariff_version, settlement, settlement_detail, state) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, 'closed') \
                     ON CONFLICT (session_id) DO NOTHING",
                )
                .bind(&id)
                .bind(lot)
                .bind(&key)
                .bind(json(credential))
                .bind(class.as_str())
                .bind(plate.as_ref().map(|p| p.to_string()))
                .bind(entered)
                .bind(&id)
                .bind(e.gate.as_str())
                .bind(at)
                .bind(entered.map(|t| (at - t) / 1000))
                .bind(fee_vnd)
                .bind(tariff)
                .bind(settlement_kind(settlement))
                .bind(json(settlement))
                .execute(&mut **tx)
                .await?;
                exception(tx, e, "exit_without_entry", &format!("{key} left with no entry on record"), Some(&id))
                    .await?;
            }
        }
        GateEventKind::ManualOpen { operator, reason, note } => {
            let detail = format!("{operator}: {} ({note})", json(reason).trim_matches('"'));
            exception(tx, e, "manual_open", &detail, None).await?;
        }
        GateEventKind::Denied { credential, reason } => {
            let detail = format!("{}: {}", credential_key(lot, credential), json(reason).trim_matches('"'));
            exception(tx, e, "denied", &detail, None).await?;
        }
        GateEventKind::Alarm { alarm, detail } => {
            exception(tx, e, &format!("alarm:{}", json(alarm).trim_matches('"')), detail, None).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
