//! An open given again: the same credential at the same lane before its
//! vehicle crossed the loop (the first open never reached the barrier),
//! across a controller restart, with no second event and no second charge;
//! and everything that is decided afresh instead.

use super::*;

/// The lot state a restarted controller rebuilds from its journal.
fn restarted(w: &mut World) {
    let mut fresh = LotState::default();
    fresh.restore_all(w.state.take_changes());
    w.state = fresh;
}

impl LotState {
    fn restore_all(&mut self, changes: Vec<LotChange>) {
        for c in changes {
            self.restore(c);
        }
    }
}

fn cross(w: &mut World, lane: &mut Lane, now: Timestamp) -> Vec<Action> {
    let mut out = w.run(lane, Input::Loop { occupied: true }, now);
    out.extend(w.run(lane, Input::Loop { occupied: false }, now));
    out
}

#[test]
fn a_tag_read_again_after_a_restart_opens_the_entry_again_without_a_second_entry() {
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    let first = w.run(&mut entry, tag(ACCOUNT_TAG, at("09:00:00")), at("09:00:00"));
    assert_eq!((pulses(&first), events(&first).len()), (1, 1));
    // The controller died before the pulse reached the barrier.
    restarted(&mut w);
    let mut entry = lane("entry-1", Direction::Entry);
    let again = w.run(&mut entry, tag(ACCOUNT_TAG, at("09:00:02")), at("09:00:02"));
    assert_eq!(pulses(&again), 1, "{again:?}");
    assert!(events(&again).is_empty(), "no second entry, no denial: {again:?}");
    // The vehicle crosses: the open it was given is matched, no alarm.
    assert!(alarms(&cross(&mut w, &mut entry, at("09:00:04"))).is_empty());
    // Past the loop, a read of the same tag is a second entry: refused.
    let after = w.run(&mut entry, tag(ACCOUNT_TAG, at("09:00:10")), at("09:00:10"));
    assert_eq!(pulses(&after), 0);
    assert_eq!(denial(&after), Some(DenyReason::AlreadyInside));
}

#[test]
fn a_tag_read_again_at_the_exit_opens_again_and_is_charged_once() {
    let mut w = world();
    let (mut entry, mut exit) = (lane("entry-1", Direction::Entry), lane("exit-1", Direction::Exit));
    w.run(&mut entry, tag(ACCOUNT_TAG, at("09:00:00")), at("09:00:00"));
    cross(&mut w, &mut entry, at("09:00:01"));
    let first = w.run(&mut exit, tag(ACCOUNT_TAG, at("13:30:00")), at("13:30:00"));
    assert!(matches!(events(&first)[..], [GateEventKind::Exit { settlement: Settlement::Account { .. }, .. }]));
    restarted(&mut w);
    let mut exit = lane("exit-1", Direction::Exit);
    let again = w.run(&mut exit, tag(ACCOUNT_TAG, at("13:30:03")), at("13:30:03"));
    assert_eq!(pulses(&again), 1);
    assert!(events(&again).is_empty(), "no exit without entry, no second debit: {again:?}");
}

#[test]
fn a_ticket_shown_again_at_the_exit_opens_again() {
    let mut w = world();
    let (mut entry, mut exit) = (lane("entry-1", Direction::Entry), lane("exit-1", Direction::Exit));
    let text = ticket_text(&w.run(&mut entry, Input::TicketButton, at("09:00:00")));
    cross(&mut w, &mut entry, at("09:00:01"));
    // A stay within the grace period leaves free at once.
    let first = w.run(&mut exit, Input::Qr(text.clone()), at("09:05:00"));
    assert_eq!(pulses(&first), 1, "{first:?}");
    restarted(&mut w);
    let mut exit = lane("exit-1", Direction::Exit);
    let again = w.run(&mut exit, Input::Qr(text.clone()), at("09:05:05"));
    assert_eq!(pulses(&again), 1, "{again:?}");
    assert!(events(&again).is_empty(), "not a used ticket: {again:?}");
    cross(&mut w, &mut exit, at("09:05:06"));
    let later = w.run(&mut exit, Input::Qr(text), at("09:05:10"));
    assert_eq!(denial(&later), Some(DenyReason::TicketAlreadyUsed));
}

