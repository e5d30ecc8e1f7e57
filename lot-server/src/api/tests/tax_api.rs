//! Tax through the HTTP API: a tax officer reads the revenue report in
//! JSON, CSV and XLSX, the invoices and their XML, and the journal's
//! verification; nobody reads them without a token.

use axum::http::StatusCode;
use parking_core::PaymentCode;

use super::Api;
use super::settlement_api::{lane_asks, sepay_body};
use crate::db::Db;

async fn a_tax_officer_reads_reports_invoices_and_the_journal(db: &Db) {
    let api = Api::new(db).await;
    let code = PaymentCode::stay(4242);
    lane_asks(db, 1, code, 45_000).await;
    let apikey = vec![("authorization", "Apikey sepay-test-key".to_owned())];
    let (s, v) = api.post_with("/api/v1/webhooks/sepay", &apikey, &sepay_body(9001, 45_000, code.as_str())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let now = parking_runtime::Clock::wall().now();
    let issuer = super::issuer();
    assert_eq!(crate::tax::invoicing::issue_due(db, &issuer, now, 100).await.unwrap(), 1);
    crate::audit::chain_pending(db).await.unwrap();

    let today = now.local_date().format(crate::db::ISO_DATE).unwrap();
    let path = |extra: &str| format!("/api/v1/reports/revenue?from={today}&to={today}&lot=hn-01{extra}");
    assert_eq!(api.raw("GET", &path(""), None, None).await.0, StatusCode::UNAUTHORIZED);

    let (s, r) = api.call("GET", &path(""), &api.tax, None).await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["totals"]["total_vnd"], 45_000);
    assert_eq!(r["totals"]["invoiced"], 1);
    assert_eq!(r["by_day"][0]["channel"], "transfer");
    assert_eq!(r["reconciliation"]["transfers"]["received_vnd"], 45_000);
    let (s, csv) = api.call("GET", &path("&format=csv"), &api.tax, None).await;
    assert_eq!(s, StatusCode::OK);
    let csv = csv.as_str().unwrap();
    assert!(csv.starts_with("\u{feff}section,period,class,channel,count"), "with the BOM Excel needs: {csv}");
    assert!(csv.lines().any(|l| l.starts_with("total,") && l.contains(",45000,")), "{csv}");
    let (s, xlsx) = api.call("GET", &path("&format=xlsx"), &api.tax, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(xlsx.as_str().unwrap().starts_with("PK\u{3}\u{4}"), "a zip workbook");
    let (s, xlsx_en) = api.call("GET", &path("&format=xlsx&lang=en"), &api.tax, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_ne!(xlsx_en, xlsx, "the English workbook differs from the Vietnamese one");

    // The request is checked, not guessed at.
    for bad in ["&format=pdf", "&channel=cash", "&colour=red", "&format=xlsx&lang=fr"] {
        assert_eq!(api.call("GET", &path(bad), &api.tax, None).await.0, StatusCode::BAD_REQUEST, "{bad}");
    }
    let (s, _) = api.call("GET", "/api/v1/reports/revenue?from=2026-13-01&to=2026-11-01", &api.tax, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    let (s, list) = api.call("GET", "/api/v1/invoices", &api.tax, None).await;
    assert_eq!(s, StatusCode::OK);
    let inv = &list[0];
    assert_eq!((inv["number"].as_i64(), inv["total_vnd"].as_i64()), (Some(1), Some(45_000)));
    let xml_path = format!("/api/v1/invoices/{}/1", inv["series"].as_str().unwrap());
    let (s, xml) = api.call("GET", &xml_path, &api.tax, None).await;
    assert_eq!(s, StatusCode::OK);
    let xml = xml.as_str().unwrap();
    assert!(xml.contains("<TDiep>") && xml.contains("<MST>0109876543</MST>"), "{xml}");
    let missing = format!("/api/v1/invoices/{}/2", inv["series"].as_str().unwrap());
    assert_eq!(api.call("GET", &missing, &api.tax, None).await.0, StatusCode::NOT_FOUND);

    let (s, v) = api.call("GET", "/api/v1/journal/verify", &api.tax, None).await;
    assert_eq!((s, v["ok"].as_bool()), (StatusCode::OK, Some(true)), "{v}");
    assert!(v["records"].as_u64().unwrap() >= 3, "events, postings, invoice: {v}");
    assert_eq!(api.raw("GET", "/api/v1/journal/verify", None, None).await.0, StatusCode::UNAUTHORIZED);
}
crate::on_both_databases!(tax_api, a_tax_officer_reads_reports_invoices_and_the_journal);
