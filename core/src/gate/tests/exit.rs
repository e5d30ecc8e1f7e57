//! Exits: fees debited from accounts, transfers asked for and confirmed in
//! part or whole, tickets, the not-inside policy, and manual opens.

use super::*;

#[test]
fn account_tag_exits_at_once_with_the_fee() {
    let mut w = world();
    let (mut entry, mut exit) = (lane("entry-1", Direction::Entry), lane("exit-1", Direction::Exit));
    w.run(&mut entry, tag(ACCOUNT_TAG, at("09:00:00")), at("09:00:00"));
    let a = w.run(&mut exit, tag(ACCOUNT_TAG, at("13:30:00")), at("13:30:00"));
    assert_eq!(pulses(&a), 1, "opens without waiting for anyone");
    let tariff_version =
        a.iter().find_map(|x| if let Action::Emit { tariff_version, .. } = x { tariff_version.clone() } else { None });
    assert_eq!(tariff_version.unwrap().as_str(), "hn-z1-2018-example");
    match events(&a)[..] {
        [GateEventKind::Exit { fee: Some(fee), settlement: Settlement::Account { account }, entered_at, .. }] => {
            assert_eq!(fee.amount, Vnd::new(140_000));
            assert_eq!(account, "acc-1");
            assert_eq!(*entered_at, Some(at("09:00:00")));
        }
        ref other => panic!("{other:?}"),
    }
    assert!(w.state.inside.is_empty());
}

#[test]
fn an_account_that_cannot_cover_the_fee_pays_by_transfer() {
    let mut w = world();
    let mut short = tag_entry(ACCOUNT_TAG, VehicleClass::Car, Some("acc-1"));
    short.spendable = Some(Vnd::new(139_999));
    let delta = ListsDelta {
        v: V1,
        lot: lot(),
        from_version: 1,
        to_version: 2,
        issued_at: at("00:00:00"),
        upsert_tags: vec![short],
        remove_tags: vec![],
        upsert_deny: vec![],
        remove_deny: vec![],
        upsert_passes: vec![],
        remove_passes: vec![],
    };
    w.lists.apply_delta(delta).unwrap();
    let (mut entry, mut exit) = (lane("entry-1", Direction::Entry), lane("exit-1", Direction::Exit));
    w.run(&mut entry, tag(ACCOUNT_TAG, at("09:00:00")), at("09:00:00"));
    let a = w.run(&mut exit, tag(ACCOUNT_TAG, at("13:30:00")), at("13:30:00"));
    assert_eq!(pulses(&a), 0, "140,000 is more than the account may spend");
    assert!(matches!(events(&a)[..], [GateEventKind::PaymentRequested { owed, .. }] if *owed == Vnd::new(140_000)));
    let code = exit.waiting_for().unwrap();
    let receipt = "/lots/hn-01/receipt/0123456789abcdef0123456789abcdef".to_owned();
    let paid = Input::PaymentConfirmed { payment_code: code, remaining: Vnd::ZERO, receipt: Some(receipt.clone()) };
    let b = w.run(&mut exit, paid, at("13:31:00"));
    assert_eq!(pulses(&b), 1);
    assert!(matches!(events(&b)[..], [GateEventKind::Exit { settlement: Settlement::Transfer { .. }, .. }]));
    // The receipt's link shows as the car leaves, after the exit itself.
    let shown = b.iter().position(|x| matches!(x, Action::ShowReceipt { url } if *url == receipt));
    let exit_at = b.iter().position(|x| matches!(x, Action::Emit { kind: GateEventKind::Exit { .. }, .. }));
    assert!(shown.is_some() && shown > exit_at, "{b:?}");
}

