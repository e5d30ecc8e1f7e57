//! A read as the bridge publishes it: a `ReadMsg` on its gate's `read`
//! topic (QoS 1, not retained), from the reader or from a camera frame.

use parking_core::wire::{self, GateTopic, Read, ReadMsg, Topics, V1};
use parking_core::{GateId, Timestamp};
use parking_runtime::mqtt::OutMsg;

/// The message publishing `read`, seen at `at` at `gate`.
pub fn read_msg(topics: &Topics, gate: &GateId, at: Timestamp, read: Read) -> OutMsg {
    let msg = ReadMsg { v: V1, gate: gate.clone(), at, read };
    OutMsg { topic: topics.gate(gate, GateTopic::Read), payload: wire::encode(&msg), retain: false }
}
