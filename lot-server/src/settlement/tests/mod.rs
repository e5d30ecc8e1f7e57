//! Settlement against a real database, on SQLite and on PostgreSQL: every
//! trap of docs/settlement.md ("Transfer notifications"), account debits and top-ups, and the ledger's
//! invariants under a random mix of all of them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use parking_core::tariff::{Fee, TariffVersion};
use parking_core::vat::VatRate;
use parking_core::wire::{Credential, GateEvent, GateEventKind, Settlement, V1};
use parking_core::{Epc, EventId, VehicleClass};
use serde_json::{Value, json};

use super::ledger::{BANK, REFUNDS, STAY_DEPOSITS, SUSPENSE, VAT_PAYABLE};
use super::*;
use crate::db::Db;
use crate::on_both_databases;
use crate::registry::{AccountInput, OwnerInput, Registry, TagInput, VehicleInput};
use parking_core::wire::Command;

pub(crate) const NOW: i64 = 1_795_000_000_000; // 2026-11-18, under the 8% VAT period

pub(crate) fn ts(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(ms).unwrap()
}

pub(crate) fn policy() -> Policy {
    Policy::from_tax(&Default::default()).unwrap()
}

fn eight() -> VatRate {
    VatRate::from_basis_points(800)
}

fn event(n: u64, at_ms: i64, kind: GateEventKind) -> GateEvent {
    event_in("hn-01", n, at_ms, kind)
}

/// A gate event of `lot`'s lane exit-1, numbered `n` (unique per lot).
pub(crate) fn event_in(lot: &str, n: u64, at_ms: i64, kind: GateEventKind) -> GateEvent {
    let lot_id: u64 = lot.bytes().fold(11, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)));
    GateEvent {
        v: V1,
        event_id: EventId::from_uuid(uuid::Uuid::from_u64_pair(lot_id, n)),
        lot: lot.parse().unwrap(),
        gate: "exit-1".parse().unwrap(),
        seq: n,
        at: ts(at_ms),
        list_version: 1,
        tariff_version: None,
        kind,
    }
}

pub(crate) fn fee(amount: i64, class: VehicleClass) -> Fee {
    Fee {
        amount: Vnd::new(amount),
        tariff_version: TariffVersion::try_from("hn-z1-2018-example".to_owned()).unwrap(),
        class,
        items: vec![],
    }
}

pub(crate) fn tag(epc: &str) -> Credential {
    Credential::Tag { epc: epc.parse::<Epc>().unwrap(), tid: None }
}

fn request(n: u64, code: PaymentCode, amount: i64, credential: Credential) -> GateEvent {
    event(
        n,
        NOW + i64::try_from(n).unwrap(),
        GateEventKind::PaymentRequested {
            credential,
            class: VehicleClass::Car,
            entered_at: ts(NOW - 3_600_000),
            fee: fee(amount, VehicleClass::Car),
            payment_code: code,
            owed: Vnd::new(amount),
        },
    )
}

pub(crate) fn transfer(id: &str, amount: i64, memo: &str) -> Incoming {
    Incoming {
        provider: Provider::Sepay,
        provider_tx: id.to_owned(),
        amount: Vnd::new(amount),
        memo: memo.to_owned(),
        code_hint: None,
        bank_account: Some("0123499999".into()),
        reference: None,
        transferred_at: ts(NOW),
    }
}

/// Ingests gate events the way the server does; returns the lane commands.
async fn ingest(db: &Db, events: &[GateEvent]) -> Vec<LaneCommand> {
    crate::ingest::commit(db, &policy(), events, ts(NOW)).await.unwrap().commands
}

/// Books one transfer in its own transaction.
async fn book(db: &Db, t: &Incoming) -> (Disposition, Vec<LaneCommand>) {
    let mut tx = db.pool.begin().await.unwrap();
    let mut fx = Effects::default();
    let d = apply_transfer(&mut tx, db.backend, &policy(), t, NOW, &mut fx).await.unwrap();
    fx.finish(&mut tx, db.backend, NOW).await.unwrap();
    tx.commit().await.unwrap();
    (d, fx.commands)
}

async fn balance(db: &Db, account: &str) -> i64 {
    ledger::balances(db).await.unwrap().get(account).copied().unwrap_or(0)
}

