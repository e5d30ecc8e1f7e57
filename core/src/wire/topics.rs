//! The MQTT topic scheme. One lot is `parking/{lot}`; under it:
//!
//! | topic | from → to | payload | QoS, retained |
//! |---|---|---|---|
//! | `parking/{lot}/gate/{gate}/read` | reader bridge → controller | [`ReadMsg`](super::ReadMsg) | 1 |
//! | `parking/{lot}/gate/{gate}/loop` | loop detector → controller | [`LoopMsg`](super::LoopMsg) | 1 |
//! | `parking/{lot}/gate/{gate}/event` | controller → lot server | [`GateEvent`](super::GateEvent) | 1 |
//! | `parking/{lot}/gate/{gate}/ack` | lot server → controller | [`EventAck`](super::EventAck) | 1 |
//! | `parking/{lot}/gate/{gate}/cmd` | lot server → controller | [`GateCommand`](super::GateCommand) | 1 |
//! | `parking/{lot}/gate/{gate}/barrier` | controller → MQTT barrier | [`BarrierCommand`](super::BarrierCommand) | 1 |
//! | `parking/{lot}/gate/{gate}/display` | controller → lane display | [`DisplayMsg`](super::DisplayMsg) | 1, retained |
//! | `parking/{lot}/gate/{gate}/status` | controller → anyone | [`LaneStatus`](super::LaneStatus) | 1, retained |
//! | `parking/{lot}/gate/{gate}/photo` | controller → lot server | [`PhotoMsg`](super::PhotoMsg) | 1 |
//! | `parking/{lot}/node/{node}/status` | any process → anyone | [`NodeStatus`](super::NodeStatus) | 1, retained, last will |
//! | `parking/{lot}/lists` | lot server → controllers | [`ListsSnapshot`](super::ListsSnapshot) | 1, retained |
//! | `parking/{lot}/lists/delta` | lot server → controllers | [`ListsDelta`](super::ListsDelta) | 1 |
//! | `parking/{lot}/tariff` | lot server → controllers | [`TariffMsg`](super::TariffMsg) | 1, retained |
//! | `parking/{lot}/availability` | lot server → anyone (drivers' apps, city boards) | free spaces by class, JSON | 1, retained |
//!
//! Lot and gate ids are slugs (`a-z0-9-_`), so no id can inject a `/`,
//! `+` or `#` into a topic.

use std::fmt;

use crate::ids::{GateId, IdError, LotId, NodeId};

/// Topics under one gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GateTopic {
    Read,
    Loop,
    Event,
    Ack,
    Command,
    Barrier,
    Display,
    Status,
    Photo,
}

impl GateTopic {
    pub const ALL: [GateTopic; 9] = [
        GateTopic::Read,
        GateTopic::Loop,
        GateTopic::Event,
        GateTopic::Ack,
        GateTopic::Command,
        GateTopic::Barrier,
        GateTopic::Display,
        GateTopic::Status,
        GateTopic::Photo,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GateTopic::Read => "read",
            GateTopic::Loop => "loop",
            GateTopic::Event => "event",
            GateTopic::Ack => "ack",
            GateTopic::Command => "cmd",
            GateTopic::Barrier => "barrier",
            GateTopic::Display => "display",
            GateTopic::Status => "status",
            GateTopic::Photo => "photo",
        }
    }
}

/// Lot-wide topics.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum LotTopic {
    Lists,
    ListsDelta,
    Tariff,
    /// Free spaces by vehicle class, for anyone to read.
    Availability,
}

impl LotTopic {
    pub fn as_str(self) -> &'static str {
        match self {
            LotTopic::Lists => "lists",
            LotTopic::ListsDelta => "lists/delta",
            LotTopic::Tariff => "tariff",
            LotTopic::Availability => "availability",
        }
    }
}

/// A topic, parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Topic {
    Gate {
        lot: LotId,
        gate: GateId,
        kind: GateTopic,
    },
    /// A registration desk's reader: `parking/{lot}/desk/{desk}/read`.
    DeskRead {
        lot: LotId,
        desk: GateId,
    },
    Node {
        lot: LotId,
        node: NodeId,
    },
    Lot {
        lot: LotId,
        kind: LotTopic,
    },
}

