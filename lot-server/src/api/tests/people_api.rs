//! People: accounts made by an admin, sign-in with a password, sessions
//! that end (sign-out, idle, the shift's end, the account disabled or its
//! password reset, the token revoked), the lockout after failed sign-ins,
//! and every change a person makes journalled under their name.

use std::time::Duration;

use axum::http::HeaderMap;
use parking_core::Timestamp;

use super::*;

/// A request with the session cookie `cookie` (and the CSRF header on
/// writes, as the page sends it): status, headers, body.
async fn with_cookie(
    api: &Api,
    method: &str,
    path: &str,
    cookie: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, HeaderMap, Value) {
    let mut req = Request::builder().method(method).uri(path).header("content-type", "application/json");
    if let Some(c) = cookie {
        req = req.header("cookie", format!("parking_session={c}")).header("x-parking-csrf", "1");
    }
    let body = body.map_or_else(HttpBody::empty, |b| HttpBody::from(b.to_string()));
    let res = api.router.clone().oneshot(req.body(body).unwrap()).await.unwrap();
    let (status, headers) = (res.status(), res.headers().clone());
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, headers, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Signs in; the session id from the cookie, which must be marked right.
async fn sign_in(api: &Api, username: &str, password: &str) -> String {
    let body = json!({ "username": username, "password": password });
    let (s, h, v) = with_cookie(api, "POST", "/api/v1/login", None, Some(body)).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let set = h.get("set-cookie").unwrap().to_str().unwrap().to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(part), "{set}");
    }
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    let id = set.strip_prefix("parking_session=").unwrap().split(';').next().unwrap().to_owned();
    assert!(id.starts_with("lss_") && id.len() == 68, "{id}");
    id
}

async fn me(api: &Api, cookie: &str) -> StatusCode {
    with_cookie(api, "GET", "/api/v1/me", Some(cookie), None).await.0
}

