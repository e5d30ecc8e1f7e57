//! Reconciliation against a loopback stand-in for SePay's transaction list.

use super::*;

/// A stand-in for SePay's transaction list API, on loopback.
async fn fake_sepay(transactions: Value) -> (String, tokio::task::JoinHandle<()>) {
    use axum::extract::Query;
    use axum::http::HeaderMap;
    let app = axum::Router::new().route(
        "/userapi/transactions/list",
        axum::routing::get(move |headers: HeaderMap, Query(q): Query<std::collections::HashMap<String, String>>| {
            let all = transactions.clone();
            async move {
                if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer api-token") {
                    return (axum::http::StatusCode::UNAUTHORIZED, axum::Json(json!({ "status": 401 })));
                }
                let since: u64 = q.get("since_id").and_then(|s| s.parse().ok()).unwrap_or(0);
                let list: Vec<Value> = all
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|t| t["id"].as_str().unwrap().parse::<u64>().unwrap() > since)
                    .cloned()
                    .collect();
                (axum::http::StatusCode::OK, axum::Json(json!({ "status": 200, "transactions": list })))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    (url, tokio::spawn(async move { axum::serve(listener, app).await.unwrap() }))
}

async fn reconciliation_books_what_the_webhooks_missed(db: &Db) {
    let code = PaymentCode::stay(9);
    ingest(db, &[request(1, code, 40_000, Credential::None)]).await;
    // The webhook for 101 arrived; the one for 102 was lost.
    book(db, &transfer("101", 15_000, code.as_str())).await;
    let txs = json!([
        { "id": "101", "transaction_date": "2026-11-18 09:00:00", "account_number": "0123", "amount_in": "15000.00",
          "amount_out": "0.00", "transaction_content": code.as_str(), "reference_number": "FT101", "code": null },
        { "id": "102", "transaction_date": "2026-11-18 09:01:00", "account_number": "0123", "amount_in": "25000.00",
          "amount_out": "0.00", "transaction_content": format!("ck {code}"), "reference_number": "FT102", "code": null },
        { "id": "103", "transaction_date": "2026-11-18 09:02:00", "account_number": "0123", "amount_in": "0.00",
          "amount_out": "500000.00", "transaction_content": "rut tien", "reference_number": "FT103", "code": null },
    ]);
    let (url, server) = fake_sepay(txs).await;
    let (out, mut published) = tokio::sync::mpsc::channel(16);
    let (settler, _task) = settler::Settler::spawn(
        db.clone(),
        std::sync::Arc::new(policy()),
        crate::mqtt::commands::AfterCommit {
            out,
            lists_changed: std::sync::Arc::default(),
            clock: parking_runtime::Clock::manual(ts(NOW)),
        },
        crate::metrics::ServerMetrics::new().unwrap().settlement,
        tokio_util::sync::CancellationToken::new(),
    );
    let wrong = reconcile::SepayFeed::new(&url, parking_core::secret::Secret::new("nope"), None);
    let err = reconcile::poll_once(db, &wrong, &settler, NOW).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let feed = reconcile::SepayFeed::new(&url, parking_core::secret::Secret::new("api-token"), None);
    let first = reconcile::poll_once(db, &feed, &settler, NOW).await.unwrap();
    assert_eq!(first, reconcile::PollOutcome { seen: 2, booked: 1 }, "101 was known, 103 is money out");
    assert_eq!(request_state(db, code).await, (40_000, "paid".into()));
    let msg = published.recv().await.unwrap();
    assert!(msg.topic.ends_with("/gate/exit-1/cmd"), "{}", msg.topic);
    // The cursor moved: the next poll asks from 103 on and books nothing.
    let second = reconcile::poll_once(db, &feed, &settler, NOW).await.unwrap();
    assert_eq!(second, reconcile::PollOutcome { seen: 0, booked: 0 });
    assert_eq!(assert_books(db).await.fees_settled_vnd, 40_000);
    server.abort();
}
on_both_databases!(reconciliation, reconciliation_books_what_the_webhooks_missed);
