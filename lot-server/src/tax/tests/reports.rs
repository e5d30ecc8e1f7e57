//! Reports: totals equal to the settled fees under random traffic, VAT by
//! rate, every mismatch listed, the exports read back.

use super::*;
use crate::tax::sheet_words::Lang;

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
    let csv_bytes = export::export(&r, export::ExportFormat::Csv, Default::default()).unwrap();
    assert!(csv_bytes.starts_with(export::UTF8_BOM), "Excel needs the BOM to read UTF-8");
    let csv_text = String::from_utf8(csv_bytes).unwrap();
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
    let csv_bytes = export::export(&r, export::ExportFormat::Csv, Default::default()).unwrap();
    assert!(csv_bytes.starts_with(export::UTF8_BOM), "Excel needs the BOM to read UTF-8");
    let csv_text = String::from_utf8(csv_bytes).unwrap();
    let mut reader = csv::Reader::from_reader(csv_text.as_bytes());
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let expected = r.by_day.len() + r.by_month.len() + 2 + r.by_vat_rate.len() + r.reconciliation.mismatches.len();
    assert_eq!(rows.len(), expected);
    let total = rows.iter().find(|row| &row[0] == "total").unwrap();
    assert_eq!(&total[9], "40000");
    assert!(rows.iter().any(|row| &row[0] == "mismatch" && &row[2] == "transfer_suspense" && &row[9] == "12000"));
    // JSON round-trips.
    let json = export::export(&r, export::ExportFormat::Json, Default::default()).unwrap();
    assert_eq!(serde_json::from_slice::<report::Report>(&json).unwrap(), r);
    // XLSX: a zip workbook with the four sheets.
    // XLSX: a zip workbook with the four sheets, in Vietnamese unless
    // English is asked for: sheet names, headers, labels and codes.
    let part = |xlsx: &[u8], name: &str| {
        let mut zip = zip::ZipArchive::new(std::io::Cursor::new(xlsx.to_vec())).unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut zip.by_name(name).unwrap(), &mut text).unwrap();
        text
    };
    let vi = export::export(&r, export::ExportFormat::Xlsx, Lang::Vi).unwrap();
    let en = export::export(&r, export::ExportFormat::Xlsx, Lang::En).unwrap();
    for (xlsx, sheets) in [
        (&vi, ["Theo ngày", "Theo tháng", "Đối soát", "Sai lệch"]),
        (&en, ["By day", "By month", "Reconciliation", "Mismatches"]),
    ] {
        let workbook = part(xlsx, "xl/workbook.xml");
        for sheet in sheets {
            assert!(workbook.contains(&format!("name=\"{sheet}\"")), "{workbook}");
        }
        assert!(!part(xlsx, "xl/worksheets/sheet4.xml").is_empty());
    }
    let strings = part(&vi, "xl/sharedStrings.xml");
    for words in ["Kênh thanh toán", "Tổng cộng (đồng)", "Doanh thu gồm thuế GTGT (đồng)", "Chuyển khoản chưa khớp"]
    {
        assert!(strings.contains(words), "{words}: {strings}");
    }
    assert!(!strings.contains("transfer_suspense") && !strings.contains("total_vnd"), "{strings}");
    let strings = part(&en, "xl/sharedStrings.xml");
    assert!(strings.contains("Transfer in suspense") && strings.contains("Total (VND)"), "{strings}");
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
