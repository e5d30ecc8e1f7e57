//! Any bytes as any MQTT payload the system reads, and any text as a topic:
//! nothing panics, and a message that decodes encodes to one that decodes
//! to the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parking_core::wire::{self, Topic};

fn round_trip<T>(payload: &[u8])
where
    T: serde::de::DeserializeOwned + serde::Serialize + PartialEq + std::fmt::Debug,
{
    if let Ok(msg) = wire::decode::<T>(payload) {
        let again = wire::encode(&msg);
        let back: T = wire::decode(&again).expect("an encoded message decodes");
        assert_eq!(back, msg);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&kind, payload)) = data.split_first() else { return };
    match kind % 13 {
        0 => round_trip::<wire::GateEvent>(payload),
        1 => round_trip::<wire::ReadMsg>(payload),
        2 => round_trip::<wire::LoopMsg>(payload),
        3 => round_trip::<wire::GateCommand>(payload),
        4 => round_trip::<wire::EventAck>(payload),
        5 => round_trip::<wire::BarrierCommand>(payload),
        6 => round_trip::<wire::DisplayMsg>(payload),
        7 => round_trip::<wire::LaneStatus>(payload),
        8 => round_trip::<wire::NodeStatus>(payload),
        9 => {
            let _ = wire::decode::<wire::ListsSnapshot>(payload);
        }
        10 => {
            let _ = wire::decode::<wire::ListsDelta>(payload);
        }
        11 => {
            let _ = wire::decode::<wire::TariffMsg>(payload);
        }
        _ => {
            if let Ok(text) = std::str::from_utf8(payload) {
                let _ = Topic::parse(text);
            }
        }
    }
});
