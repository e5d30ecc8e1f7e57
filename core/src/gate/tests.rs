//! Every flow through the pure lane state machine, with time as a value.

use super::*;
use crate::ids::{GateId, LotId, Tid};
use crate::secret::Secret;
use crate::tariff::{Tariff, TariffBook};
use crate::vehicle::VehicleClass;
use crate::wire::{
    AlarmKind, Credential, DenyEntry, DenyReason, DenyTarget, Direction, ListsDelta, ListsSnapshot, PassEntry,
    Settlement, TagEntry, V1,
};

const ACCOUNT_TAG: &str = "E20000000000000000000001";
const PLAIN_TAG: &str = "E20000000000000000000002";
const PASS_TAG: &str = "E20000000000000000000003";
const STOLEN_TAG: &str = "E20000000000000000000004";
const BLOCKED_TAG: &str = "E20000000000000000000005";
const UNKNOWN_TAG: &str = "E200000000000000000000FF";
const TID: &str = "E2801105200074A5";

fn at(local: &str) -> Timestamp {
    format!("2026-11-22T{local}+07:00").parse().unwrap()
}

fn lot() -> LotId {
    "hn-01".parse().unwrap()
}

struct World {
    lists: EdgeLists,
    book: TariffBook,
    key: TicketKey,
    state: LotState,
}

fn tag_entry(epc: &str, class: VehicleClass, account: Option<&str>) -> TagEntry {
    TagEntry {
        epc: epc.parse().unwrap(),
        tid: None,
        plate: None,
        class,
        account: account.map(str::to_owned),
        spendable: None,
    }
}

fn world() -> World {
    let mut account_tag = tag_entry(ACCOUNT_TAG, VehicleClass::Car, Some("acc-1"));
    account_tag.tid = Some(TID.parse().unwrap());
    account_tag.plate = Some("29A-123.45".parse().unwrap());
    let snapshot = ListsSnapshot {
        v: V1,
        lot: lot(),
        version: 1,
        issued_at: at("00:00:00"),
        tags: vec![
            account_tag,
            tag_entry(PLAIN_TAG, VehicleClass::Motorbike, None),
            tag_entry(PASS_TAG, VehicleClass::Car, None),
            tag_entry(STOLEN_TAG, VehicleClass::Car, None),
            tag_entry(BLOCKED_TAG, VehicleClass::Car, Some("acc-bad")),
        ],
        deny: vec![
            DenyEntry { target: DenyTarget::Epc(STOLEN_TAG.parse().unwrap()), reason: DenyReason::StolenVehicle },
            DenyEntry { target: DenyTarget::Account("acc-bad".into()), reason: DenyReason::BlockedAccount },
            DenyEntry { target: DenyTarget::Plate("29A-999.99".parse().unwrap()), reason: DenyReason::StolenVehicle },
        ],
        passes: vec![PassEntry {
            pass: "pass-1".into(),
            epc: Some(PASS_TAG.parse().unwrap()),
            plate: Some("30E-555.55".parse().unwrap()),
            class: VehicleClass::Car,
            valid_from: time::macros::date!(2026 - 11 - 01),
            valid_until: time::macros::date!(2026 - 11 - 30),
        }],
    };
    let mut lists = EdgeLists::default();
    lists.apply_snapshot("hn-01", snapshot).unwrap();
    let tariff = Tariff::from_toml(include_str!("../../../config/tariffs/hanoi-zone1-2018-example.toml")).unwrap();
    World {
        lists,
        book: TariffBook::try_from(vec![tariff]).unwrap(),
        key: TicketKey::new(Secret::new("the lot's ticket key, 32 bytes..")).unwrap(),
        state: LotState::default(),
    }
}

fn lane(gate: &str, direction: Direction) -> Lane {
    Lane::new(config(gate, direction))
}

fn config(gate: &str, direction: Direction) -> LaneConfig {
    LaneConfig {
        lot: lot(),
        gate: gate.parse::<GateId>().unwrap(),
        direction,
        pulse_ms: 400,
        pass_timeout_ms: 30_000,
        arm_held_ms: 60_000,
        tailgate_window_ms: 5_000,
        ticket_class: VehicleClass::Car,
        min_plate_confidence: 0.8,
        plate_valid_ms: 10_000,
        reopen_within_ms: 300_000,
        exit_without_entry: ExitWithoutEntry::OpenAndCharge,
        plates: PlatePolicy::default(),
    }
}

