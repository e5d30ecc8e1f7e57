//! Every parser of outside bytes in the core, fed random and mutated input:
//! MQTT payloads of every message type, topics, VietQR payloads, transfer
//! memos, QR tickets, configuration text, plates and ids. Each must answer
//! with a value or an error, never a panic. A decoded message is encoded
//! and decoded again to the same value.
//!
//! Brief by default (the README's test command); longer on demand:
//! `PROPTEST_CASES=200000 cargo test --release -p parking-core --test hostile_input`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parking_core::config::Loader;
use parking_core::gate::{Ticket, TicketKey};
use parking_core::secret::Secret;
use parking_core::settings::{BrokerSettings, LotSettings};
use parking_core::testing::mutate;
use parking_core::vietqr::VietQr;
use parking_core::wire::{self, Topic};
use parking_core::{Epc, GateId, LotId, PaymentCode, Plate, Tid};
use proptest::prelude::*;

/// A real VietQR payload (the dynamic vector of docs/settlement.md).
const VIETQR: &str = "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA530370454061800005802VN62340107NPS68690819thanh toan don hang63042E2E";

/// Well-formed payloads of each message type, to mutate.
const PAYLOADS: &[&str] = &[
    r#"{"v":1,"gate":"entry-1","at":"2026-11-22T10:00:03Z","read":{"kind":"tag","epc":"E200301666130121155074EF","antenna":1,"first_seen":"2026-11-22T10:00:00Z","last_seen":"2026-11-22T10:00:02Z","reads":3}}"#,
    r#"{"v":1,"gate":"entry-1","at":"2026-11-22T10:00:03Z","read":{"kind":"ticket_button"}}"#,
    r#"{"v":1,"gate":"exit-1","at":"2026-11-22T10:00:04Z","occupied":true}"#,
    r#"{"v":1,"event_id":"0191c2a4-7d3e-7000-8000-000000000001","lot":"hn-01","gate":"exit-1","seq":42,"at":"2026-11-22T10:00:00Z","list_version":7,"tariff_version":"hn-z1-2018-example","type":"entry","credential":{"kind":"tag","epc":"E200301666130121155074EF"},"class":"car","plate":"30E-123.45"}"#,
    r#"{"v":1,"command_id":"0191c2a4-7d3e-7000-8000-000000000002","issued_at":"2026-11-22T10:00:00Z","type":"manual_open","operator":"an","reason":"other","note":"x"}"#,
    r#"{"v":1,"gate":"exit-1","at":"2026-11-22T10:00:00Z","lines":["a"],"vietqr":"000201","amount":50000}"#,
];

/// Decodes `bytes` as every message type; what decodes must round-trip.
fn every_message(bytes: &[u8]) {
    macro_rules! each {
        ($($t:ty),*) => {$(
            if let Ok(m) = wire::decode::<$t>(bytes) {
                let again: $t = wire::decode(&wire::encode(&m)).expect("what decoded re-encodes");
                assert_eq!(again, m);
            }
        )*};
    }
    each!(
        wire::ReadMsg,
        wire::LoopMsg,
        wire::GateEvent,
        wire::EventAck,
        wire::GateCommand,
        wire::DisplayMsg,
        wire::LaneStatus,
        wire::NodeStatus,
        wire::ListsDelta,
        wire::ListsSnapshot,
        wire::TariffMsg
    );
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct LotFile {
    lot: LotSettings,
    broker: BrokerSettings,
}

const CONFIG: &str =
    "[lot]\nid = \"hn-01\"\nname = \"x\"\nzone = \"hanoi-zone-1\"\ntariff_dir = \"t\"\n[broker]\nport = 1883\n";

fn edits() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8)
}

proptest! {
    #[test]
    fn mqtt_payloads_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        every_message(&bytes);
    }

    #[test]
    fn mutated_mqtt_payloads_never_panic(which in 0..PAYLOADS.len(), e in edits()) {
        every_message(&mutate(PAYLOADS[which].as_bytes(), &e));
    }

    #[test]
    fn topics_and_ids_never_panic(text in "\\PC{0,80}", raw in prop::collection::vec(any::<u8>(), 0..64)) {
        let lossy = String::from_utf8_lossy(&raw).into_owned();
        for t in [&text, &lossy] {
            let _ = Topic::parse(t);
            let _ = Topic::parse(&format!("parking/{t}/gate/x/read"));
            let _ = t.parse::<LotId>();
            let _ = t.parse::<GateId>();
            let _ = t.parse::<Epc>();
            let _ = t.parse::<Tid>();
            let _ = t.parse::<Plate>();
            let _ = PaymentCode::find_in_memo(t);
        }
    }

    #[test]
    fn vietqr_payloads_never_panic(e in edits(), text in "\\PC{0,300}") {
        let mutated = String::from_utf8_lossy(&mutate(VIETQR.as_bytes(), &e)).into_owned();
        for p in [&mutated, &text] {
            if let Ok(q) = VietQr::decode(p) {
                // What decodes carries a checked CRC: its fields are sane.
                prop_assert_eq!(q.bin.len(), 6);
            }
        }
    }

    #[test]
    fn tickets_never_panic(e in edits(), text in "\\PC{0,120}") {
        let key = TicketKey::new(Secret::new("fuzz-ticket-key-0123456789")).unwrap();
        let lot: LotId = "hn-01".parse().unwrap();
        let real = "PT1.hn-01.entry-1.42.1795400000.car.00112233445566778899AABBCCDDEEFF";
        let mutated = String::from_utf8_lossy(&mutate(real.as_bytes(), &e)).into_owned();
        for t in [&mutated, &text] {
            // A forged ticket never verifies.
            prop_assert!(Ticket::verify(t, &key, &lot).is_err());
        }
    }

    #[test]
    fn configuration_text_never_panics(e in edits(), text in "\\PC{0,200}") {
        let mutated = String::from_utf8_lossy(&mutate(CONFIG.as_bytes(), &e)).into_owned();
        for t in [mutated, text] {
            let loaded = Loader::new()
                .files(&["lot.toml"], |_: std::path::PathBuf| Ok::<_, std::io::Error>(t.clone()))
                .and_then(|l| l.load::<LotFile>());
            if let Err(err) = loaded {
                // A refusal names the file.
                prop_assert!(err.to_string().contains("lot.toml"), "{}", err);
            }
        }
    }
}
