//! Exactly-once ingestion of gate events: a batch is committed in one
//! transaction, each event inserted only if its id is new, and only new
//! events change sessions and exceptions. A redelivered event is still
//! acknowledged (it is committed), and changes nothing.
//!
//! The work is set-based, so a batch of a thousand events costs a handful
//! of statements: one multi-row insert of the events that returns which
//! were new, one read of the sessions their credentials touch, the session
//! logic applied in memory (`session`), then multi-row writes.
//!
//! Sessions are keyed by credential (`tag:EPC`, `ticket:LOT:SERIAL`,
//! `plate:COMPACT`). Deliveries may come out of order (a controller drains
//! its backlog after an outage while another lane is live): an exit with
//! no entry makes a closed session and an `exit_without_entry` exception;
//! when the entry then arrives, it completes that session and resolves the
//! exception.
//!
//! Parts: this file (the batch commit), `session` (the session logic in
//! memory), [`keys`] (the key a session is found by).

pub mod keys;
mod session;

pub use keys::credential_key;

use std::collections::HashSet;

use parking_core::wire::{Credential, GateEvent, GateEventKind, Settlement};
use parking_core::{EventId, Timestamp};
use sha2::Digest as _;
use sqlx::{Any, Row, Transaction};

use crate::db::{Backend, CHUNK, Db, json_text};
use session::{Exception, SessionRow, Sessions};

pub(crate) fn settlement_kind(s: &Settlement) -> &'static str {
    match s {
        Settlement::Account { .. } => "account",
        Settlement::Transfer { .. } => "transfer",
        Settlement::Pass { .. } => "pass",
        Settlement::Free => "free",
        Settlement::Unpaid { .. } => "unpaid",
    }
}

/// What a batch did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Every event of the batch, now committed: acknowledge them all.
    pub committed: Vec<EventId>,
    /// How many were new (the rest were redeliveries).
    pub new: usize,
    /// Lane commands to publish now that the batch is committed (a stay
    /// whose transfer arrived before its lane asked).
    pub commands: Vec<crate::settlement::LaneCommand>,
    /// Account balances changed what tags may spend: wake the lists publisher.
    pub lists_changed: bool,
}