impl World {
    fn run(&mut self, lane: &mut Lane, input: Input, now: Timestamp) -> Vec<Action> {
        let mut ctx = Context {
            lists: &self.lists,
            tariffs: &self.book,
            zone: "hanoi-zone-1",
            key: &self.key,
            lot: &mut self.state,
        };
        lane.handle(input, now, &mut ctx)
    }
}

fn tag(epc: &str, now: Timestamp) -> Input {
    Input::Tag(TagPresence {
        epc: epc.parse().unwrap(),
        tid: None,
        antenna: 0,
        rssi: Some(60),
        first_seen: now,
        last_seen: now,
        reads: 3,
    })
}

fn pulses(actions: &[Action]) -> usize {
    actions.iter().filter(|a| matches!(a, Action::Pulse { .. })).count()
}

fn events(actions: &[Action]) -> Vec<&GateEventKind> {
    actions.iter().filter_map(|a| if let Action::Emit { kind, .. } = a { Some(kind) } else { None }).collect()
}

fn alarms(actions: &[Action]) -> Vec<AlarmKind> {
    events(actions)
        .into_iter()
        .filter_map(|k| if let GateEventKind::Alarm { alarm, .. } = k { Some(*alarm) } else { None })
        .collect()
}

fn denial(actions: &[Action]) -> Option<DenyReason> {
    events(actions)
        .into_iter()
        .find_map(|k| if let GateEventKind::Denied { reason, .. } = k { Some(*reason) } else { None })
}

fn ticket_text(actions: &[Action]) -> String {
    actions.iter().find_map(|a| if let Action::PrintTicket { text } = a { Some(text.clone()) } else { None }).unwrap()
}

#[test]
fn registered_tag_enters_once_then_anti_passback_refuses() {
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    let a = w.run(&mut entry, tag(ACCOUNT_TAG, at("09:00:00")), at("09:00:00"));
    assert_eq!(pulses(&a), 1);
    assert!(matches!(events(&a)[..], [GateEventKind::Entry { class: VehicleClass::Car, .. }]));
    assert!(w.state.inside.contains_key(&ACCOUNT_TAG.parse().unwrap()));
    w.run(&mut entry, Input::Loop { occupied: true }, at("09:00:03"));
    w.run(&mut entry, Input::Loop { occupied: false }, at("09:00:04"));
    let again = w.run(&mut entry, tag(ACCOUNT_TAG, at("09:05:00")), at("09:05:00"));
    assert_eq!(pulses(&again), 0);
    assert_eq!(denial(&again), Some(DenyReason::AlreadyInside));
}

#[test]
fn unregistered_tag_and_ticket_button_get_a_signed_ticket() {
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    let a = w.run(&mut entry, tag(UNKNOWN_TAG, at("09:00:00")), at("09:00:00"));
    assert_eq!(pulses(&a), 1);
    let t = Ticket::verify(&ticket_text(&a), &w.key, &lot()).unwrap();
    assert_eq!((t.serial, t.entered_at, t.class), (0, at("09:00:00"), VehicleClass::Car));
    assert!(matches!(events(&a)[..], [GateEventKind::Entry { credential: Credential::Ticket { .. }, .. }]));
    let b = w.run(&mut entry, Input::TicketButton, at("09:01:00"));
    // Series 0 of the lot's numbering: the next serial is 64 (see lot.rs).
    assert_eq!(Ticket::verify(&ticket_text(&b), &w.key, &lot()).unwrap().serial, 64, "serials never repeat");
}

#[test]
fn forged_tickets_are_refused_with_an_alarm() {
    let mut w = world();
    let (mut entry, mut exit) = (lane("entry-1", Direction::Entry), lane("exit-1", Direction::Exit));
    let text = ticket_text(&w.run(&mut entry, Input::TicketButton, at("09:00:00")));
    // Move the entry time forward to pay less.
    let later = at("11:00:00").unix_seconds().to_string();
    let forged = text.replace(&at("09:00:00").unix_seconds().to_string(), &later);
    let a = w.run(&mut exit, Input::Qr(forged), at("11:05:00"));
    assert_eq!(pulses(&a), 0);
    assert_eq!(denial(&a), Some(DenyReason::ForgedTicket));
    assert_eq!(alarms(&a), [AlarmKind::ForgedTicket]);
    let b = w.run(&mut exit, Input::Qr("https://example.com/promo".into()), at("11:06:00"));
    assert_eq!(denial(&b), Some(DenyReason::ForgedTicket));
}