#[test]
fn a_tag_that_is_not_inside_follows_the_policy() {
    let mut w = world();
    let mut exit = lane("exit-1", Direction::Exit);
    let a = w.run(&mut exit, tag(ACCOUNT_TAG, at("10:00:00")), at("10:00:00"));
    assert_eq!(pulses(&a), 1);
    assert_eq!(alarms(&a), [AlarmKind::ExitWithoutEntry]);
    let mut strict =
        Lane::new(LaneConfig { exit_without_entry: ExitWithoutEntry::Refuse, ..config("exit-2", Direction::Exit) });
    let b = w.run(&mut strict, tag(ACCOUNT_TAG, at("10:00:00")), at("10:00:00"));
    assert_eq!(pulses(&b), 0);
    assert_eq!(denial(&b), Some(DenyReason::NotInside));
}

#[test]
fn ticket_exit_waits_for_payment_and_counts_partial_transfers() {
    let mut w = world();
    let (mut entry, mut exit) = (lane("entry-1", Direction::Entry), lane("exit-1", Direction::Exit));
    let text = ticket_text(&w.run(&mut entry, Input::TicketButton, at("09:00:00")));
    let a = w.run(&mut exit, Input::Qr(text.clone()), at("11:30:00"));
    assert_eq!(pulses(&a), 0, "not paid yet");
    let code = Ticket::verify(&text, &w.key, &lot()).unwrap().payment_code();
    let shown =
        a.iter().find_map(|x| if let Action::Display { payment: Some(p), .. } = x { Some(p.clone()) } else { None });
    assert_eq!(shown, Some(PaymentRequest { amount: Vnd::new(80_000), code }));
    assert_eq!(exit.waiting_for(), Some(code));
    // The server learns what the code is owed, so it can match the transfer.
    match events(&a)[..] {
        [GateEventKind::PaymentRequested { payment_code, owed, fee, .. }] => {
            assert_eq!((*payment_code, *owed, fee.amount), (code, Vnd::new(80_000), Vnd::new(80_000)));
        }
        ref other => panic!("{other:?}"),
    }
    // An underpayment leaves the rest owed, shown on the lane.
    let b = w.run(
        &mut exit,
        Input::PaymentConfirmed { payment_code: code, remaining: Vnd::new(30_000), receipt: None },
        at("11:31:00"),
    );
    assert_eq!(pulses(&b), 0);
    assert!(b.iter().any(|x| matches!(x, Action::Display { payment: Some(p), .. } if p.amount == Vnd::new(30_000))));
    // The rest arrives: the barrier opens.
    let c = w.run(
        &mut exit,
        Input::PaymentConfirmed { payment_code: code, remaining: Vnd::ZERO, receipt: None },
        at("11:32:00"),
    );
    assert_eq!(pulses(&c), 1);
    assert!(matches!(events(&c)[..], [GateEventKind::Exit { settlement: Settlement::Transfer { .. }, .. }]));
    assert_eq!(exit.waiting_for(), None);
    // The same ticket cannot let a second vehicle out.
    let d = w.run(&mut exit, Input::Qr(text), at("11:40:00"));
    assert_eq!(pulses(&d), 0);
    assert_eq!(denial(&d), Some(DenyReason::TicketAlreadyUsed));
}

#[test]
fn a_confirmation_for_another_code_does_not_open() {
    let mut w = world();
    let (mut entry, mut exit) = (lane("entry-1", Direction::Entry), lane("exit-1", Direction::Exit));
    let text = ticket_text(&w.run(&mut entry, Input::TicketButton, at("09:00:00")));
    w.run(&mut exit, Input::Qr(text), at("12:00:00"));
    let other = PaymentCode::stay(999);
    let a = w.run(
        &mut exit,
        Input::PaymentConfirmed { payment_code: other, remaining: Vnd::ZERO, receipt: None },
        at("12:01:00"),
    );
    assert_eq!(pulses(&a), 0);
    assert!(exit.waiting_for().is_some());
}

