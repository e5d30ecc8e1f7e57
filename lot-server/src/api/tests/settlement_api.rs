//! Settlement through the HTTP API: providers' notifications verified and
//! booked once, the lane told, suspense resolved by an operator only, the
//! books readable by a tax officer.

use axum::http::StatusCode;
use parking_core::PaymentCode;
use parking_core::secret::Secret;
use serde_json::{Value, json};

use super::{Api, error_of};
use crate::db::Db;
use crate::settlement::webhook::{sign_casso, sign_sepay};

fn now() -> parking_core::Timestamp {
    parking_runtime::Clock::wall().now()
}

/// A lane at `exit-1` asks for `amount` under `code`.
pub(super) async fn lane_asks(db: &Db, n: u64, code: PaymentCode, amount: i64) {
    let event = json!({
        "v": 1, "event_id": uuid::Uuid::from_u64_pair(99, n), "lot": "hn-01", "gate": "exit-1", "seq": n,
        "at": now(), "list_version": 1, "type": "payment_requested",
        "credential": { "kind": "none" }, "class": "car", "entered_at": now(),
        "fee": { "amount": amount, "tariff_version": "hn-z1-2018-example", "class": "car", "items": [] },
        "payment_code": code, "owed": amount,
    });
    let event = serde_json::from_value(event).unwrap();
    let policy = crate::settlement::Policy::from_tax(&Default::default()).unwrap();
    crate::ingest::commit(db, &policy, &[event], now()).await.unwrap();
}

pub(super) fn sepay_body(id: u64, amount: i64, memo: &str) -> String {
    json!({
        "id": id, "gateway": "Vietcombank", "transactionDate": "2026-11-23 10:15:00", "accountNumber": "0123499999",
        "code": null, "content": memo, "transferType": "in", "transferAmount": amount, "accumulated": 0,
        "referenceCode": format!("FT{id}"), "description": memo,
    })
    .to_string()
}

fn casso_body(id: u64, amount: i64, memo: &str) -> Value {
    json!({ "error": 0, "data": {
        "id": id, "reference": format!("BANK{id}"), "description": memo, "amount": amount, "runningBalance": 0,
        "transactionDateTime": "2026-11-23 10:16:00", "accountNumber": "0123499999", "bankName": "Vietcombank",
        "bankAbbreviation": "VCB", "virtualAccountNumber": "", "virtualAccountName": "", "counterAccountName": "",
        "counterAccountNumber": "", "counterAccountBankId": "", "counterAccountBankName": "" } })
}

