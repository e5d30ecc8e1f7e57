//! Health on the wire: a lane's retained status (reader, barrier,
//! backlog) and a process's online flag with its last will.

use serde::{Deserialize, Serialize};

use super::V1;
use crate::ids::{GateId, NodeId};
use crate::timestamp::Timestamp;

/// The barrier as far as the controller knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BarrierState {
    Closed,
    Opening,
    Open,
    Unknown,
}

/// `…/gate/{gate}/status` (retained): health of one lane.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneStatus {
    pub v: V1,
    pub gate: GateId,
    pub at: Timestamp,
    pub reader_alive: bool,
    pub barrier: BarrierState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_read_at: Option<Timestamp>,
    pub backlog: u64,
}

/// What kind of process a node is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    Controller,
    ReaderBridge,
    LotServer,
}

/// `parking/{lot}/node/{node}/status` (retained): online, or the last will
/// `online: false` that the broker publishes when the process vanishes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeStatus {
    pub v: V1,
    pub node: NodeId,
    pub role: NodeRole,
    pub online: bool,
    /// When the status was composed; a last will carries its connect time.
    pub at: Timestamp,
}
