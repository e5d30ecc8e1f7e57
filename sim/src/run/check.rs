//! After the replay: what the lot server recorded, against what the
//! simulator did.
//!
//! - Every vehicle let in has exactly one session, closed if it left; a
//!   refusal is one `denied` event. What is missing is lost; a second
//!   session for one visit, or an extra refusal, is a duplicate.
//! - Revenue is the fees of the run's stays settled on an account or by
//!   transfer, as the server booked them. The expected revenue is the
//!   tariff applied here, independently, to each recorded stay (its
//!   entry and exit times, the class registered or printed on the
//!   ticket); passes are free.
//! - Alarms are the exceptions raised since the run began.
//! - Plates: thieves held and refused at the exit (each one `denied`),
//!   moved tags held, and holds of honest drivers (false holds: none is
//!   the target, whatever the cameras misread).
//! - The planned day beside it ([`super::planned`]): the tariff on the
//!   trace's own stays, and how late the lanes passed each vehicle.

// Counts and percentiles of a run: small, non-negative numbers.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use parking_core::tariff::TariffBook;
use parking_core::{Timestamp, VehicleClass};
use serde::Serialize;
use serde_json::Value;

use super::lanes::{Entered, Report};
use super::planned::Planned;
use crate::http::Http;
use crate::traffic::{CredentialKind, Visit};

/// The run's figures; printed as the summary's last line.
#[derive(Clone, Debug, Serialize)]
pub struct Summary {
    pub visits: usize,
    /// Gate events the run's passages must have made: entries, exits, refusals.
    pub gate_events: usize,
    pub events_committed: usize,
    pub events_lost: usize,
    pub duplicates: usize,
    pub revenue_vnd: i64,
    pub expected_revenue_vnd: i64,
    pub open_p50_ms: f64,
    pub open_p99_ms: f64,
    pub alarms: usize,
    /// Webhook to barrier, for exits paid by transfer.
    pub paid_open_p99_ms: f64,
    /// What drivers transferred for stays, and the fees settled by transfer.
    pub transferred_vnd: i64,
    pub settled_by_transfer_vnd: i64,
    /// Stays the server priced differently from the tariff applied here.
    pub fee_mismatches: usize,
    /// Vehicles a lane never answered.
    pub stuck: usize,
    /// Sessions begun during the run that match no visit.
    pub unexpected_sessions: usize,
    pub alarms_by_kind: BTreeMap<String, usize>,
    /// The tariff on the trace's planned stays, for the drivers who pay.
    pub planned_revenue_vnd: i64,
    /// p99 of how late (simulated seconds) a vehicle passed a lane.
    pub lane_delay_p99_s: f64,
    /// The last exit, local time.
    pub last_exit: Option<String>,
    /// Thieves held at the exit and refused.
    pub thieves_held: usize,
    /// Holds of cars carrying a moved tag.
    pub moved_tags_held: usize,
    /// Honest drivers held (a camera's error the lanes did not tolerate).
    pub false_holds: usize,
    pub wall_s: f64,
    pub passages_per_s: f64,
}

impl Summary {
    /// Nothing lost, nothing twice, no vehicle stuck, revenue as the tariff says.
    pub fn ok(&self) -> bool {
        self.events_lost == 0
            && self.duplicates == 0
            && self.stuck == 0
            && self.false_holds == 0
            && self.fee_mismatches == 0
            && self.revenue_vnd == self.expected_revenue_vnd
            && self.transferred_vnd == self.settled_by_transfer_vnd
    }
}

/// The `p` quantile of sorted figures (nearest rank), to 0.01, as the
/// summary prints it.
pub fn percentile_2dp(sorted: &[f64], p: f64) -> f64 {
    (parking_runtime::histogram::percentile(sorted, p) * 100.0).round() / 100.0
}

/// Every page of a list endpoint.
async fn all_pages(http: &Http, path: &str) -> anyhow::Result<Vec<Value>> {
    let mut out = Vec::new();
    let sep = if path.contains('?') { '&' } else { '?' };
    loop {
        let page = http.api("GET", &format!("{path}{sep}limit=1000&offset={}", out.len()), None).await?;
        let rows = page.as_array().cloned().unwrap_or_default();
        let n = rows.len();
        out.extend(rows);
        if n < 1000 {
            return Ok(out);
        }
    }
}

/// The class a ticket was printed for: its sixth field.
fn ticket_class(text: &str) -> Option<VehicleClass> {
    text.split('.').nth(5)?.parse().ok()
}

/// What a visit's session is found by: the tag's EPC or the ticket's text.
fn key_of(v: &Visit, entered: Option<&Entered>) -> Option<String> {
    match entered {
        Some(Entered::In { ticket: Some(t) }) => Some(format!("ticket/{t}")),
        Some(Entered::In { ticket: None }) => v.epc.as_ref().map(|e| format!("tag/{e}")),
        _ => None,
    }
}

fn session_key(s: &Value) -> Option<String> {
    let c = &s["credential"];
    match c["kind"].as_str()? {
        "tag" => Some(format!("tag/{}", c["epc"].as_str()?)),
        "ticket" => Some(format!("ticket/{}", c["code"].as_str()?)),
        _ => None,
    }
}