/// Commits a batch of events in one transaction.
pub async fn commit(
    db: &Db,
    policy: &crate::settlement::Policy,
    events: &[GateEvent],
    now: Timestamp,
) -> Result<Outcome, sqlx::Error> {
    let mut out = Outcome { committed: events.iter().map(|e| e.event_id).collect(), ..Outcome::default() };
    // One copy of each id: a batch may hold a redelivery of its own event.
    let mut seen = HashSet::with_capacity(events.len());
    let unique: Vec<&GateEvent> = events.iter().filter(|e| seen.insert(e.event_id)).collect();
    // Each event's payload text, made once: stored, and hashed into the journal.
    let payloads: std::collections::HashMap<_, String> = unique.iter().map(|e| (e.event_id, json_text(e))).collect();
    let payload = |e: &GateEvent| payloads.get(&e.event_id).cloned().unwrap_or_default();
    let mut tx = db.pool.begin().await?;
    // Another instance's batch may touch the same sessions (an entry here,
    // its exit there), a settler the same payment requests.
    crate::db::lock_tx(&mut tx, db, crate::db::TxLock::Stays).await?;
    let mut new_ids: HashSet<String> = HashSet::with_capacity(unique.len());
    for chunk in db.backend.chunks(&unique, CHUNK) {
        let sql = format!(
            "INSERT INTO gate_events (event_id, lot, gate, seq, at_ms, kind, list_version, tariff_version, payload, \
             received_ms) VALUES {} ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
            db.backend.placeholders(chunk.len(), 10)
        );
        let mut q = sqlx::query(&sql).persistent(db.backend.cache_statements());
        for e in chunk {
            q = q
                .bind(e.event_id.to_string())
                .bind(e.lot.as_str().to_owned())
                .bind(e.gate.as_str().to_owned())
                .bind(i64::try_from(e.seq).unwrap_or(i64::MAX))
                .bind(e.at.unix_millis())
                .bind(e.kind.name())
                .bind(i64::try_from(e.list_version).unwrap_or(i64::MAX))
                .bind(e.tariff_version.as_ref().map(|v| v.as_str().to_owned()))
                .bind(payload(e))
                .bind(now.unix_millis());
        }
        for row in q.fetch_all(&mut *tx).await? {
            new_ids.insert(row.try_get::<String, _>(0)?);
        }
    }
    // Entries before exits, then by time: a backlog delivered together
    // builds its sessions in order.
    let mut fresh: Vec<&GateEvent> = unique.into_iter().filter(|e| new_ids.contains(&e.event_id.to_string())).collect();
    fresh.sort_by_key(|e| (e.at, !matches!(e.kind, GateEventKind::Entry { .. })));
    out.new = fresh.len();
    let mut sessions = load_sessions(&mut tx, db.backend, &fresh).await?;
    for e in &fresh {
        sessions.apply(e);
    }
    check_clones(&mut tx, db.backend, &fresh, &mut sessions).await?;
    let mut fx = crate::settlement::Effects::default();
    for (i, kind, detail) in crate::settlement::on_gate_events(&mut tx, db.backend, policy, &fresh, &mut fx).await? {
        sessions.raise(fresh[i], kind, detail, None);
    }
    write_sessions(&mut tx, db.backend, sessions.touched()).await?;
    write_exceptions(&mut tx, db.backend, &sessions.exceptions).await?;
    resolve_exceptions(&mut tx, &sessions.resolved).await?;
    resolve_holds(&mut tx, &sessions.holds_decided).await?;
    out.lists_changed = fx.finish(&mut tx, db.backend, now.unix_millis()).await?;
    // Every new gate event, decisions and manual opens included, into the
    // tamper-evident journal, in the same transaction: one record per
    // batch, naming each event with the SHA-256 of its stored payload (the
    // `gate_events.payload` text), so the journal stays small and fast while
    // any later change to a stored event shows. A manual open also gets a
    // record of its own, with the operator and the reason.
    if let Some(first) = fresh.first() {
        let at_ms = now.unix_millis();
        let events: Vec<serde_json::Value> = fresh
            .iter()
            .map(|e| {
                let digest = sha2::Sha256::digest(payloads.get(&e.event_id).map_or(&[][..], |p| p.as_bytes()));
                serde_json::json!({
                    "event_id": e.event_id, "gate": e.gate, "seq": e.seq, "at": e.at,
                    "kind": e.kind.name(), "payload_sha256": hex::encode(digest),
                })
            })
            .collect();
        let mut items = vec![crate::audit::Item::new(
            format!("events:{}", first.event_id),
            at_ms,
            "gate_events",
            &serde_json::json!({ "lot": first.lot, "events": events }),
        )];
        for e in &fresh {
            let body = match &e.kind {
                GateEventKind::ManualOpen { operator, reason, note } => serde_json::json!({
                    "event_id": e.event_id, "lot": e.lot, "gate": e.gate, "at": e.at,
                    "operator": operator, "reason": reason, "note": note,
                }),
                GateEventKind::HoldDecided { operator, released, note } => serde_json::json!({
                    "event_id": e.event_id, "lot": e.lot, "gate": e.gate, "at": e.at,
                    "operator": operator, "released": released, "note": note,
                }),
                _ => continue,
            };
            let kind = e.kind.name();
            items.push(crate::audit::Item::new(format!("{kind}:{}", e.event_id), at_ms, kind, &body));
        }
        crate::audit::queue(&mut tx, db.backend, &items).await?;
    }
    tx.commit().await?;
    out.commands = fx.commands;
    Ok(out)
}

/// A tag read whose TID is not the one bound to its EPC at registration
/// is a clone: an exception, whatever the controller decided (its lists
/// may have been older than the binding).
async fn check_clones(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    events: &[&GateEvent],
    sessions: &mut Sessions,
) -> Result<(), sqlx::Error> {
    let read: Vec<(&GateEvent, String, String)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            GateEventKind::Entry { credential: Credential::Tag { epc, tid: Some(tid) }, .. }
            | GateEventKind::Exit { credential: Credential::Tag { epc, tid: Some(tid) }, .. }
            | GateEventKind::Denied { credential: Credential::Tag { epc, tid: Some(tid) }, .. } => {
                Some((*e, epc.to_string(), tid.to_string()))
            }
            _ => None,
        })
        .collect();
    let mut epcs: Vec<&String> = read.iter().map(|(_, epc, _)| epc).collect();
    epcs.sort();
    epcs.dedup();
    let mut bound = std::collections::HashMap::new();
    for chunk in epcs.chunks(CHUNK) {
        let sql =
            format!("SELECT epc, tid FROM tags WHERE tid IS NOT NULL AND epc IN ({})", backend.params(1, chunk.len()));
        let mut q = sqlx::query(&sql).persistent(backend.cache_statements());
        for epc in chunk {
            q = q.bind((*epc).clone());
        }
        for row in q.fetch_all(&mut **tx).await? {
            bound.insert(row.try_get::<String, _>(0)?, row.try_get::<String, _>(1)?);
        }
    }
    for (e, epc, tid) in read {
        if let Some(registered) = bound.get(&epc).filter(|b| **b != tid) {
            let detail = format!("tag {epc} read with TID {tid}; the TID bound at registration is {registered}");
            sessions.raise(e, "cloned_tag", detail, None);
        }
    }
    Ok(())
}

