//! A day's close through the API: entries and exits, revenue by channel,
//! the manual opens with the person and the reason, the exceptions still
//! open, invoices, and who signed in; a window that makes no sense is
//! refused.

use axum::http::StatusCode;
use parking_core::PaymentCode;
use serde_json::json;

use super::Api;
use super::settlement_api::{lane_asks, sepay_body};
use crate::db::Db;

async fn a_day_closes_with_everything_an_operator_signs_for(db: &Db) {
    let api = Api::new(db).await;
    let now = parking_runtime::Clock::wall().now();
    let ms = now.unix_millis();
    let at = |back_ms: i64| parking_core::Timestamp::from_unix_millis(ms - back_ms).unwrap().to_string();
    let event = |n: u64, gate: &str, at: String, kind: serde_json::Value| {
        let mut e = json!({ "v": 1, "event_id": uuid::Uuid::from_u64_pair(77, n).to_string(), "lot": "api-lot",
                            "gate": gate, "seq": n, "at": at, "list_version": 1 });
        for (k, v) in kind.as_object().unwrap() {
            e[k] = v.clone();
        }
        serde_json::from_value::<parking_core::wire::GateEvent>(e).unwrap()
    };
    let tag = json!({ "kind": "tag", "epc": "E2000000000000000000C105" });
    let events = vec![
        event(1, "entry-1", at(600_000), json!({ "type": "entry", "credential": tag, "class": "car" })),
        event(
            2,
            "exit-1",
            at(300_000),
            json!({ "type": "exit", "credential": tag, "class": "car", "settlement": { "kind": "free" } }),
        ),
        event(
            3,
            "exit-1",
            at(200_000),
            json!({ "type": "manual_open", "operator": "Nguyễn Văn An", "reason": "emergency_vehicle", "note": "xe cứu thương" }),
        ),
    ];
    let policy = crate::settlement::Policy::from_tax(&Default::default()).unwrap();
    crate::ingest::commit(db, &policy, &events, now).await.unwrap();
    let code = PaymentCode::stay(9191);
    lane_asks(db, 1, code, 30_000).await;
    let apikey = vec![("authorization", "Apikey sepay-test-key".to_owned())];
    assert_eq!(
        api.post_with("/api/v1/webhooks/sepay", &apikey, &sepay_body(8001, 30_000, code.as_str())).await.0,
        StatusCode::OK
    );
    let new = json!({ "username": "ca.sang", "display_name": "Ca sáng", "role": "operator", "password": "một ca rất dài 2026" });
    api.call("POST", "/api/v1/users", &api.admin, Some(new)).await;
    let login = json!({ "username": "ca.sang", "password": "một ca rất dài 2026" });
    assert_eq!(
        api.raw("POST", "/api/v1/login", None, Some(("application/json", login.to_string()))).await.0,
        StatusCode::OK
    );

    let (from, to) = (ms - 3_600_000, ms + 60_000);
    let (s, c) = api.call("GET", &format!("/api/v1/close?from_ms={from}&to_ms={to}"), &api.operator, None).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!((c["entries"].as_i64(), c["exits"].as_i64()), (Some(1), Some(1)), "{c}");
    let channels: Vec<(&str, i64)> = c["revenue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["channel"].as_str().unwrap(), r["total_vnd"].as_i64().unwrap()))
        .collect();
    assert_eq!(channels, [("free", 0), ("transfer", 30_000)]);
    assert_eq!(c["revenue_total_vnd"], 30_000);
    assert_eq!(c["manual_opens"][0]["operator"], "Nguyễn Văn An");
    assert_eq!(c["manual_opens"][0]["reason"], "emergency_vehicle");
    let kinds: Vec<&str> = c["open_exceptions"].as_array().unwrap().iter().filter_map(|x| x["kind"].as_str()).collect();
    assert!(kinds.contains(&"manual_open"), "{kinds:?}");
    assert_eq!(
        (c["invoices_waiting"].as_i64(), c["invoices_issued"].as_i64()),
        (Some(1), Some(0)),
        "the transfer's sale"
    );
    let people: Vec<&str> = c["signed_in"].as_array().unwrap().iter().filter_map(|p| p["id"].as_str()).collect();
    assert_eq!(people, ["user:ca.sang"]);
    let issuer = super::issuer();
    crate::tax::invoicing::issue_due(db, &issuer, now, 100).await.unwrap();
    let c = api.call("GET", &format!("/api/v1/close?from_ms={from}&to_ms={to}"), &api.operator, None).await.1;
    assert_eq!((c["invoices_waiting"].as_i64(), c["invoices_issued"].as_i64()), (Some(0), Some(1)), "{c}");
    assert_eq!(c["invoices_issued_vnd"], 30_000);
    // An earlier window holds none of it; a backwards one is refused.
    let (_, empty) =
        api.call("GET", &format!("/api/v1/close?from_ms={}&to_ms={}", from - 7_200_000, from), &api.tax, None).await;
    assert_eq!((empty["entries"].as_i64(), empty["revenue_total_vnd"].as_i64()), (Some(0), Some(0)), "{empty}");
    let (s, _) = api.call("GET", &format!("/api/v1/close?from_ms={to}&to_ms={from}"), &api.operator, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}
crate::on_both_databases!(
    a_day_closes_with_everything_an_operator_signs_for,
    a_day_closes_with_everything_an_operator_signs_for
);