/// Waits for the server to record the run, then checks it.
#[allow(clippy::too_many_arguments)]
pub async fn check(
    http: &Http,
    book: &TariffBook,
    zone: &str,
    visits: &[Visit],
    report: &Report,
    started: Timestamp,
    timeout: Duration,
) -> anyhow::Result<Summary> {
    let from = started.unix_millis() - 1_000;
    let mut expect: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, v) in visits.iter().enumerate() {
        if let Some(k) = key_of(v, report.entries[i].as_ref()) {
            expect.entry(k).or_default().push(i);
        }
    }
    let closed_wanted = report.exited.iter().filter(|e| **e).count();
    // Events reach the server through the controller's journal and the
    // broker: wait until the sessions stop changing (or all are there).
    let deadline = Instant::now() + timeout * 3;
    let mut last = usize::MAX;
    let sessions = loop {
        let sessions = all_pages(http, &format!("/api/v1/sessions?from_ms={from}")).await?;
        let closed = sessions.iter().filter(|s| s["exited_ms"].is_i64()).count();
        let complete = closed >= closed_wanted && sessions.len() >= expect.values().map(Vec::len).sum();
        if (complete && last == sessions.len()) || Instant::now() > deadline {
            break sessions;
        }
        last = sessions.len();
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // A stay paid by transfer is priced when its exit lane shows the
    // VietQR (the driver pays what it shows): that moment is its payment
    // request's.
    // (A ticket's stay starts at the whole second printed on it.)
    let mut priced_at: HashMap<String, Vec<(i64, i64)>> = HashMap::new();
    let mut offset = 0;
    loop {
        let page = http.api("GET", &format!("/api/v1/payment-requests?limit=1000&offset={offset}"), None).await?;
        let rows = page.as_array().cloned().unwrap_or_default();
        offset += rows.len();
        let mut older = false;
        for r in &rows {
            let (Some(key), Some(entered), Some(at)) =
                (r["credential_key"].as_str(), r["entered_ms"].as_i64(), r["requested_ms"].as_i64())
            else {
                continue;
            };
            older |= at < from;
            priced_at.entry(key.to_owned()).or_default().push((entered, at));
        }
        if rows.len() < 1000 || older {
            break;
        }
    }
    let mut found: HashMap<String, Vec<&Value>> = HashMap::new();
    let mut unexpected = 0;
    for s in &sessions {
        match session_key(s).filter(|k| expect.contains_key(k)) {
            Some(k) => found.entry(k).or_default().push(s),
            None => unexpected += 1,
        }
    }
    let (mut committed, mut duplicates, mut revenue, mut expected, mut mismatches) = (0usize, 0usize, 0i64, 0i64, 0);
    let mut settled_by_transfer = 0i64;
    let mut planned = Planned::default();
    for (k, idx) in &expect {
        let got = found.get(k).map_or(&[][..], Vec::as_slice);
        duplicates += got.len().saturating_sub(idx.len());
        for (n, &i) in idx.iter().enumerate() {
            let Some(s) = got.get(n) else { continue };
            planned.add(&visits[i], s, report.exited[i], book, zone);
            if s["entry_event"].is_string() {
                committed += 1;
            }
            if !report.exited[i] {
                continue;
            }
            if s["exit_event"].is_string() {
                committed += 1;
            }
            let v = &visits[i];
            let settlement = s["settlement"].as_str().unwrap_or("");
            let fee = s["fee_vnd"].as_i64().unwrap_or(0);
            if matches!(settlement, "account" | "transfer") {
                revenue += fee;
            }
            if settlement == "transfer" {
                settled_by_transfer += fee;
            }
            if v.credential == CredentialKind::Pass {
                continue;
            }
            let (Some(mut entered), Some(mut exited)) = (s["entered_ms"].as_i64(), s["exited_ms"].as_i64()) else {
                continue;
            };
            if settlement == "transfer" {
                let requests = priced_at.get(s["credential_key"].as_str().unwrap_or("")).map_or(&[][..], Vec::as_slice);
                if let Some((e, at)) = requests.iter().find(|(e, _)| (entered - e).abs() < 1_000) {
                    (entered, exited) = (*e, *at);
                }
            }
            let class = match k.strip_prefix("ticket/") {
                Some(t) => ticket_class(t).unwrap_or_else(|| v.class.clone()),
                None => v.class.clone(),
            };
            let (Some(entry), Some(exit)) = (Timestamp::from_unix_millis(entered), Timestamp::from_unix_millis(exited))
            else {
                continue;
            };
            let priced = book
                .in_force(zone, exit)
                .and_then(|t| parking_core::fee(t, &class, entry, exit).ok())
                .map_or(0, |f| f.amount.get());
            expected += priced;
            if priced != fee {
                mismatches += 1;
                tracing::warn!(
                    vehicle = v.vehicle,
                    server = fee,
                    tariff = priced,
                    settlement,
                    %class,
                    entry = %entry,
                    exit = %exit,
                    "fee differs from the tariff"
                );
            }
        }
    }
    // Refused: at an entry (deny list, clone), and thieves at an exit.
    let refused = report.entries.iter().filter(|e| matches!(e, Some(Entered::Refused))).count() + report.thieves_held;
    let denied = all_pages(http, &format!("/api/v1/events?kind=denied&from_ms={from}")).await?.len();
    committed += denied.min(refused);
    duplicates += denied.saturating_sub(refused);
    let let_in = report.entries.iter().filter(|e| matches!(e, Some(Entered::In { .. }))).count();
    let gate_events = let_in + closed_wanted + refused;
    let exceptions = all_pages(http, "/api/v1/exceptions?state=all").await?;
    // Exceptions are alarms (`alarm:KIND`) and what needs an operator
    // otherwise (a refusal, a suspect stay); alarms are counted.
    let mut alarms_by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for e in exceptions.iter().filter(|e| e["at_ms"].as_i64().is_some_and(|t| t >= from)) {
        if let Some(kind) = e["kind"].as_str().and_then(|k| k.strip_prefix("alarm:")) {
            *alarms_by_kind.entry(kind.to_owned()).or_default() += 1;
        }
    }
    let mut open = report.open_ms.clone();
    open.sort_by(f64::total_cmp);
    let mut paid = report.paid_open_ms.clone();
    paid.sort_by(f64::total_cmp);
    Ok(Summary {
        visits: visits.len(),
        gate_events,
        events_committed: committed,
        events_lost: gate_events.saturating_sub(committed),
        duplicates,
        revenue_vnd: revenue,
        expected_revenue_vnd: expected,
        open_p50_ms: percentile_2dp(&open, 0.5),
        open_p99_ms: percentile_2dp(&open, 0.99),
        alarms: alarms_by_kind.values().sum(),
        paid_open_p99_ms: percentile_2dp(&paid, 0.99),
        transferred_vnd: report.paid_vnd.iter().sum(),
        settled_by_transfer_vnd: settled_by_transfer,
        fee_mismatches: mismatches,
        stuck: report.stuck.len(),
        unexpected_sessions: unexpected,
        alarms_by_kind,
        planned_revenue_vnd: planned.revenue_vnd,
        lane_delay_p99_s: planned.delay_p99_s(),
        last_exit: planned.last_exit(),
        thieves_held: report.thieves_held,
        moved_tags_held: report.moved_tags_held,
        false_holds: report.false_holds,
        wall_s: (report.wall_s * 100.0).round() / 100.0,
        passages_per_s: ((visits.len() * 2) as f64 / report.wall_s.max(0.001)).round(),
    })
}

