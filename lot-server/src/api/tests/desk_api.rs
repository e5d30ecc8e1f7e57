//! The registration desk through the API: a monthly pass priced from the
//! tariff in force and paid from the account (refused while the balance
//! is short), booked as revenue of the pass channel; a lost tag replaced,
//! the old one on the deny list at once and the new one allowed.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::{Api, error_of};
use crate::db::Db;

async fn a_pass_is_sold_from_the_account_and_a_lost_tag_replaced(db: &Db) {
    let api = Api::new(db).await;
    let owner =
        api.ok("POST", "/api/v1/owners", Some(json!({ "name": "Lê Văn Cường", "id_number": "001099054321" }))).await;
    let account = api.ok("POST", "/api/v1/accounts", Some(json!({ "owner_id": owner["owner_id"] }))).await;
    let account_id = account["account_id"].as_str().unwrap().to_owned();
    let vehicle = api
        .ok("POST", "/api/v1/vehicles", Some(json!({ "plate": "30K-111.22", "class": "car", "owner_id": owner["owner_id"], "account_id": account_id })))
        .await;
    let vehicle_id = vehicle["vehicle_id"].as_str().unwrap().to_owned();
    api.ok(
        "POST",
        "/api/v1/tags",
        Some(json!({ "epc": "E20000000000000000001111", "tid": "E2801160200074CF", "vehicle_id": vehicle_id })),
    )
    .await;

    // The example tariff: a car's month is 2,500,000 đồng; longer than a
    // year is no pass.
    let price = api.ok("GET", "/api/v1/passes/price?class=car&months=1", None).await;
    assert_eq!(
        (price["price_vnd"].as_i64(), price["tariff_version"].as_str()),
        (Some(2_500_000), Some("hn-z1-2018-example"))
    );
    let (s, v) = api.call("GET", "/api/v1/passes/price?class=car&months=13", &api.operator, None).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::BAD_REQUEST, "no_pass_price"));

    // Nothing in the account yet: refused, and nothing sold.
    let sale = json!({ "vehicle_id": vehicle_id, "months": 1, "account_id": account_id, "valid_from": "2026-12-07" });
    let (s, v) = api.call("POST", "/api/v1/passes/sell", &api.operator, Some(sale.clone())).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::CONFLICT, "balance_short"), "{v}");
    assert_eq!(api.ok("GET", "/api/v1/passes", None).await, json!([]));
    api.ok(
        "POST",
        &format!("/api/v1/accounts/{account_id}/top-ups"),
        Some(json!({ "amount_vnd": 3_000_000, "reference": "FT-DESK-1" })),
    )
    .await;
    let (s, sold) = api.call("POST", "/api/v1/passes/sell", &api.operator, Some(sale)).await;
    assert_eq!(s, StatusCode::CREATED, "{sold}");
    assert_eq!((sold["price_vnd"].as_i64(), sold["balance_vnd"].as_i64()), (Some(2_500_000), Some(500_000)));
    assert_eq!(
        (sold["pass"]["valid_from"].as_str(), sold["pass"]["valid_until"].as_str()),
        (Some("2026-12-07"), Some("2027-01-06"))
    );
    let sales: Vec<(String, String, i64)> =
        sqlx::query_as("SELECT channel, class, total_vnd FROM sales WHERE kind = 'stay'")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    assert_eq!(sales, [("pass".to_owned(), "car".to_owned(), 2_500_000)], "the pass is revenue of the pass channel");
    let trial = api.call("GET", "/api/v1/ledger", &api.tax, None).await.1;
    assert_eq!(
        (trial["total"].as_i64(), trial["unbalanced_entries"].as_array().map(Vec::len)),
        (Some(0), Some(0)),
        "{trial}"
    );
    let (revenue, vat) =
        (trial["balances"]["revenue:car"].as_i64().unwrap(), trial["balances"]["vat_payable"].as_i64().unwrap());
    assert_eq!(revenue + vat, -2_500_000, "the price is revenue and VAT: {trial}");
    let snap = api.ok("GET", "/api/v1/lists/snapshot", None).await;
    assert!(snap["passes"].as_array().unwrap().iter().any(|p| p["valid_until"] == "2027-01-06"), "{snap}");

    // The tag is lost: a new one replaces it; the old is denied at once.
    let replacement = json!({ "epc": "E20000000000000000002222", "tid": "E2801160200099AA" });
    let (s, v) = api
        .call("POST", "/api/v1/tags/e20000000000000000001111/replace", &api.operator, Some(replacement.clone()))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["old"]["state"].as_str(), v["new"]["state"].as_str()), (Some("stolen"), Some("active")));
    assert_eq!(v["new"]["vehicle_id"], vehicle_id);
    let snap = api.ok("GET", "/api/v1/lists/snapshot", None).await;
    let denied = |epc: &str| {
        snap["deny"].as_array().unwrap().iter().any(|d| d["target"] == json!({ "kind": "epc", "value": epc }))
    };
    let allowed = |epc: &str| snap["tags"].as_array().unwrap().iter().any(|t: &Value| t["epc"] == epc);
    assert!(denied("E20000000000000000001111") && !allowed("E20000000000000000001111"), "{snap}");
    assert!(allowed("E20000000000000000002222") && !denied("E20000000000000000002222"), "{snap}");
    // Replacing again with a tag already bound is a conflict; an unknown tag, 404.
    let (s, _) =
        api.call("POST", "/api/v1/tags/E20000000000000000001111/replace", &api.operator, Some(replacement)).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let (s, _) = api
        .call(
            "POST",
            "/api/v1/tags/E2000000000000000000FFFF/replace",
            &api.operator,
            Some(json!({ "epc": "E20000000000000000003333" })),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}
crate::on_both_databases!(
    a_pass_is_sold_from_the_account_and_a_lost_tag_replaced,
    a_pass_is_sold_from_the_account_and_a_lost_tag_replaced
);