#[test]
fn a_printed_ticket_shown_at_the_entry_opens_it_again_and_the_button_prints_a_new_one() {
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    let text = ticket_text(&w.run(&mut entry, Input::TicketButton, at("09:00:00")));
    restarted(&mut w);
    let mut entry = lane("entry-1", Direction::Entry);
    let again = w.run(&mut entry, Input::Qr(text.clone()), at("09:00:05"));
    assert_eq!(pulses(&again), 1, "{again:?}");
    assert!(events(&again).is_empty(), "the same stay, not a second one");
    // The button cannot tell one driver from the next: always a new ticket.
    let next = w.run(&mut entry, Input::TicketButton, at("09:00:30"));
    assert_ne!(ticket_text(&next), text);
    assert_eq!(events(&next).len(), 1);
}

#[test]
fn a_read_again_before_the_vehicle_moved_opens_without_a_second_expectation() {
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    w.run(&mut entry, tag(ACCOUNT_TAG, at("09:00:00")), at("09:00:00"));
    // The tag left the reader's field and came back: the arm came down.
    let again = w.run(&mut entry, tag(ACCOUNT_TAG, at("09:00:20")), at("09:00:20"));
    assert_eq!(pulses(&again), 1);
    assert!(events(&again).is_empty());
    // One vehicle, one crossing: nothing is left waiting to time out.
    assert!(alarms(&cross(&mut w, &mut entry, at("09:00:25"))).is_empty());
    let later = w.run(&mut entry, Input::Tick, at("09:10:00"));
    assert!(alarms(&later).is_empty(), "{later:?}");
}

#[test]
fn another_lane_another_credential_or_a_late_read_is_decided_afresh() {
    let mut w = world();
    let (mut one, mut two) = (lane("entry-1", Direction::Entry), lane("entry-2", Direction::Entry));
    w.run(&mut one, tag(ACCOUNT_TAG, at("09:00:00")), at("09:00:00"));
    let elsewhere = w.run(&mut two, tag(ACCOUNT_TAG, at("09:00:05")), at("09:00:05"));
    assert_eq!(denial(&elsewhere), Some(DenyReason::AlreadyInside), "another lane");
    let other = w.run(&mut one, tag(PLAIN_TAG, at("09:00:06")), at("09:00:06"));
    assert!(matches!(events(&other)[..], [GateEventKind::Entry { .. }]), "another tag enters: {other:?}");
    let mut w = world();
    let mut one = lane("entry-1", Direction::Entry);
    w.run(&mut one, tag(ACCOUNT_TAG, at("09:00:00")), at("09:00:00"));
    let late = w.run(&mut one, tag(ACCOUNT_TAG, at("09:05:01")), at("09:05:01"));
    assert_eq!(denial(&late), Some(DenyReason::AlreadyInside), "past reopen_within_ms");
}

#[test]
fn a_credential_refused_since_its_open_is_refused_again() {
    let mut w = world();
    let mut entry = lane("entry-1", Direction::Entry);
    w.run(&mut entry, tag(ACCOUNT_TAG, at("09:00:00")), at("09:00:00"));
    // The customer's account is blocked before the tag is read again.
    let delta = ListsDelta {
        v: V1,
        lot: lot(),
        from_version: 1,
        to_version: 2,
        issued_at: at("09:00:10"),
        upsert_tags: vec![],
        remove_tags: vec![],
        upsert_deny: vec![DenyEntry {
            target: DenyTarget::Account("acc-1".into()),
            reason: DenyReason::BlockedAccount,
        }],
        remove_deny: vec![],
        upsert_passes: vec![],
        remove_passes: vec![],
    };
    w.lists.apply_delta(delta).unwrap();
    let again = w.run(&mut entry, tag(ACCOUNT_TAG, at("09:00:20")), at("09:00:20"));
    assert_eq!(pulses(&again), 0, "{again:?}");
    assert_eq!(denial(&again), Some(DenyReason::BlockedAccount));
}