/// Why a topic is not one of ours.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TopicError {
    #[error("topic {0:?} is not in the parking/{{lot}}/… scheme")]
    Unknown(String),
    #[error("topic {topic:?}: {source}")]
    BadId { topic: String, source: IdError },
}

/// Builds the topics of one lot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Topics {
    lot: LotId,
}

impl Topics {
    pub fn new(lot: LotId) -> Self {
        Topics { lot }
    }

    pub fn lot_id(&self) -> &LotId {
        &self.lot
    }

    pub fn gate(&self, gate: &GateId, kind: GateTopic) -> String {
        format!("parking/{}/gate/{}/{}", self.lot, gate, kind.as_str())
    }

    /// Filter for one kind of topic on every gate: `parking/{lot}/gate/+/event`.
    pub fn all_gates(&self, kind: GateTopic) -> String {
        format!("parking/{}/gate/+/{}", self.lot, kind.as_str())
    }

    pub fn lot(&self, kind: LotTopic) -> String {
        format!("parking/{}/{}", self.lot, kind.as_str())
    }

    /// A registration desk's reader publishes its reads here (a `ReadMsg`,
    /// as a lane's reader does), for the desk's form, not for a lane.
    pub fn desk_read(&self, desk: &GateId) -> String {
        format!("parking/{}/desk/{}/read", self.lot, desk)
    }

    /// Filter for every desk's reads: `parking/{lot}/desk/+/read`.
    pub fn all_desk_reads(&self) -> String {
        format!("parking/{}/desk/+/read", self.lot)
    }

    /// Filter for every process's status: `parking/{lot}/node/+/status`.
    pub fn all_nodes(&self) -> String {
        format!("parking/{}/node/+/status", self.lot)
    }

    /// The retained status of a process (controller, reader bridge, server);
    /// `node` must be a slug like a gate id.
    pub fn node_status(&self, node: &NodeId) -> String {
        format!("parking/{}/node/{}/status", self.lot, node)
    }
}

impl Topic {
    pub fn parse(topic: &str) -> Result<Topic, TopicError> {
        let unknown = || TopicError::Unknown(topic.chars().take(200).collect());
        let bad = |source| TopicError::BadId { topic: topic.chars().take(200).collect(), source };
        let parts: Vec<&str> = topic.split('/').collect();
        let (root, lot_str, rest) = match parts.as_slice() {
            [root, lot, rest @ ..] => (*root, *lot, rest),
            _ => return Err(unknown()),
        };
        if root != "parking" {
            return Err(unknown());
        }
        let lot: LotId = lot_str.parse().map_err(bad)?;
        match rest {
            ["gate", gate, kind] => {
                let kind = GateTopic::ALL.into_iter().find(|k| k.as_str() == *kind).ok_or_else(unknown)?;
                Ok(Topic::Gate { lot, gate: gate.parse().map_err(bad)?, kind })
            }
            ["node", node, "status"] => Ok(Topic::Node { lot, node: node.parse().map_err(bad)? }),
            ["desk", desk, "read"] => Ok(Topic::DeskRead { lot, desk: desk.parse().map_err(bad)? }),
            ["lists"] => Ok(Topic::Lot { lot, kind: LotTopic::Lists }),
            ["lists", "delta"] => Ok(Topic::Lot { lot, kind: LotTopic::ListsDelta }),
            ["tariff"] => Ok(Topic::Lot { lot, kind: LotTopic::Tariff }),
            ["availability"] => Ok(Topic::Lot { lot, kind: LotTopic::Availability }),
            _ => Err(unknown()),
        }
    }
}

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Topic::Gate { lot, gate, kind } => write!(f, "parking/{lot}/gate/{gate}/{}", kind.as_str()),
            Topic::Node { lot, node } => write!(f, "parking/{lot}/node/{node}/status"),
            Topic::DeskRead { lot, desk } => write!(f, "parking/{lot}/desk/{desk}/read"),
            Topic::Lot { lot, kind } => write!(f, "parking/{lot}/{}", kind.as_str()),
        }
    }
}
