//! Tax against a real database, on SQLite and on PostgreSQL: invoices for
//! what settlement books, numbered without gaps (also by concurrent
//! issuers), well-formed XML with every mandatory field, delivery retried;
//! reports whose totals are the settled fees to the đồng under random
//! traffic; the exports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_core::money::Vnd;
use parking_core::payment_code::PaymentCode;
use parking_core::vat::VatRate;
use parking_core::wire::{Credential, GateEvent, GateEventKind, Settlement};
use parking_core::{Timestamp, VehicleClass};
use proptest::strategy::{Strategy, ValueTree};

use super::invoicing::{self, FileDrop, InvoiceSink, Issuer};
use super::report::{self, ReportQuery};
use super::*;
use crate::db::Db;
use crate::on_both_databases;
use crate::settlement::tests::{NOW, account_tag, event_in, fee, policy, tag, transfer, ts};
use crate::settlement::{Effects, apply_transfer};

const DAY: i64 = 86_400_000;

fn issuer() -> Issuer {
    Issuer::from_settings(&crate::settings::InvoiceSettings {
        seller_name: Some("Công ty TNHH Bãi đỗ xe Hoàn Kiếm".into()),
        seller_address: Some("1 Tràng Tiền, Hoàn Kiếm, Hà Nội".into()),
        seller_tax_code: Some("0101234567".into()),
        register_code: "ABCDE".into(),
        ..Default::default()
    })
    .unwrap()
    .unwrap()
}

async fn ingest(db: &Db, events: &[GateEvent], at_ms: i64) {
    crate::ingest::commit(db, &policy(), events, ts(at_ms)).await.unwrap();
}

async fn pay(db: &Db, id: &str, amount: i64, code: PaymentCode, at_ms: i64) {
    pay_memo(db, id, amount, code.as_str(), at_ms).await;
}

async fn pay_memo(db: &Db, id: &str, amount: i64, memo: &str, at_ms: i64) {
    let mut tx = db.pool.begin().await.unwrap();
    let mut fx = Effects::default();
    apply_transfer(&mut tx, db.backend, &policy(), &transfer(id, amount, memo), at_ms, &mut fx).await.unwrap();
    fx.finish(&mut tx, db.backend).await.unwrap();
    tx.commit().await.unwrap();
}

fn requested(lot: &str, n: u64, at_ms: i64, code: PaymentCode, amount: i64, class: VehicleClass) -> GateEvent {
    event_in(
        lot,
        n,
        at_ms,
        GateEventKind::PaymentRequested {
            credential: Credential::None,
            class: class.clone(),
            entered_at: ts(at_ms - 7_200_000),
            fee: fee(amount, class),
            payment_code: code,
            owed: Vnd::new(amount),
        },
    )
}

fn exit(lot: &str, n: u64, at_ms: i64, class: VehicleClass, amount: i64, settlement: Settlement) -> GateEvent {
    event_in(
        lot,
        n,
        at_ms,
        GateEventKind::Exit {
            credential: tag("E20000000000000000000077"),
            class: class.clone(),
            plate: None,
            entered_at: Some(ts(at_ms - 3_600_000)),
            fee: Some(fee(amount, class)),
            settlement,
        },
    )
}

/// A sink that refuses its first `fail` deliveries, then writes files.
struct Flaky {
    fail: AtomicUsize,
    inner: FileDrop,
}

impl InvoiceSink for Flaky {
    async fn deliver(&self, name: &str, xml: &str) -> Result<(), String> {
        if self.fail.load(Ordering::SeqCst) > 0 {
            self.fail.fetch_sub(1, Ordering::SeqCst);
            return Err("provider answered 503".into());
        }
        self.inner.deliver(name, xml).await
    }
}

fn text<'a>(doc: &'a roxmltree::Document<'_>, name: &str) -> &'a str {
    doc.descendants()
        .find(|n| n.has_tag_name(name))
        .and_then(|n| n.text())
        .unwrap_or_else(|| panic!("<{name}> missing"))
}