/// The books balance, and every prepaid account's balance is what the
/// ledger says the lot owes it.
async fn assert_books(db: &Db) -> ledger::Trial {
    let trial = ledger::trial(db).await.unwrap();
    assert_eq!(trial.total, 0, "{trial:?}");
    // The gate events ingested are in the journal, and it verifies.
    let any_key = parking_core::chain::signing_key(&"22".repeat(32)).unwrap().verifying_key();
    crate::audit::verify(db, &any_key).await.unwrap().unwrap();
    assert!(trial.unbalanced_entries.is_empty(), "{trial:?}");
    let accounts: Vec<(String, i64)> =
        sqlx::query_as("SELECT account_id, balance_vnd FROM accounts").fetch_all(&db.pool).await.unwrap();
    for (id, bal) in accounts {
        assert_eq!(bal, -trial.balances.get(&ledger::driver(&id)).copied().unwrap_or(0), "account {id}");
    }
    trial
}

fn remaining_of(cmds: &[LaneCommand]) -> Vec<i64> {
    cmds.iter()
        .map(|c| match &c.command {
            Command::PaymentConfirmed { remaining, .. } => remaining.get(),
            other => panic!("{other:?}"),
        })
        .collect()
}

async fn request_state(db: &Db, code: PaymentCode) -> (i64, String) {
    sqlx::query_as("SELECT paid_vnd, state FROM payment_requests WHERE payment_code = $1")
        .bind(code.to_string())
        .fetch_one(&db.pool)
        .await
        .unwrap()
}

async fn full_payment_releases_the_lane_once(db: &Db) {
    let code = PaymentCode::stay(1);
    ingest(db, &[request(1, code, 30_000, Credential::None)]).await;
    // The bank upper-cases the memo and wraps it in its own words.
    let memo = format!("MBVCB.3312.{}.CT tu 0123", code.as_str().to_lowercase());
    let (d, cmds) = book(db, &transfer("1", 30_000, &memo)).await;
    assert!(matches!(d, Disposition::Stay { settled: true, .. }), "{d:?}");
    assert_eq!(remaining_of(&cmds), [0]);
    assert_eq!(cmds[0].gate.as_str(), "exit-1", "told the lane that asked");
    // The same notification again: nothing changes, no second command.
    let (again, cmds) = book(db, &transfer("1", 30_000, &memo)).await;
    assert_eq!(again, Disposition::Duplicate);
    assert!(cmds.is_empty());
    let trial = assert_books(db).await;
    let (net, vat) = eight().split(Vnd::new(30_000));
    assert_eq!(trial.balances[BANK], 30_000);
    assert_eq!(trial.balances["revenue:car"], -net.get());
    assert_eq!(trial.balances[VAT_PAYABLE], -vat.get());
    assert_eq!(trial.balances.get(STAY_DEPOSITS).copied().unwrap_or(0), 0);
    assert_eq!(trial.fees_settled_vnd, 30_000);
    assert_eq!(request_state(db, code).await, (30_000, "paid".into()));
}
on_both_databases!(full_payment, full_payment_releases_the_lane_once);