const SESSION_COLUMNS: &str = "session_id, lot, credential_key, credential, class, plate, entry_event, entry_gate, \
    entered_ms, exit_event, exit_gate, exited_ms, duration_s, fee_vnd, tariff_version, settlement, settlement_detail, state";

/// The sessions the batch's credentials may touch: open ones, and exits
/// still waiting for their entry.
async fn load_sessions(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    events: &[&GateEvent],
) -> Result<Sessions, sqlx::Error> {
    let mut keys: Vec<(String, String)> = events
        .iter()
        .filter_map(|e| match &e.kind {
            GateEventKind::Entry { credential, .. } | GateEventKind::Exit { credential, .. } => {
                Some((e.lot.as_str().to_owned(), credential_key(e.lot.as_str(), credential)))
            }
            _ => None,
        })
        .collect();
    keys.sort();
    keys.dedup();
    let mut sessions = Sessions::default();
    for chunk in backend.chunks(&keys, CHUNK) {
        let mut sql = format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE (state = 'open' OR entry_event IS NULL) AND (lot, credential_key) IN ("
        );
        sql.push_str(&backend.placeholders(chunk.len(), 2));
        sql.push(')');
        let mut q = sqlx::query(&sql).persistent(backend.cache_statements());
        for (lot, key) in chunk {
            q = q.bind(lot.clone()).bind(key.clone());
        }
        for row in q.fetch_all(&mut **tx).await? {
            sessions.load(SessionRow::from_row(&row)?);
        }
    }
    Ok(sessions)
}

async fn write_sessions(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    rows: Vec<&SessionRow>,
) -> Result<(), sqlx::Error> {
    for chunk in backend.chunks(&rows, CHUNK / 2) {
        let update: Vec<String> =
            SESSION_COLUMNS.split(", ").skip(1).map(|c| format!("{c} = excluded.{c}", c = c.trim())).collect();
        let sql = format!(
            "INSERT INTO sessions ({SESSION_COLUMNS}) VALUES {} ON CONFLICT (session_id) DO UPDATE SET {}",
            backend.placeholders(chunk.len(), 18),
            update.join(", ")
        );
        let mut q = sqlx::query(&sql).persistent(backend.cache_statements());
        for r in chunk {
            q = r.bind(q);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

async fn write_exceptions(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    rows: &[Exception],
) -> Result<(), sqlx::Error> {
    for chunk in backend.chunks(rows, CHUNK) {
        let sql = format!(
            "INSERT INTO exceptions (exception_id, lot, gate, kind, detail, event_id, session_id, at_ms, state) \
             VALUES {} ON CONFLICT (exception_id) DO NOTHING",
            backend.placeholders(chunk.len(), 9)
        );
        let mut q = sqlx::query(&sql).persistent(backend.cache_statements());
        for x in chunk {
            q = q
                .bind(x.id.clone())
                .bind(x.lot.clone())
                .bind(x.gate.clone())
                .bind(x.kind.clone())
                .bind(x.detail.clone())
                .bind(x.event_id.clone())
                .bind(x.session_id.clone())
                .bind(x.at_ms)
                .bind(if x.resolved { "resolved" } else { "open" });
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

/// Resolves the `exit_without_entry` exceptions of sessions whose entry
/// arrived late.
async fn resolve_exceptions(tx: &mut Transaction<'_, Any>, resolved: &[(String, i64)]) -> Result<(), sqlx::Error> {
    for (session_id, at) in resolved {
        sqlx::query(
            "UPDATE exceptions SET state = 'resolved', resolved_by = 'entry delivered late', resolved_ms = $1 \
             WHERE session_id = $2 AND kind = 'exit_without_entry' AND state <> 'resolved'",
        )
        .bind(*at)
        .bind(session_id.clone())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Resolves the plate alarms of lanes staff decided: the open
/// `plate_mismatch` and `tag_on_other_vehicle` exceptions of that gate up
/// to the decision.
async fn resolve_holds(tx: &mut Transaction<'_, Any>, decided: &[session::HoldDecided]) -> Result<(), sqlx::Error> {
    for d in decided {
        sqlx::query(
            "UPDATE exceptions SET state = 'resolved', resolved_by = $1, resolved_ms = $2 \
             WHERE lot = $3 AND gate = $4 AND at_ms <= $2 AND state <> 'resolved' \
             AND kind IN ('alarm:plate_mismatch', 'alarm:tag_on_other_vehicle')",
        )
        .bind(d.by.clone())
        .bind(d.at_ms)
        .bind(d.lot.clone())
        .bind(d.gate.clone())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests;
