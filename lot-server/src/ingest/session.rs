//! The session logic of one batch, in memory: the sessions the batch's
//! credentials touch are loaded once, each new event is applied here in
//! order, and the touched rows are written back in one statement.
//!
//! - An entry completes an exit that arrived first (same credential, exit
//!   not before the entry), resolving its `exit_without_entry` exception;
//!   otherwise it supersedes any stay still open for the credential (a
//!   `double_entry` exception) and opens a new one.
//! - An exit closes the latest open stay that began before it; with none,
//!   it makes a closed stay without an entry and an `exit_without_entry`
//!   exception.
//! - A manual open, a denial and an alarm each become an exception.

use std::collections::{BTreeSet, HashMap};

use parking_core::wire::{GateEvent, GateEventKind};
use sqlx::Row;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;

use super::{credential_key, settlement_kind};
use crate::db::json_text;

/// One row of `sessions`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct SessionRow {
    pub(super) session_id: String,
    pub(super) lot: String,
    pub(super) credential_key: String,
    pub(super) credential: String,
    pub(super) class: String,
    pub(super) plate: Option<String>,
    pub(super) entry_event: Option<String>,
    pub(super) entry_gate: Option<String>,
    pub(super) entered_ms: Option<i64>,
    pub(super) exit_event: Option<String>,
    pub(super) exit_gate: Option<String>,
    pub(super) exited_ms: Option<i64>,
    pub(super) duration_s: Option<i64>,
    pub(super) fee_vnd: Option<i64>,
    pub(super) tariff_version: Option<String>,
    pub(super) settlement: Option<String>,
    pub(super) settlement_detail: Option<String>,
    pub(super) state: String,
}

impl SessionRow {
    pub(super) fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(SessionRow {
            session_id: r.try_get(0)?,
            lot: r.try_get(1)?,
            credential_key: r.try_get(2)?,
            credential: r.try_get(3)?,
            class: r.try_get(4)?,
            plate: r.try_get(5)?,
            entry_event: r.try_get(6)?,
            entry_gate: r.try_get(7)?,
            entered_ms: r.try_get(8)?,
            exit_event: r.try_get(9)?,
            exit_gate: r.try_get(10)?,
            exited_ms: r.try_get(11)?,
            duration_s: r.try_get(12)?,
            fee_vnd: r.try_get(13)?,
            tariff_version: r.try_get(14)?,
            settlement: r.try_get(15)?,
            settlement_detail: r.try_get(16)?,
            state: r.try_get(17)?,
        })
    }

    /// Binds the 18 columns, in `SESSION_COLUMNS` order.
    pub(super) fn bind<'q>(&self, q: Query<'q, sqlx::Any, AnyArguments<'q>>) -> Query<'q, sqlx::Any, AnyArguments<'q>> {
        q.bind(self.session_id.clone())
            .bind(self.lot.clone())
            .bind(self.credential_key.clone())
            .bind(self.credential.clone())
            .bind(self.class.clone())
            .bind(self.plate.clone())
            .bind(self.entry_event.clone())
            .bind(self.entry_gate.clone())
            .bind(self.entered_ms)
            .bind(self.exit_event.clone())
            .bind(self.exit_gate.clone())
            .bind(self.exited_ms)
            .bind(self.duration_s)
            .bind(self.fee_vnd)
            .bind(self.tariff_version.clone())
            .bind(self.settlement.clone())
            .bind(self.settlement_detail.clone())
            .bind(self.state.clone())
    }
}

/// An exception for the operator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Exception {
    pub(super) id: String,
    pub(super) lot: String,
    pub(super) gate: String,
    pub(super) kind: String,
    pub(super) detail: String,
    pub(super) event_id: String,
    pub(super) session_id: Option<String>,
    pub(super) at_ms: i64,
    /// Raised and settled within this batch.
    pub(super) resolved: bool,
}

