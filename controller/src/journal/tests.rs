#![allow(clippy::unwrap_used)]

use parking_core::wire::{Credential, GateEventKind, V1};

use super::*;

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("parking-journal-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("journal.sqlite")
}

fn entry(seq: u64, epc: &str) -> Entry {
    let event = GateEvent {
        v: V1,
        event_id: EventId::from_uuid(uuid::Uuid::new_v4()),
        lot: "hn-01".parse().unwrap(),
        gate: "entry-1".parse().unwrap(),
        seq,
        at: Timestamp::from_unix_seconds(1_800_000_000).unwrap(),
        list_version: 3,
        tariff_version: None,
        kind: GateEventKind::Entry {
            credential: Credential::Tag { epc: epc.parse().unwrap(), tid: None },
            class: VehicleClass::Car,
            plate: None,
        },
    };
    let payload = parking_core::wire::encode(&event);
    Entry { event, payload }
}

#[tokio::test]
async fn committed_events_and_state_survive_a_reopen_until_acknowledged() {
    let path = temp_db("reopen");
    let epc: Epc = "E2000000000000000000000A".parse().unwrap();
    let entered_at = Timestamp::from_unix_seconds(1_800_000_000).unwrap();
    let plate: parking_core::Plate = "29A-123.45".parse().unwrap();
    let inside = Inside { entered_at, class: VehicleClass::Car, plate: Some(plate.clone()) };
    let a = entry(1, "E2000000000000000000000A");
    let b = entry(2, "E2000000000000000000000B");
    let changes = [
        LotChange::Entered { epc: epc.clone(), inside: inside.clone() },
        LotChange::TicketSerial { next: 7 },
        LotChange::TicketUsed { serial: 3 },
        LotChange::TicketPlate { serial: 3, plate: plate.clone() },
        LotChange::TicketPlate { serial: 67, plate: plate.clone() },
    ];
    {
        let mut j = Journal::open(&path, parking_runtime::Clock::wall()).await.unwrap();
        let seqs = j.commit(&[a.clone(), b.clone()], &changes).await.unwrap();
        assert_eq!(seqs.len(), 2);
        assert!(seqs[0] < seqs[1]);
        j.save_snapshot(b"{\"snapshot\":3}").await.unwrap();
        j.save_delta(4, b"{\"delta\":4}").await.unwrap();
        j.save_tariff(b"{\"tariff\":1}").await.unwrap();
    } // dropped without any shutdown step, as a crash would
    let mut j = Journal::open(&path, parking_runtime::Clock::wall()).await.unwrap();
    let r = j.restore().await.unwrap();
    assert_eq!(r.unacked.iter().map(|u| u.event_id).collect::<Vec<_>>(), vec![a.event.event_id, b.event.event_id]);
    assert!(r.changes.contains(&LotChange::Entered { epc, inside }));
    assert!(r.changes.contains(&LotChange::TicketUsed { serial: 3 }));
    // A ticket's plate lasts until the ticket is used, in either order.
    assert!(r.changes.contains(&LotChange::TicketPlate { serial: 67, plate }), "{:?}", r.changes);
    assert!(!r.changes.iter().any(|c| matches!(c, LotChange::TicketPlate { serial: 3, .. })));
    assert!(r.changes.contains(&LotChange::TicketSerial { next: 7 }));
    assert_eq!(r.seqs.get("entry-1"), Some(&2));
    assert_eq!(r.lists.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(), ["snapshot", "delta"]);
    assert_eq!(r.tariff.as_deref(), Some(&b"{\"tariff\":1}"[..]));

    let payloads = j.payloads(&[r.unacked[1].seq]).await.unwrap();
    assert_eq!(payloads[0].2, b.payload);
    assert_eq!(j.ack(&[a.event.event_id]).await.unwrap(), 1);
    assert_eq!(j.ack(&[a.event.event_id]).await.unwrap(), 0, "a repeated ack deletes nothing");
    assert_eq!(j.unacked().await.unwrap().len(), 1);
    // A new snapshot replaces the old base and its deltas.
    j.save_snapshot(b"{}").await.unwrap();
    assert_eq!(j.restore().await.unwrap().lists.len(), 1);
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn the_same_event_cannot_be_journaled_twice() {
    let path = temp_db("twice");
    let mut j = Journal::open(&path, parking_runtime::Clock::wall()).await.unwrap();
    let a = entry(1, "E2000000000000000000000A");
    j.commit(std::slice::from_ref(&a), &[]).await.unwrap();
    let serial = [LotChange::TicketSerial { next: 99 }];
    assert!(j.commit(&[a], &serial).await.is_err(), "the event id is unique");
    let r = j.restore().await.unwrap();
    assert!(!r.changes.contains(&LotChange::TicketSerial { next: 99 }), "the failed batch's changes were rolled back");
    assert_eq!(j.unacked().await.unwrap().len(), 1, "the failed batch left nothing behind");
    std::fs::remove_dir_all(path.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn a_lanes_last_open_survives_a_restart_until_its_vehicle_passes() {
    let path = temp_db("last-open");
    let gate: parking_core::GateId = "exit-1".parse().unwrap();
    let open = LastOpen {
        key: "PT1.hn-01.entry-1.64.1800000000.car.00000000000000000000".into(),
        at: Timestamp::from_unix_millis(1_800_000_000_123).unwrap(),
    };
    let other: parking_core::GateId = "entry-1".parse().unwrap();
    let tag = LastOpen { key: "E2000000000000000000000A".into(), at: open.at };
    {
        let mut j = Journal::open(&path, parking_runtime::Clock::wall()).await.unwrap();
        let opened = [
            LotChange::Opened { gate: gate.clone(), open: open.clone() },
            LotChange::Opened { gate: other.clone(), open: tag },
        ];
        j.commit(&[], &opened).await.unwrap();
        // The entry lane's vehicle crossed; the exit's did not.
        j.commit(&[], &[LotChange::Passed { gate: other }]).await.unwrap();
    }
    let mut j = Journal::open(&path, parking_runtime::Clock::wall()).await.unwrap();
    let restored: Vec<_> = j
        .restore()
        .await
        .unwrap()
        .changes
        .into_iter()
        .filter_map(|c| match c {
            LotChange::Opened { gate, open } => Some((gate, open)),
            _ => None,
        })
        .collect();
    assert_eq!(restored, [(gate, open)]);
}
