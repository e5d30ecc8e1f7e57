//! The replay: one worker per gate takes its vehicles in time order and
//! plays each one's part at the lane. A vehicle's exit waits for its
//! entry, on whichever gate that was.
//!
//! - **Entry**: the tag is read (or the ticket button pressed), the
//!   barrier opens (timed from the read), a ticket is taken from the
//!   display, and the vehicle crosses the loop. A deny-listed or cloned
//!   tag is refused: the display sends the driver to the operator, and the
//!   vehicle never enters. A tailgater crosses the loop behind the car in
//!   front, with no read.
//! - **Exit**: the tag is read or the ticket shown to the camera. Either
//!   the barrier opens (an account, a pass, a free stay), or the display
//!   shows a VietQR: the driver's banking app decodes it and, after the
//!   driver's delay, the simulated bank posts the transfer; an underpayer
//!   pays half first, then what the display says is still owed.
//! - **Plates**: the lane's camera reads the plate first ([`camera`]). A
//!   lane that holds the vehicle for staff ("chờ nhân viên xác nhận") is
//!   decided by the simulated staff ([`staff`]): a thief is refused at the
//!   exit and leaves by the way it came; a moved tag is let go on.
//!
//! [`camera`]: super::camera
//! [`staff`]: super::staff

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use parking_core::gate::HOLD_TEXT;
use parking_core::vietqr::VietQr;
use parking_core::{GateId, Timestamp};
use tokio::sync::{Mutex, mpsc, watch};

use super::Speed;
use super::devices::{Devices, LaneMsg};
use super::hear::{Heard, hear};
use super::setup::{Registered, clone_tid, registered_tid};
use super::staff;
use crate::http::Http;
use crate::traffic::{Actor, CredentialKind, Visit};

/// How a vehicle's entry ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Entered {
    /// Let in; with the ticket it took, if any.
    In { ticket: Option<String> },
    /// Crossed behind another vehicle, with no read.
    Tailgated,
    /// Refused at the gate (deny list, clone).
    Refused,
    /// No answer from the lane in time.
    Stuck,
}

/// What the replay saw.
#[derive(Debug, Default)]
pub struct Report {
    /// Read (or button) to barrier command, ms: entries and exits that open at once.
    pub open_ms: Vec<f64>,
    /// Webhook sent to barrier command, ms: exits paid by transfer.
    pub paid_open_ms: Vec<f64>,
    /// Each visit's entry, by index.
    pub entries: Vec<Option<Entered>>,
    /// Visits that left through an open barrier.
    pub exited: Vec<bool>,
    /// What each visit's driver transferred for the stay.
    pub paid_vnd: Vec<i64>,
    /// Passages made with no open: tailgaters, in and out.
    pub tailgate_passages: usize,
    /// Vehicles a lane never answered, with what was waited for.
    pub stuck: Vec<String>,
    /// Thieves held at the exit and refused by staff.
    pub thieves_held: usize,
    /// Holds of cars carrying a moved tag (one at each gate).
    pub moved_tags_held: usize,
    /// Holds of anyone else: an honest driver kept waiting.
    pub false_holds: usize,
    /// Real seconds from the first vehicle to the last.
    pub wall_s: f64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Side {
    Entry,
    Exit,
}

/// What every worker shares.
struct Shared<'a> {
    visits: &'a [Visit],
    registered: &'a Registered,
    devices: &'a Devices,
    http: &'a Http,
    speed: Speed,
    timeout: Duration,
    start: Instant,
    first: Timestamp,
    entries: Vec<watch::Sender<Option<Entered>>>,
    report: Mutex<Report>,
    done: AtomicUsize,
    transfer_ids: AtomicUsize,
    nonce: u64,
}