async fn settled_stays_get_gap_free_invoices(db: &Db) {
    let account = account_tag(db, "E20000000000000000000077", 0).await;
    let lot = "hn-01";
    // Three stays paid by transfer (one in two parts), one exit debited to
    // an account, one on a pass and one free: four invoices are due.
    for (n, amount) in [(1u32, 30_000i64), (2, 50_000), (3, 25_000)] {
        let code = PaymentCode::stay(n);
        ingest(db, &[requested(lot, u64::from(n), NOW, code, amount, VehicleClass::Car)], NOW).await;
    }
    pay(db, "t1", 30_000, PaymentCode::stay(1), NOW + 1_000).await;
    pay(db, "t2a", 20_000, PaymentCode::stay(2), NOW + 2_000).await;
    pay(db, "t2b", 30_000, PaymentCode::stay(2), NOW + 3_000).await;
    pay(db, "t3", 25_000, PaymentCode::stay(3), NOW + 4_000).await;
    let debit = Settlement::Account { account: account.clone() };
    let pass = Settlement::Pass { pass: "P-1".into() };
    ingest(
        db,
        &[
            exit(lot, 10, NOW + 5_000, VehicleClass::Motorbike, 5_000, debit),
            exit(lot, 11, NOW + 6_000, VehicleClass::Car, 0, pass),
            exit(lot, 12, NOW + 7_000, VehicleClass::Car, 0, Settlement::Free),
        ],
        NOW + 7_000,
    )
    .await;
    let due: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sales WHERE invoice = 'due'").fetch_one(&db.pool).await.unwrap();
    let none: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sales WHERE invoice = 'none'").fetch_one(&db.pool).await.unwrap();
    assert_eq!((due, none), (4, 2), "a partial payment is not a sale; pass and free exits are sales of nothing");

    let issued_at = ts(NOW + 60_000);
    assert_eq!(invoicing::issue_due(db, &issuer(), issued_at, 3).await.unwrap(), 3);
    assert_eq!(invoicing::issue_due(db, &issuer(), issued_at, 3).await.unwrap(), 1);
    assert_eq!(invoicing::issue_due(db, &issuer(), issued_at, 3).await.unwrap(), 0, "nothing is invoiced twice");
    let numbers: Vec<(String, i64, String)> =
        sqlx::query_as("SELECT series, number, sale_id FROM invoices ORDER BY number")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(numbers.iter().map(|n| n.1).collect::<Vec<_>>(), [1, 2, 3, 4], "no gaps, in order of sale");
    assert!(numbers.iter().all(|n| n.0 == "C26MPK"), "{numbers:?}");
    assert_eq!(numbers[3].2, format!("debit:{}", exit(lot, 10, 0, VehicleClass::Car, 0, Settlement::Free).event_id));

    // Every invoice's XML is well formed, complete, and adds up.
    let xmls: Vec<(i64, String)> =
        sqlx::query_as("SELECT number, xml FROM invoices ORDER BY number").fetch_all(&db.pool).await.unwrap();
    let totals = [30_000i64, 50_000, 25_000, 5_000];
    for ((number, xml), total) in xmls.iter().zip(totals) {
        let doc = roxmltree::Document::parse(xml).unwrap();
        assert_eq!(doc.root_element().tag_name().name(), "TDiep");
        assert!(doc.descendants().any(|n| n.has_tag_name("DLHDon")));
        assert_eq!(text(&doc, "KHMSHDon"), "1");
        assert_eq!(text(&doc, "KHHDon"), "C26MPK");
        assert_eq!(text(&doc, "SHDon"), number.to_string());
        assert_eq!(text(&doc, "Ten"), "Công ty TNHH Bãi đỗ xe Hoàn Kiếm");
        assert_eq!(text(&doc, "MST"), "0101234567");
        assert!(text(&doc, "DChi").contains("Hoàn Kiếm"));
        assert_eq!(text(&doc, "NLap"), "2026-11-18");
        assert!(!text(&doc, "TDLap").is_empty());
        assert!(text(&doc, "THHDVu").starts_with("Gửi xe "), "{}", text(&doc, "THHDVu"));
        assert!(text(&doc, "THHDVu").contains(" - "), "the stay's times");
        assert_eq!(text(&doc, "TSuat"), "8%");
        let (net, vat) = VatRate::from_basis_points(800).split(Vnd::new(total));
        assert_eq!(text(&doc, "TgTCThue"), net.get().to_string());
        assert_eq!(text(&doc, "ThTien"), net.get().to_string());
        assert_eq!(text(&doc, "TgTThue"), vat.get().to_string());
        assert_eq!(text(&doc, "TgTTTBSo"), total.to_string());
        assert!(text(&doc, "TgTTTBChu").ends_with("đồng"), "{}", text(&doc, "TgTTTBChu"));
        assert_eq!(text(&doc, "MCCQT"), format!("M1-26-ABCDE-{number:011}"));
    }

    // Delivery: the provider fails twice; nothing is lost, and each
    // invoice is retried after its back-off.
    let dir = std::env::temp_dir().join(format!("invoices-{}-{:?}", std::process::id(), db.backend));
    let _ = std::fs::remove_dir_all(&dir);
    let sink = Flaky { fail: AtomicUsize::new(2), inner: FileDrop { dir: dir.clone() } };
    let t0 = NOW + 60_000;
    let first = invoicing::deliver_due(db, &sink, t0, 100).await.unwrap();
    assert_eq!((first.delivered, first.failed), (2, 2));
    let again = invoicing::deliver_due(db, &sink, t0, 100).await.unwrap();
    assert_eq!((again.delivered, again.failed), (0, 0), "failed ones wait for their back-off");
    let later = invoicing::deliver_due(db, &sink, t0 + 2_000, 100).await.unwrap();
    assert_eq!((later.delivered, later.failed), (2, 0));
    let mut files: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    files.sort();
    assert_eq!(files, ["C26MPK-0000001.xml", "C26MPK-0000002.xml", "C26MPK-0000003.xml", "C26MPK-0000004.xml"]);
    assert_eq!(std::fs::read_to_string(dir.join("C26MPK-0000002.xml")).unwrap(), xmls[1].1);
    let errors: Vec<(i64, Option<String>)> =
        sqlx::query_as("SELECT attempts, last_error FROM invoices WHERE attempts > 1")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(errors.len(), 2, "two needed a second attempt");
    let _ = std::fs::remove_dir_all(&dir);

    // The journal holds the postings, the list versions, the gate events
    // and the invoices, chained, and verifies.
    crate::audit::chain_pending(db).await.unwrap();
    let kinds: Vec<(String, i64)> =
        sqlx::query_as("SELECT kind, COUNT(*) FROM journal_records GROUP BY kind ORDER BY kind")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let count = |k: &str| kinds.iter().find(|(n, _)| n == k).map_or(0, |(_, c)| *c);
    assert_eq!(count("invoice"), 4, "{kinds:?}");
    assert!(count("posting") >= 6, "transfers, settlements and the debit: {kinds:?}");
    assert!(count("gate_events") >= 4 && count("lists_version") >= 1, "{kinds:?}");
    let key = crate::audit::tests_key();
    let seal = crate::audit::seal(db, &key, "2026-11-18", NOW).await.unwrap();
    assert_eq!((seal.totals["invoices"], seal.totals["invoiced_vnd"]), (4, 110_000), "{seal:?}");
    assert_eq!(seal.totals["fees_settled_vnd"], 110_000);
    let v = crate::audit::verify(db, &key.verifying_key()).await.unwrap().unwrap();
    assert_eq!(v.seals, 1);
    // The independent verifier agrees, from the export alone.
    let mut exported = Vec::new();
    assert_eq!(crate::audit::export(db, &mut exported).await.unwrap(), v.records);
    let public = journal_verify::public_key(&parking_core::chain::public_hex(&key)).unwrap();
    let summary = journal_verify::verify(exported.as_slice(), &public).unwrap();
    assert_eq!((summary.records, summary.seals, summary.last_hash), (v.records, 1, v.last_hash.to_string()));
    // An invoice record edited in the database is caught by both.
    let seq: i64 = sqlx::query_scalar("SELECT MIN(seq) FROM journal_records WHERE kind = 'invoice'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    sqlx::query("UPDATE journal_records SET body = REPLACE(body, '30000', '3000') WHERE seq = $1")
        .bind(seq)
        .execute(&db.pool)
        .await
        .unwrap();
    let seq = u64::try_from(seq).unwrap();
    assert_eq!(
        crate::audit::verify(db, &key.verifying_key()).await.unwrap(),
        Err(parking_core::chain::Tamper::Edited { seq })
    );
    let mut exported = Vec::new();
    crate::audit::export(db, &mut exported).await.unwrap();
    assert_eq!(journal_verify::verify(exported.as_slice(), &public), Err(journal_verify::Problem::Edited { seq }));
}
on_both_databases!(invoices, settled_stays_get_gap_free_invoices);

/// With `[invoice] topups = true` a top-up is invoiced when paid, and an
/// exit debited from the account is not (its VAT was on the top-up's
/// invoice); without it, the other way round.
async fn top_ups_are_invoiced_when_the_policy_says(db: &Db) {
    let account = account_tag(db, "E20000000000000000000077", 0).await;
    let code: String = sqlx::query_scalar("SELECT topup_code FROM accounts WHERE account_id = $1")
        .bind(account.clone())
        .fetch_one(&db.pool)
        .await
        .unwrap();
    for (n, topups) in [(1u64, true), (2, false)] {
        let policy = crate::settlement::Policy { lot: "hn-01".into(), invoice_topups: topups, ..policy() };
        let mut tx = db.pool.begin().await.unwrap();
        let mut fx = Effects::default();
        let t = transfer(&format!("top-{n}"), 200_000, &format!("nap {code}"));
        apply_transfer(&mut tx, db.backend, &policy, &t, NOW, &mut fx).await.unwrap();
        fx.finish(&mut tx, db.backend).await.unwrap();
        tx.commit().await.unwrap();
        let debit = Settlement::Account { account: account.clone() };
        let e = exit("hn-01", n, NOW + 1_000, VehicleClass::Car, 30_000, debit);
        crate::ingest::commit(db, &policy, std::slice::from_ref(&e), ts(NOW)).await.unwrap();
        let states: Vec<(String, String, String)> =
            sqlx::query_as("SELECT kind, invoice, lot FROM sales WHERE sale_id IN ($1, $2) ORDER BY kind")
                .bind(format!("apply:sepay:top-{n}"))
                .bind(format!("debit:{}", e.event_id))
                .fetch_all(&db.pool)
                .await
                .unwrap();
        let (topup, stay) = if topups { ("due", "none") } else { ("none", "due") };
        assert_eq!(
            states,
            [("stay".into(), stay.into(), "hn-01".into()), ("topup".into(), topup.into(), "hn-01".into())],
            "topups = {topups}"
        );
    }
    assert_eq!(invoicing::issue_due(db, &issuer(), ts(NOW + 5_000), 10).await.unwrap(), 2);
    let xml: String = sqlx::query_scalar("SELECT xml FROM invoices WHERE sale_id = 'apply:sepay:top-1'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert!(xml.contains(&format!("Nạp tiền tài khoản gửi xe {account}")), "{xml}");
    assert!(xml.contains("<TgTTTBSo>200000</TgTTTBSo>"), "{xml}");
    let q = ReportQuery::new("hn-01", "2026-11-18", "2026-11-18", None, None).unwrap();
    let r = report::revenue(db, &q, ts(NOW)).await.unwrap();
    assert_eq!((r.topups.count, r.topups.total_vnd, r.topups.invoiced), (2, 400_000, 1));
    assert_eq!((r.totals.count, r.totals.total_vnd, r.totals.invoiced), (2, 60_000, 1));
}
on_both_databases!(top_up_invoices, top_ups_are_invoiced_when_the_policy_says);

async fn concurrent_issuers_take_each_number_once(db: &Db) {
    let sales: Vec<Sale> = (0..200)
        .map(|i| Sale {
            id: format!("settle:PK{i:06}"),
            lot: "hn-01".into(),
            kind: SaleKind::Stay,
            class: "car".into(),
            channel: Channel::Transfer,
            at_ms: NOW + i,
            reference: format!("PK{i:06}"),
            entered_ms: Some(NOW - DAY),
            exited_ms: Some(NOW + i),
            rate: VatRate::from_basis_points(800),
            total: 10_000 + i,
            invoice: true,
        })
        .collect();
    let mut tx = db.pool.begin().await.unwrap();
    write(&mut tx, db.backend, &sales).await.unwrap();
    tx.commit().await.unwrap();
    let work = |db: Db| async move {
        let mut n = 0;
        loop {
            match invoicing::issue_due(&db, &issuer(), ts(NOW + DAY), 7).await {
                Ok(0) => return n,
                Ok(k) => n += k,
                // SQLite refuses a second writer while one holds the lock
                // past its busy timeout; PostgreSQL never should.
                Err(e) => panic!("issuing failed: {e}"),
            }
        }
    };
    let handles: Vec<_> = (0..4).map(|_| tokio::spawn(work(db.clone()))).collect();
    let mut issued = 0;
    for h in handles {
        issued += h.await.unwrap();
    }
    assert_eq!(issued, 200);
    let numbers: Vec<i64> =
        sqlx::query_scalar("SELECT number FROM invoices ORDER BY number").fetch_all(&db.pool).await.unwrap();
    assert_eq!(numbers, (1..=200).collect::<Vec<i64>>(), "each number once, no gaps");
    let distinct: i64 =
        sqlx::query_scalar("SELECT COUNT(DISTINCT sale_id) FROM invoices").fetch_one(&db.pool).await.unwrap();
    assert_eq!(distinct, 200, "each sale invoiced once");
}
on_both_databases!(concurrent_issuers, concurrent_issuers_take_each_number_once);

/// One step of random traffic in a lot.
#[derive(Clone, Debug)]
enum Step {
    /// A lane asks for stay `code` to be paid (amount in thousands).
    Request {
        code: u8,
        thousands: u8,
        car: bool,
    },
    /// A transfer towards stay `code` (may under- or overpay, or pay twice).
    Pay {
        code: u8,
        thousands: u8,
    },
    /// An exit debited to the account.
    Debit {
        thousands: u8,
    },
    Pass,
    Free,
}

fn step() -> impl Strategy<Value = Step> {
    use proptest::prelude::*;
    prop_oneof![
        (0u8..12, 1u8..60, any::<bool>()).prop_map(|(code, thousands, car)| Step::Request { code, thousands, car }),
        (0u8..12, 1u8..60).prop_map(|(code, thousands)| Step::Pay { code, thousands }),
        (1u8..40).prop_map(|thousands| Step::Debit { thousands }),
        Just(Step::Pass),
        Just(Step::Free),
    ]
}

/// Under random traffic spread over days across a month end, the report's
/// totals are the settled fees, to the đồng: the requests paid in full
/// (their fee, once) plus the exits debited; VAT is the sum of each sale's
/// own split; days add up to months; pass and free exits are counted.
async fn report_totals_are_settled_fees(db: &Db) {
    let account = account_tag(db, "E20000000000000000000077", 10_000_000).await;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = proptest::collection::vec(step(), 20..80);
    // 2026-10-28: the steps run into November.
    let start = NOW - 21 * DAY;
    for case in 0..4 {
        let lot = format!("lot-{case}");
        let steps = strategy.new_tree(&mut runner).unwrap().current();
        let mut debited = Vec::new();
        let (mut passes, mut frees) = (0, 0);
        for (i, s) in steps.iter().enumerate() {
            let n = u64::try_from(i).unwrap();
            let at = start + i64::try_from(i).unwrap() * (DAY / 7);
            let code = |c: u8| PaymentCode::stay(u32::from(c) + 100 * case);
            match s {
                Step::Request { code: c, thousands, car } => {
                    let class = if *car { VehicleClass::Car } else { VehicleClass::Motorbike };
                    let e = requested(&lot, n, at, code(*c), i64::from(*thousands) * 1_000, class);
                    ingest(db, &[e], at).await;
                }
                Step::Pay { code: c, thousands } => {
                    pay(db, &format!("{lot}-{i}"), i64::from(*thousands) * 1_000, code(*c), at).await;
                }
                Step::Debit { thousands } => {
                    let amount = i64::from(*thousands) * 1_000;
                    let settle = Settlement::Account { account: account.clone() };
                    ingest(db, &[exit(&lot, n, at, VehicleClass::Motorbike, amount, settle)], at).await;
                    debited.push(amount);
                }
                Step::Pass => {
                    let settle = Settlement::Pass { pass: "P-9".into() };
                    ingest(db, &[exit(&lot, n, at, VehicleClass::Car, 0, settle)], at).await;
                    passes += 1;
                }
                Step::Free => {
                    ingest(db, &[exit(&lot, n, at, VehicleClass::Car, 0, Settlement::Free)], at).await;
                    frees += 1;
                }
            }
        }
        // What was settled, from the requests' own rows.
        let settled: Vec<i64> =
            sqlx::query_scalar("SELECT fee_vnd FROM payment_requests WHERE state = 'paid' AND lot = $1")
                .bind(lot.clone())
                .fetch_all(&db.pool)
                .await
                .unwrap();
        let fees: Vec<i64> = settled.iter().chain(&debited).copied().collect();
        let expected_total: i64 = fees.iter().sum();
        let expected_vat: i64 = fees.iter().map(|f| VatRate::from_basis_points(800).split(Vnd::new(*f)).1.get()).sum();
        let q = ReportQuery::new(&lot, "2026-10-01", "2026-11-30", None, None).unwrap();
        let r = report::revenue(db, &q, ts(NOW)).await.unwrap();
        assert_eq!(r.totals.total_vnd, expected_total, "case {case}: {steps:?}");
        assert_eq!(r.totals.vat_vnd, expected_vat, "case {case}");
        assert_eq!(r.totals.net_vnd + r.totals.vat_vnd, r.totals.total_vnd);
        let paid_count = i64::try_from(fees.len()).unwrap();
        assert_eq!(r.reconciliation.stays_settled, paid_count, "case {case}");
        assert_eq!(r.totals.count, paid_count + passes + frees, "case {case}");
        for rows in [&r.by_day, &r.by_month] {
            assert_eq!(rows.iter().map(|d| d.sums.total_vnd).sum::<i64>(), expected_total);
            assert!(rows.iter().all(|d| d.sums.net_vnd + d.sums.vat_vnd == d.sums.total_vnd));
        }
        assert!(r.by_vat_rate.iter().all(|x| x.vat_bp == 800), "October and November 2026 are at 8%");
        assert_eq!(r.by_vat_rate.iter().map(|x| x.sums.total_vnd).sum::<i64>(), expected_total);
        assert_eq!(r.by_vat_rate.iter().map(|x| x.sums.vat_vnd).sum::<i64>(), expected_vat);
        let channel = |c: &str| r.by_month.iter().filter(|m| m.channel == c).map(|m| m.sums.count).sum::<i64>();
        assert_eq!((channel("pass"), channel("free")), (passes, frees));
        assert_eq!(channel("account"), i64::try_from(debited.len()).unwrap());
        assert!(r.by_month.iter().all(|m| m.period == "2026-10" || m.period == "2026-11"));
        // A filter narrows without changing a đồng of what it keeps.
        let q = ReportQuery::new(&lot, "2026-10-01", "2026-11-30", None, Some("account")).unwrap();
        let only = report::revenue(db, &q, ts(NOW)).await.unwrap();
        assert_eq!(only.totals.total_vnd, debited.iter().sum::<i64>());
        // The ledger agrees with the reports of all lots together.
        if case == 3 {
            let mut all = 0;
            for l in 0..4 {
                let q = ReportQuery::new(&format!("lot-{l}"), "2026-10-01", "2026-11-30", None, None).unwrap();
                all += report::revenue(db, &q, ts(NOW)).await.unwrap().totals.total_vnd;
            }
            let trial = crate::settlement::ledger::trial(db).await.unwrap();
            assert_eq!(trial.fees_settled_vnd, all, "revenue + VAT in the ledger = the reports' totals");
        }
    }
}
on_both_databases!(report_property, report_totals_are_settled_fees);

/// A period across the end of the 8% reduction (2026-12-31): the report
/// splits revenue by rate, each sale at the rate of its own day.
async fn revenue_is_split_by_vat_rate(db: &Db) {
    let account = account_tag(db, "E20000000000000000000077", 10_000_000).await;
    let before = 1_798_736_400_000 - 1_800_000; // 2026-12-31T23:30+07:00
    let after = 1_798_736_400_000 + 1_800_000; // 2027-01-01T00:30+07:00
    for (n, at, amount) in [(1u64, before, 54_000i64), (2, after, 55_000)] {
        let settle = Settlement::Account { account: account.clone() };
        ingest(db, &[exit("hn-01", n, at, VehicleClass::Car, amount, settle)], at).await;
    }
    let q = ReportQuery::new("hn-01", "2026-12-31", "2027-01-01", None, None).unwrap();
    let r = report::revenue(db, &q, ts(after)).await.unwrap();
    let rates: Vec<(i64, i64, i64, i64)> =
        r.by_vat_rate.iter().map(|x| (x.vat_bp, x.sums.net_vnd, x.sums.vat_vnd, x.sums.total_vnd)).collect();
    assert_eq!(rates, [(800, 50_000, 4_000, 54_000), (1_000, 50_000, 5_000, 55_000)]);
    assert_eq!(r.by_month.iter().map(|m| m.period.as_str()).collect::<Vec<_>>(), ["2026-12", "2027-01"]);
    let csv_text = String::from_utf8(export::export(&r, export::ExportFormat::Csv).unwrap()).unwrap();
    // One sale at 10%, awaiting its invoice (no issuer ran).
    assert!(csv_text.contains(",vat 10.00%,1,0,1,50000,5000,55000,"), "{csv_text}");
}
on_both_databases!(vat_rates, revenue_is_split_by_vat_rate);

async fn reconciliation_lists_every_mismatch_and_exports(db: &Db) {
    let lot = "hn-01";
    let code = PaymentCode::stay(7);
    ingest(db, &[requested(lot, 1, NOW, code, 40_000, VehicleClass::Car)], NOW).await;
    pay(db, "paid-twice-a", 40_000, code, NOW + 1_000).await;
    pay(db, "paid-twice-b", 40_000, code, NOW + 2_000).await;
    pay_memo(db, "stray", 12_000, "chuyen tien gui xe", NOW + 3_000).await;
    let unpaid = Settlement::Unpaid { owed: Vnd::new(20_000) };
    let manual = event_in(
        lot,
        3,
        NOW + 5_000,
        GateEventKind::ManualOpen {
            operator: "op-lan".into(),
            reason: parking_core::wire::ManualOpenReason::PaymentProblem,
            note: "app crashed".into(),
        },
    );
    ingest(db, &[exit(lot, 2, NOW + 4_000, VehicleClass::Car, 20_000, unpaid), manual], NOW + 5_000).await;
    let q = ReportQuery::new(lot, "2026-11-18", "2026-11-18", None, None).unwrap();
    // Ten minutes later, the sale still has no invoice (no issuer ran).
    let r = report::revenue(db, &q, ts(NOW + 600_000)).await.unwrap();
    let kinds: Vec<&str> = r.reconciliation.mismatches.iter().map(|m| m.kind.as_str()).collect();
    for k in ["unpaid_exit", "manual_open", "transfer_suspense", "refund_owed", "invoice_missing"] {
        assert!(kinds.contains(&k), "{k} missing from {kinds:?}");
    }
    let manual = r.reconciliation.mismatches.iter().find(|m| m.kind == "manual_open").unwrap();
    assert!(manual.detail.contains("op-lan"), "{manual:?}");
    assert_eq!(r.reconciliation.exits.unpaid, 1);
    assert_eq!(r.reconciliation.transfers.received_vnd, 92_000);
    assert_eq!(r.reconciliation.transfers.refund_vnd, 40_000);
    assert_eq!(r.reconciliation.transfers.unmatched_vnd, 12_000);
    assert_eq!((r.reconciliation.invoices_due, r.reconciliation.invoices_issued), (1, 0));
    assert_eq!(r.totals.total_vnd, 40_000, "paid twice, counted once");

    // CSV: one table, every row accounted for, amounts as in the JSON.
    let csv_text = String::from_utf8(export::export(&r, export::ExportFormat::Csv).unwrap()).unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let expected = r.by_day.len() + r.by_month.len() + 2 + r.by_vat_rate.len() + r.reconciliation.mismatches.len();
    assert_eq!(rows.len(), expected);
    let total = rows.iter().find(|row| &row[0] == "total").unwrap();
    assert_eq!(&total[9], "40000");
    assert!(rows.iter().any(|row| &row[0] == "mismatch" && &row[2] == "transfer_suspense" && &row[9] == "12000"));
    // JSON round-trips.
    let json = export::export(&r, export::ExportFormat::Json).unwrap();
    assert_eq!(serde_json::from_slice::<report::Report>(&json).unwrap(), r);
    // XLSX: a zip workbook with the four sheets.
    let xlsx = export::export(&r, export::ExportFormat::Xlsx).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx)).unwrap();
    let mut workbook = String::new();
    std::io::Read::read_to_string(&mut zip.by_name("xl/workbook.xml").unwrap(), &mut workbook).unwrap();
    for sheet in ["By day", "By month", "Reconciliation", "Mismatches"] {
        assert!(workbook.contains(&format!("name=\"{sheet}\"")), "{workbook}");
    }
    assert!(zip.by_name("xl/worksheets/sheet4.xml").is_ok());
}
on_both_databases!(reconciliation, reconciliation_lists_every_mismatch_and_exports);

