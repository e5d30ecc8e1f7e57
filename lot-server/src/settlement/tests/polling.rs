//! Reconciliation against a loopback stand-in for SePay's transaction
//! list, over HTTPS with a test certificate authority.

use parking_runtime::https::HttpsClient;
use parking_tests::tls::{self, Leaf, TestCa};

use super::*;

/// A stand-in for SePay's transaction list API, over HTTPS on loopback
/// with a certificate `ca` signed for 127.0.0.1.
async fn fake_sepay(ca: &TestCa, transactions: Value) -> String {
    let server = tls::serve(ca.server(Leaf::For(&["127.0.0.1"])), move |r: &tls::Received| {
        if r.header("authorization") != Some("Bearer api-token") {
            return (401, json!({ "status": 401 }).to_string());
        }
        let since: u64 = r
            .path
            .split(['?', '&'])
            .find_map(|kv| kv.strip_prefix("since_id="))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let list: Vec<Value> = transactions
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["id"].as_str().unwrap().parse::<u64>().unwrap() > since)
            .cloned()
            .collect();
        (200, json!({ "status": 200, "transactions": list }).to_string())
    })
    .await;
    format!("https://{}", server.addr)
}

/// A client trusting the test authority `ca` besides the system's.
fn client_trusting(ca: &TestCa) -> HttpsClient {
    HttpsClient::new("settlement.sepay_poll.ca_file", Some(&ca.pem_file())).unwrap()
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
    let ca = TestCa::new("Test CA");
    let url = fake_sepay(&ca, txs).await;
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
    let token = |t: &str| parking_core::secret::Secret::new(t);
    // Without the site's authority, the certificate is refused, and said so.
    let untrusting = HttpsClient::new("settlement.sepay_poll.ca_file", None).unwrap();
    let stranger = reconcile::SepayFeed::new(&url, token("api-token"), None, untrusting);
    let err = reconcile::poll_once(db, &stranger, &settler, NOW).await.unwrap_err().to_string();
    assert!(
        err.contains("certificate of 127.0.0.1 was refused") && err.contains("not signed by an authority"),
        "{err}"
    );
    let wrong = reconcile::SepayFeed::new(&url, token("nope"), None, client_trusting(&ca));
    let err = reconcile::poll_once(db, &wrong, &settler, NOW).await.unwrap_err();
    assert!(err.to_string().contains("401"), "{err}");
    let feed = reconcile::SepayFeed::new(&url, token("api-token"), None, client_trusting(&ca));
    let first = reconcile::poll_once(db, &feed, &settler, NOW).await.unwrap();
    assert_eq!(first, reconcile::PollOutcome { seen: 2, booked: 1 }, "101 was known, 103 is money out");
    assert_eq!(request_state(db, code).await, (40_000, "paid".into()));
    let msg = published.recv().await.unwrap();
    assert!(msg.topic.ends_with("/gate/exit-1/cmd"), "{}", msg.topic);
    // The cursor moved: the next poll asks from 103 on and books nothing.
    let second = reconcile::poll_once(db, &feed, &settler, NOW).await.unwrap();
    assert_eq!(second, reconcile::PollOutcome { seen: 0, booked: 0 });
    assert_eq!(assert_books(db).await.fees_settled_vnd, 40_000);
}
on_both_databases!(reconciliation, reconciliation_books_what_the_webhooks_missed);
