//! The live gate board behind the operator's dashboard: what each lane is
//! doing now, from the lot's own MQTT topics.
//!
//! A separate subscription (not the ingest's) reads every gate's events,
//! retained lane status and display, the nodes' status, and the tags read
//! at registration desks (passed on to the desk's form). The board
//! keeps, per lane: online or offline (a lane status heard within 15 s),
//! the barrier, the last read (plate, tag or ticket, class), the last
//! decision and its reason, the vehicle waiting at an exit to pay, with
//! the VietQR it is shown, and a vehicle held for staff to decide (a plate
//! mismatch, a tag on another vehicle). Every change is broadcast to the
//! dashboard's server-sent event stream; nothing here is a record (the
//! ingest commits events), so a missed message only makes the view late.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parking_core::LotId;
use parking_core::settings::BrokerSettings;
use parking_core::wire::{
    self, Credential, DisplayMsg, GateEvent, GateEventKind, GateTopic, LaneStatus, NodeStatus, Read, ReadMsg, Topic,
    Topics,
};
use parking_runtime::mqtt::{mqtt_options, new_client};
use rumqttc::{Event, Packet, QoS};
use serde::Serialize;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

/// A lane status older than this marks the lane offline (it is sent every 5 s).
const STALE: Duration = Duration::from_secs(15);

/// One lane, as the dashboard shows it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct LaneView {
    pub gate: String,
    /// `entry` or `exit`, once an event has told.
    pub direction: Option<String>,
    pub online: bool,
    pub barrier: Option<String>,
    pub reader_alive: Option<bool>,
    /// The last read: `{credential, plate, class, at}`.
    pub last_read: Option<Value>,
    /// The last decision: `{kind, reason, at}`.
    pub last_decision: Option<Value>,
    /// A vehicle waiting to pay: `{amount_vnd, vietqr, lines, since}`.
    pub waiting: Option<Value>,
    /// A vehicle held for staff: `{alarm, detail, credential, entered,
    /// seen, since, event_id}` (the plates at entry and now; the event
    /// names its photos).
    pub held: Option<Value>,
    /// What the lane display shows.
    pub display: Vec<String>,
    #[serde(skip)]
    status_heard: Option<Instant>,
}

/// The board and its subscribers.
#[derive(Debug)]
pub struct LiveBoard {
    lanes: Mutex<BTreeMap<String, LaneView>>,
    updates: broadcast::Sender<String>,
}

impl Default for LiveBoard {
    fn default() -> Self {
        LiveBoard { lanes: Mutex::default(), updates: broadcast::channel(1024).0 }
    }
}

fn credential_text(c: &Credential) -> Value {
    match c {
        Credential::Tag { epc, .. } => json!({ "kind": "tag", "id": epc.to_string() }),
        Credential::Ticket { code } => {
            let serial = code.split('.').nth(3).unwrap_or("?");
            json!({ "kind": "ticket", "id": format!("#{serial}") })
        }
        Credential::Plate { plate } => json!({ "kind": "plate", "id": plate.to_string() }),
        other => {
            json!({ "kind": serde_json::to_value(other).ok().and_then(|v| v["kind"].as_str().map(str::to_owned)).unwrap_or_default() })
        }
    }
}

fn kind_name<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

impl LiveBoard {
    /// Every lane now, with the online flag brought up to date.
    pub fn snapshot(&self) -> Vec<LaneView> {
        let Ok(mut lanes) = self.lanes.lock() else { return Vec::new() };
        for l in lanes.values_mut() {
            l.online = l.status_heard.is_some_and(|t| t.elapsed() < STALE);
        }
        lanes.values().cloned().collect()
    }

    /// Whether `gate` has been heard from.
    pub fn knows(&self, gate: &str) -> bool {
        self.lanes.lock().is_ok_and(|l| l.contains_key(gate))
    }

