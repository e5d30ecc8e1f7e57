//! Invoices: issued for what settlement books, numbered without gaps (also
//! by concurrent issuers), complete XML, delivery retried, top-ups by
//! policy, the journal and both verifiers.

use super::*;

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
on_both_databases!(gap_free, settled_stays_get_gap_free_invoices);

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
        fx.finish(&mut tx, db.backend, NOW).await.unwrap();
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

#[test]
fn issuer_settings_are_checked() {
    let ok = crate::settings::InvoiceSettings {
        seller_name: Some("A".into()),
        seller_address: Some("B".into()),
        seller_tax_code: Some("0101234567-001".into()),
        ..Default::default()
    };
    let i = Issuer::from_settings(&ok, keys()).unwrap().unwrap();
    assert_eq!(i.series(ts(NOW)), "C26MPK");
    assert_eq!(i.lookup_code(ts(NOW), 123), "M1-26-00000-00000000123");
    assert!(Issuer::from_settings(&Default::default(), keys()).unwrap().is_none(), "no seller: no issuer");
    for bad in [
        crate::settings::InvoiceSettings { seller_tax_code: Some("12345".into()), ..ok.clone() },
        crate::settings::InvoiceSettings { series_letters: "pk".into(), ..ok.clone() },
        crate::settings::InvoiceSettings { register_code: "AB".into(), ..ok.clone() },
    ] {
        assert!(Issuer::from_settings(&bad, keys()).is_err(), "{bad:?}");
    }
    assert_eq!(invoicing::backoff(0).as_secs(), 1);
    assert_eq!(invoicing::backoff(5).as_secs(), 32);
    assert_eq!(invoicing::backoff(40).as_secs(), 3600);
}

fn keys() -> crate::tax::receipts::ReceiptKeys {
    crate::tax::receipts::ReceiptKeys::new(parking_core::secret::Secret::new("test receipt secret 0123")).unwrap()
}
