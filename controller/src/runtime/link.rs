//! The controller's MQTT subscriptions, turned into engine messages.
//!
//! A persistent session (clean session off), so commands and
//! acknowledgements published while the controller was away are delivered
//! when it returns; the lists and tariff are retained. Another
//! controller's entry or exit is acknowledged to the broker only once the
//! lot-state change it makes is journaled: a controller killed in between
//! gets it again when it comes back. A payload that does
//! not decode is logged with its topic and dropped: it can never stop a
//! lane. Commands carry an id, and a redelivered one is applied once.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use parking_core::gate::Input;
use parking_core::wire::{
    self, EventAck, GateCommand, GateEvent, GateEventKind, GateTopic, ListsDelta, ListsSnapshot, LoopMsg, LotTopic,
    Read, ReadMsg, TariffMsg, Topic, Topics,
};
use parking_core::{GateId, Plate};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use parking_runtime::mqtt::Ack;

use super::EngineMsg;
use crate::settings::{LoopSource, Settings};

/// The topics from the lot server (lists, tariff, commands, acks) and the
/// lot's gate events (other controllers' entries and exits).
fn lot_subscriptions(settings: &Settings, topics: &Topics) -> Vec<String> {
    let mut subs = vec![
        topics.lot(LotTopic::Lists),
        topics.lot(LotTopic::ListsDelta),
        topics.lot(LotTopic::Tariff),
        topics.all_gates(GateTopic::Event),
    ];
    for lane in &settings.lanes {
        subs.push(topics.gate(&lane.gate, GateTopic::Command));
        subs.push(topics.gate(&lane.gate, GateTopic::Ack));
    }
    subs
}

/// The topics from the lanes' MQTT devices: reads and loop detectors.
fn device_subscriptions(settings: &Settings, topics: &Topics) -> Vec<String> {
    let mut subs = Vec::new();
    for lane in &settings.lanes {
        // A serial lane can still take QR and plate reads from cameras.
        subs.push(topics.gate(&lane.gate, GateTopic::Read));
        if matches!(lane.loop_detector, LoopSource::Mqtt) {
            subs.push(topics.gate(&lane.gate, GateTopic::Loop));
        }
    }
    subs
}

/// Runs until `shutdown`, reconnecting with back-off: one session on the
/// lot's broker and, with `[device_broker]`, one on the devices' broker.
pub async fn run(
    settings: Settings,
    engine: mpsc::Sender<EngineMsg>,
    acks: mpsc::Sender<EventAck>,
    shutdown: CancellationToken,
) {
    let topics = Topics::new(settings.lot.id.clone());
    let lanes: HashMap<GateId, usize> = settings.lanes.iter().enumerate().map(|(i, l)| (l.gate.clone(), i)).collect();
    // Checked at start-up by the runtime's publishers.
    let session = |broker, link: &str| {
        let mut options = parking_runtime::mqtt::mqtt_options(broker, &settings.client_id(link), None)?;
        options.set_clean_session(false);
        options.set_max_packet_size(256 * 1024 * 1024, 1024 * 1024);
        Ok::<_, parking_runtime::mqtt::BrokerError>(options)
    };
    let mut subs = lot_subscriptions(&settings, &topics);
    let mut router = Router { lanes, engine, acks, seen_commands: VecDeque::new() };
    let devices = match &settings.device_broker {
        Some(broker) => {
            let options = match session(broker, "devices-in") {
                Ok(o) => o,
                Err(e) => return tracing::error!(error = %e, "no link to the devices' broker"),
            };
            let subs = device_subscriptions(&settings, &topics);
            let mut router = router.clone();
            let shutdown = shutdown.clone();
            Some(tokio::spawn(async move {
                parking_runtime::mqtt::subscribe("controller devices", options, &subs, &shutdown, &mut router).await;
            }))
        }
        None => {
            subs.extend(device_subscriptions(&settings, &topics));
            None
        }
    };
    let options = match session(&settings.broker, "in") {
        Ok(o) => o,
        Err(e) => return tracing::error!(error = %e, "no link to the lot's broker"),
    };
    parking_runtime::mqtt::subscribe("controller", options, &subs, &shutdown, &mut router).await;
    if let Some(task) = devices {
        task.abort();
    }
}

impl parking_runtime::mqtt::OnMessage for Router {
    /// False once the engine is gone: we are shutting down.
    async fn on_message(&mut self, msg: rumqttc::Publish, ack: Ack) -> bool {
        self.route(&msg.topic, &msg.payload, ack).await
    }
}

#[derive(Clone)]
struct Router {
    lanes: HashMap<GateId, usize>,
    engine: mpsc::Sender<EngineMsg>,
    acks: mpsc::Sender<EventAck>,
    /// Recent command ids, to apply a redelivered command once.
    seen_commands: VecDeque<uuid::Uuid>,
}