#[test]
fn grace_period_and_prepaid_tickets_open_at_once() {
    let mut w = world();
    let (mut entry, mut exit) = (lane("entry-1", Direction::Entry), lane("exit-1", Direction::Exit));
    let quick = ticket_text(&w.run(&mut entry, Input::TicketButton, at("09:00:00")));
    let a = w.run(&mut exit, Input::Qr(quick), at("09:08:00"));
    assert_eq!(pulses(&a), 1);
    assert!(matches!(events(&a)[..], [GateEventKind::Exit { settlement: Settlement::Free, .. }]));
    // Paid at a kiosk before reaching the lane.
    let prepaid = ticket_text(&w.run(&mut entry, Input::TicketButton, at("09:00:00")));
    let code = Ticket::verify(&prepaid, &w.key, &lot()).unwrap().payment_code();
    w.run(
        &mut exit,
        Input::PaymentConfirmed { payment_code: code, remaining: Vnd::ZERO, receipt: None },
        at("10:50:00"),
    );
    let b = w.run(&mut exit, Input::Qr(prepaid), at("10:55:00"));
    assert_eq!(pulses(&b), 1);
}

#[test]
fn a_tag_without_account_pays_by_transfer() {
    let mut w = world();
    let (mut entry, mut exit) = (lane("entry-1", Direction::Entry), lane("exit-1", Direction::Exit));
    w.run(&mut entry, tag(PLAIN_TAG, at("09:00:00")), at("09:00:00"));
    let a = w.run(&mut exit, tag(PLAIN_TAG, at("12:00:00")), at("12:00:00"));
    assert_eq!(pulses(&a), 0);
    let code = stay_code_for_tag(&PLAIN_TAG.parse().unwrap(), at("09:00:00"));
    assert_eq!(exit.waiting_for(), Some(code));
    let b = w.run(
        &mut exit,
        Input::PaymentConfirmed { payment_code: code, remaining: Vnd::ZERO, receipt: None },
        at("12:02:00"),
    );
    assert_eq!(pulses(&b), 1);
    match events(&b)[..] {
        [GateEventKind::Exit { fee: Some(fee), settlement: Settlement::Transfer { paid, .. }, .. }] => {
            assert_eq!(fee.amount, Vnd::new(5_000), "a motorbike's day turn");
            assert_eq!(*paid, fee.amount);
        }
        ref other => panic!("{other:?}"),
    }
    assert!(w.state.inside.is_empty());
}

#[test]
fn a_manual_open_releases_a_waiting_exit_and_is_recorded() {
    let mut w = world();
    let (mut entry, mut exit) = (lane("entry-1", Direction::Entry), lane("exit-1", Direction::Exit));
    let text = ticket_text(&w.run(&mut entry, Input::TicketButton, at("09:00:00")));
    let a = w.run(&mut exit, Input::Qr(text.clone()), at("11:30:00"));
    assert_eq!(pulses(&a), 0);
    assert!(exit.waiting_for().is_some());
    let manual = Input::ManualOpen {
        operator: "op-lan".into(),
        reason: crate::wire::ManualOpenReason::PaymentProblem,
        note: "bank app down".into(),
    };
    let b = w.run(&mut exit, manual, at("11:35:00"));
    assert_eq!(pulses(&b), 1);
    // The open is recorded, and the waiting stay closes as unpaid, owing its fee.
    match &events(&b)[..] {
        [GateEventKind::ManualOpen { operator, .. }, GateEventKind::Exit { settlement, fee: Some(fee), .. }] => {
            assert_eq!(operator, "op-lan");
            assert_eq!(settlement, &crate::wire::Settlement::Unpaid { owed: fee.amount });
            assert!(fee.amount > crate::money::Vnd::ZERO);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(exit.waiting_for(), None, "the lane no longer waits for that transfer");
    // The opened barrier expects a passage like any other open.
    let c = w.run(&mut exit, Input::Tick, at("11:36:00"));
    assert_eq!(alarms(&c), vec![AlarmKind::VehicleNeverPassed]);
    // The ticket let its vehicle out: once it has crossed the loop, the
    // ticket opens nothing again.
    w.run(&mut exit, Input::Loop { occupied: true }, at("11:36:30"));
    w.run(&mut exit, Input::Loop { occupied: false }, at("11:36:31"));
    let again = w.run(&mut exit, Input::Qr(text), at("11:37:00"));
    assert_eq!(pulses(&again), 0, "a used ticket is refused");
}