async fn people_sign_in_and_their_sessions_end(db: &Db) {
    let clock = parking_runtime::Clock::manual(Timestamp::from_unix_millis(1_780_000_000_000).unwrap());
    let api = Api::build(db, Default::default(), clock.clone()).await;
    // An admin makes an account; the password is generated, shown once.
    let new = json!({ "username": "An.Nguyen", "display_name": "Nguyễn Văn An", "role": "operator" });
    let (s, made) = api.call("POST", "/api/v1/users", &api.admin, Some(new.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    assert_eq!(made["user"]["username"], "an.nguyen");
    let password = made["generated_password"].as_str().unwrap().to_owned();
    assert_eq!(password.len(), 23, "{password}");
    let (s, v) = api.call("POST", "/api/v1/users", &api.admin, Some(new)).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::CONFLICT, "username_taken"));
    let weak = json!({ "username": "binh", "role": "operator", "password": "short" });
    let (s, v) = api.call("POST", "/api/v1/users", &api.admin, Some(weak)).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::BAD_REQUEST, "password_weak"));
    // Only the hash is stored.
    let stored: String = sqlx::query_scalar("SELECT password_hash FROM users").fetch_one(&db.pool).await.unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains(&password), "{stored}");
    // An operator may not manage people.
    assert_eq!(api.call("GET", "/api/v1/users", &api.operator, None).await.0, StatusCode::FORBIDDEN);

    // Signed in, the cookie is the credential: who it is, and writes need
    // the CSRF header.
    let cookie = sign_in(&api, "AN.NGUYEN ", &password).await;
    let (s, _, who) = with_cookie(&api, "GET", "/api/v1/me", Some(&cookie), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!((who["name"].as_str(), who["id"].as_str()), (Some("Nguyễn Văn An"), Some("user:an.nguyen")));
    let stored: Vec<String> =
        sqlx::query_scalar("SELECT session_hash FROM login_sessions").fetch_all(&db.pool).await.unwrap();
    assert!(!stored.iter().any(|h| h.contains(&cookie[4..])), "the session id is stored hashed");
    let vehicle = json!({ "plate": "30A-123.45", "class": "car" });
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/vehicles")
        .header("content-type", "application/json")
        .header("cookie", format!("parking_session={cookie}"))
        .body(HttpBody::from(vehicle.to_string()))
        .unwrap();
    assert_eq!(api.router.clone().oneshot(req).await.unwrap().status(), StatusCode::FORBIDDEN, "no CSRF header");
    let (s, _, v) = with_cookie(&api, "POST", "/api/v1/vehicles", Some(&cookie), Some(vehicle)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");

    // Sign-out ends the session at the server: the old cookie is refused.
    let (s, h, _) = with_cookie(&api, "POST", "/api/v1/logout", Some(&cookie), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert!(h.get("set-cookie").unwrap().to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(me(&api, &cookie).await, StatusCode::UNAUTHORIZED);

    // Idle for half an hour: over. In use, it lasts the 12-hour shift, no more.
    let cookie = sign_in(&api, "an.nguyen", &password).await;
    clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(me(&api, &cookie).await, StatusCode::OK);
    clock.advance(Duration::from_secs(29 * 60));
    assert_eq!(me(&api, &cookie).await, StatusCode::OK, "the last request kept it alive");
    clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(me(&api, &cookie).await, StatusCode::UNAUTHORIZED, "idle too long");
    let cookie = sign_in(&api, "an.nguyen", &password).await;
    for _ in 0..((12 * 60) / 20 - 1) {
        clock.advance(Duration::from_secs(20 * 60));
        assert_eq!(me(&api, &cookie).await, StatusCode::OK);
    }
    clock.advance(Duration::from_secs(20 * 60));
    assert_eq!(me(&api, &cookie).await, StatusCode::UNAUTHORIZED, "past the shift's 12 hours");

    // Disabling ends the sessions and refuses sign-in; so does a reset.
    let cookie = sign_in(&api, "an.nguyen", &password).await;
    let (s, v) = api.call("POST", "/api/v1/users/an.nguyen/disable", &api.admin, None).await;
    assert_eq!((s, v["disabled_ms"].is_i64()), (StatusCode::OK, true), "{v}");
    assert_eq!(me(&api, &cookie).await, StatusCode::UNAUTHORIZED);
    let body = json!({ "username": "an.nguyen", "password": password });
    let (s, _, v) = with_cookie(&api, "POST", "/api/v1/login", None, Some(body)).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::UNAUTHORIZED, "login_failed"));
    api.call("POST", "/api/v1/users/an.nguyen/enable", &api.admin, None).await;
    let cookie = sign_in(&api, "an.nguyen", &password).await;
    let chosen = json!({ "password": "a new long passphrase" });
    let (s, v) = api.call("POST", "/api/v1/users/an.nguyen/password", &api.admin, Some(chosen)).await;
    assert_eq!((s, v.get("generated_password")), (StatusCode::OK, None), "{v}");
    assert_eq!(me(&api, &cookie).await, StatusCode::UNAUTHORIZED, "a reset ends the sessions");
    sign_in(&api, "an.nguyen", "a new long passphrase").await;

    // A machine signs in with its token; revoking the token ends it.
    let t = crate::tokens::create(db, Role::TaxOfficer, "Chi cục Thuế", clock.now_ms()).await.unwrap();
    let (s, h, v) = with_cookie(&api, "POST", "/api/v1/login", None, Some(json!({ "token": t.token }))).await;
    assert_eq!((s, v["name"].as_str()), (StatusCode::OK, Some("Chi cục Thuế")), "{v}");
    let set = h.get("set-cookie").unwrap().to_str().unwrap();
    assert!(!set.contains(&t.token), "the cookie never holds the token: {set}");
    let cookie = set.strip_prefix("parking_session=").unwrap().split(';').next().unwrap().to_owned();
    assert_eq!(me(&api, &cookie).await, StatusCode::OK);
    crate::tokens::revoke(db, &t.info.token_id, clock.now_ms()).await.unwrap();
    assert_eq!(me(&api, &cookie).await, StatusCode::UNAUTHORIZED);
}
crate::on_both_databases!(people_sign_in_and_their_sessions_end, people_sign_in_and_their_sessions_end);

async fn five_failures_lock_a_username_out(db: &Db) {
    let clock = parking_runtime::Clock::manual(Timestamp::from_unix_millis(1_780_000_000_000).unwrap());
    let api = Api::build(db, Default::default(), clock.clone()).await;
    let new = json!({ "username": "thu.ngan", "role": "operator", "password": "the right password" });
    assert_eq!(api.call("POST", "/api/v1/users", &api.admin, Some(new)).await.0, StatusCode::CREATED);
    let attempt = |password: &'static str| {
        let api = &api;
        async move {
            let body = json!({ "username": "thu.ngan", "password": password });
            with_cookie(api, "POST", "/api/v1/login", None, Some(body)).await
        }
    };
    for i in 0..5 {
        let (s, _, v) = attempt("a wrong guess").await;
        assert_eq!((s, error_of(&v).0), (StatusCode::UNAUTHORIZED, "login_failed"), "attempt {i}");
        clock.advance(Duration::from_secs(60));
    }
    // Locked: even the right password is refused, with when to come back:
    // the first failure (5 minutes ago) leaves the window in 10 minutes.
    let (s, h, v) = attempt("the right password").await;
    assert_eq!((s, error_of(&v).0), (StatusCode::TOO_MANY_REQUESTS, "locked_out"), "{v}");
    assert_eq!(h.get("retry-after").unwrap().to_str().unwrap(), "600");
    let metrics = api.call("GET", "/metrics", &api.admin, None).await.1;
    let text = metrics.as_str().unwrap();
    assert!(text.contains("parking_server_login_refused_total{reason=\"locked_out\"} 1"), "{text}");
    assert!(text.contains("parking_server_login_refused_total{reason=\"wrong_password\"} 5"), "{text}");
    // Another name is not locked; a name no one has is counted the same way.
    let other = json!({ "username": "nobody", "password": "whatever it is" });
    for _ in 0..5 {
        assert_eq!(
            with_cookie(&api, "POST", "/api/v1/login", None, Some(other.clone())).await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    assert_eq!(with_cookie(&api, "POST", "/api/v1/login", None, Some(other)).await.0, StatusCode::TOO_MANY_REQUESTS);
    // Still locked a second before the window passes; then the right password works.
    clock.advance(Duration::from_secs(599));
    assert_eq!(attempt("the right password").await.0, StatusCode::TOO_MANY_REQUESTS);
    clock.advance(Duration::from_secs(1));
    assert_eq!(attempt("the right password").await.0, StatusCode::OK);
}
crate::on_both_databases!(five_failures_lock_a_username_out, five_failures_lock_a_username_out);

async fn what_people_change_is_journalled_under_their_name(db: &Db) {
    let api = Api::new(db).await;
    let new = json!({ "username": "lan", "display_name": "Trần Thị Lan", "role": "operator", "password": "green parking 2026" });
    api.call("POST", "/api/v1/users", &api.admin, Some(new)).await;
    let cookie = sign_in(&api, "lan", "green parking 2026").await;
    let vehicle = json!({ "plate": "29A-999.99", "class": "car" });
    let (s, _, v) = with_cookie(&api, "POST", "/api/v1/vehicles", Some(&cookie), Some(vehicle)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let id = v["vehicle_id"].as_str().unwrap().to_owned();
    // A refused change is no change: not journalled.
    let bad = json!({ "plate": "30A", "class": "car" });
    assert_eq!(
        with_cookie(&api, "POST", "/api/v1/vehicles", Some(&cookie), Some(bad)).await.0,
        StatusCode::BAD_REQUEST
    );
    // Reads are not changes either.
    with_cookie(&api, "GET", "/api/v1/vehicles", Some(&cookie), None).await;
    crate::audit::chain_pending(db).await.unwrap();
    let rows: Vec<String> =
        sqlx::query_scalar("SELECT body FROM journal_records WHERE kind = 'person_action' ORDER BY seq")
            .fetch_all(&db.pool)
            .await
            .unwrap();
    let actions: Vec<Value> = rows.iter().map(|b| serde_json::from_str(b).unwrap()).collect();
    assert_eq!(actions.len(), 2, "{actions:?}");
    assert_eq!(actions[0]["action"], "POST /api/v1/users");
    assert!(actions[0]["actor"].as_str().unwrap().starts_with("token:"), "{}", actions[0]);
    assert_eq!(actions[0]["role"], "admin");
    assert!(!rows[0].contains("passphrase"), "no password in the journal: {}", rows[0]);
    assert_eq!(
        (actions[1]["actor"].as_str(), actions[1]["name"].as_str(), actions[1]["action"].as_str()),
        (Some("user:lan"), Some("Trần Thị Lan"), Some("POST /api/v1/vehicles"))
    );
    assert_eq!(actions[1]["status"], 201);
    assert_eq!(actions[1]["target"], "/api/v1/vehicles");
    assert!(!id.is_empty());
    let key = crate::audit::tests_key().verifying_key();
    assert!(crate::audit::verify(db, &key).await.unwrap().is_ok(), "the chain still verifies");
}
crate::on_both_databases!(
    what_people_change_is_journalled_under_their_name,
    what_people_change_is_journalled_under_their_name
);

async fn behind_tls_the_session_cookie_is_secure(db: &Db) {
    let policy = crate::people::Policy { secure_cookie: true, ..Default::default() };
    let api = Api::build_with(db, Default::default(), parking_runtime::Clock::wall(), policy).await;
    let new = json!({ "username": "bao.ve", "role": "operator", "password": "cổng số hai ca đêm" });
    assert_eq!(api.call("POST", "/api/v1/users", &api.admin, Some(new)).await.0, StatusCode::CREATED);
    let body = json!({ "username": "bao.ve", "password": "cổng số hai ca đêm" });
    let (s, h, _) = with_cookie(&api, "POST", "/api/v1/login", None, Some(body)).await;
    assert_eq!(s, StatusCode::OK);
    let set = h.get("set-cookie").unwrap().to_str().unwrap().to_owned();
    assert!(set.ends_with("; Secure") && set.contains("HttpOnly"), "{set}");
    let id = set.strip_prefix("parking_session=").unwrap().split(';').next().unwrap().to_owned();
    let (_, h, _) = with_cookie(&api, "POST", "/api/v1/logout", Some(&id), None).await;
    assert!(h.get("set-cookie").unwrap().to_str().unwrap().ends_with("; Secure"), "the clearing cookie too");
}
crate::on_both_databases!(behind_tls_the_session_cookie_is_secure, behind_tls_the_session_cookie_is_secure);
