use super::*;
use parking_core::testing::mutate;

fn keys() -> WebhookKeys {
    WebhookKeys {
        sepay_api_key: Some(Secret::new("sepay-key-1")),
        sepay_hmac_secret: Some(Secret::new("sepay-hmac")),
        casso_secret: Some(Secret::new("casso-secret")),
        window: Duration::from_secs(300),
    }
}

fn now() -> Timestamp {
    "2026-11-23T03:00:00Z".parse().unwrap()
}

const SEPAY: &str = r#"{"id":92704,"gateway":"Vietcombank","transactionDate":"2023-03-25 14:02:37","accountNumber":"0123499999","code":null,"content":"chuyen tien PK0000011 cam on","transferType":"in","transferAmount":2277000,"accumulated":19077000,"subAccount":null,"referenceCode":"MBVCB.3278907687","description":""}"#;

#[test]
fn sepay_bodies_parse() {
    let Notice::Incoming(t) = parse_sepay(SEPAY.as_bytes()).unwrap() else { panic!() };
    assert_eq!(t.provider_tx, "92704");
    assert_eq!(t.amount, Vnd::new(2_277_000));
    assert_eq!(t.transfer_id(), "sepay:92704");
    assert_eq!(t.transferred_at, "2023-03-25T07:02:37Z".parse().unwrap());
    assert_eq!(t.reference.as_deref(), Some("MBVCB.3278907687"));
    let out = SEPAY.replace(r#""transferType":"in""#, r#""transferType":"out""#);
    assert_eq!(parse_sepay(out.as_bytes()).unwrap(), Notice::Outgoing { provider_tx: "92704".into() });
    for broken in [
        "{",
        r#"{"id":1}"#,
        &SEPAY.replace("2277000", "-5"),
        &SEPAY.replace("2023-03-25 14:02:37", "yesterday"),
        &SEPAY.replace(r#""in""#, r#""sideways""#),
    ] {
        assert!(matches!(parse_sepay(broken.as_bytes()), Err(WebhookError::BadBody(_))), "{broken}");
    }
}

#[test]
fn sepay_credentials_are_checked() {
    let k = keys();
    let body = SEPAY.as_bytes();
    assert!(verify_sepay(&k, Some("Apikey sepay-key-1"), None, None, body, now()).is_ok());
    assert!(verify_sepay(&k, Some("Apikey sepay-key-2"), None, None, body, now()).is_err());
    assert!(verify_sepay(&k, Some("Apikey "), None, None, body, now()).is_err());
    assert!(verify_sepay(&k, None, None, None, body, now()).is_err());
    let ts = now().unix_seconds();
    let sig = sign_sepay(&Secret::new("sepay-hmac"), ts, body);
    let t = ts.to_string();
    assert!(verify_sepay(&k, None, Some(&sig), Some(&t), body, now()).is_ok());
    // Another body, another key, a stale or a future timestamp: refused.
    assert!(verify_sepay(&k, None, Some(&sig), Some(&t), b"{}", now()).is_err());
    let forged = sign_sepay(&Secret::new("guess"), ts, body);
    assert!(verify_sepay(&k, None, Some(&forged), Some(&t), body, now()).is_err());
    for skew in [-301, 301] {
        let ts2 = ts + skew;
        let sig2 = sign_sepay(&Secret::new("sepay-hmac"), ts2, body);
        let err = verify_sepay(&k, None, Some(&sig2), Some(&ts2.to_string()), body, now()).unwrap_err();
        assert!(err.to_string().contains("window"), "{err}");
    }
    assert_eq!(
        verify_sepay(&WebhookKeys::default(), Some("Apikey x"), None, None, body, now()),
        Err(WebhookError::NotConfigured("SePay"))
    );
}

#[test]
fn casso_signatures_cover_the_sorted_body() {
    let body: Value = serde_json::from_str(
        r#"{"error":0,"data":{"id":7,"reference":"FT1","description":"PK0000011","amount":50000,"runningBalance":1,"transactionDateTime":"2026-11-23 10:00:00","accountNumber":"0123","bankName":"X","bankAbbreviation":"X","virtualAccountNumber":"","virtualAccountName":"","counterAccountName":"","counterAccountNumber":"","counterAccountBankId":"","counterAccountBankName":""}}"#,
    )
    .unwrap();
    assert!(canonical_json(&body).starts_with(r#"{"data":{"accountNumber":"0123","amount":50000,"bankAbbreviation""#));
    let t = now().unix_millis();
    let sig = sign_casso(&Secret::new("casso-secret"), t, &body);
    assert!(verify_casso(&keys(), Some(&sig), &body, now()).is_ok());
    let mut altered = body.clone();
    altered["data"]["description"] = Value::String("PK0000012".into());
    assert!(verify_casso(&keys(), Some(&sig), &altered, now()).is_err(), "an altered memo breaks the signature");
    let stale = sign_casso(&Secret::new("casso-secret"), t - 301_000, &body);
    assert!(verify_casso(&keys(), Some(&stale), &body, now()).is_err());
    assert!(verify_casso(&keys(), Some("t=1"), &body, now()).is_err());
    assert!(verify_casso(&keys(), None, &body, now()).is_err());
    let Notice::Incoming(n) = parse_casso(&body).unwrap() else { panic!() };
    assert_eq!((n.provider_tx.as_str(), n.amount, n.memo.as_str()), ("7", Vnd::new(50_000), "PK0000011"));
    let mut out = body.clone();
    out["data"]["amount"] = Value::from(-50_000);
    assert!(matches!(parse_casso(&out), Ok(Notice::Outgoing { .. })));
}

/// A timestamp header near i64's ends is refused as outside the window
/// (cargo-fuzz found `-3333333333333333333` overflowing the skew).
#[test]
fn extreme_timestamps_are_refused_not_overflowed() {
    let k = keys();
    let body = SEPAY.as_bytes();
    for t in ["-3333333333333333333", "-9223372036854775808", "9223372036854775807", "9223372036854775"] {
        let sig = sign_sepay(&Secret::new("sepay-hmac"), 0, body);
        let err = verify_sepay(&k, None, Some(&sig), Some(t), body, now()).unwrap_err();
        assert!(err.to_string().contains("window"), "{t}: {err}");
        let v: Value = serde_json::from_slice(body).unwrap();
        let err = verify_casso(&k, Some(&format!("t={t},v1=00")), &v, now()).unwrap_err();
        assert!(err.to_string().contains("window"), "{t}: {err}");
    }
}

proptest::proptest! {
    /// Hostile bodies and headers: parsed or refused, never a panic, and
    /// nothing unsigned is ever verified.
    #[test]
    fn hostile_notifications_never_panic(
        raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..600),
        edits in proptest::collection::vec((proptest::prelude::any::<usize>(), proptest::prelude::any::<u8>(), proptest::prelude::any::<u8>()), 1..8),
        header in "\\PC{0,120}",
    ) {
        let mutated = mutate(SEPAY.as_bytes(), &edits);
        for body in [&raw, &mutated] {
            let _ = parse_sepay(body);
            let forged = verify_sepay(&keys(), Some(&header), Some(&header), Some(&header), body, now());
            proptest::prop_assert!(forged.is_err());
            if let Ok(v) = serde_json::from_slice::<Value>(body) {
                let _ = parse_casso(&v);
                proptest::prop_assert!(verify_casso(&keys(), Some(&header), &v, now()).is_err());
            }
        }
    }
}