async fn under_over_and_double_payment(db: &Db) {
    let code = PaymentCode::stay(2);
    ingest(db, &[request(1, code, 50_000, Credential::None)]).await;
    let (d, cmds) = book(db, &transfer("a", 20_000, code.as_str())).await;
    assert!(matches!(d, Disposition::Stay { settled: false, .. }));
    assert_eq!(remaining_of(&cmds), [30_000], "the lane shows what is still owed");
    assert_eq!(assert_books(db).await.fees_settled_vnd, 0, "nothing is revenue until the fee is paid");
    // The rest, and 5,000 too many: no account on a ticket, so a refund.
    let (d, cmds) = book(db, &transfer("b", 35_000, code.as_str())).await;
    match d {
        Disposition::Stay { settled: true, excess, excess_to, .. } => {
            assert_eq!((excess.get(), excess_to.as_deref()), (5_000, Some("refund")));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(remaining_of(&cmds), [0]);
    // Paid twice: the second transfer is all refund, revenue unchanged.
    let (d, _) = book(db, &transfer("c", 50_000, code.as_str())).await;
    assert!(matches!(d, Disposition::Stay { settled: false, excess, .. } if excess.get() == 50_000), "{d:?}");
    let trial = assert_books(db).await;
    assert_eq!(trial.fees_settled_vnd, 50_000, "counted once");
    assert_eq!(trial.balances[REFUNDS], -55_000);
    assert_eq!(trial.balances[BANK], 105_000);
    // The refund goes out; the books follow.
    let paid = refund_paid(db, "sepay:c", "FT-REFUND-1", "admin", NOW).await.unwrap();
    assert_eq!(paid, 50_000);
    assert!(matches!(refund_paid(db, "sepay:c", "again", "admin", NOW).await, Err(ResolveError::Conflict(_))));
    let trial = assert_books(db).await;
    assert_eq!((trial.balances[REFUNDS], trial.balances[BANK]), (-5_000, 55_000));
}
on_both_databases!(under_over_double, under_over_and_double_payment);

/// A tag with an account, registered through the registry.
pub(crate) async fn account_tag(db: &Db, epc: &str, credit: i64) -> String {
    let r = Registry::new(db.clone());
    let owner = r
        .create_owner(
            OwnerInput { name: "Nguyễn Văn A".into(), id_number: Some("001099012345".into()), phone: None },
            NOW,
        )
        .await
        .unwrap();
    let account = r
        .create_account(
            AccountInput { owner_id: owner.owner_id, credit_limit_vnd: credit, state: Default::default() },
            NOW,
        )
        .await
        .unwrap();
    let vehicle = r
        .create_vehicle(
            VehicleInput {
                plate: "29A-123.45".parse().unwrap(),
                class: VehicleClass::Car,
                owner_id: None,
                account_id: Some(account.account_id.clone()),
                state: Default::default(),
            },
            NOW,
        )
        .await
        .unwrap();
    r.create_tag(
        TagInput { epc: epc.parse().unwrap(), tid: None, vehicle_id: vehicle.vehicle_id, state: Default::default() },
        NOW,
    )
    .await
    .unwrap();
    account.account_id
}

async fn accounts_debits_top_ups_and_overpayment_credit(db: &Db) {
    let epc = "E20000000000000000000042";
    let account = account_tag(db, epc, 0).await;
    let code: String = sqlx::query_scalar("SELECT topup_code FROM accounts WHERE account_id = $1")
        .bind(account.clone())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    // A top-up by transfer, with the account's code in the memo.
    let (d, _) = book(db, &transfer("t1", 100_000, &format!("nap tien {code}"))).await;
    assert_eq!(d, Disposition::TopUp { account_id: account.clone(), amount: Vnd::new(100_000) });
    // The lists now let the tag spend 100,000 at the edge.
    let snap = crate::lists::snapshot(db, &"hn-01".parse().unwrap(), ts(NOW)).await.unwrap();
    let entry = snap.tags.iter().find(|t| t.epc.to_string() == epc).unwrap();
    assert_eq!((entry.account.as_deref(), entry.spendable), (Some(account.as_str()), Some(Vnd::new(100_000))));
    // An exit debited to the account.
    let exit = event(
        5,
        NOW + 10,
        GateEventKind::Exit {
            credential: tag(epc),
            class: VehicleClass::Car,
            plate: None,
            entered_at: Some(ts(NOW - 7_200_000)),
            fee: Some(fee(60_000, VehicleClass::Car)),
            settlement: Settlement::Account { account: account.clone() },
        },
    );
    ingest(db, std::slice::from_ref(&exit)).await;
    ingest(db, &[exit]).await; // redelivered: debited once
    let bal: i64 = sqlx::query_scalar("SELECT balance_vnd FROM accounts WHERE account_id = $1")
        .bind(account.clone())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(bal, 40_000);
    let snap = crate::lists::snapshot(db, &"hn-01".parse().unwrap(), ts(NOW)).await.unwrap();
    let entry = snap.tags.iter().find(|t| t.epc.to_string() == epc).unwrap();
    assert_eq!(entry.spendable, Some(Vnd::new(40_000)), "the edge learns the new balance");
    // Next stay costs more than the balance: the lane asks for a transfer;
    // the driver pays too much, and the rest is credited to the account.
    let stay = parking_core::gate::stay_code_for_tag(&epc.parse().unwrap(), ts(NOW - 600_000));
    ingest(db, &[request(6, stay, 45_000, tag(epc))]).await;
    let (d, _) = book(db, &transfer("t2", 50_000, stay.as_str())).await;
    match d {
        Disposition::Stay { settled: true, excess, excess_to, .. } => {
            assert_eq!(excess.get(), 5_000);
            assert_eq!(excess_to, Some(format!("account:{account}")));
        }
        other => panic!("{other:?}"),
    }
    let trial = assert_books(db).await;
    assert_eq!(trial.fees_settled_vnd, 105_000);
    assert_eq!(balance(db, &ledger::driver(&account)).await, -45_000);
    // An exit charged to an account that does not exist is an exception.
    let ghost = event(
        7,
        NOW + 20,
        GateEventKind::Exit {
            credential: tag("E20000000000000000000043"),
            class: VehicleClass::Car,
            plate: None,
            entered_at: None,
            fee: Some(fee(10_000, VehicleClass::Car)),
            settlement: Settlement::Account { account: "no-such-account".into() },
        },
    );
    ingest(db, &[ghost]).await;
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM exceptions WHERE kind = 'unknown_account'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(n, 1);
    assert_eq!(assert_books(db).await.fees_settled_vnd, 105_000);
}
on_both_databases!(accounts, accounts_debits_top_ups_and_overpayment_credit);

async fn early_transfers_wait_and_strays_go_to_suspense(db: &Db) {
    // The notification beats the lane's event: held, then applied.
    let code = PaymentCode::stay(3);
    let (d, cmds) = book(db, &transfer("early", 30_000, code.as_str())).await;
    assert_eq!(d, Disposition::Held { payment_code: code });
    assert!(cmds.is_empty());
    let cmds = ingest(db, &[request(1, code, 30_000, Credential::None)]).await;
    assert_eq!(remaining_of(&cmds), [0], "the lane opens as soon as it asks");
    assert_eq!(request_state(db, code).await, (30_000, "paid".into()));
    // A memo a driver mistyped (the check character no longer holds), and
    // one with no code at all: suspense.
    let other = PaymentCode::stay(4);
    ingest(db, &[request(2, other, 20_000, Credential::None)]).await;
    let mut typo = other.as_str().to_owned();
    typo.replace_range(3..4, if &typo[3..4] == "7" { "8" } else { "7" });
    let (d, _) = book(db, &transfer("typo", 20_000, &format!("thanh toan {typo}"))).await;
    assert_eq!(d, Disposition::Suspense);
    let (d, _) = book(db, &transfer("stray", 7_000, "chuyen tien an trua")).await;
    assert_eq!(d, Disposition::Suspense);
    let trial = assert_books(db).await;
    assert_eq!(trial.balances[SUSPENSE], -27_000);
    // The operator matches the typo by hand; the lane opens.
    let how = Resolution::Stay { payment_code: other, note: "memo had a typo".into() };
    let (d, fx, _) = resolve(db, &policy(), "sepay:typo", &how, "op-1", NOW).await.unwrap();
    assert!(matches!(d, Disposition::Stay { settled: true, .. }));
    assert_eq!(remaining_of(&fx.commands), [0]);
    // It cannot be resolved twice; the stray becomes a refund.
    assert!(matches!(resolve(db, &policy(), "sepay:typo", &how, "op-1", NOW).await, Err(ResolveError::Conflict(_))));
    let refund = Resolution::Refund { note: "sender unknown; return it".into() };
    resolve(db, &policy(), "sepay:stray", &refund, "op-1", NOW).await.unwrap();
    let trial = assert_books(db).await;
    assert_eq!(trial.balances.get(SUSPENSE).copied().unwrap_or(0), 0);
    assert_eq!(trial.balances[REFUNDS], -7_000);
    assert_eq!(trial.fees_settled_vnd, 50_000);
    let listed =
        records::transfers(db, &records::TransferQuery { state: Some("suspense".into()), ..Default::default() })
            .await
            .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}
on_both_databases!(early_and_stray, early_transfers_wait_and_strays_go_to_suspense);

async fn a_batch_books_each_id_once(db: &Db) {
    let code = PaymentCode::stay(12);
    ingest(db, &[request(1, code, 10_000, Credential::None)]).await;
    let t = transfer("batch-1", 10_000, code.as_str());
    let stray = transfer("batch-2", 1_000, "khong co ma");
    let mut tx = db.pool.begin().await.unwrap();
    let mut fx = Effects::default();
    let ds = apply_transfers(&mut tx, db.backend, &policy(), &[t.clone(), stray, t], NOW, &mut fx).await.unwrap();
    fx.finish(&mut tx, db.backend, NOW).await.unwrap();
    tx.commit().await.unwrap();
    assert!(
        matches!(ds[..], [Disposition::Stay { settled: true, .. }, Disposition::Suspense, Disposition::Duplicate]),
        "{ds:?}"
    );
    assert_eq!(fx.commands.len(), 1);
    let trial = assert_books(db).await;
    assert_eq!((trial.fees_settled_vnd, trial.balances[SUSPENSE]), (10_000, -1_000));
}
on_both_databases!(batch_dedup, a_batch_books_each_id_once);

mod polling;
mod random;
