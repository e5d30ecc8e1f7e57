//! The lanes' devices as the simulator plays them on the broker, on the
//! gates' own topics (the controller's `mqtt` device kind):
//!
//! - the UHF reader publishes tag presences, the kiosk its ticket button,
//!   the camera the QR codes it decodes, the loop detector its changes:
//!   all on one connection that only publishes;
//! - the barrier and the lane display are read on a second connection
//!   that only subscribes. Keeping the two apart matters on a broker
//!   without TCP_NODELAY (the embedded one, docs/mqtt.md): a connection
//!   that both publishes and receives waits ~40 ms for each answer behind
//!   the acknowledgement of its own publish.
//!
//! A lane with an LLRP reader gets its tags over TCP instead ([`Readers`]).
//! The ANPR camera reads each vehicle's plate ([`Camera`]). The camera
//! photographs the driver's printed ticket: the ticket's text is
//! drawn as a QR code on a grey frame and decoded with the decoder the
//! camera bridge runs on real frames ([`tag_reader::qr`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use image::{GrayImage, Luma};
use parking_core::settings::BrokerSettings;
use parking_core::wire::{
    self, BarrierCommand, DisplayMsg, GateTopic, LoopMsg, NodeRole, NodeStatus, Read, ReadMsg, TagPresence, Topics, V1,
};
use parking_core::{Epc, GateId, LotId, NodeId, Timestamp};
use parking_runtime::Clock;
use parking_runtime::mqtt::{mqtt_options, new_client};
use rumqttc::{AsyncClient, Event, Packet, QoS};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::camera::Camera;
use super::llrp::Readers;
use crate::traffic::Visit;

/// What a lane's barrier or display said, and when it arrived.
#[derive(Debug)]
pub enum LaneMsg {
    Barrier(Instant),
    Display(Box<DisplayMsg>),
    /// A controller of the lot restarted (its process, not its link).
    ControllerBack,
}

/// What the lanes have besides their MQTT devices.
#[derive(Debug)]
pub struct LaneDevices {
    /// Barriers on a relay board report their opens here.
    pub relays: Option<mpsc::UnboundedReceiver<(GateId, Instant)>>,
    /// The lanes' ANPR cameras.
    pub camera: Camera,
    /// Lanes whose UHF reader is an LLRP reader.
    pub readers: Readers,
}

/// The devices of every gate the visits use.
#[derive(Debug)]
pub struct Devices {
    topics: Topics,
    publisher: AsyncClient,
    subscriber: AsyncClient,
    /// Both links' options, to end their persistent sessions on close.
    sessions: [rumqttc::MqttOptions; 2],
    lanes: std::sync::Mutex<HashMap<GateId, mpsc::UnboundedReceiver<LaneMsg>>>,
    tasks: Vec<JoinHandle<()>>,
    /// The lanes' ANPR cameras.
    camera: Camera,
    /// The lanes' LLRP readers.
    readers: Readers,
    /// Stamps what the devices publish.
    clock: Clock,
}

fn client_id(role: &str) -> String {
    format!("sim-{role}-{}-{}", std::process::id(), Clock::wall().now_ms() % 100_000)
}