    /// A receiver of every change, as JSON `{type, …}`.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.updates.subscribe()
    }

    fn update(&self, gate: &str, f: impl FnOnce(&mut LaneView)) {
        let view = {
            let Ok(mut lanes) = self.lanes.lock() else { return };
            let l = lanes
                .entry(gate.to_owned())
                .or_insert_with(|| LaneView { gate: gate.to_owned(), ..LaneView::default() });
            f(l);
            l.online = l.status_heard.is_some_and(|t| t.elapsed() < STALE);
            // Copied and serialised only for a dashboard that watches.
            (self.updates.receiver_count() > 0).then(|| l.clone())
        };
        if let Some(view) = view {
            self.send(&json!({ "type": "lane", "lane": view }));
        }
    }

    /// Broadcasts `update` to the dashboards watching, if any.
    fn send(&self, update: &Value) {
        if self.updates.receiver_count() > 0 {
            let _ = self.updates.send(update.to_string());
        }
    }

    fn on_event(&self, e: &GateEvent) {
        let at = e.at.to_string();
        let gate = e.gate.to_string();
        let (direction, read, decision) = match &e.kind {
            GateEventKind::Entry { credential, class, plate } => (
                Some("entry"),
                Some(json!({ "credential": credential_text(credential), "plate": plate, "class": class, "at": at })),
                json!({ "kind": "entry", "reason": "", "at": at }),
            ),
            GateEventKind::Exit { credential, class, plate, settlement, fee, .. } => (
                Some("exit"),
                Some(json!({ "credential": credential_text(credential), "plate": plate, "class": class, "at": at })),
                json!({
                    "kind": "exit",
                    "reason": serde_json::to_value(settlement).ok().and_then(|v| v["kind"].as_str().map(str::to_owned)),
                    "fee_vnd": fee.as_ref().map(|f| f.amount.get()),
                    "at": at,
                }),
            ),
            GateEventKind::PaymentRequested { credential, class, owed, .. } => (
                Some("exit"),
                Some(json!({ "credential": credential_text(credential), "class": class, "at": at })),
                json!({ "kind": "payment_requested", "reason": "", "fee_vnd": owed.get(), "at": at }),
            ),
            GateEventKind::Denied { credential, reason } => (
                None,
                Some(json!({ "credential": credential_text(credential), "at": at })),
                json!({ "kind": "denied", "reason": kind_name(reason), "at": at }),
            ),
            GateEventKind::ManualOpen { operator, reason, note } => (
                None,
                None,
                json!({ "kind": "manual_open", "reason": kind_name(reason), "operator": operator, "note": note, "at": at }),
            ),
            GateEventKind::Alarm { alarm, detail } => {
                self.send_alarm(&gate, alarm, detail, &at);
                return;
            }
            GateEventKind::Held { credential, alarm, entered, seen, detail } => {
                let held = json!({
                    "alarm": kind_name(alarm), "detail": detail, "credential": credential_text(credential),
                    "entered": entered, "seen": seen, "since": at, "event_id": e.event_id.to_string(),
                });
                let read = json!({ "credential": credential_text(credential), "plate": seen, "at": at });
                let decision = json!({ "kind": "held", "reason": kind_name(alarm), "at": at });
                self.update(&gate, |l| {
                    l.held = Some(held);
                    l.last_read = Some(read);
                    l.last_decision = Some(decision);
                });
                self.send_alarm(&gate, alarm, detail, &at);
                return;
            }
            GateEventKind::HoldDecided { operator, released, note } => {
                let decision = json!({
                    "kind": "hold_decided", "reason": if *released { "released" } else { "refused" },
                    "operator": operator, "note": note, "at": at,
                });
                self.update(&gate, |l| {
                    l.held = None;
                    l.last_decision = Some(decision);
                });
                return;
            }
        };
        self.update(&gate, |l| {
            if let Some(d) = direction {
                l.direction = Some(d.to_owned());
            }
            if read.is_some() {
                l.last_read = read;
            }
            if matches!(&e.kind, GateEventKind::Exit { .. } | GateEventKind::ManualOpen { .. }) {
                l.waiting = None;
            }
            // A manual open releases whoever waited as an unpaid exit: the
            // board keeps the open's operator, reason and note, with what is owed.
            let released = matches!(&e.kind, GateEventKind::Exit { settlement: wire::Settlement::Unpaid { .. }, .. });
            if let (true, Some(prev)) = (released, l.last_decision.as_mut()) {
                if prev["kind"] == "manual_open" {
                    prev["owed_vnd"] = decision["fee_vnd"].clone();
                    return;
                }
            }
            l.last_decision = Some(decision);
        });
    }

    /// Tells the dashboards an alarm was raised at `gate`.
    fn send_alarm(&self, gate: &str, alarm: &wire::AlarmKind, detail: &str, at: &str) {
        self.send(&json!({ "type": "alarm", "gate": gate, "alarm": kind_name(alarm), "detail": detail, "at": at }));
    }

    fn on_display(&self, d: &DisplayMsg) {
        self.update(d.gate.as_str(), |l| {
            l.display.clone_from(&d.lines);
            l.waiting = d.vietqr.as_ref().map(|q| {
                json!({ "amount_vnd": d.amount.map(|a| a.get()), "vietqr": q, "lines": d.lines, "since": d.at.to_string() })
            });
        });
    }

    fn on_status(&self, s: &LaneStatus, fresh: bool) {
        self.update(s.gate.as_str(), |l| {
            l.barrier = Some(kind_name(&s.barrier));
            l.reader_alive = Some(s.reader_alive);
            if fresh {
                l.status_heard = Some(Instant::now());
            }
        });
    }

    fn on_node(&self, n: &NodeStatus) {
        self.send(&json!({ "type": "node", "node": n.node.to_string(), "online": n.online }));
    }
}