/// The sessions of one batch.
#[derive(Debug, Default)]
pub(super) struct Sessions {
    rows: HashMap<String, SessionRow>,
    by_key: HashMap<(String, String), Vec<String>>,
    touched: BTreeSet<String>,
    pub(super) exceptions: Vec<Exception>,
    /// Sessions whose late entry resolves an earlier exception: (id, at).
    pub(super) resolved: Vec<(String, i64)>,
    /// Held lanes staff decided: their plate alarms are resolved.
    pub(super) holds_decided: Vec<HoldDecided>,
}

/// Staff decided a lane held for a plate check.
#[derive(Debug)]
pub(super) struct HoldDecided {
    pub(super) lot: String,
    pub(super) gate: String,
    pub(super) at_ms: i64,
    /// Who, and what: "op-lan: released".
    pub(super) by: String,
}

impl Sessions {
    pub(super) fn load(&mut self, row: SessionRow) {
        self.by_key.entry((row.lot.clone(), row.credential_key.clone())).or_default().push(row.session_id.clone());
        self.rows.insert(row.session_id.clone(), row);
    }

    /// The rows to write back.
    pub(super) fn touched(&self) -> Vec<&SessionRow> {
        self.touched.iter().filter_map(|id| self.rows.get(id)).collect()
    }

    fn candidates(&self, lot: &str, key: &str) -> Vec<&SessionRow> {
        self.by_key
            .get(&(lot.to_owned(), key.to_owned()))
            .map(|ids| ids.iter().filter_map(|id| self.rows.get(id)).collect())
            .unwrap_or_default()
    }

    fn put(&mut self, row: SessionRow) {
        self.touched.insert(row.session_id.clone());
        if !self.rows.contains_key(&row.session_id) {
            self.by_key.entry((row.lot.clone(), row.credential_key.clone())).or_default().push(row.session_id.clone());
        }
        self.rows.insert(row.session_id.clone(), row);
    }

    pub(super) fn raise(&mut self, e: &GateEvent, kind: &str, detail: String, session: Option<String>) {
        self.exceptions.push(Exception {
            id: format!("{}:{kind}", e.event_id),
            lot: e.lot.as_str().to_owned(),
            gate: e.gate.as_str().to_owned(),
            kind: kind.to_owned(),
            detail,
            event_id: e.event_id.to_string(),
            session_id: session,
            at_ms: e.at.unix_millis(),
            resolved: false,
        });
    }