/// The summary for a person, then the JSON line.
pub fn print(s: &Summary) {
    eprintln!(
        "{} visits in {:.1} s ({} gate passages/s); {} gate events, {} committed, {} lost, {} duplicated",
        s.visits, s.wall_s, s.passages_per_s, s.gate_events, s.events_committed, s.events_lost, s.duplicates
    );
    eprintln!(
        "revenue {} VND (tariff says {} VND; {} stays priced differently); transferred {} VND, settled by transfer {} VND",
        s.revenue_vnd, s.expected_revenue_vnd, s.fee_mismatches, s.transferred_vnd, s.settled_by_transfer_vnd
    );
    eprintln!(
        "read to open p50 {:.2} ms, p99 {:.2} ms; transfer to open p99 {:.2} ms; {} vehicles stuck; alarms {:?}",
        s.open_p50_ms, s.open_p99_ms, s.paid_open_p99_ms, s.stuck, s.alarms_by_kind
    );
    eprintln!(
        "as planned: the trace's own stays come to {} VND; lanes passed vehicles late by p99 {:.1} s (simulated); last exit {}",
        s.planned_revenue_vnd,
        s.lane_delay_p99_s,
        s.last_exit.as_deref().unwrap_or("none")
    );
    eprintln!(
        "plates: {} thieves held at the exit and refused; {} holds of cars carrying a moved tag; {} honest drivers held",
        s.thieves_held, s.moved_tags_held, s.false_holds
    );
    println!(
        "{}",
        serde_json::json!({
            "visits": s.visits,
            "gate_events": s.gate_events,
            "events_committed": s.events_committed,
            "events_lost": s.events_lost,
            "duplicates": s.duplicates,
            "revenue_vnd": s.revenue_vnd,
            "expected_revenue_vnd": s.expected_revenue_vnd,
            "open_p50_ms": s.open_p50_ms,
            "open_p99_ms": s.open_p99_ms,
            "alarms": s.alarms,
            "paid_open_p99_ms": s.paid_open_p99_ms,
            "transferred_vnd": s.transferred_vnd,
            "settled_by_transfer_vnd": s.settled_by_transfer_vnd,
            "stuck": s.stuck,
            "fee_mismatches": s.fee_mismatches,
            "planned_revenue_vnd": s.planned_revenue_vnd,
            "lane_delay_p99_s": s.lane_delay_p99_s,
            "last_exit": s.last_exit,
            "thieves_held": s.thieves_held,
            "moved_tags_held": s.moved_tags_held,
            "false_holds": s.false_holds,
            "wall_s": s.wall_s,
        })
    );
}
