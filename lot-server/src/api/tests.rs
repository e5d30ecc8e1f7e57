//! The API in-process (`router(state)` through `tower::ServiceExt`), on
//! SQLite and on PostgreSQL.

use std::sync::Arc;

use axum::Router;
use axum::body::Body as HttpBody;
use axum::http::{Request, StatusCode};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::*;
use crate::db::Db;
use crate::tokens::{self, Role};

struct Api {
    router: Router,
    db: Db,
    admin: String,
    operator: String,
    tax: String,
    /// What the server published (lane commands).
    published: tokio::sync::Mutex<tokio::sync::mpsc::Receiver<parking_runtime::mqtt::OutMsg>>,
}

/// The webhook keys the API tests sign with.
fn webhook_keys() -> crate::settlement::webhook::WebhookKeys {
    use parking_core::secret::Secret;
    crate::settlement::webhook::WebhookKeys {
        sepay_api_key: Some(Secret::new("sepay-test-key")),
        sepay_hmac_secret: Some(Secret::new("sepay-test-hmac")),
        casso_secret: Some(Secret::new("casso-test-secret")),
        window: std::time::Duration::from_secs(300),
    }
}

/// The lot the API tests serve: small, so tests fill it.
fn test_site() -> parking_core::settings::LotSettings {
    parking_core::settings::LotSettings {
        id: "api-lot".parse().unwrap(),
        name: "Bãi xe thử".into(),
        zone: "hanoi-zone-1".into(),
        tariff_dir: "config/tariffs".into(),
        address: Some("1 Tràng Tiền, Hà Nội".into()),
        opening_hours: Some("24/7".into()),
        capacity: [("car".parse().unwrap(), 3), ("motorbike".parse().unwrap(), 5)].into_iter().collect(),
    }
}

fn test_receipts() -> crate::tax::receipts::ReceiptKeys {
    crate::tax::receipts::ReceiptKeys::new(parking_core::secret::Secret::new("test receipt secret 0123")).unwrap()
}

/// The invoice issuer the API tests issue with.
fn issuer() -> crate::tax::invoicing::Issuer {
    crate::tax::invoicing::Issuer::from_settings(
        &crate::settings::InvoiceSettings {
            seller_name: Some("Bãi xe Hàng Bài".into()),
            seller_address: Some("Hà Nội".into()),
            seller_tax_code: Some("0109876543".into()),
            ..Default::default()
        },
        test_receipts(),
    )
    .unwrap()
    .unwrap()
}

impl Api {
    async fn new(db: &Db) -> Api {
        Api::with_limits(db, super::limits::RateLimits::default()).await
    }

    async fn with_limits(db: &Db, limits: super::limits::RateLimits) -> Api {
        Api::build(db, limits, parking_runtime::Clock::wall()).await
    }

    /// An API whose "now" is `clock`'s.
    async fn build(db: &Db, limits: super::limits::RateLimits, clock: parking_runtime::Clock) -> Api {
        Api::build_with(db, limits, clock, Default::default()).await
    }

    /// [`Api::build`] with sign-in sessions of `people`.
    async fn build_with(
        db: &Db,
        limits: super::limits::RateLimits,
        clock: parking_runtime::Clock,
        people: crate::people::Policy,
    ) -> Api {
        let token = |role| async move { tokens::create(db, role, &format!("test {role}"), 1).await.unwrap().token };
        let (admin, operator, tax) =
            (token(Role::Admin).await, token(Role::Operator).await, token(Role::TaxOfficer).await);
        let registry = crate::registry::Registry::new(db.clone());
        let metrics = crate::metrics::ServerMetrics::new().unwrap();
        let policy = Arc::new(crate::settlement::Policy {
            bank: Some(("970403".into(), "0011012345678".into())),
            pay_link: Some("https://pay.example/?ba={account}@{bin}&am={amount}&tn={memo}".into()),
            ..crate::settlement::Policy::from_tax(&Default::default()).unwrap()
        });
        let (out, published) = tokio::sync::mpsc::channel(1024);
        let after = crate::mqtt::commands::AfterCommit {
            out,
            lists_changed: Arc::clone(&registry.lists_changed),
            clock: clock.clone(),
        };
        let (settler, _task) = crate::settlement::settler::Settler::spawn(
            db.clone(),
            Arc::clone(&policy),
            after.clone(),
            metrics.settlement.clone(),
            tokio_util::sync::CancellationToken::new(),
        );
        let settlement = settlement::SettlementState { settler, policy, keys: webhook_keys(), after };
        let app = App {
            db: db.clone(),
            registry,
            lot: "api-lot".parse().unwrap(),
            metrics,
            broker: Arc::new(PublisherStats::default()),
            settlement,
            journal_key: Some(crate::audit::tests_key().verifying_key()),
            live: Arc::default(),
            photos: crate::photos::Photos::new(db.clone(), None),
            limits: Arc::new(limits),
            clock,
            people,
            tariffs: Arc::new(
                parking_runtime::tariffs::load_dir(
                    std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/tariffs")),
                    "hanoi-zone-1",
                )
                .unwrap(),
            ),
            zone: "hanoi-zone-1".into(),
            site: test_site(),
            receipts: crate::tax::receipts::ReceiptLinks::new(test_receipts(), None, "api-lot"),
            public_url: None,
            drivers: crate::settings::DriverSettings::default().sessions(false),
            driver_rules: Default::default(),
        };
        Api {
            router: router(AppState(Arc::new(app))),
            db: db.clone(),
            admin,
            operator,
            tax,
            published: tokio::sync::Mutex::new(published),
        }
    }