    /// Applies one new event.
    pub(super) fn apply(&mut self, e: &GateEvent) {
        let lot = e.lot.as_str();
        let at = e.at.unix_millis();
        let id = e.event_id.to_string();
        match &e.kind {
            GateEventKind::Entry { credential, class, plate } => {
                let key = credential_key(lot, credential);
                let orphan = self
                    .candidates(lot, &key)
                    .into_iter()
                    .filter(|s| s.entry_event.is_none() && s.exited_ms.is_some_and(|x| x >= at))
                    .min_by_key(|s| s.exited_ms)
                    .cloned();
                if let Some(mut s) = orphan {
                    s.entry_event = Some(id.clone());
                    s.entry_gate = Some(e.gate.as_str().to_owned());
                    s.entered_ms = Some(at);
                    s.duration_s = s.exited_ms.map(|x| (x - at) / 1000);
                    let sid = s.session_id.clone();
                    self.put(s);
                    // Raised in this batch: settle it here; else in the table.
                    let mut pending = false;
                    for x in &mut self.exceptions {
                        if x.session_id.as_deref() == Some(sid.as_str()) && x.kind == "exit_without_entry" {
                            x.resolved = true;
                            pending = true;
                        }
                    }
                    if !pending {
                        self.resolved.push((sid, at));
                    }
                    return;
                }
                let open: Vec<SessionRow> = self
                    .candidates(lot, &key)
                    .into_iter()
                    .filter(|s| s.state == "open" && s.entered_ms.is_some_and(|t| t <= at))
                    .cloned()
                    .collect();
                for mut s in open {
                    s.state = "closed".into();
                    s.settlement = Some("superseded".into());
                    let sid = s.session_id.clone();
                    self.put(s);
                    self.raise(e, "double_entry", format!("{key} entered again while inside"), Some(sid));
                }
                self.put(SessionRow {
                    session_id: id.clone(),
                    lot: lot.to_owned(),
                    credential_key: key,
                    credential: json_text(credential),
                    class: class.as_str().to_owned(),
                    plate: plate.as_ref().map(|p| p.compact().to_owned()),
                    entry_event: Some(id),
                    entry_gate: Some(e.gate.as_str().to_owned()),
                    entered_ms: Some(at),
                    state: "open".into(),
                    ..SessionRow::default()
                });
            }
            GateEventKind::Exit { credential, class, plate, entered_at, fee, settlement } => {
                let key = credential_key(lot, credential);
                let fee_vnd = fee.as_ref().map(|f| f.amount.get());
                let tariff = fee
                    .as_ref()
                    .map(|f| f.tariff_version.to_string())
                    .or_else(|| e.tariff_version.as_ref().map(ToString::to_string));
                let open = self
                    .candidates(lot, &key)
                    .into_iter()
                    .filter(|s| s.state == "open" && s.entered_ms.is_some_and(|t| t <= at))
                    .max_by_key(|s| s.entered_ms)
                    .cloned();
                let mut s = match open {
                    Some(s) => s,
                    None => {
                        let entered = entered_at.map(|t| t.unix_millis());
                        self.raise(
                            e,
                            "exit_without_entry",
                            format!("{key} left with no entry on record"),
                            Some(id.clone()),
                        );
                        SessionRow {
                            session_id: id.clone(),
                            lot: lot.to_owned(),
                            credential_key: key,
                            credential: json_text(credential),
                            class: class.as_str().to_owned(),
                            entered_ms: entered,
                            ..SessionRow::default()
                        }
                    }
                };
                s.exit_event = Some(id);
                s.exit_gate = Some(e.gate.as_str().to_owned());
                s.exited_ms = Some(at);
                s.duration_s = s.entered_ms.map(|t| (at - t) / 1000);
                s.fee_vnd = fee_vnd;
                s.tariff_version = tariff;
                s.settlement = Some(settlement_kind(settlement).to_owned());
                s.settlement_detail = Some(json_text(settlement));
                s.state = "closed".into();
                if s.plate.is_none() {
                    s.plate = plate.as_ref().map(|p| p.compact().to_owned());
                }
                self.put(s);
            }
            GateEventKind::ManualOpen { operator, reason, note } => {
                let detail = format!("{operator}: {} ({note})", json_text(reason).trim_matches('"'));
                self.raise(e, "manual_open", detail, None);
            }
            GateEventKind::Denied { credential, reason } => {
                let detail = format!("{}: {}", credential_key(lot, credential), json_text(reason).trim_matches('"'));
                self.raise(e, "denied", detail, None);
            }
            // Settlement's business (`crate::settlement::on_gate_events`).
            GateEventKind::PaymentRequested { .. } => {}
            GateEventKind::Alarm { alarm, detail } => {
                self.raise(e, &format!("alarm:{}", json_text(alarm).trim_matches('"')), detail.clone(), None);
            }
            GateEventKind::Held { alarm, detail, .. } => {
                self.raise(e, &format!("alarm:{}", json_text(alarm).trim_matches('"')), detail.clone(), None);
            }
            GateEventKind::HoldDecided { operator, released, .. } => {
                self.holds_decided.push(HoldDecided {
                    lot: lot.to_owned(),
                    gate: e.gate.as_str().to_owned(),
                    at_ms: e.at.unix_millis(),
                    by: format!("{operator}: {}", if *released { "released" } else { "refused" }),
                });
            }
        }
    }
}