/// Plays every visit; returns what was seen.
pub async fn replay(
    visits: &[Visit],
    registered: &Registered,
    devices: &Devices,
    http: &Http,
    speed: Speed,
    timeout: Duration,
    progress: bool,
) -> anyhow::Result<Report> {
    let mut plan: HashMap<GateId, Vec<(Timestamp, usize, Side)>> = HashMap::new();
    for (i, v) in visits.iter().enumerate() {
        plan.entry(v.entry_gate.clone()).or_default().push((v.entry_at, i, Side::Entry));
        plan.entry(v.exit_gate.clone()).or_default().push((v.exit_at, i, Side::Exit));
    }
    for actions in plan.values_mut() {
        actions.sort_by_key(|(t, i, _)| (*t, *i));
    }
    let first = visits.iter().map(|v| v.entry_at).min().unwrap_or_else(|| http.clock.now());
    let shared = Shared {
        visits,
        registered,
        devices,
        http,
        speed,
        timeout,
        start: Instant::now(),
        first,
        entries: visits.iter().map(|_| watch::channel(None).0).collect(),
        report: Mutex::new(Report {
            entries: vec![None; visits.len()],
            exited: vec![false; visits.len()],
            paid_vnd: vec![0; visits.len()],
            ..Report::default()
        }),
        done: AtomicUsize::new(0),
        transfer_ids: AtomicUsize::new(0),
        nonce: u64::try_from(http.clock.now_ms()).unwrap_or(0) % 1_000_000_000,
    };
    let total = visits.len() * 2;
    let results = {
        let mut workers = Vec::new();
        for (gate, actions) in plan {
            let rx = devices.take_lane(&gate).with_context(|| format!("no device link for gate {gate}"))?;
            workers.push(lane(&shared, gate, actions, rx));
        }
        let mut all = std::pin::pin!(futures_util::future::join_all(workers));
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        loop {
            tokio::select! {
                r = &mut all => break r,
                _ = tick.tick() => if progress {
                    let done = shared.done.load(Ordering::Relaxed);
                    let filled = done * 40 / total.max(1);
                    eprint!(
                        "\r[{}{}] {done}/{total} gate passages, {:.1} s ",
                        "#".repeat(filled),
                        ".".repeat(40 - filled),
                        shared.start.elapsed().as_secs_f64()
                    );
                }
            }
        }
    };
    if progress {
        eprintln!();
    }
    for r in results {
        r?;
    }
    let mut report = shared.report.into_inner();
    report.wall_s = shared.start.elapsed().as_secs_f64();
    Ok(report)
}

