//! Receipts through the API: the link an invoice lists opens its receipt
//! without a token, as a page and as XML; only the key's hash is stored; an
//! altered or made-up key answers 404, and guessing is limited per address.

use axum::http::StatusCode;
use parking_core::PaymentCode;

use super::settlement_api::{lane_asks, sepay_body};
use super::{Api, error_of};
use crate::db::Db;

async fn a_receipt_opens_by_its_link_alone(db: &Db) {
    let api = Api::new(db).await;
    let code = PaymentCode::stay(4243);
    lane_asks(db, 1, code, 54_000).await;
    let apikey = vec![("authorization", "Apikey sepay-test-key".to_owned())];
    let (s, _) = api.post_with("/api/v1/webhooks/sepay", &apikey, &sepay_body(9101, 54_000, code.as_str())).await;
    assert_eq!(s, StatusCode::OK);
    let now = parking_runtime::Clock::wall().now();
    assert_eq!(crate::tax::invoicing::issue_due(db, &super::issuer(), now, 100).await.unwrap(), 1);

    let (s, list) = api.call("GET", "/api/v1/invoices", &api.tax, None).await;
    assert_eq!(s, StatusCode::OK);
    let url = list[0]["receipt_url"].as_str().unwrap().to_owned();
    let key = url.strip_prefix("/lots/api-lot/receipt/").unwrap_or_else(|| panic!("{url}"));
    assert!(key.len() == 32 && key.bytes().all(|b| b.is_ascii_hexdigit()), "128 bits: {key}");
    let stored: String = sqlx::query_scalar("SELECT receipt_hash FROM invoices").fetch_one(&db.pool).await.unwrap();
    assert_eq!(stored, crate::tax::receipts::stored(key));
    assert!(!stored.contains(key), "the key itself is not stored");

    let (s, page) = api.raw("GET", &url, None, None).await;
    assert_eq!(s, StatusCode::OK);
    let page = page.as_str().unwrap();
    let lookup = list[0]["lookup_code"].as_str().unwrap();
    let words = parking_core::invoice::dong_in_words(54_000);
    for shown in
        ["Bãi xe Hàng Bài", "0109876543", lookup, "54.000 đ", &words, "Hóa đơn giá trị gia tăng", "VAT invoice"]
    {
        assert!(page.contains(shown), "{shown} missing from the receipt: {page}");
    }
    assert!(!page.contains("<script"), "the receipt needs no JavaScript");
    let (s, xml) = api.raw("GET", &format!("{url}/xml"), None, None).await;
    let stored_xml: String = sqlx::query_scalar("SELECT xml FROM invoices").fetch_one(&db.pool).await.unwrap();
    assert_eq!((s, xml.as_str()), (StatusCode::OK, Some(stored_xml.as_str())));

    // One character changed, a made-up key, a malformed one: nothing.
    let flipped = format!("{}{}", &key[..31], if key.ends_with('0') { '1' } else { '0' });
    for wrong in [flipped.as_str(), "00000000000000000000000000000000", "not-a-key", &key.to_uppercase()] {
        let (s, body) = api.raw("GET", &format!("/lots/api-lot/receipt/{wrong}"), None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{wrong}");
        assert!(!body.as_str().unwrap_or("").contains(lookup), "{wrong}");
        assert_eq!(
            api.raw("GET", &format!("/lots/api-lot/receipt/{wrong}/xml"), None, None).await.0,
            StatusCode::NOT_FOUND
        );
    }
}
crate::on_both_databases!(receipts, a_receipt_opens_by_its_link_alone);

async fn guessing_is_limited_per_address(db: &Db) {
    let limits = crate::api::limits::RateLimits::new(0, 0).with_public(20, 3);
    let api = Api::with_limits(db, limits).await;
    for n in 0..3 {
        let (s, _) = api.raw("GET", &format!("/lots/api-lot/receipt/{n:032}"), None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let (s, v) = api.raw("GET", "/api/v1/public/stay?q=30K11122", None, None).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"), "a fourth guess");
    // The lot's free spaces are still answered, until the wider limit.
    let mut statuses = Vec::new();
    for _ in 0..20 {
        statuses.push(api.raw("GET", "/api/v1/public/availability", None, None).await.0);
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::OK).count(), 16, "{statuses:?}");
    assert_eq!(statuses.last(), Some(&StatusCode::TOO_MANY_REQUESTS));
}
crate::on_both_databases!(public_limits, guessing_is_limited_per_address);