impl Router {
    /// Routes one message; false when the receivers are gone. Another
    /// controller's entry or exit is acknowledged to the broker once the
    /// lot state it changes is journaled (the journal task sends `ack`);
    /// everything else once handed on.
    async fn route(&mut self, topic: &str, payload: &bytes::Bytes, ack: Ack) -> bool {
        let received = Instant::now();
        let (msg, ack) = match self.decode(topic, payload, received) {
            Ok(Some(Routed::Peer(event))) => (EngineMsg::Peer { event, ack: Some(ack) }, None),
            Ok(Some(Routed::Engine(m))) => (m, Some(ack)),
            Ok(Some(Routed::Ack(a))) => {
                let handed = self.acks.send(a).await.is_ok();
                ack.send();
                return handed;
            }
            Ok(None) => {
                ack.send();
                return true;
            }
            Err(e) => {
                tracing::warn!(topic, error = %e, "message refused");
                ack.send();
                return true;
            }
        };
        let handed = self.engine.send(msg).await.is_ok();
        if let Some(ack) = ack {
            ack.send();
        }
        handed
    }

    fn decode(&mut self, topic: &str, payload: &bytes::Bytes, received: Instant) -> Result<Option<Routed>, String> {
        let parsed = Topic::parse(topic).map_err(|e| e.to_string())?;
        let lane_of = |gate: &GateId| self.lanes.get(gate).copied().ok_or_else(|| format!("gate {gate} is not ours"));
        Ok(Some(match parsed {
            Topic::Lot { kind: LotTopic::Lists, .. } => {
                let lists: ListsSnapshot = wire::decode(payload).map_err(|e| e.to_string())?;
                Routed::Engine(EngineMsg::Snapshot { lists, payload: payload.clone() })
            }
            Topic::Lot { kind: LotTopic::ListsDelta, .. } => {
                let delta: ListsDelta = wire::decode(payload).map_err(|e| e.to_string())?;
                Routed::Engine(EngineMsg::Delta { delta, payload: payload.to_vec() })
            }
            Topic::Lot { kind: LotTopic::Tariff, .. } => {
                let tariff: TariffMsg = wire::decode(payload).map_err(|e| e.to_string())?;
                Routed::Engine(EngineMsg::Tariff { tariff, payload: payload.to_vec() })
            }
            Topic::Gate { gate, kind: GateTopic::Ack, .. } => {
                lane_of(&gate)?;
                Routed::Ack(wire::decode::<EventAck>(payload).map_err(|e| e.to_string())?)
            }
            Topic::Gate { gate, kind: GateTopic::Command, .. } => {
                let lane = lane_of(&gate)?;
                let cmd: GateCommand = wire::decode(payload).map_err(|e| e.to_string())?;
                if self.seen_commands.contains(&cmd.command_id) {
                    return Ok(None);
                }
                if self.seen_commands.len() >= 1024 {
                    self.seen_commands.pop_front();
                }
                self.seen_commands.push_back(cmd.command_id);
                Routed::Engine(EngineMsg::Command { lane, command: cmd.command })
            }
            Topic::Gate { gate, kind: GateTopic::Read, .. } => {
                let lane = lane_of(&gate)?;
                let msg: ReadMsg = wire::decode(payload).map_err(|e| e.to_string())?;
                let input = match msg.read {
                    Read::Tag(p) => Input::Tag(p),
                    Read::Qr { text } => Input::Qr(text),
                    Read::TicketButton => Input::TicketButton,
                    Read::Plate { text, plate, confidence } => {
                        let plate = match plate {
                            Some(p) => p,
                            None => text.parse::<Plate>().map_err(|e| format!("plate read: {e}"))?,
                        };
                        Input::Plate { plate, confidence }
                    }
                };
                Routed::Engine(EngineMsg::Input { lane, input, received })
            }
            // Our own events come back; other controllers' entries and
            // exits move the lot state.
            Topic::Gate { gate, kind: GateTopic::Event, .. } => {
                if self.lanes.contains_key(&gate) {
                    return Ok(None);
                }
                let event: GateEvent = wire::decode(payload).map_err(|e| e.to_string())?;
                if !matches!(event.kind, GateEventKind::Entry { .. } | GateEventKind::Exit { .. }) {
                    return Ok(None);
                }
                Routed::Peer(Box::new(event))
            }
            Topic::Gate { gate, kind: GateTopic::Loop, .. } => {
                let lane = lane_of(&gate)?;
                let msg: LoopMsg = wire::decode(payload).map_err(|e| e.to_string())?;
                Routed::Engine(EngineMsg::Input { lane, input: Input::Loop { occupied: msg.occupied }, received })
            }
            // Our own publications echoed back, or topics we do not act on.
            _ => return Ok(None),
        }))
    }
}

enum Routed {
    Engine(EngineMsg),
    /// Another controller's entry or exit: acknowledged once journaled.
    Peer(Box<GateEvent>),
    Ack(EventAck),
}