/// One gate's worker.
async fn lane(
    s: &Shared<'_>,
    gate: GateId,
    actions: Vec<(Timestamp, usize, Side)>,
    mut rx: mpsc::UnboundedReceiver<LaneMsg>,
) -> anyhow::Result<()> {
    for (at, i, side) in actions {
        if let Speed::Times(n) = s.speed {
            if s.http.clock.is_simulated() {
                // A simulated clock: the trace is on its timeline.
                tokio::time::sleep(s.http.clock.real_wait(at)).await;
            } else {
                let offset = u64::try_from(at.since(s.first).whole_milliseconds()).unwrap_or(0);
                tokio::time::sleep_until((s.start + Duration::from_millis(offset).div_f64(n)).into()).await;
            }
        }
        // Whatever the lane said about the vehicle before is done with.
        while rx.try_recv().is_ok() {}
        match side {
            Side::Entry => {
                let outcome = entry(s, &gate, &s.visits[i], &mut rx).await?;
                s.report.lock().await.entries[i] = Some(outcome.clone());
                s.entries[i].send_replace(Some(outcome));
            }
            Side::Exit => {
                let mut watch = s.entries[i].subscribe();
                let entered = watch.wait_for(Option::is_some).await.map(|e| e.clone()).ok().flatten();
                match entered {
                    Some(Entered::In { ticket }) => exit(s, &gate, i, ticket, &mut rx).await?,
                    Some(Entered::Tailgated) => {
                        s.devices.cross_loop(&gate).await?;
                        s.report.lock().await.tailgate_passages += 1;
                    }
                    _ => {}
                }
            }
        }
        s.done.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}

/// Whether the lane shows that it holds the vehicle for staff.
fn held(d: &parking_core::wire::DisplayMsg) -> bool {
    d.lines.iter().any(|l| l == HOLD_TEXT)
}

async fn count_hold(s: &Shared<'_>, v: &Visit) {
    let mut r = s.report.lock().await;
    match v.actor {
        Actor::Thief => r.thieves_held += 1,
        Actor::TagMoved => r.moved_tags_held += 1,
        _ => r.false_holds += 1,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

async fn entry(
    s: &Shared<'_>,
    gate: &GateId,
    v: &Visit,
    rx: &mut mpsc::UnboundedReceiver<LaneMsg>,
) -> anyhow::Result<Entered> {
    if v.actor == Actor::Tailgater {
        s.devices.cross_loop(gate).await?;
        s.report.lock().await.tailgate_passages += 1;
        return Ok(Entered::Tailgated);
    }
    let t0 = Instant::now();
    let ticketed = v.credential == CredentialKind::Ticket || v.epc.is_none();
    let present = || async {
        match &v.epc {
            Some(epc) if !ticketed => {
                let tid = match v.actor {
                    Actor::Cloned => clone_tid(v.vehicle),
                    _ => registered_tid(s.registered, epc, v.vehicle),
                };
                s.devices.tag(gate, epc, &tid).await
            }
            _ => s.devices.ticket_button(gate).await,
        }
    };
    s.devices.camera(gate, v, false).await?;
    present().await?;
    let refused = matches!(v.actor, Actor::Denylisted | Actor::Cloned);
    let (mut opened, mut ticket): (_, Option<String>) = (None, None);
    let mut reread = None;
    loop {
        match hear(rx, s.timeout, &mut reread).await {
            Heard::Msg(LaneMsg::Barrier(at)) => opened = Some(at),
            Heard::Msg(LaneMsg::ControllerBack) => {}
            // The controller restarted before the barrier opened: the
            // reader sees the tag again, or the driver shows the ticket
            // the lane printed (or presses again if none came out).
            Heard::Reread if opened.is_none() => match &ticket {
                Some(t) => s.devices.show_ticket(gate, t.as_str()).await?,
                None => present().await?,
            },
            Heard::Reread => {}
            Heard::Msg(LaneMsg::Display(d)) => {
                if held(&d) {
                    count_hold(s, v).await;
                    staff::decide(s.http, gate, v).await?;
                } else if d.ticket.is_some() {
                    ticket = d.ticket;
                } else if refused && opened.is_none() {
                    return Ok(Entered::Refused);
                }
            }
            Heard::TimedOut => {
                let what = if refused { "the refusal" } else { "the barrier" };
                s.report.lock().await.stuck.push(format!("vehicle {} at {gate}: no {what}", v.vehicle));
                return Ok(Entered::Stuck);
            }
        }
        if let Some(at) = opened {
            if !ticketed || ticket.is_some() {
                s.report.lock().await.open_ms.push(ms(at - t0));
                break;
            }
        }
    }
    s.devices.cross_loop(gate).await?;
    Ok(Entered::In { ticket })
}

async fn exit(
    s: &Shared<'_>,
    gate: &GateId,
    i: usize,
    ticket: Option<String>,
    rx: &mut mpsc::UnboundedReceiver<LaneMsg>,
) -> anyhow::Result<()> {
    let v = &s.visits[i];
    let t0 = Instant::now();
    let present = || async {
        match (&ticket, &v.epc) {
            (Some(t), _) => s.devices.show_ticket(gate, t).await.map(|()| true),
            (None, Some(epc)) => {
                let tid = registered_tid(s.registered, epc, v.vehicle);
                s.devices.tag(gate, epc, &tid).await.map(|()| true)
            }
            (None, None) => Ok(false),
        }
    };
    s.devices.camera(gate, v, true).await?;
    if !present().await? {
        return Ok(());
    }
    let mut paid_at: Option<Instant> = None;
    let mut settled: HashSet<String> = HashSet::new();
    let mut payments = 0u32;
    let mut reread = None;
    loop {
        match hear(rx, s.timeout, &mut reread).await {
            Heard::Msg(LaneMsg::Barrier(at)) => {
                let mut r = s.report.lock().await;
                match paid_at {
                    Some(p) => r.paid_open_ms.push(ms(at - p)),
                    None => r.open_ms.push(ms(at - t0)),
                }
                r.exited[i] = true;
                break;
            }
            Heard::Msg(LaneMsg::ControllerBack) => {}
            // The lane's controller restarted and does not know the
            // vehicle waits; its reader still sees the tag (or the camera
            // the ticket) and reports it again. A paid stay opens.
            Heard::Reread => {
                present().await?;
            }
            Heard::Msg(LaneMsg::Display(d)) if held(&d) => {
                count_hold(s, v).await;
                staff::decide(s.http, gate, v).await?;
                if !staff::releases(v) {
                    return Ok(()); // refused: the car backs out
                }
            }
            Heard::Msg(LaneMsg::Display(d)) => {
                let Some(payload) = d.vietqr else { continue };
                let qr = VietQr::decode(&payload).map_err(|e| anyhow::anyhow!("the lane's VietQR: {e}"))?;
                let memo = qr.memo.clone().context("a VietQR without a memo")?;
                let owed = qr.amount.context("a VietQR without an amount")?.get();
                if settled.contains(&format!("{memo}/{owed}")) {
                    continue; // shown again; already paid
                }
                settled.insert(format!("{memo}/{owed}"));
                if let Speed::Times(n) = s.speed {
                    tokio::time::sleep(Duration::from_secs(u64::from(v.pay_delay_s)).div_f64(n)).await;
                }
                // An underpayer sends half, then the rest when the lane asks.
                let amount = if v.actor == Actor::Underpayer && payments == 0 { (owed / 2).max(1) } else { owed };
                let id = s.nonce * 1_000_000 + s.transfer_ids.fetch_add(1, Ordering::Relaxed) as u64;
                paid_at = Some(Instant::now());
                let (status, answer) = s.http.pay_to(&qr.account, id, amount, &format!("IBFT {memo}")).await?;
                if status != 200 {
                    anyhow::bail!("the bank's notification for vehicle {} was refused: {status} {answer}", v.vehicle);
                }
                payments += 1;
                s.report.lock().await.paid_vnd[i] += amount;
            }
            Heard::TimedOut => {
                let what = if paid_at.is_some() { "the barrier after paying" } else { "the barrier or a VietQR" };
                s.report.lock().await.stuck.push(format!("vehicle {} at {gate}: no {what}", v.vehicle));
                return Ok(());
            }
        }
    }
    s.devices.cross_loop(gate).await?;
    Ok(())
}