async fn notifications_are_verified_booked_once_and_reach_the_lane(db: &Db) {
    let api = Api::new(db).await;
    let code = PaymentCode::stay(777);
    lane_asks(db, 1, code, 30_000).await;
    let body = sepay_body(5001, 30_000, &format!("IBFT {} cam on", code.as_str().to_lowercase()));
    let apikey = || vec![("authorization", "Apikey sepay-test-key".to_owned())];

    // Wrong or missing credentials, a stale or forged signature: 401, and
    // nothing booked.
    let secs = now().unix_seconds();
    let stale = secs - 600;
    let refusals = [
        vec![("authorization", "Apikey wrong".to_owned())],
        vec![],
        vec![
            ("x-sepay-signature", sign_sepay(&Secret::new("sepay-test-hmac"), stale, body.as_bytes())),
            ("x-sepay-timestamp", stale.to_string()),
        ],
        vec![
            ("x-sepay-signature", sign_sepay(&Secret::new("not-the-key"), secs, body.as_bytes())),
            ("x-sepay-timestamp", secs.to_string()),
        ],
    ];
    for headers in refusals {
        let (s, v) = api.post_with("/api/v1/webhooks/sepay", &headers, &body).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED, "{headers:?}: {v}");
    }
    let (s, v) = api.post_with("/api/v1/webhooks/sepay", &apikey(), "{\"id\": ").await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert!(api.commands().await.is_empty());
    let booked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM transfers").fetch_one(&db.pool).await.unwrap();
    assert_eq!(booked, 0);

    // The real one, signed: the answer SePay expects, and the lane is told.
    let headers = vec![
        ("x-sepay-signature", sign_sepay(&Secret::new("sepay-test-hmac"), secs, body.as_bytes())),
        ("x-sepay-timestamp", secs.to_string()),
    ];
    let (s, v) = api.post_with("/api/v1/webhooks/sepay", &headers, &body).await;
    assert_eq!((s, &v["success"], &v["outcome"]), (StatusCode::OK, &json!(true), &json!("settled")), "{v}");
    let cmds = api.commands().await;
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    assert_eq!(cmds[0].0, "parking/hn-01/gate/exit-1/cmd");
    assert_eq!(cmds[0].1["type"], json!("payment_confirmed"));
    assert_eq!((cmds[0].1["payment_code"].as_str(), cmds[0].1["remaining"].as_i64()), (Some(code.as_str()), Some(0)));
    // SePay retries (same id, API-key auth this time): success, counted once.
    let (s, v) = api.post_with("/api/v1/webhooks/sepay", &apikey(), &body).await;
    assert_eq!((s, &v["outcome"]), (StatusCode::OK, &json!("duplicate")));
    assert!(api.commands().await.is_empty());

    // Casso, with a memo the bank cut short: suspense, for an operator.
    let other = PaymentCode::stay(778);
    lane_asks(db, 2, other, 20_000).await;
    let cut = &other.as_str()[..7];
    let body = casso_body(9001, 20_000, &format!("THANH TOAN {cut}"));
    let sig = sign_casso(&Secret::new("casso-test-secret"), now().unix_millis(), &body);
    let mut altered = body.clone();
    altered["data"]["amount"] = json!(2_000_000);
    let (s, _) =
        api.post_with("/api/v1/webhooks/casso", &[("x-casso-signature", sig.clone())], &altered.to_string()).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "an altered amount breaks the signature");
    let (s, v) = api.post_with("/api/v1/webhooks/casso", &[("x-casso-signature", sig)], &body.to_string()).await;
    assert_eq!((s, &v["outcome"]), (StatusCode::OK, &json!("suspense")), "{v}");

    // Anyone may read suspense; only operators may resolve it.
    let (s, list) = api.call("GET", "/api/v1/transfers?state=suspense", &api.tax, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list.as_array().map(Vec::len), Some(1), "{list}");
    assert_eq!(list[0]["transfer_id"], json!("casso:9001"));
    // A reason of 500 characters in Vietnamese (over 500 bytes) is taken;
    // one character more is not.
    let note: String = "ngân hàng cắt mất nội dung chuyển khoản; ".chars().cycle().take(500).collect();
    assert!(note.len() > 600, "{} bytes", note.len());
    let too_long = format!("{note}.");
    let how = json!({ "action": "stay", "payment_code": other.as_str(), "note": note });
    let (s, _) = api.call("POST", "/api/v1/transfers/casso:9001/resolve", &api.tax, Some(how.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = api
        .call(
            "POST",
            "/api/v1/transfers/casso:9001/resolve",
            &api.operator,
            Some(json!({ "action": "stay", "payment_code": other.as_str(), "note": " " })),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "a resolution needs a reason: {v}");
    let long = json!({ "action": "stay", "payment_code": other.as_str(), "note": too_long });
    let (s, v) = api.call("POST", "/api/v1/transfers/casso:9001/resolve", &api.operator, Some(long)).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "501 characters: {v}");
    let (s, v) = api.call("POST", "/api/v1/transfers/casso:9001/resolve", &api.operator, Some(how.clone())).await;
    assert_eq!((s, &v["outcome"]), (StatusCode::OK, &json!("settled")), "{v}");
    assert!(v["transfer"]["resolved_by"].as_str().unwrap().contains("operator"), "{v}");
    let cmds = api.commands().await;
    assert_eq!(cmds.len(), 1);
    assert_eq!(cmds[0].1["remaining"], json!(0));
    let (s, v) = api.call("POST", "/api/v1/transfers/casso:9001/resolve", &api.operator, Some(how)).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::CONFLICT, "conflict"));

    // The books: zero in total, 50,000 of fees, readable by tax.
    let (s, ledger) = api.call("GET", "/api/v1/ledger", &api.tax, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((ledger["total"].as_i64(), ledger["fees_settled_vnd"].as_i64()), (Some(0), Some(50_000)), "{ledger}");
    let (s, reqs) = api.call("GET", "/api/v1/payment-requests?state=paid", &api.tax, None).await;
    assert_eq!((s, reqs.as_array().map(Vec::len)), (StatusCode::OK, Some(2)));
    let (s, v) = api.call("GET", "/api/v1/payment-requests?state=lost", &api.tax, None).await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    let metrics = api.raw("GET", "/metrics", Some(&api.admin), None).await.1;
    let text = metrics.as_str().unwrap_or_default();
    assert!(
        text.contains("parking_server_webhooks_rejected_total{provider=\"sepay\",reason=\"unauthorized\"} 4"),
        "{text}"
    );
    assert!(text.contains("parking_server_transfers_total{outcome=\"duplicate\",provider=\"sepay\"} 1"), "{text}");
}
crate::on_both_databases!(api_settlement_webhooks, notifications_are_verified_booked_once_and_reach_the_lane);

async fn manual_top_ups_are_booked_once(db: &Db) {
    let api = Api::new(db).await;
    let owner = api.ok("POST", "/api/v1/owners", Some(json!({ "name": "B", "id_number": "001099012345" }))).await;
    let account = api.ok("POST", "/api/v1/accounts", Some(json!({ "owner_id": owner["owner_id"] }))).await;
    let id = account["account_id"].as_str().unwrap().to_owned();
    let code = account["topup_code"].as_str().unwrap().to_owned();
    assert!(code.starts_with("TK") && code.parse::<PaymentCode>().is_ok(), "{account}");
    let path = format!("/api/v1/accounts/{id}/top-ups");
    api.ok("POST", &path, Some(json!({ "amount_vnd": 50000, "reference": "FT-1" }))).await;
    let (s, v) =
        api.call("POST", &path, &api.operator, Some(json!({ "amount_vnd": 50000, "reference": "FT-1" }))).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::CONFLICT, "conflict"), "{v}");
    // And by transfer, with the account's code in the memo.
    let body = sepay_body(6001, 25_000, &format!("nap tien {code}"));
    let (s, v) =
        api.post_with("/api/v1/webhooks/sepay", &[("authorization", "Apikey sepay-test-key".into())], &body).await;
    assert_eq!((s, &v["outcome"]), (StatusCode::OK, &json!("top_up")), "{v}");
    let account = api.ok("GET", &format!("/api/v1/accounts/{id}"), None).await;
    assert_eq!(account["balance_vnd"], json!(75_000));
    let ledger = api.ok("GET", "/api/v1/ledger", None).await;
    assert_eq!(ledger["balances"][format!("driver:{id}")], json!(-75_000));
    assert_eq!((ledger["balances"]["bank"].as_i64(), ledger["total"].as_i64()), (Some(75_000), Some(0)));
}
crate::on_both_databases!(api_manual_top_ups, manual_top_ups_are_booked_once);
