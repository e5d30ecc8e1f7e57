//! A read as the bridge publishes it: a `ReadMsg` on its gate's `read`
//! topic (QoS 1, not retained), from the reader or from a camera frame;
//! a desk reader's on `parking/{lot}/desk/{desk}/read` instead.

use parking_core::wire::{self, GateTopic, Read, ReadMsg, Topics, V1};
use parking_core::{GateId, Timestamp};
use parking_runtime::mqtt::OutMsg;

/// The message publishing `read`, seen at `at` at `gate` (a lane), or at
/// the registration desk of that name when `desk`.
pub fn read_msg(topics: &Topics, gate: &GateId, desk: bool, at: Timestamp, read: Read) -> OutMsg {
    let msg = ReadMsg { v: V1, gate: gate.clone(), at, read };
    let topic = if desk { topics.desk_read(gate) } else { topics.gate(gate, GateTopic::Read) };
    OutMsg { topic, payload: wire::encode(&msg), retain: false }
}

#[cfg(test)]
mod tests {
    use parking_core::wire::{Read, Topics};

    #[test]
    fn a_desk_reader_publishes_on_the_desk_topic_a_lane_reader_on_its_gate() {
        let topics = Topics::new("hn-01".parse().unwrap());
        let at = parking_core::Timestamp::from_unix_millis(1_780_000_000_000).unwrap();
        let qr = || Read::Qr { text: "x".into() };
        let gate = "desk-1".parse().unwrap();
        assert_eq!(super::read_msg(&topics, &gate, true, at, qr()).topic, "parking/hn-01/desk/desk-1/read");
        assert_eq!(super::read_msg(&topics, &gate, false, at, qr()).topic, "parking/hn-01/gate/desk-1/read");
    }
}
