//! A stay's detail through the API: a tagged car enters, the exit lane
//! asks for payment, a transfer pays it, the car leaves, the invoice is
//! issued; the detail shows each of them.

use axum::http::StatusCode;
use parking_core::PaymentCode;
use serde_json::{Value, json};

use super::Api;
use super::settlement_api::sepay_body;
use crate::db::Db;

fn event(n: u64, gate: &str, at: &str, kind: Value) -> parking_core::wire::GateEvent {
    let mut e = json!({ "v": 1, "event_id": uuid::Uuid::from_u64_pair(31, n).to_string(), "lot": "api-lot",
                        "gate": gate, "seq": n, "at": at, "list_version": 1 });
    for (k, v) in kind.as_object().unwrap() {
        e[k] = v.clone();
    }
    serde_json::from_value(e).unwrap()
}

async fn a_stay_shows_its_events_fee_payment_and_invoice(db: &Db) {
    let api = Api::new(db).await;
    let now = parking_runtime::Clock::wall().now();
    let ms = now.unix_millis();
    let at = |offset_ms: i64| parking_core::Timestamp::from_unix_millis(ms - offset_ms).unwrap();
    let (entered, asked, left) = (at(3_600_000), at(60_000), at(1_000));
    let code = PaymentCode::stay(5150);
    let tag = json!({ "kind": "tag", "epc": "E2000000000000000000D00D" });
    let fee = json!({ "amount": 25_000, "tariff_version": "hn-z1-2018-example", "class": "car", "items": [
        { "kind": "first_block", "from": entered, "to": asked, "quantity": 1, "unit_price": 25_000, "amount": 25_000 } ] });
    let ingest = |events: Vec<parking_core::wire::GateEvent>| async move {
        crate::ingest::commit(db, &crate::settlement::Policy::from_tax(&Default::default()).unwrap(), &events, now)
            .await
            .unwrap();
    };
    ingest(vec![
        event(
            1,
            "entry-1",
            &entered.to_string(),
            json!({ "type": "entry", "credential": tag, "class": "car", "plate": "30G-456.78" }),
        ),
        event(
            2,
            "exit-1",
            &asked.to_string(),
            json!({ "type": "payment_requested", "credential": tag, "class": "car",
            "entered_at": entered, "payment_code": code.as_str(), "owed": 25_000, "fee": fee }),
        ),
    ])
    .await;
    let apikey = vec![("authorization", "Apikey sepay-test-key".to_owned())];
    let (s, v) = api.post_with("/api/v1/webhooks/sepay", &apikey, &sepay_body(7001, 25_000, code.as_str())).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    ingest(vec![event(3, "exit-1", &left.to_string(), json!({ "type": "exit", "credential": tag, "class": "car",
        "entered_at": entered, "fee": fee, "settlement": { "kind": "transfer", "payment_code": code.as_str(), "paid": 25_000 } }))])
    .await;
    let issuer = super::issuer();
    crate::tax::invoicing::issue_due(db, &issuer, now, 100).await.unwrap();

    let found = api.ok("GET", "/api/v1/sessions?q=30g456", None).await;
    let id = found[0]["session_id"].as_str().unwrap().to_owned();
    let (s, d) = api.call("GET", &format!("/api/v1/sessions/{id}/detail"), &api.tax, None).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    let kinds: Vec<&str> = d["events"].as_array().unwrap().iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["entry", "payment_requested", "exit"]);
    assert_eq!(d["fee"]["items"][0]["kind"], "first_block");
    assert_eq!(d["fee"]["amount"], 25_000);
    let payments = d["payments"].as_array().unwrap();
    assert_eq!((payments.len(), &payments[0]["amount_vnd"]), (1, &json!(25_000)), "{d}");
    let invoices = d["invoices"].as_array().unwrap();
    assert_eq!(invoices.len(), 1, "{d}");
    assert_eq!(invoices[0]["total_vnd"], 25_000);
    // Unknown: 404; signed out: 401.
    assert_eq!(api.call("GET", "/api/v1/sessions/nope/detail", &api.tax, None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(api.raw("GET", &format!("/api/v1/sessions/{id}/detail"), None, None).await.0, StatusCode::UNAUTHORIZED);
}
crate::on_both_databases!(
    a_stay_shows_its_events_fee_payment_and_invoice,
    a_stay_shows_its_events_fee_payment_and_invoice
);