    /// Sends a request; the status and the body as JSON (`Null` if empty,
    /// a string if not JSON).
    async fn raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&str, String)>,
    ) -> (StatusCode, Value) {
        let mut req = Request::builder().method(method).uri(path);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let req = match body {
            Some((content_type, b)) => req.header("content-type", content_type).body(HttpBody::from(b)),
            None => req.body(HttpBody::empty()),
        }
        .unwrap();
        let res = self.router.clone().oneshot(req).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 64 << 20).await.unwrap();
        let value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()))
        };
        (status, value)
    }

    /// A GET with a `Cookie` header and nothing else; its status.
    async fn raw_with_cookie(&self, method: &str, path: &str, cookie: &str) -> StatusCode {
        let req = Request::builder().method(method).uri(path).header("cookie", cookie).body(HttpBody::empty()).unwrap();
        self.router.clone().oneshot(req).await.unwrap().status()
    }

    /// Posts a body with extra headers (a provider's notification).
    async fn post_with(&self, path: &str, headers: &[(&str, String)], body: &str) -> (StatusCode, Value) {
        let mut req = Request::builder().method("POST").uri(path).header("content-type", "application/json");
        for (k, v) in headers {
            req = req.header(*k, v.as_str());
        }
        let res = self.router.clone().oneshot(req.body(HttpBody::from(body.to_owned())).unwrap()).await.unwrap();
        let status = res.status();
        let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
        (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
    }

    /// Lane commands the server published since the last call.
    async fn commands(&self) -> Vec<(String, Value)> {
        let mut rx = self.published.lock().await;
        let mut out = Vec::new();
        while let Ok(m) = rx.try_recv() {
            out.push((m.topic, serde_json::from_slice(&m.payload).unwrap()));
        }
        out
    }

    async fn call(&self, method: &str, path: &str, token: &str, body: Option<Value>) -> (StatusCode, Value) {
        self.raw(method, path, Some(token), body.map(|b| ("application/json", b.to_string()))).await
    }

    async fn ok(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let (status, v) = self.call(method, path, &self.operator, body).await;
        assert!(status.is_success(), "{method} {path}: {status} {v}");
        v
    }
}

fn error_of(v: &Value) -> (&str, &str) {
    (v["error"].as_str().unwrap_or_default(), v["message"].as_str().unwrap_or_default())
}

