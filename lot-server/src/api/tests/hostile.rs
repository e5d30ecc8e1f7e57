//! Hostile callers: rate limits on sign-in and webhooks, and malformed,
//! oversized and hostile requests to every documented route.

use axum::body::Body as HttpBody;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::{Api, error_of};
use crate::api::openapi;
use crate::db::Db;

async fn sign_ins_and_webhooks_are_rate_limited(db: &Db) {
    let api = Api::with_limits(db, crate::api::limits::RateLimits::new(3, 5)).await;
    let send = |path: &'static str, body: String| {
        let req = Request::builder()
            .method("POST")
            .uri(path)
            .header("content-type", "application/json")
            .body(HttpBody::from(body))
            .unwrap();
        api.router.clone().oneshot(req)
    };
    // Three guesses a minute; the fourth waits, whatever it presents.
    for _ in 0..3 {
        let res = send("/api/v1/login", json!({ "token": "lsk_guess" }).to_string()).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = send("/api/v1/login", json!({ "token": api.operator }).to_string()).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = res.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    let v: Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(error_of(&v).0, "rate_limited");
    // Five notifications a second, forged or not; then 429.
    for _ in 0..5 {
        let res = send("/api/v1/webhooks/sepay", "{}".into()).await.unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    }
    let res = send("/api/v1/webhooks/sepay", "{}".into()).await.unwrap();
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    // The rest of the API is not limited, and the refusals are counted.
    assert_eq!(api.call("GET", "/api/v1/me", &api.operator, None).await.0, StatusCode::OK);
    let (_, text) = api.call("GET", "/metrics", &api.operator, None).await;
    let text = text.as_str().unwrap();
    assert!(text.contains("parking_server_rate_limited_total{limit=\"login\"} 1"), "{text}");
    assert!(text.contains("parking_server_rate_limited_total{limit=\"webhooks\"} 1"), "{text}");
}
crate::on_both_databases!(api_sign_ins_and_webhooks_are_rate_limited, sign_ins_and_webhooks_are_rate_limited);

/// What the state is made of, to see that hostile requests change nothing.
async fn state_of(db: &Db) -> Vec<i64> {
    let mut counts = Vec::new();
    for table in
        ["owners", "accounts", "vehicles", "tags", "passes", "transfers", "sessions", "exceptions", "ledger_postings"]
    {
        let n: i64 = sqlx::query_scalar(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&db.pool).await.unwrap();
        counts.push(n);
    }
    counts.push(sqlx::query_scalar("SELECT version FROM lists_meta WHERE id = 1").fetch_one(&db.pool).await.unwrap());
    counts
}

async fn hostile_requests_are_refused_and_change_nothing(db: &Db) {
    let api = Api::new(db).await;
    let before = state_of(db).await;
    let nested = format!("{}1{}", "[".repeat(10_000), "]".repeat(10_000));
    let huge = format!("{{\"name\":\"{}\"}}", "x".repeat((2 << 20) + 1));
    let bodies: Vec<(&str, String)> = vec![
        ("application/json", "{".into()),
        ("application/json", "null".into()),
        ("application/json", "[]".into()),
        ("application/json", r#"{"unknown_field": 1}"#.into()),
        ("application/json", r#"{"plate": 5, "class": [], "owner_id": {}, "amount_vnd": "lots", "note": null}"#.into()),
        ("application/json", nested),
        ("application/json", huge),
        ("text/plain", r#"{"note":"x"}"#.into()),
        ("application/json", "\u{0}\u{ffff}".into()),
    ];
    let mut sent = 0usize;
    let ids = ["..%2F..%2Fetc%2Fpasswd", "%00", "x'%20OR%20'1'='1", &"9".repeat(5_000), "%F0%9F%92%A5"];
    for (method, path, _, _, body) in openapi::OPERATIONS {
        if *path == "/api/v1/live" {
            continue; // an event stream that never ends: its refusals are tested above
        }
        let method = method.to_uppercase();
        for id in ids {
            let concrete = path
                .replace("{id}", id)
                .replace("{epc}", id)
                .replace("{gate}", id)
                .replace("{series}", id)
                .replace("{number}", id);
            let with_query = format!("{concrete}?limit=-1&offset=abc&from=2026-13-45&state=%27&format=exe");
            for target in [&concrete, &with_query] {
                if body.is_some() {
                    // Every hostile body once per route; then one per hostile id.
                    let some = if id == ids[0] && target == &concrete { &bodies[..] } else { &bodies[..1] };
                    for (content_type, b) in some {
                        let (s, v) = api.raw(&method, target, Some(&api.admin), Some((content_type, b.clone()))).await;
                        sent += 1;
                        assert!(s.is_client_error(), "{method} {target} ({content_type}, {} bytes): {s} {v}", b.len());
                    }
                } else {
                    let (s, v) = api.raw(&method, target, Some(&api.admin), None).await;
                    sent += 1;
                    // Readiness says 503 here (no broker in this test): not a client's error.
                    let readiness = *path == "/health/ready" && s == StatusCode::SERVICE_UNAVAILABLE;
                    assert!(!s.is_server_error() || readiness, "{method} {target}: {s} {v}");
                }
            }
        }
    }
    assert!(sent > 600, "{sent} hostile requests");
    assert_eq!(state_of(db).await, before, "hostile requests changed the state");
}
crate::on_both_databases!(
    api_hostile_requests_are_refused_and_change_nothing,
    hostile_requests_are_refused_and_change_nothing
);