#[test]
fn report_queries_are_checked() {
    assert!(ReportQuery::new("hn-01", "2026-11-01", "2026-11-30", None, None).is_ok());
    for (from, to) in [("2026-11-31", "2026-12-01"), ("yesterday", "2026-11-01"), ("2026-11-02", "2026-11-01")] {
        assert!(ReportQuery::new("hn-01", from, to, None, None).is_err(), "{from}..{to}");
    }
    assert!(ReportQuery::new("hn-01", "2025-01-01", "2026-11-01", None, None).is_err(), "over a year");
    assert!(ReportQuery::new("hn-01", "2026-11-01", "2026-11-01", None, Some("cash")).is_err());
    assert!(ReportQuery::new("hn-01", "2026-11-01", "2026-11-01", Some("car'; --".into()), None).is_err());
    let q = ReportQuery::new("hn-01", "2026-11-18", "2026-11-18", None, None).unwrap();
    let (start, end) = q.range_ms();
    assert_eq!(Timestamp::from_unix_millis(start).unwrap().to_string(), "2026-11-17T17:00:00Z", "local midnight");
    assert_eq!(end - start, DAY);
}

#[test]
fn issuer_settings_are_checked() {
    let ok = crate::settings::InvoiceSettings {
        seller_name: Some("A".into()),
        seller_address: Some("B".into()),
        seller_tax_code: Some("0101234567-001".into()),
        ..Default::default()
    };
    let i = Issuer::from_settings(&ok).unwrap().unwrap();
    assert_eq!(i.series(ts(NOW)), "C26MPK");
    assert_eq!(i.lookup_code(ts(NOW), 123), "M1-26-00000-00000000123");
    assert!(Issuer::from_settings(&Default::default()).unwrap().is_none(), "no seller: no issuer");
    for bad in [
        crate::settings::InvoiceSettings { seller_tax_code: Some("12345".into()), ..ok.clone() },
        crate::settings::InvoiceSettings { series_letters: "pk".into(), ..ok.clone() },
        crate::settings::InvoiceSettings { register_code: "AB".into(), ..ok.clone() },
    ] {
        assert!(Issuer::from_settings(&bad).is_err(), "{bad:?}");
    }
    assert_eq!(invoicing::backoff(0).as_secs(), 1);
    assert_eq!(invoicing::backoff(5).as_secs(), 32);
    assert_eq!(invoicing::backoff(40).as_secs(), 3600);
}