async fn tokens_and_roles(db: &Db) {
    let api = Api::new(db).await;
    let (s, v) = api.raw("GET", "/health", None, None).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ok")));

    let (s, v) = api.raw("GET", "/api/v1/vehicles", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(error_of(&v).0, "unauthorized");
    assert!(error_of(&v).1.contains("Authorization"), "{v}");
    let (s, v) = api.call("GET", "/api/v1/vehicles", "lsk_0000", None).await;
    assert_eq!((s, error_of(&v).1), (StatusCode::UNAUTHORIZED, "unknown, revoked or expired credential"));
    let (s, _) = api.raw("GET", "/api/v1/vehicles", Some("Basic abc"), None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // A tax officer reads the journal, never the registry, never writes.
    let (s, v) = api.call("GET", "/api/v1/vehicles", &api.tax, None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(error_of(&v).0, "forbidden");
    assert!(error_of(&v).1.contains("role tax_officer"), "{v}");
    assert_eq!(api.call("GET", "/api/v1/sessions", &api.tax, None).await.0, StatusCode::OK);
    assert_eq!(api.call("GET", "/api/v1/events", &api.tax, None).await.0, StatusCode::OK);
    let resolve = json!({ "note": "x" });
    assert_eq!(
        api.call("POST", "/api/v1/exceptions/e1/resolve", &api.tax, Some(resolve)).await.0,
        StatusCode::FORBIDDEN
    );
    // Operators run the lot; tokens are for admins.
    assert_eq!(api.call("GET", "/api/v1/vehicles", &api.operator, None).await.0, StatusCode::OK);
    assert_eq!(api.call("GET", "/api/v1/tokens", &api.operator, None).await.0, StatusCode::FORBIDDEN);
    let (s, v) = api.call("GET", "/api/v1/me", &api.tax, None).await;
    assert_eq!((s, v["role"].as_str()), (StatusCode::OK, Some("tax_officer")));

    // An admin makes a token; it works until revoked.
    let (s, made) = api
        .call("POST", "/api/v1/tokens", &api.admin, Some(json!({ "role": "operator", "label": "night shift" })))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    let new = made["token"].as_str().unwrap().to_owned();
    assert_eq!(api.call("GET", "/api/v1/owners", &new, None).await.0, StatusCode::OK);
    let listed = api.call("GET", "/api/v1/tokens", &api.admin, None).await.1;
    assert!(listed.as_array().unwrap().iter().all(|t| t.get("token").is_none() && t.get("token_hash").is_none()));
    let id = made["token_id"].as_str().unwrap();
    assert_eq!(api.call("DELETE", &format!("/api/v1/tokens/{id}"), &api.admin, None).await.0, StatusCode::NO_CONTENT);
    assert_eq!(api.call("GET", "/api/v1/owners", &new, None).await.0, StatusCode::UNAUTHORIZED);
    let (s, v) = api.call("POST", "/api/v1/tokens", &api.admin, Some(json!({ "role": "root", "label": "x" }))).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(error_of(&v).1.contains("role"), "{v}");
}
crate::on_both_databases!(api_tokens_and_roles, tokens_and_roles);

async fn malformed_input_is_a_clear_4xx(db: &Db) {
    let api = Api::new(db).await;
    let op = api.operator.clone();
    /// Method, path, content type and body, the status, what the message says.
    type Case<'a> = (&'a str, &'a str, Option<(&'a str, String)>, StatusCode, &'a str);
    let cases: Vec<Case<'_>> = vec![
        ("POST", "/api/v1/vehicles", Some(("application/json", "{\"plate\": ".into())), StatusCode::BAD_REQUEST, "EOF"),
        (
            "POST",
            "/api/v1/vehicles",
            Some(("text/plain", "{}".into())),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type",
        ),
        (
            "POST",
            "/api/v1/vehicles",
            Some(("application/json", json!({ "plate": "29A-123.45", "class": "car", "colour": "red" }).to_string())),
            StatusCode::BAD_REQUEST,
            "unknown field `colour`",
        ),
        (
            "POST",
            "/api/v1/vehicles",
            Some(("application/json", json!({ "plate": "not a plate", "class": "car" }).to_string())),
            StatusCode::BAD_REQUEST,
            "plate",
        ),
        (
            "POST",
            "/api/v1/vehicles",
            Some(("application/json", json!({ "plate": "29A-123.45" }).to_string())),
            StatusCode::BAD_REQUEST,
            "missing field `class`",
        ),
        (
            "POST",
            "/api/v1/owners",
            Some(("application/json", json!({ "name": "A", "id_number": "12ab" }).to_string())),
            StatusCode::BAD_REQUEST,
            "id_number must be 9 or 12 digits",
        ),
        (
            "POST",
            "/api/v1/tags",
            Some(("application/json", json!({ "epc": "XYZ", "vehicle_id": "v" }).to_string())),
            StatusCode::BAD_REQUEST,
            "epc",
        ),
        (
            "POST",
            "/api/v1/passes",
            Some((
                "application/json",
                json!({ "vehicle_id": "v", "valid_from": "2026-13-01", "valid_until": "2026-12-31", "price_vnd": 1 })
                    .to_string(),
            )),
            StatusCode::BAD_REQUEST,
            "valid_from",
        ),
        ("GET", "/api/v1/vehicles?limit=5000", None, StatusCode::BAD_REQUEST, "limit must be 1 to 1000"),
        ("GET", "/api/v1/vehicles?limit=abc", None, StatusCode::BAD_REQUEST, "limit"),
        ("GET", "/api/v1/sessions?state=parked", None, StatusCode::BAD_REQUEST, "state must be one of open, closed"),
        ("GET", "/api/v1/sessions?color=red", None, StatusCode::BAD_REQUEST, "unknown field `color`"),
        ("GET", "/api/v1/vehicles/nope", None, StatusCode::NOT_FOUND, "vehicle nope not found"),
        (
            "POST",
            "/api/v1/accounts",
            Some(("application/json", json!({ "owner_id": "nobody" }).to_string())),
            StatusCode::CONFLICT,
            "does not exist",
        ),
    ];
    for (method, path, body, want, says) in cases {
        let (s, v) = api.raw(method, path, Some(&op), body).await;
        assert_eq!(s, want, "{method} {path}: {v}");
        let (code, message) = error_of(&v);
        assert!(!code.is_empty() && message.contains(says), "{method} {path}: `{message}` should say `{says}`");
    }
}
crate::on_both_databases!(api_malformed_input_is_a_clear_4xx, malformed_input_is_a_clear_4xx);

mod close_api;
mod desk_api;
mod driver_api;
mod flows;
mod hostile;
mod openapi_api;
mod people_api;
mod public_api;
mod receipts_api;
mod words;

mod settlement_api;
mod stays_api;
mod tax_api;
