//! "Xe ra đúng xe vào": entry and exit plates compared, the wait for the
//! camera, holds decided by staff, and tags on other vehicles.

use super::*;
use crate::gate::{ExitPlateCheck, OnOtherVehicle, PlatePolicy};

const ENTRY_PLATE: &str = "51F-111.11";

fn plate(text: &str, confidence: f32) -> Input {
    Input::Plate { plate: text.parse().unwrap(), confidence }
}

fn with_plates(gate: &str, direction: Direction, plates: PlatePolicy) -> Lane {
    Lane::new(LaneConfig { plates, ..config(gate, direction) })
}

fn displayed(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .filter_map(|a| if let Action::Display { lines, .. } = a { Some(lines.join(" ")) } else { None })
        .collect()
}

fn alarm_detail(actions: &[Action]) -> String {
    events(actions)
        .into_iter()
        .find_map(|k| match k {
            GateEventKind::Alarm { detail, .. } | GateEventKind::Held { detail, .. } => Some(detail.clone()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Every alarm raised, held or not.
fn raised(actions: &[Action]) -> Vec<AlarmKind> {
    let mut all = alarms(actions);
    all.extend(holds(actions));
    all
}

/// The alarms a lane raised by holding.
fn holds(actions: &[Action]) -> Vec<AlarmKind> {
    events(actions)
        .into_iter()
        .filter_map(|k| if let GateEventKind::Held { alarm, .. } = k { Some(*alarm) } else { None })
        .collect()
}

fn decision(release: bool) -> Input {
    Input::HoldDecision { operator: "op-lan".into(), release, note: "checked the registration".into() }
}

/// A ticket printed at 09:00 to the car the camera read as `ENTRY_PLATE`.
fn ticket_for_plate(w: &mut World) -> String {
    let mut entry = lane("entry-1", Direction::Entry);
    w.run(&mut entry, plate(ENTRY_PLATE, 0.95), at("08:59:58"));
    let a = w.run(&mut entry, Input::TicketButton, at("09:00:00"));
    assert!(matches!(events(&a)[..], [GateEventKind::Entry { plate: Some(p), .. }] if p.to_string() == ENTRY_PLATE));
    assert_eq!(w.state.ticket_plates.len(), 1, "the ticket's plate is kept for the exit");
    ticket_text(&a)
}

#[test]
fn a_ticket_leaves_with_its_own_car_even_misread_once() {
    let mut w = world();
    let text = ticket_for_plate(&mut w);
    let mut exit = lane("exit-1", Direction::Exit);
    // The exit camera misreads one digit: still the same car.
    w.run(&mut exit, plate("51F-111.17", 0.9), at("13:29:58"));
    let a = w.run(&mut exit, Input::Qr(text), at("13:30:00"));
    assert!(raised(&a).is_empty(), "{a:?}");
    assert!(matches!(events(&a)[..], [GateEventKind::PaymentRequested { .. }]), "{a:?}");
}

#[test]
fn a_paid_ticket_on_another_car_is_held_until_staff_refuse_it() {
    let mut w = world();
    let text = ticket_for_plate(&mut w);
    let mut exit = lane("exit-1", Direction::Exit);
    w.run(&mut exit, plate("29C-777.77", 0.9), at("13:29:58"));
    let a = w.run(&mut exit, Input::Qr(text.clone()), at("13:30:00"));
    assert_eq!((pulses(&a), holds(&a)), (0, vec![AlarmKind::PlateMismatch]));
    let detail = alarm_detail(&a);
    assert!(detail.contains("51F-111.11") && detail.contains("29C-777.77"), "both plates: {detail}");
    assert!(displayed(&a).iter().any(|l| l == crate::gate::HOLD_TEXT && l.contains("Chờ nhân viên xác nhận")));
    assert!(exit.held());
    // Nothing else moves the held lane: the ticket again, another tag.
    assert!(w.run(&mut exit, Input::Qr(text.clone()), at("13:30:05")).is_empty());
    assert!(w.run(&mut exit, tag(ACCOUNT_TAG, at("13:30:06")), at("13:30:06")).is_empty());
    let b = w.run(&mut exit, decision(false), at("13:31:00"));
    assert_eq!((pulses(&b), denial(&b)), (0, Some(DenyReason::PlateMismatch)));
    assert!(
        matches!(events(&b)[0], GateEventKind::HoldDecided { released: false, operator, .. } if operator == "op-lan")
    );
    assert!(!exit.held());
    assert!(w.run(&mut exit, decision(true), at("13:31:01")).is_empty(), "a late decision does nothing");
    // The ticket was not used up: its own car still leaves with it.
    w.run(&mut exit, plate(ENTRY_PLATE, 0.9), at("13:40:00"));
    let c = w.run(&mut exit, Input::Qr(text), at("13:40:01"));
    assert!(matches!(events(&c)[..], [GateEventKind::PaymentRequested { .. }]), "{c:?}");
}

#[test]
fn a_released_hold_goes_on_to_the_fee() {
    let mut w = world();
    let text = ticket_for_plate(&mut w);
    let mut exit = lane("exit-1", Direction::Exit);
    w.run(&mut exit, plate("29C-777.77", 0.9), at("13:29:58"));
    w.run(&mut exit, Input::Qr(text), at("13:30:00"));
    let a = w.run(&mut exit, decision(true), at("13:32:00"));
    assert_eq!(pulses(&a), 0, "released from the check, not from the fee");
    assert!(matches!(
        events(&a)[..],
        [GateEventKind::HoldDecided { released: true, .. }, GateEventKind::PaymentRequested { .. }]
    ));
    let code = exit.waiting_for().unwrap();
    let paid = Input::PaymentConfirmed { payment_code: code, remaining: Vnd::ZERO, receipt: None };
    let b = w.run(&mut exit, paid, at("13:33:00"));
    assert_eq!(pulses(&b), 1);
    assert!(w.state.ticket_plates.is_empty(), "a used ticket's plate is forgotten");
}

#[test]
fn the_lane_waits_for_the_camera_but_not_for_ever() {
    let mut w = world();
    let policy = PlatePolicy { wait_ms: 1_500, ..PlatePolicy::default() };
    let mut entry = with_plates("entry-1", Direction::Entry, policy);
    // The button before the camera's read: the ticket waits for the plate.
    let a = w.run(&mut entry, Input::TicketButton, at("09:00:00"));
    assert_eq!(a, [Action::WakeAt(at("09:00:01.5"))]);
    assert!(w.run(&mut entry, Input::TicketButton, at("09:00:00.5")).is_empty(), "pressed again: one ticket");
    let b = w.run(&mut entry, plate(ENTRY_PLATE, 0.95), at("09:00:01"));
    assert!(matches!(events(&b)[..], [GateEventKind::Entry { plate: Some(_), .. }]), "{b:?}");
    assert_eq!(pulses(&b), 1);
    // No camera read at all: the ticket prints when the wait is over.
    let c = w.run(&mut entry, Input::TicketButton, at("10:00:00"));
    assert_eq!(pulses(&c), 0);
    assert!(w.run(&mut entry, Input::Tick, at("10:00:01")).iter().all(|a| !matches!(a, Action::PrintTicket { .. })));
    let d = w.run(&mut entry, Input::Tick, at("10:00:01.5"));
    assert!(matches!(events(&d)[..], [GateEventKind::Entry { plate: None, .. }]), "{d:?}");
    // A low-confidence read is not waited for.
    let e = w.run(&mut entry, Input::TicketButton, at("11:00:00"));
    assert_eq!(pulses(&e), 0);
    assert!(events(&w.run(&mut entry, plate(ENTRY_PLATE, 0.2), at("11:00:00.2"))).is_empty());
}

#[test]
fn a_lot_that_requires_plates_holds_a_stay_without_one() {
    let mut w = world();
    let policy = PlatePolicy { exit_check: ExitPlateCheck::Require, wait_ms: 1_000, ..PlatePolicy::default() };
    let (mut entry, mut exit) =
        (with_plates("entry-1", Direction::Entry, policy), with_plates("exit-1", Direction::Exit, policy));
    w.run(&mut entry, Input::TicketButton, at("09:00:00"));
    let a = w.run(&mut entry, Input::Tick, at("09:00:01"));
    let text = ticket_text(&a);
    w.run(&mut exit, Input::Qr(text), at("13:30:00"));
    let b = w.run(&mut exit, Input::Tick, at("13:30:01"));
    assert_eq!((pulses(&b), holds(&b)), (0, vec![AlarmKind::PlateMismatch]));
    assert!(alarm_detail(&b).contains("no plate read"), "{b:?}");
    // Under the default policy, the same stay would not be held.
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    let text = ticket_text(&w.run(&mut entry, Input::TicketButton, at("09:00:00")));
    let c = w.run(&mut lane("exit-1", Direction::Exit), Input::Qr(text), at("13:30:00"));
    assert!(raised(&c).is_empty() && matches!(events(&c)[..], [GateEventKind::PaymentRequested { .. }]));
}

#[test]
fn a_tag_on_another_vehicle_is_held_or_flagged_as_the_lot_says() {
    // ACCOUNT_TAG is registered to 29A-123.45.
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    w.run(&mut entry, plate(ENTRY_PLATE, 0.9), at("09:10:00"));
    let a = w.run(&mut entry, tag(ACCOUNT_TAG, at("09:10:01")), at("09:10:01"));
    assert_eq!((pulses(&a), holds(&a)), (0, vec![AlarmKind::TagOnOtherVehicle]));
    let detail = alarm_detail(&a);
    assert!(detail.contains("29A-123.45") && detail.contains(ENTRY_PLATE), "{detail}");
    let b = w.run(&mut entry, decision(true), at("09:11:00"));
    assert_eq!(pulses(&b), 1, "released: the tag enters");
    assert!(matches!(events(&b)[1], GateEventKind::Entry { .. }), "{b:?}");

    let policy = PlatePolicy { tag_on_other_vehicle: OnOtherVehicle::Alarm, ..PlatePolicy::default() };
    let mut w = world();
    let mut flagging = with_plates("entry-1", Direction::Entry, policy);
    w.run(&mut flagging, plate(ENTRY_PLATE, 0.9), at("09:10:00"));
    let c = w.run(&mut flagging, tag(ACCOUNT_TAG, at("09:10:01")), at("09:10:01"));
    assert_eq!((pulses(&c), alarms(&c)), (1, vec![AlarmKind::TagOnOtherVehicle]), "flagged, not held");

    // One misread character is the registered car; a low-confidence or
    // stale read is no evidence.
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    w.run(&mut entry, plate("29A-123.46", 0.9), at("09:10:00"));
    assert!(raised(&w.run(&mut entry, tag(ACCOUNT_TAG, at("09:10:01")), at("09:10:01"))).is_empty());
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    w.run(&mut entry, plate(ENTRY_PLATE, 0.3), at("09:10:00"));
    w.run(&mut entry, plate(ENTRY_PLATE, 0.9), at("08:00:00"));
    assert_eq!(pulses(&w.run(&mut entry, tag(ACCOUNT_TAG, at("09:10:01")), at("09:10:01"))), 1);
}

#[test]
fn a_plate_read_goes_with_the_vehicle_that_crosses_the_loop() {
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    w.run(&mut entry, plate(ENTRY_PLATE, 0.95), at("09:00:00"));
    w.run(&mut entry, Input::TicketButton, at("09:00:01"));
    w.run(&mut entry, Input::Loop { occupied: true }, at("09:00:03"));
    w.run(&mut entry, Input::Loop { occupied: false }, at("09:00:04"));
    // The next car's camera read was missed: it does not get the last one's.
    let a = w.run(&mut entry, Input::TicketButton, at("09:00:06"));
    assert!(matches!(events(&a)[..], [GateEventKind::Entry { plate: None, .. }]), "{a:?}");
    assert_eq!(w.state.ticket_plates.len(), 1);
}

#[test]
fn a_tag_leaving_on_another_car_than_it_entered_with_is_held() {
    // PLAIN_TAG has no registered plate: only its entry plate speaks for it.
    let mut w = world();
    let (mut entry, mut exit) = (lane("entry-1", Direction::Entry), lane("exit-1", Direction::Exit));
    w.run(&mut entry, plate(ENTRY_PLATE, 0.9), at("09:00:00"));
    w.run(&mut entry, tag(PLAIN_TAG, at("09:00:01")), at("09:00:01"));
    assert_eq!(w.state.inside.values().next().and_then(|i| i.plate.clone()), Some(ENTRY_PLATE.parse().unwrap()));
    w.run(&mut exit, plate("29C-777.77", 0.9), at("12:00:00"));
    let a = w.run(&mut exit, tag(PLAIN_TAG, at("12:00:01")), at("12:00:01"));
    assert_eq!((pulses(&a), holds(&a)), (0, vec![AlarmKind::PlateMismatch]));
    // A manual open ends the hold.
    let manual = Input::ManualOpen { operator: "op".into(), reason: ManualOpenReason::Other, note: String::new() };
    assert_eq!(pulses(&w.run(&mut exit, manual, at("12:01:00"))), 1);
    assert!(!exit.held());
    // With the check off, nothing is compared.
    let off = PlatePolicy { exit_check: ExitPlateCheck::Off, ..PlatePolicy::default() };
    let mut w = world();
    let mut exit = with_plates("exit-1", Direction::Exit, off);
    w.run(&mut entry, plate(ENTRY_PLATE, 0.9), at("09:00:00"));
    w.run(&mut entry, tag(PLAIN_TAG, at("09:00:01")), at("09:00:01"));
    w.run(&mut exit, plate("29C-777.77", 0.9), at("12:00:00"));
    assert!(raised(&w.run(&mut exit, tag(PLAIN_TAG, at("12:00:01")), at("12:00:01"))).is_empty());
}

#[test]
fn a_pass_holders_plate_then_tag_make_one_passage_as_the_tag() {
    // PASS_TAG's pass is bound to plate 30E-555.55 as well.
    let mut w = world();
    let (mut entry, mut exit) = (lane("entry-1", Direction::Entry), lane("exit-1", Direction::Exit));
    for lane in [&mut entry, &mut exit] {
        let at_lane = if lane.config().direction == Direction::Entry { "08:00:00" } else { "20:00:00" };
        let a = w.run(lane, plate("30E-555.55", 0.9), at(at_lane));
        assert_eq!(pulses(&a), 1);
        let credential = events(&a).into_iter().find_map(|k| match k {
            GateEventKind::Entry { credential, .. } | GateEventKind::Exit { credential, .. } => {
                Some(credential.clone())
            }
            _ => None,
        });
        assert!(
            matches!(&credential, Some(Credential::Tag { epc, .. }) if epc.to_string() == PASS_TAG),
            "the stay is the tag's: {a:?}"
        );
        // The reader sees the tag a moment later: the barrier is up for
        // it already; nothing new is recorded or pulsed.
        let b = w.run(lane, tag(PASS_TAG, at(at_lane)), at(at_lane));
        assert!(b.is_empty(), "{b:?}");
    }
    assert!(w.state.inside.is_empty(), "in and out once");
}
