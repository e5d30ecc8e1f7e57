#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parking_core::tariff::TariffVersion;
use parking_core::wire::{AlarmKind, ManualOpenReason, V1};
use parking_core::{Epc, Vnd};
use sqlx::Row;

use super::*;
use crate::on_both_databases;

fn ts(s: &str) -> Timestamp {
    format!("2026-11-22T{s}+07:00").parse().unwrap()
}

fn event(n: u64, gate: &str, at: &str, kind: GateEventKind) -> GateEvent {
    GateEvent {
        v: V1,
        event_id: EventId::from_uuid(uuid::Uuid::from_u64_pair(7, n)),
        lot: "hn-01".parse().unwrap(),
        gate: gate.parse().unwrap(),
        seq: n,
        at: ts(at),
        list_version: 3,
        tariff_version: Some(TariffVersion::try_from("hn-z1-2018-example".to_owned()).unwrap()),
        kind,
    }
}

fn tag(epc: &str) -> Credential {
    Credential::Tag { epc: epc.parse::<Epc>().unwrap(), tid: None }
}

fn entry(n: u64, at: &str, epc: &str) -> GateEvent {
    event(
        n,
        "entry-1",
        at,
        GateEventKind::Entry { credential: tag(epc), class: parking_core::VehicleClass::Car, plate: None },
    )
}

fn exit(n: u64, at: &str, epc: &str, fee: i64) -> GateEvent {
    event(
        n,
        "exit-1",
        at,
        GateEventKind::Exit {
            credential: tag(epc),
            class: parking_core::VehicleClass::Car,
            plate: None,
            entered_at: None,
            fee: None,
            settlement: if fee == 0 { Settlement::Free } else { Settlement::Unpaid { owed: Vnd::new(fee) } },
        },
    )
}

fn policy() -> crate::settlement::Policy {
    crate::settlement::Policy::from_tax(&Default::default()).unwrap()
}

async fn count(db: &Db, sql: &str) -> i64 {
    sqlx::query(sql).fetch_one(&db.pool).await.unwrap().try_get::<i64, _>(0).unwrap()
}

const A: &str = "E20000000000000000000001";
const B: &str = "E20000000000000000000002";

async fn redeliveries_change_nothing(db: &Db) {
    let now = ts("12:00:00");
    let batch = vec![entry(1, "09:00:00", A), exit(2, "11:00:00", A, 0)];
    let first = commit(db, &policy(), &batch, now).await.unwrap();
    assert_eq!(first.new, 2);
    // The same events again, in another order, and twice within a batch.
    let again = vec![exit(2, "11:00:00", A, 0), entry(1, "09:00:00", A), entry(1, "09:00:00", A)];
    let second = commit(db, &policy(), &again, now).await.unwrap();
    assert_eq!(second.new, 0, "nothing new");
    assert_eq!(second.committed.len(), 3, "every delivery is acknowledged");
    assert_eq!(count(db, "SELECT COUNT(*) FROM gate_events").await, 2);
    assert_eq!(count(db, "SELECT COUNT(*) FROM sessions").await, 1);
    let row =
        sqlx::query("SELECT state, duration_s, entered_ms, exited_ms FROM sessions").fetch_one(&db.pool).await.unwrap();
    assert_eq!(row.get::<String, _>(0), "closed");
    assert_eq!(row.get::<i64, _>(1), 2 * 3600);
    assert_eq!(count(db, "SELECT COUNT(*) FROM exceptions").await, 0);
}
on_both_databases!(redeliveries, redeliveries_change_nothing);

async fn an_exit_before_its_entry_is_completed_when_the_entry_arrives(db: &Db) {
    let now = ts("12:00:00");
    commit(db, &policy(), &[exit(2, "11:00:00", B, 80_000)], now).await.unwrap();
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM exceptions WHERE kind = 'exit_without_entry' AND state = 'open'").await,
        1
    );
    commit(db, &policy(), &[entry(1, "09:30:00", B)], now).await.unwrap();
    assert_eq!(count(db, "SELECT COUNT(*) FROM sessions").await, 1, "one stay, not two");
    let row = sqlx::query("SELECT state, duration_s, fee_vnd FROM sessions").fetch_one(&db.pool).await.unwrap();
    assert_eq!((row.get::<String, _>(0), row.get::<i64, _>(1)), ("closed".to_owned(), 90 * 60));
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM exceptions WHERE state = 'open'").await,
        0,
        "the exception resolved itself"
    );
}
on_both_databases!(out_of_order, an_exit_before_its_entry_is_completed_when_the_entry_arrives);

async fn exceptions_for_the_operator(db: &Db) {
    let now = ts("12:00:00");
    let manual = event(
        5,
        "exit-1",
        "10:00:00",
        GateEventKind::ManualOpen {
            operator: "lan".into(),
            reason: ManualOpenReason::EquipmentFault,
            note: "reader dead".into(),
        },
    );
    let alarm = event(
        6,
        "exit-1",
        "10:01:00",
        GateEventKind::Alarm { alarm: AlarmKind::Tailgating, detail: "two passages".into() },
    );
    commit(db, &policy(), &[entry(1, "08:00:00", A), entry(2, "09:00:00", A), manual, alarm], now).await.unwrap();
    assert_eq!(count(db, "SELECT COUNT(*) FROM exceptions WHERE kind = 'double_entry'").await, 1);
    assert_eq!(count(db, "SELECT COUNT(*) FROM exceptions WHERE kind = 'manual_open'").await, 1);
    assert_eq!(count(db, "SELECT COUNT(*) FROM exceptions WHERE kind = 'alarm:tailgating'").await, 1);
    assert_eq!(
        count(db, "SELECT COUNT(*) FROM sessions WHERE state = 'open'").await,
        1,
        "the later entry is the open stay"
    );
    // The exit closes the latest entry.
    commit(db, &policy(), &[exit(3, "10:30:00", A, 0)], now).await.unwrap();
    let row =
        sqlx::query("SELECT duration_s FROM sessions WHERE exit_event IS NOT NULL").fetch_one(&db.pool).await.unwrap();
    assert_eq!(row.get::<i64, _>(0), 90 * 60);
}
on_both_databases!(exceptions, exceptions_for_the_operator);

#[test]
fn credential_keys() {
    let t = Credential::Ticket { code: "PT1.hn-01.entry-1.4711.1800000000.car.00112233445566778899".into() };
    assert_eq!(credential_key("hn-01", &t), "ticket:hn-01:4711");
    assert_eq!(credential_key("hn-01", &tag(A)), format!("tag:{A}"));
    let p = Credential::Plate { plate: "30E-123.45".parse().unwrap() };
    assert_eq!(credential_key("hn-01", &p), "plate:30E12345");
}