#[test]
fn deny_list_hits_never_open() {
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    let a = w.run(&mut entry, tag(STOLEN_TAG, at("09:00:00")), at("09:00:00"));
    assert_eq!((pulses(&a), denial(&a)), (0, Some(DenyReason::StolenVehicle)));
    assert_eq!(alarms(&a), [AlarmKind::DenyListHit]);
    let b = w.run(&mut entry, tag(BLOCKED_TAG, at("09:01:00")), at("09:01:00"));
    assert_eq!((pulses(&b), denial(&b)), (0, Some(DenyReason::BlockedAccount)));
    let plate = Input::Plate { plate: "29A-999.99".parse().unwrap(), confidence: 0.95 };
    let c = w.run(&mut entry, plate, at("09:02:00"));
    assert_eq!(denial(&c), Some(DenyReason::StolenVehicle));
    // Any tag read right after the stolen plate is refused too.
    let d = w.run(&mut entry, tag(PLAIN_TAG, at("09:02:01")), at("09:02:01"));
    assert_eq!((pulses(&d), denial(&d)), (0, Some(DenyReason::StolenVehicle)));
}

#[test]
fn cloned_tags_are_caught_by_tid() {
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    let mut presence = tag(ACCOUNT_TAG, at("09:00:00"));
    if let Input::Tag(p) = &mut presence {
        p.tid = Some("E2801105200074FF".parse::<Tid>().unwrap());
    }
    let a = w.run(&mut entry, presence, at("09:00:00"));
    assert_eq!((pulses(&a), denial(&a)), (0, Some(DenyReason::ClonedTag)));
    assert_eq!(alarms(&a), [AlarmKind::ClonedTag]);
    // A tag on another vehicle (the camera's plate): tests/plates.rs.
}

#[test]
fn pass_holders_come_and_go_free() {
    let mut w = world();
    let (mut entry, mut exit) = (lane("entry-1", Direction::Entry), lane("exit-1", Direction::Exit));
    assert_eq!(pulses(&w.run(&mut entry, tag(PASS_TAG, at("08:00:00")), at("08:00:00"))), 1);
    let a = w.run(&mut exit, tag(PASS_TAG, at("20:00:00")), at("20:00:00"));
    assert_eq!(pulses(&a), 1);
    assert!(matches!(events(&a)[..], [GateEventKind::Exit { settlement: Settlement::Pass { .. }, fee: None, .. }]));
    // By plate alone, on the camera.
    let b = w.run(&mut exit, Input::Plate { plate: "30E-555.55".parse().unwrap(), confidence: 0.9 }, at("21:00:00"));
    assert_eq!(pulses(&b), 1);
    // In December the pass has expired: the plate alone opens nothing.
    let december: Timestamp = "2026-12-01T09:00:00+07:00".parse().unwrap();
    let c = w.run(&mut exit, Input::Plate { plate: "30E-555.55".parse().unwrap(), confidence: 0.9 }, december);
    assert_eq!(pulses(&c), 0);
}

