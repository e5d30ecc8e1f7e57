//! Invoices to a provider's API over HTTPS, against a loopback server with
//! a test certificate authority: what is sent, retries, and certificates
//! refused with the reason.

use parking_tests::tls::{self, Leaf, TestCa};

use super::*;
use crate::settings::InvoiceApi;
use crate::tax::invoice_api::ProviderApi;

fn api(url: String, ca_file: Option<std::path::PathBuf>) -> ProviderApi {
    ProviderApi::new(&InvoiceApi { url, token: parking_core::secret::Secret::new("provider-token"), ca_file }).unwrap()
}

async fn invoices_reach_the_provider_once_each(db: &Db) {
    let code = PaymentCode::stay(1);
    ingest(db, &[requested("hn-01", 1, NOW, code, 30_000, VehicleClass::Car)], NOW).await;
    pay(db, "t1", 30_000, code, NOW + 1_000).await;
    assert_eq!(invoicing::issue_due(db, &issuer(), ts(NOW + 60_000), 10).await.unwrap(), 1);
    let xml: String = sqlx::query_scalar("SELECT xml FROM invoices").fetch_one(&db.pool).await.unwrap();

    // The provider is down once, then takes it.
    let ca = TestCa::new("Provider CA");
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = calls.clone();
    let server = tls::serve(ca.server(Leaf::For(&["127.0.0.1"])), move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) == 0 { (503, "{}".into()) } else { (201, "{}".into()) }
    })
    .await;
    let sink = api(format!("https://{}/v1/invoices", server.addr), Some(ca.pem_file()));
    let t0 = NOW + 60_000;
    let first = invoicing::deliver_due(db, &sink, t0, 10).await.unwrap();
    assert_eq!((first.delivered, first.failed), (0, 1));
    let error: Option<String> =
        sqlx::query_scalar("SELECT last_error FROM invoices").fetch_one(&db.pool).await.unwrap();
    assert!(error.as_deref().is_some_and(|e| e.contains("503")), "{error:?}");
    let later = invoicing::deliver_due(db, &sink, t0 + 2_000, 10).await.unwrap();
    assert_eq!((later.delivered, later.failed), (1, 0));
    let again = invoicing::deliver_due(db, &sink, t0 + 60_000, 10).await.unwrap();
    assert_eq!((again.delivered, again.failed), (0, 0), "a delivered invoice is not sent again");

    let received = server.received.lock().unwrap().clone();
    assert_eq!(received.len(), 2);
    for r in &received {
        assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/v1/invoices"));
        assert_eq!(r.header("authorization"), Some("Bearer provider-token"));
        assert_eq!(r.header("idempotency-key"), Some("C26MPK-0000001"), "a retry is the same invoice");
        assert!(r.header("content-type").is_some_and(|c| c.starts_with("application/xml")));
        assert_eq!(r.body, xml);
    }
}
on_both_databases!(invoice_api, invoices_reach_the_provider_once_each);

/// A 409 (the provider has it already) counts as delivered: the answer to
/// an earlier attempt was lost, not the invoice.
#[tokio::test]
async fn an_invoice_the_provider_already_has_is_delivered() {
    let ca = TestCa::new("Provider CA");
    let server = tls::serve(ca.server(Leaf::For(&["127.0.0.1"])), |_| (409, "{}".into())).await;
    let sink = api(format!("https://{}/invoices", server.addr), Some(ca.pem_file()));
    assert_eq!(sink.deliver("C26MPK-0000009", "<TDiep/>").await, Ok(()));
    let refusing = tls::serve(ca.server(Leaf::For(&["127.0.0.1"])), |_| (422, "{\"error\":\"MST\"}".into())).await;
    let sink = api(format!("https://{}/invoices", refusing.addr), Some(ca.pem_file()));
    let e = sink.deliver("C26MPK-0000009", "<TDiep/>").await.unwrap_err();
    assert!(e.contains("422") && e.contains("MST"), "{e}");
}

/// Certificates that do not verify are refused, each with its reason and
/// what to do; nothing reaches the server.
#[tokio::test]
async fn certificates_that_do_not_verify_are_refused_clearly() {
    let ca = TestCa::new("Provider CA");
    let cases: [(Leaf<'_>, bool, &str); 3] = [
        (Leaf::For(&["127.0.0.1"]), false, "not signed by an authority this server trusts"),
        (Leaf::For(&["provider.example"]), true, "issued for another name"),
        (Leaf::Expired(&["127.0.0.1"]), true, "it has expired"),
    ];
    for (leaf, trusted, why) in cases {
        let server = tls::serve(ca.server(leaf), |_| (201, "{}".into())).await;
        let sink = api(format!("https://{}/invoices", server.addr), trusted.then(|| ca.pem_file()));
        let e = sink.deliver("C26MPK-0000001", "<TDiep/>").await.unwrap_err();
        assert!(e.contains("certificate of 127.0.0.1 was refused") && e.contains(why), "{leaf:?}: {e}");
        assert!(e.contains("ca_file"), "says what to do: {e}");
        assert!(server.received.lock().unwrap().is_empty(), "{leaf:?}: nothing was sent");
    }
}

/// A `ca_file` that holds no certificate is a setup error naming the key.
#[test]
fn a_ca_file_without_a_certificate_is_named() {
    let dir = std::env::temp_dir().join(format!("invoice-ca-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ca.pem");
    std::fs::write(&path, "not a certificate").unwrap();
    let api =
        InvoiceApi { url: "https://x".into(), token: parking_core::secret::Secret::new("t"), ca_file: Some(path) };
    let e = ProviderApi::new(&api).unwrap_err().to_string();
    assert!(e.contains("invoice.api.ca_file") && e.contains("no PEM certificate"), "{e}");
    let api = InvoiceApi { ca_file: Some(dir.join("missing.pem")), ..api };
    let e = ProviderApi::new(&api).unwrap_err().to_string();
    assert!(e.contains("invoice.api.ca_file") && e.contains("cannot read it"), "{e}");
}