impl Devices {
    /// Connects both links and subscribes to the gates' barrier and display
    /// topics. Barriers on relay boards report their opens on `lanes.relays`.
    pub async fn connect(
        broker: &BrokerSettings,
        lot: &LotId,
        visits: &[Visit],
        lanes: LaneDevices,
        clock: Clock,
    ) -> anyhow::Result<Self> {
        let LaneDevices { relays, camera, readers } = lanes;
        let topics = Topics::new(lot.clone());
        let mut senders = HashMap::new();
        let mut receivers = HashMap::new();
        for g in visits.iter().flat_map(|v| [&v.entry_gate, &v.exit_gate]) {
            if !senders.contains_key(g) {
                let (tx, rx) = mpsc::unbounded_channel();
                senders.insert(g.clone(), tx);
                receivers.insert(g.clone(), rx);
            }
        }
        let mut tasks = Vec::new();
        if let Some(mut relays) = relays {
            let senders = senders.clone();
            tasks.push(tokio::spawn(async move {
                while let Some((gate, at)) = relays.recv().await {
                    if let Some(tx) = senders.get(&gate) {
                        let _ = tx.send(LaneMsg::Barrier(at));
                    }
                }
            }));
        }
        // Persistent sessions on both links: across a broker restart, what
        // the lanes say waits for us there, as a driver would still see it,
        // and a read the broker had not acknowledged is sent again (with a
        // clean session, rumqttc drops it on reconnecting).
        let mut sessions =
            [mqtt_options(broker, &client_id("devices"), None)?, mqtt_options(broker, &client_id("lanes"), None)?];
        for o in &mut sessions {
            o.set_clean_session(false);
        }
        let (publisher, mut pub_loop) = new_client(sessions[0].clone(), 4096);
        let (subscriber, mut sub_loop) = new_client(sessions[1].clone(), 4096);
        let (ready_tx, mut ready) = mpsc::channel::<()>(8);
        let pub_ready = ready_tx.clone();
        let pub_task = tokio::spawn(async move {
            loop {
                match pub_loop.poll().await {
                    Ok(Event::Incoming(Packet::ConnAck(_))) => {
                        let _ = pub_ready.try_send(());
                    }
                    // Closed on purpose (the run is over): no reconnecting.
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "simulated devices: broker link lost; reconnecting");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });
        let mut filters: Vec<String> = [GateTopic::Barrier, GateTopic::Display].map(|k| topics.all_gates(k)).into();
        filters.push(topics.all_nodes());
        let mut started: HashMap<NodeId, Timestamp> = HashMap::new();
        let resubscribe = subscriber.clone();
        let sub_task = tokio::spawn(async move {
            loop {
                match sub_loop.poll().await {
                    // A broker that lost our session (restarted without
                    // it, or the first connection) gets the subscriptions
                    // again; the request queue is never full here.
                    Ok(Event::Incoming(Packet::ConnAck(c))) if !c.session_present => {
                        for f in &filters {
                            if let Err(e) = resubscribe.try_subscribe(f.clone(), QoS::AtLeastOnce) {
                                tracing::warn!(error = %e, "simulated lanes: cannot subscribe");
                            }
                        }
                    }
                    Ok(Event::Incoming(Packet::Publish(p))) => {
                        let at = Instant::now();
                        let (gate, kind) = match wire::Topic::parse(&p.topic) {
                            Ok(wire::Topic::Gate { gate, kind, .. }) => (gate, kind),
                            Ok(wire::Topic::Node { node, .. }) => {
                                if controller_back(&mut started, node, &p.payload) {
                                    for tx in senders.values() {
                                        let _ = tx.send(LaneMsg::ControllerBack);
                                    }
                                }
                                continue;
                            }
                            _ => continue,
                        };
                        let Some(tx) = senders.get(&gate) else { continue };
                        let msg = match kind {
                            GateTopic::Barrier if wire::decode::<BarrierCommand>(&p.payload).is_ok() => {
                                LaneMsg::Barrier(at)
                            }
                            GateTopic::Display => match wire::decode::<DisplayMsg>(&p.payload) {
                                Ok(d) => LaneMsg::Display(Box::new(d)),
                                Err(e) => {
                                    tracing::warn!(%gate, error = %e, "lane display message not understood");
                                    continue;
                                }
                            },
                            _ => continue,
                        };
                        let _ = tx.send(msg);
                    }
                    Ok(Event::Incoming(Packet::SubAck(_))) => {
                        let _ = ready_tx.try_send(());
                    }
                    Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "simulated lanes: broker link lost; reconnecting");
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                }
            }
        });
        // Three SubAcks (and the publisher's ConnAck).
        for _ in 0..4 {
            tokio::time::timeout(Duration::from_secs(10), ready.recv())
                .await
                .context("the broker did not answer the simulator's devices within 10 s")?;
        }
        Ok(Devices {
            topics,
            publisher,
            subscriber,
            sessions,
            lanes: std::sync::Mutex::new(receivers),
            tasks: {
                tasks.extend([pub_task, sub_task]);
                tasks
            },
            camera,
            readers,
            clock,
        })
    }

    /// The barrier and display messages of `gate`, for its one worker.
    pub fn take_lane(&self, gate: &GateId) -> Option<mpsc::UnboundedReceiver<LaneMsg>> {
        self.lanes.lock().ok()?.remove(gate)
    }

    async fn publish(&self, gate: &GateId, kind: GateTopic, payload: Vec<u8>) -> anyhow::Result<()> {
        self.publisher.publish(self.topics.gate(gate, kind), QoS::AtLeastOnce, false, payload).await?;
        Ok(())
    }

    async fn read(&self, gate: &GateId, read: Read) -> anyhow::Result<()> {
        self.publish(
            gate,
            GateTopic::Read,
            wire::encode(&ReadMsg { v: V1, gate: gate.clone(), at: self.clock.now(), read }),
        )
        .await
    }

