//! Round trips for every wire type, a pinned JSON shape for the gate event
//! (controllers and servers of different builds must agree on it), the
//! topic scheme, and refusal of unknown schema versions.

use std::fmt::Debug;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::*;
use crate::ids::{Epc, EventId, GateId, LotId, NodeId};
use crate::money::Vnd;
use crate::payment_code::PaymentCode;
use crate::tariff::{Tariff, TariffBook, fee};
use crate::timestamp::Timestamp;
use crate::vehicle::VehicleClass;

fn round_trip<T: Serialize + DeserializeOwned + PartialEq + Debug>(msg: &T) -> serde_json::Value {
    let bytes = encode(msg);
    let back: T = decode(&bytes).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&bytes)));
    assert_eq!(&back, msg);
    let json: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(json["v"], 1, "every message carries its schema version");
    json
}

fn at(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn gate() -> GateId {
    "exit-1".parse().unwrap()
}

fn lot() -> LotId {
    "hn-01".parse().unwrap()
}

fn epc() -> Epc {
    "E200301666130121155074EF".parse().unwrap()
}

fn example_tariff() -> Tariff {
    Tariff::from_toml(include_str!("../../../config/tariffs/hanoi-zone1-2018-example.toml")).unwrap()
}

fn event(kind: GateEventKind) -> GateEvent {
    GateEvent {
        v: V1,
        event_id: "0191c2a4-7d3e-7000-8000-000000000001".parse::<EventId>().unwrap(),
        lot: lot(),
        gate: gate(),
        seq: 42,
        at: at("2026-11-22T10:00:00Z"),
        list_version: 7,
        tariff_version: Some(example_tariff().version().clone()),
        kind,
    }
}

#[test]
fn reads_and_loop_round_trip() {
    let presence = TagPresence {
        epc: epc(),
        tid: Some("E2801105200074A5".parse().unwrap()),
        antenna: 1,
        rssi: Some(-54),
        first_seen: at("2026-11-22T10:00:00Z"),
        last_seen: at("2026-11-22T10:00:02.5Z"),
        reads: 31,
    };
    for read in [
        Read::Tag(presence),
        Read::Qr { text: "T1.hn-01.abc".into() },
        Read::Plate { text: "29A-123.45".into(), plate: "29A12345".parse().ok(), confidence: 0.93 },
        Read::TicketButton,
    ] {
        let json = round_trip(&ReadMsg { v: V1, gate: gate(), at: at("2026-11-22T10:00:03Z"), read });
        assert!(json["read"]["kind"].is_string());
    }
    round_trip(&LoopMsg { v: V1, gate: gate(), at: at("2026-11-22T10:00:04Z"), occupied: true });
    let button = serde_json::to_value(Read::TicketButton).unwrap();
    assert_eq!(button, serde_json::json!({ "kind": "ticket_button" }));
}

#[test]
fn every_gate_event_kind_round_trips() {
    let t = example_tariff();
    let fee = fee(&t, &VehicleClass::Car, at("2026-11-22T01:00:00Z"), at("2026-11-22T04:30:00Z")).unwrap();
    let tag = Credential::Tag { epc: epc(), tid: None };
    let kinds = [
        GateEventKind::Entry { credential: tag.clone(), class: VehicleClass::Car, plate: "30E-12345".parse().ok() },
        GateEventKind::Entry { credential: Credential::None, class: VehicleClass::Motorbike, plate: None },
        GateEventKind::PaymentRequested {
            credential: tag.clone(),
            class: VehicleClass::Car,
            entered_at: at("2026-11-22T01:00:00Z"),
            fee: fee.clone(),
            payment_code: PaymentCode::new("PK", 6).unwrap(),
            owed: Vnd::new(140_000),
        },
        GateEventKind::Exit {
            credential: tag.clone(),
            class: VehicleClass::Car,
            plate: None,
            entered_at: Some(at("2026-11-22T01:00:00Z")),
            fee: Some(fee.clone()),
            settlement: Settlement::Account { account: "acc-17".into() },
        },
        GateEventKind::Exit {
            credential: Credential::Ticket { code: "T1.x".into() },
            class: VehicleClass::Car,
            plate: None,
            entered_at: None,
            fee: Some(fee),
            settlement: Settlement::Transfer {
                payment_code: PaymentCode::new("PK", 5).unwrap(),
                paid: Vnd::new(140_000),
            },
        },
        GateEventKind::Exit {
            credential: Credential::Plate { plate: "29A-123.45".parse().unwrap() },
            class: VehicleClass::Car,
            plate: None,
            entered_at: None,
            fee: None,
            settlement: Settlement::Unpaid { owed: Vnd::new(50_000) },
        },
        GateEventKind::Denied { credential: tag, reason: DenyReason::ClonedTag },
        GateEventKind::ManualOpen {
            operator: "op-lan".into(),
            reason: ManualOpenReason::EmergencyVehicle,
            note: "ambulance".into(),
        },
        GateEventKind::Alarm { alarm: AlarmKind::Tailgating, detail: "2 passages for 1 open".into() },
        GateEventKind::Held {
            credential: Credential::Ticket { code: "T1.x".into() },
            alarm: AlarmKind::PlateMismatch,
            entered: Some("51F-111.11".parse().unwrap()),
            seen: None,
            detail: "ticket 64 entered as 51F-111.11, no plate read at the exit".into(),
        },
        GateEventKind::HoldDecided { operator: "op-lan".into(), released: false, note: "not the car".into() },
    ];
    let mut named = std::collections::BTreeSet::new();
    for kind in kinds {
        // The name each kind gives is the `type` it travels as.
        let json = serde_json::to_value(&kind).unwrap();
        assert_eq!(json["type"], kind.name());
        named.insert(kind.name());
        round_trip(&event(kind));
    }
    assert!(named.iter().all(|n| GateEventKind::NAMES.contains(n)));
    assert_eq!(named.len(), GateEventKind::NAMES.len(), "every kind is covered here");
    round_trip(&EventAck {
        v: V1,
        event_ids: vec![
            event(GateEventKind::Alarm { alarm: AlarmKind::ReaderOffline, detail: String::new() }).event_id,
        ],
    });
}

#[test]
fn gate_event_json_shape_is_pinned() {
    let e = event(GateEventKind::Entry {
        credential: Credential::Tag { epc: epc(), tid: None },
        class: VehicleClass::Car,
        plate: Some("30E-12345".parse().unwrap()),
    });
    let json = serde_json::to_string(&e).unwrap();
    assert_eq!(
        json,
        concat!(
            r#"{"v":1,"event_id":"0191c2a4-7d3e-7000-8000-000000000001","lot":"hn-01","gate":"exit-1","seq":42,"#,
            r#""at":"2026-11-22T10:00:00Z","list_version":7,"tariff_version":"hn-z1-2018-example","#,
            r#""type":"entry","credential":{"kind":"tag","epc":"E200301666130121155074EF"},"#,
            r#""class":"car","plate":"30E-123.45"}"#
        )
    );
}

#[test]
fn commands_display_and_status_round_trip() {
    let id = uuid::Uuid::from_u128(9);
    let issued_at = at("2026-11-22T10:00:00Z");
    for command in [
        Command::PaymentConfirmed {
            payment_code: PaymentCode::new("PK", 77).unwrap(),
            paid: Vnd::new(30_000),
            remaining: Vnd::new(20_000),
            receipt: None,
        },
        Command::PaymentConfirmed {
            payment_code: PaymentCode::new("PK", 78).unwrap(),
            paid: Vnd::new(50_000),
            remaining: Vnd::ZERO,
            receipt: Some("https://bai-xe.example.vn/lots/hn-01/receipt/0123456789abcdef0123456789abcdef".into()),
        },
        Command::ManualOpen { operator: "op".into(), reason: ManualOpenReason::Other, note: "n".into() },
        Command::ShowMessage { text: "Xin chào".into() },
    ] {
        round_trip(&GateCommand { v: V1, command_id: id, issued_at, command });
    }
    round_trip(&BarrierCommand { v: V1, command_id: id, at: issued_at, pulse_ms: 400 });
    round_trip(&DisplayMsg {
        v: V1,
        gate: gate(),
        at: issued_at,
        lines: vec!["Phí: 50.000đ".into()],
        vietqr: Some("000201010212...".into()),
        amount: Some(Vnd::new(50_000)),
        ticket: None,
        receipt: None,
    });
    round_trip(&DisplayMsg {
        v: V1,
        gate: gate(),
        at: issued_at,
        lines: vec!["Vé / Ticket".into()],
        vietqr: None,
        amount: None,
        ticket: Some("PT1.hn-01.entry-1.1.1800000000.car.00112233445566778899".into()),
        receipt: None,
    });
    round_trip(&DisplayMsg {
        v: V1,
        gate: gate(),
        at: issued_at,
        lines: vec!["Cảm ơn / Thank you".into()],
        vietqr: None,
        amount: None,
        ticket: None,
        receipt: Some("/lots/hn-01/receipt/0123456789abcdef0123456789abcdef".into()),
    });
    // Without a receipt the command is as it was: older lanes read it.
    let plain = Command::PaymentConfirmed {
        payment_code: PaymentCode::new("PK", 77).unwrap(),
        paid: Vnd::new(1),
        remaining: Vnd::ZERO,
        receipt: None,
    };
    let json = serde_json::to_value(&plain).unwrap();
    assert!(json.get("receipt").is_none(), "{json}");
    assert_eq!(serde_json::from_value::<Command>(json).unwrap(), plain);
    round_trip(&LaneStatus {
        v: V1,
        gate: gate(),
        at: issued_at,
        reader_alive: true,
        barrier: BarrierState::Closed,
        last_read_at: None,
        backlog: 0,
    });
    let node: NodeId = "controller-1".parse().unwrap();
    round_trip(&NodeStatus { v: V1, node, role: NodeRole::Controller, online: false, at: issued_at });
}

#[test]
fn lists_and_tariff_round_trip() {
    let tag = TagEntry {
        epc: epc(),
        tid: Some("E2801105200074A5".parse().unwrap()),
        plate: "29A-123.45".parse().ok(),
        class: VehicleClass::Car,
        account: Some("acc-1".into()),
        spendable: Some(Vnd::new(120_000)),
    };
    let pass = PassEntry {
        pass: "p-1".into(),
        epc: None,
        plate: "29-B1 234.56".parse().ok(),
        class: VehicleClass::Motorbike,
        valid_from: time::macros::date!(2026 - 11 - 01),
        valid_until: time::macros::date!(2026 - 11 - 30),
    };
    assert!(pass.valid_at(at("2026-11-30T16:59:59Z")));
    assert!(!pass.valid_at(at("2026-11-30T17:00:00Z")), "1 December, local");
    let deny =
        DenyEntry { target: DenyTarget::Plate("29A-999.99".parse().unwrap()), reason: DenyReason::StolenVehicle };
    let issued_at = at("2026-11-22T10:00:00Z");
    round_trip(&ListsSnapshot {
        v: V1,
        lot: lot(),
        version: 3,
        issued_at,
        tags: vec![tag.clone()],
        deny: vec![deny.clone()],
        passes: vec![pass.clone()],
    });
    round_trip(&ListsDelta {
        v: V1,
        lot: lot(),
        from_version: 3,
        to_version: 4,
        issued_at,
        upsert_tags: vec![tag],
        remove_tags: vec![epc()],
        upsert_deny: vec![deny],
        remove_deny: vec![DenyTarget::Account("acc-9".into())],
        upsert_passes: vec![pass],
        remove_passes: vec!["p-0".into()],
    });
    let book = TariffBook::try_from(vec![example_tariff()]).unwrap();
    round_trip(&TariffMsg { v: V1, lot: lot(), zone: "hanoi-zone-1".into(), issued_at, book });
}

#[test]
fn unknown_schema_versions_are_refused() {
    let json = br#"{"v":2,"event_ids":[]}"#;
    let err = decode::<EventAck>(json).unwrap_err().to_string();
    assert!(err.contains("schema version 2 is not supported"), "{err}");
    assert!(err.contains("EventAck"), "names the type: {err}");
    assert!(decode::<EventAck>(br#"{"event_ids":[]}"#).is_err(), "the version is required");
    assert!(decode::<EventAck>(b"\xff\x00").is_err());
}

#[test]
fn topics_build_and_parse_back() {
    let topics = Topics::new(lot());
    for kind in GateTopic::ALL {
        let t = topics.gate(&gate(), kind);
        assert_eq!(Topic::parse(&t).unwrap(), Topic::Gate { lot: lot(), gate: gate(), kind });
        assert_eq!(Topic::parse(&t).unwrap().to_string(), t);
    }
    assert_eq!(topics.gate(&gate(), GateTopic::Event), "parking/hn-01/gate/exit-1/event");
    assert_eq!(topics.all_gates(GateTopic::Event), "parking/hn-01/gate/+/event");
    assert_eq!(topics.lot(LotTopic::ListsDelta), "parking/hn-01/lists/delta");
    for kind in [LotTopic::Lists, LotTopic::ListsDelta, LotTopic::Tariff] {
        assert_eq!(Topic::parse(&topics.lot(kind)).unwrap(), Topic::Lot { lot: lot(), kind });
    }
    let node: NodeId = "ctl-1".parse().unwrap();
    assert_eq!(Topic::parse(&topics.node_status(&node)).unwrap(), Topic::Node { lot: lot(), node });
    let desk: GateId = "desk-1".parse().unwrap();
    assert_eq!(topics.desk_read(&desk), "parking/hn-01/desk/desk-1/read");
    assert_eq!(Topic::parse(&topics.desk_read(&desk)).unwrap(), Topic::DeskRead { lot: lot(), desk });
    assert_eq!(topics.all_desk_reads(), "parking/hn-01/desk/+/read");
    for bad in [
        "",
        "parking",
        "other/hn-01/tariff",
        "parking/hn-01/gate/exit-1/nope",
        "parking/HN/tariff",
        "parking/hn-01/gate/a+b/read",
        "parking/hn-01/desk/desk-1/event",
    ] {
        assert!(Topic::parse(bad).is_err(), "{bad:?}");
    }
}