/// Keeps `board` up to date from the broker until `shutdown`.
pub async fn run(
    board: Arc<LiveBoard>,
    lot: LotId,
    broker: BrokerSettings,
    client_id: String,
    shutdown: CancellationToken,
) {
    let topics = Topics::new(lot.clone());
    // Checked at start-up by the server's first link; a failure here is
    // the CA file gone since.
    let options = match mqtt_options(&broker, &client_id, None) {
        Ok(o) => o,
        Err(e) => return tracing::error!(error = %e, "live board: no broker link"),
    };
    let (client, mut events) = new_client(options, 1024);
    let mut subs: Vec<String> =
        [GateTopic::Event, GateTopic::Status, GateTopic::Display].iter().map(|k| topics.all_gates(*k)).collect();
    subs.push(format!("parking/{lot}/node/+/status"));
    subs.push(topics.all_desk_reads());
    // The lanes go offline on the board when nothing is heard.
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        let polled = tokio::select! {
            () = shutdown.cancelled() => break,
            _ = tick.tick() => {
                board.send(&json!({ "type": "tick" }));
                continue;
            }
            p = events.poll() => p,
        };
        match polled {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                for s in &subs {
                    if let Err(e) = client.subscribe(s.clone(), QoS::AtMostOnce).await {
                        tracing::warn!(error = %e, topic = %s, "live board: cannot subscribe");
                    }
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => match Topic::parse(&p.topic) {
                Ok(Topic::Gate { kind: GateTopic::Event, .. }) => match wire::decode::<GateEvent>(&p.payload) {
                    Ok(e) => board.on_event(&e),
                    Err(e) => tracing::debug!(error = %e, "live board: event not understood"),
                },
                Ok(Topic::Gate { kind: GateTopic::Display, .. }) => {
                    if let Ok(d) = wire::decode::<DisplayMsg>(&p.payload) {
                        board.on_display(&d);
                    }
                }
                Ok(Topic::Gate { kind: GateTopic::Status, .. }) => {
                    if let Ok(s) = wire::decode::<LaneStatus>(&p.payload) {
                        board.on_status(&s, !p.retain);
                    }
                }
                Ok(Topic::DeskRead { desk, .. }) => match wire::decode::<ReadMsg>(&p.payload) {
                    // A tag read at a registration desk fills the desk's form.
                    Ok(ReadMsg { read: Read::Tag(t), .. }) => board.send(&json!({
                        "type": "desk_read", "desk": desk.as_str(), "epc": t.epc.to_string(),
                        "tid": t.tid.map(|t| t.to_string()),
                    })),
                    Ok(_) => {}
                    Err(e) => tracing::debug!(error = %e, "live board: desk read not understood"),
                },
                Ok(Topic::Node { .. }) => {
                    if let Ok(n) = wire::decode::<NodeStatus>(&p.payload) {
                        board.on_node(&n);
                    }
                }
                _ => {}
            },
            Ok(_) => {}
            Err(e) => {
                tracing::debug!(error = %e, "live board: broker link lost; reconnecting");
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = tokio::time::sleep(Duration::from_millis(500)) => {}
                }
            }
        }
    }
    let _ = client.disconnect().await;
}