#[test]
fn safety_alarms_for_opens_without_passage_tailgating_and_held_arms() {
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    let t0 = at("09:00:00");
    let a = w.run(&mut entry, tag(ACCOUNT_TAG, t0), t0);
    assert!(a.contains(&Action::WakeAt(at("09:00:30"))));
    assert!(alarms(&w.run(&mut entry, Input::Tick, at("09:00:29"))).is_empty());
    assert_eq!(alarms(&w.run(&mut entry, Input::Tick, at("09:00:30"))), [AlarmKind::VehicleNeverPassed]);

    // One open, two passages: a tailgater.
    let t1 = at("10:00:00");
    w.run(&mut entry, tag(PLAIN_TAG, t1), t1);
    w.run(&mut entry, Input::Loop { occupied: true }, at("10:00:02"));
    assert!(alarms(&w.run(&mut entry, Input::Loop { occupied: false }, at("10:00:04"))).is_empty());
    w.run(&mut entry, Input::Loop { occupied: true }, at("10:00:05"));
    assert_eq!(alarms(&w.run(&mut entry, Input::Loop { occupied: false }, at("10:00:07"))), [AlarmKind::Tailgating]);
    // The vehicle passed: its open does not expire later.
    assert!(alarms(&w.run(&mut entry, Input::Tick, at("10:01:00"))).is_empty());

    // A passage long after any open.
    w.run(&mut entry, Input::Loop { occupied: true }, at("11:00:00"));
    let b = w.run(&mut entry, Input::Loop { occupied: false }, at("11:00:02"));
    assert_eq!(alarms(&b), [AlarmKind::PassageWithoutOpen]);

    // A vehicle stuck on the loop: one alarm, not one per tick; and the
    // open it came through does not also count as "never passed".
    w.run(&mut entry, Input::TicketButton, at("12:00:00"));
    w.run(&mut entry, Input::Loop { occupied: true }, at("12:00:05"));
    assert_eq!(alarms(&w.run(&mut entry, Input::Tick, at("12:01:05"))), [AlarmKind::ArmHeldOpen]);
    assert!(alarms(&w.run(&mut entry, Input::Tick, at("12:02:00"))).is_empty());
    assert!(alarms(&w.run(&mut entry, Input::Loop { occupied: false }, at("12:03:00"))).is_empty());
}

#[test]
fn lists_move_forward_whole_or_not_at_all() {
    let mut w = world();
    let epc: Epc = PLAIN_TAG.parse().unwrap();
    let delta = |from, to| ListsDelta {
        v: V1,
        lot: lot(),
        from_version: from,
        to_version: to,
        issued_at: at("10:00:00"),
        upsert_tags: vec![],
        remove_tags: vec![epc.clone()],
        upsert_deny: vec![],
        remove_deny: vec![DenyTarget::Epc(STOLEN_TAG.parse().unwrap())],
        upsert_passes: vec![],
        remove_passes: vec!["pass-1".into()],
    };
    assert!(matches!(w.lists.apply_delta(delta(5, 6)), Err(ListsError::Gap { held: 1, .. })));
    assert!(w.lists.tag(&epc).is_some(), "a refused delta changes nothing");
    w.lists.apply_delta(delta(1, 2)).unwrap();
    assert_eq!(w.lists.version(), 2);
    assert!(w.lists.tag(&epc).is_none());
    assert_eq!(w.lists.denied(&DenyTarget::Epc(STOLEN_TAG.parse().unwrap())), None);
    assert!(w.lists.valid_pass(Some(&PASS_TAG.parse().unwrap()), None, at("10:00:00")).is_none());
    // Two lot-server instances publish overlapping deltas: one that starts
    // before the held version and ends after it applies; one that ends at
    // or before it is stale and changes nothing.
    assert!(matches!(w.lists.apply_delta(delta(1, 2)), Err(ListsError::Stale { held: 2, got: 2 })));
    let mut overlapping = delta(1, 3);
    overlapping.upsert_tags = vec![w.lists.tag(&STOLEN_TAG.parse().unwrap()).unwrap().clone()];
    overlapping.upsert_tags[0].epc = epc.clone();
    w.lists.apply_delta(overlapping).unwrap();
    assert_eq!(w.lists.version(), 3);
    assert!(w.lists.tag(&epc).is_some(), "the overlapping delta's own change applied");
    assert!(matches!(w.lists.apply_delta(delta(4, 5)), Err(ListsError::Gap { held: 3, .. })));
    let stale = ListsSnapshot {
        v: V1,
        lot: lot(),
        version: 3,
        issued_at: at("10:00:00"),
        tags: vec![],
        deny: vec![],
        passes: vec![],
    };
    assert!(matches!(w.lists.apply_snapshot("hn-01", stale.clone()), Err(ListsError::Stale { .. })));
    assert!(matches!(w.lists.apply_snapshot("hn-02", stale), Err(ListsError::WrongLot { .. })));
}

mod exit;
mod plates;
mod props;
mod reopen;