    /// The reader sees a tag: a presence of a few reads, with its TID (an
    /// LLRP reader's reports carry none).
    pub async fn tag(&self, gate: &GateId, epc: &Epc, tid: &str) -> anyhow::Result<()> {
        let at = self.clock.now();
        if self.readers.present(gate, epc, at).await {
            return Ok(());
        }
        let p = TagPresence {
            epc: epc.clone(),
            tid: Some(tid.parse().map_err(|e| anyhow::anyhow!("TID {tid}: {e}"))?),
            antenna: 1,
            rssi: Some(-52),
            first_seen: at,
            last_seen: at,
            reads: 4,
        };
        self.read(gate, Read::Tag(p)).await
    }

    /// The lane's camera reads the plate of `v` (at the exit if `exit`),
    /// if it reads one.
    /// At an LLRP lane, returns once the controller has the plate: the tag
    /// that follows over TCP must not overtake it ([`Readers`]).
    pub async fn camera(&self, gate: &GateId, v: &Visit, exit: bool) -> anyhow::Result<()> {
        let Some(plate) = self.camera.reading(v, exit) else { return Ok(()) };
        let before = if self.readers.has(gate) { self.readers.last_read(gate).await } else { None };
        self.read(gate, Read::Plate { text: plate.to_string(), plate: Some(plate), confidence: 0.92 }).await?;
        self.readers.wait_read_after(gate, before).await;
        Ok(())
    }

    /// The driver presses the kiosk's ticket button.
    pub async fn ticket_button(&self, gate: &GateId) -> anyhow::Result<()> {
        self.read(gate, Read::TicketButton).await
    }

    /// The driver holds the ticket up to the exit's camera.
    pub async fn show_ticket(&self, gate: &GateId, ticket: &str) -> anyhow::Result<()> {
        let text = photograph(ticket)?;
        self.read(gate, Read::Qr { text }).await
    }

    /// A vehicle crosses the loop: occupied, then clear.
    pub async fn cross_loop(&self, gate: &GateId) -> anyhow::Result<()> {
        for occupied in [true, false] {
            let m = LoopMsg { v: V1, gate: gate.clone(), at: self.clock.now(), occupied };
            self.publish(gate, GateTopic::Loop, wire::encode(&m)).await?;
        }
        Ok(())
    }

    pub async fn close(self) {
        let _ = self.publisher.disconnect().await;
        let _ = self.subscriber.disconnect().await;
        tokio::time::sleep(Duration::from_millis(100)).await;
        for t in self.tasks {
            t.abort();
        }
        // Connecting once more with a clean session ends a persistent one,
        // so the broker stops keeping the lanes' messages for us.
        for mut options in self.sessions {
            options.set_clean_session(true);
            let (client, mut events) = new_client(options, 4);
            let _ = tokio::time::timeout(Duration::from_secs(2), async {
                while let Ok(e) = events.poll().await {
                    if matches!(e, Event::Incoming(Packet::ConnAck(_))) {
                        let _ = client.disconnect().await;
                    }
                    if matches!(e, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                        break;
                    }
                }
            })
            .await;
        }
    }
}

/// Whether a node status says a controller restarted: online again with
/// another start time than it was last seen online with. A status carries
/// its process's start time, its last will too, so a broker that restarts
/// and replays a will (or the retained status) is not taken for one.
fn controller_back(started: &mut HashMap<NodeId, Timestamp>, node: NodeId, payload: &[u8]) -> bool {
    let Ok(status) = wire::decode::<NodeStatus>(payload) else { return false };
    if status.role != NodeRole::Controller || !status.online {
        return false;
    }
    started.insert(node, status.at).is_some_and(|before| before != status.at)
}

/// What the camera decodes from a photo of a printed ticket: the ticket's
/// QR code drawn 4 pixels a module on a grey background, as a 640-wide
/// frame.
pub fn photograph(ticket: &str) -> anyhow::Result<String> {
    let code = qrcode::QrCode::new(ticket.as_bytes()).context("the ticket does not fit a QR code")?;
    let qr = code.render::<Luma<u8>>().module_dimensions(4, 4).quiet_zone(true).build();
    let (w, h) = (640u32.max(qr.width() + 40), 480u32.max(qr.height() + 40));
    let mut frame = GrayImage::from_pixel(w, h, Luma([170]));
    image::imageops::overlay(&mut frame, &qr, i64::from((w - qr.width()) / 2), i64::from((h - qr.height()) / 2));
    let decoded = tag_reader::qr::decode_gray(&frame);
    match decoded.codes.into_iter().next() {
        Some(text) => Ok(text),
        None => bail!("the camera could not read the ticket"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn the_camera_reads_back_a_ticket() {
        let ticket = "T1.hn-hoan-kiem-01.entry-1.42.1795400000.car.Zm9vYmFyYmF6cXV4";
        assert_eq!(photograph(ticket).unwrap(), ticket);
    }
}
