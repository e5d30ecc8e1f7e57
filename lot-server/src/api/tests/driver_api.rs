//! Drivers through the API: the desk sets a PIN, the driver signs in with
//! their phone, sees only what is theirs, tops up, buys a pass, reports a
//! tag lost and the lists deny it; a driver's session reaches no operator
//! route and no other driver's data; guesses lock the number until the
//! desk unlocks it; a printed link signs in once.

use axum::body::Body as HttpBody;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::{Api, error_of};
use crate::db::Db;

/// A driver's call: the cookie, and the CSRF header on writes.
async fn as_driver(api: &Api, method: &str, path: &str, cookie: &str, body: Option<Value>) -> (StatusCode, Value) {
    let mut req =
        Request::builder().method(method).uri(path).header(header::COOKIE, format!("parking_driver={cookie}"));
    if method != "GET" {
        req = req.header("x-parking-csrf", "1");
    }
    let req = match body {
        Some(b) => req.header("content-type", "application/json").body(HttpBody::from(b.to_string())),
        None => req.body(HttpBody::empty()),
    }
    .unwrap();
    let res = api.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Signs in; the session id from the cookie set.
async fn sign_in(api: &Api, phone: &str, pin: &str) -> Result<String, (StatusCode, Value)> {
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/driver/login")
        .header("content-type", "application/json")
        .body(HttpBody::from(json!({ "phone": phone, "pin": pin }).to_string()))
        .unwrap();
    let res = api.router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let cookie = res.headers().get(header::SET_COOKIE).map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(res.into_body(), 1 << 20).await.unwrap();
    if status != StatusCode::OK {
        return Err((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)));
    }
    let cookie = cookie.unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"), "{cookie}");
    Ok(cookie.split(';').next().unwrap().strip_prefix("parking_driver=").unwrap().to_owned())
}

/// An owner with a phone, an account, a car and its tag.
async fn customer(api: &Api, name: &str, phone: Option<&str>, plate: &str, epc: &str) -> (String, String, String) {
    let owner = api
        .ok("POST", "/api/v1/owners", Some(json!({ "name": name, "id_number": "001099012345", "phone": phone })))
        .await;
    let account = api.ok("POST", "/api/v1/accounts", Some(json!({ "owner_id": owner["owner_id"] }))).await;
    let vehicle = api
        .ok("POST", "/api/v1/vehicles", Some(json!({ "plate": plate, "class": "car", "owner_id": owner["owner_id"], "account_id": account["account_id"] })))
        .await;
    api.ok("POST", "/api/v1/tags", Some(json!({ "epc": epc, "vehicle_id": vehicle["vehicle_id"] }))).await;
    let id = |v: &Value, k: &str| v[k].as_str().unwrap().to_owned();
    (id(&owner, "owner_id"), id(&account, "account_id"), id(&vehicle, "vehicle_id"))
}

async fn a_driver_sees_and_does_only_what_is_theirs(db: &Db) {
    let api = Api::new(db).await;
    let (hoa, hoa_account, hoa_car) =
        customer(&api, "Lê Thị Hoa", Some("0912 345 678"), "30K-111.22", "E20000000000000000001111").await;
    let (_, binh_account, _) =
        customer(&api, "Trần Văn Bình", Some("0987654321"), "29A-222.33", "E20000000000000000002222").await;
    let (nophone, _, _) = customer(&api, "Không Số", None, "29A-333.44", "E20000000000000000003333").await;

    // The desk sets PINs: a weak one refused, one without a phone refused.
    let pin = |id: &str| format!("/api/v1/owners/{id}/pin");
    let (s, v) = api.call("POST", &pin(&hoa), &api.operator, Some(json!({ "pin": "123456" }))).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::BAD_REQUEST, "pin_weak"));
    let (s, v) = api.call("POST", &pin(&nophone), &api.operator, Some(json!({}))).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::BAD_REQUEST, "phone_missing"));
    let set = api.ok("POST", &pin(&hoa), Some(json!({ "pin": "493817" }))).await;
    assert_eq!((set["phone"].as_str(), set["pin"].as_str()), (Some("0912345678"), Some("493817")));
    let stored: String = sqlx::query_scalar("SELECT pin_hash FROM driver_logins").fetch_one(&db.pool).await.unwrap();
    assert!(stored.starts_with("$argon2id$") && !stored.contains("493817"));
    assert_eq!(api.call("POST", &pin(&hoa), &api.tax, Some(json!({}))).await.0, StatusCode::FORBIDDEN);

    // Signing in, with the phone written any common way.
    let hoa_session = sign_in(&api, "+84 912 345 678", "493817").await.unwrap();
    let (s, me) = as_driver(&api, "GET", "/api/v1/driver/me", &hoa_session, None).await;
    assert_eq!(s, StatusCode::OK, "{me}");
    assert_eq!(me["me"]["name"], "Lê Thị Hoa");
    assert_eq!(me["me"]["vehicles"].as_array().map(Vec::len), Some(1));
    assert_eq!(me["me"]["vehicles"][0]["plate"], "30K-111.22");
    assert_eq!(me["me"]["accounts"][0]["account_id"], hoa_account.as_str());
    let text = me.to_string();
    for other in ["Trần Văn Bình", "29A-222.33", binh_account.as_str(), "001099012345", "id_hash", "argon2"] {
        assert!(!text.contains(other), "{other} in {text}");
    }

    // Nothing of another driver's, nor any operator's route.
    let (s, _) = as_driver(
        &api,
        "GET",
        &format!("/api/v1/driver/accounts/{binh_account}/top-up-qr?amount_vnd=50000"),
        &hoa_session,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = as_driver(&api, "POST", "/api/v1/driver/tags/E20000000000000000002222/lost", &hoa_session, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(as_driver(&api, "GET", "/api/v1/sessions", &hoa_session, None).await.0, StatusCode::UNAUTHORIZED);
    let staff_cookie = api.raw_with_cookie("GET", "/api/v1/sessions", &format!("parking_session={hoa_session}")).await;
    assert_eq!(staff_cookie, StatusCode::FORBIDDEN, "a driver's session in the staff cookie is still a driver's");
    assert_eq!(api.call("GET", "/api/v1/driver/me", &api.admin, None).await.0, StatusCode::FORBIDDEN);
    let (s, _) = api.raw("GET", "/api/v1/driver/me", None, None).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);

    // A top-up QR for their own account.
    let (s, qr) = as_driver(
        &api,
        "GET",
        &format!("/api/v1/driver/accounts/{hoa_account}/top-up-qr?amount_vnd=3000000"),
        &hoa_session,
        None,
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{qr}");
    let decoded = parking_core::vietqr::VietQr::decode(qr["payload"].as_str().unwrap()).unwrap();
    assert_eq!(
        decoded,
        parking_core::vietqr::VietQr::payment(
            "970403",
            "0011012345678",
            parking_core::money::Vnd::new(3_000_000),
            qr["topup_code"].as_str().unwrap()
        )
    );

    // A pass, bought from the balance once it is topped up; then renewed.
    let offer = format!("/api/v1/driver/passes/offer?vehicle_id={hoa_car}&months=1");
    let (_, o) = as_driver(&api, "GET", &offer, &hoa_session, None).await;
    assert_eq!((o["price_vnd"].as_i64(), o["renewal"].as_bool()), (Some(2_500_000), Some(false)), "{o}");
    let buy = json!({ "vehicle_id": hoa_car, "months": 1, "account_id": hoa_account });
    let (s, v) = as_driver(&api, "POST", "/api/v1/driver/passes", &hoa_session, Some(buy.clone())).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::CONFLICT, "balance_short"));
    api.ok(
        "POST",
        &format!("/api/v1/accounts/{hoa_account}/top-ups"),
        Some(json!({ "amount_vnd": 6_000_000, "reference": "FT-APP-1" })),
    )
    .await;
    let (s, sold) = as_driver(&api, "POST", "/api/v1/driver/passes", &hoa_session, Some(buy.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{sold}");
    let (_, o) = as_driver(&api, "GET", &offer, &hoa_session, None).await;
    assert_eq!(o["renewal"], true, "the next pass starts after this one: {o}");
    let next_day = time::Date::parse(sold["pass"]["valid_until"].as_str().unwrap(), crate::db::ISO_DATE)
        .unwrap()
        .next_day()
        .unwrap();
    assert_eq!(o["valid_from"], next_day.to_string());
    let (s, renewed) = as_driver(&api, "POST", "/api/v1/driver/passes", &hoa_session, Some(buy)).await;
    assert_eq!((s, renewed["pass"]["valid_from"].as_str()), (StatusCode::CREATED, Some(next_day.to_string().as_str())));
    let sales: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sales WHERE channel = 'pass'").fetch_one(&db.pool).await.unwrap();
    assert_eq!(sales, 2, "each pass is a sale, invoiced like the desk's");

    // A lost tag: blocked at once, on the deny list.
    let (s, _) = as_driver(&api, "POST", "/api/v1/driver/tags/e20000000000000000001111/lost", &hoa_session, None).await;
    assert_eq!(s, StatusCode::OK);
    let snap = api.ok("GET", "/api/v1/lists/snapshot", None).await;
    let denied = snap["deny"]
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["target"] == json!({ "kind": "epc", "value": "E20000000000000000001111" }));
    assert!(denied, "{snap}");
    // A write without the CSRF header is refused.
    let req = Request::builder()
        .method("POST")
        .uri("/api/v1/driver/tags/E20000000000000000001111/lost")
        .header(header::COOKIE, format!("parking_driver={hoa_session}"))
        .body(HttpBody::empty())
        .unwrap();
    assert_eq!(api.router.clone().oneshot(req).await.unwrap().status(), StatusCode::FORBIDDEN);

    // Signing out ends the session.
    let (s, _) = as_driver(&api, "POST", "/api/v1/driver/logout", &hoa_session, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    assert_eq!(as_driver(&api, "GET", "/api/v1/driver/me", &hoa_session, None).await.0, StatusCode::UNAUTHORIZED);
}
crate::on_both_databases!(driver_own_data, a_driver_sees_and_does_only_what_is_theirs);

async fn guesses_lock_the_number_and_a_printed_link_signs_in_once(db: &Db) {
    let api = Api::new(db).await;
    let (owner, _, _) =
        customer(&api, "Phạm Văn Cường", Some("0987654321"), "29A-222.33", "E20000000000000000002222").await;
    let set = api.ok("POST", &format!("/api/v1/owners/{owner}/pin"), Some(json!({}))).await;
    let pin = set["pin"].as_str().unwrap().to_owned();
    assert!(pin.len() == 6 && pin.bytes().all(|b| b.is_ascii_digit()), "{set}");
    let wrong = if pin == "918273" { "827364" } else { "918273" };
    for _ in 0..5 {
        let (s, v) = sign_in(&api, "0987654321", wrong).await.unwrap_err();
        assert_eq!((s, error_of(&v).0), (StatusCode::UNAUTHORIZED, "login_failed"));
    }
    let (s, _) = sign_in(&api, "0987654321", &pin).await.unwrap_err();
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "locked, even with the right PIN");
    // An unknown number is refused the same way, naming nothing.
    let (s, v) = sign_in(&api, "0900000000", &pin).await.unwrap_err();
    assert_eq!((s, error_of(&v).0), (StatusCode::UNAUTHORIZED, "login_failed"));
    api.ok("POST", &format!("/api/v1/owners/{owner}/unlock"), None).await;
    sign_in(&api, "0987654321", &pin).await.unwrap();

    // A printed link: once, and only once.
    let link = api.ok("POST", &format!("/api/v1/owners/{owner}/sign-in-link"), None).await;
    let url = link["url"].as_str().unwrap();
    let key = url.split_once("#link/api-lot/").unwrap().1.to_owned();
    assert!(link["qr_svg"].as_str().unwrap().contains("<svg"), "{link}");
    let redeem = || async {
        let req = Request::builder()
            .method("POST")
            .uri("/api/v1/driver/link")
            .header("content-type", "application/json")
            .body(HttpBody::from(json!({ "key": key }).to_string()))
            .unwrap();
        api.router.clone().oneshot(req).await.unwrap().status()
    };
    assert_eq!(redeem().await, StatusCode::OK);
    assert_eq!(redeem().await, StatusCode::UNAUTHORIZED);
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM driver_links WHERE link_hash = $1")
        .bind(crate::tokens::hash(&key))
        .fetch_one(&db.pool)
        .await
        .unwrap();
    assert_eq!(stored, 1, "only the key's hash is stored");
    // A new PIN ends the sessions the old one opened.
    let session = sign_in(&api, "0987654321", &pin).await.unwrap();
    api.ok("POST", &format!("/api/v1/owners/{owner}/pin"), Some(json!({ "pin": "20261207" }))).await;
    assert_eq!(as_driver(&api, "GET", "/api/v1/driver/me", &session, None).await.0, StatusCode::UNAUTHORIZED);
}
crate::on_both_databases!(driver_sign_in, guesses_lock_the_number_and_a_printed_link_signs_in_once);

/// Counts what it is asked to send.
#[derive(Default)]
struct Counting(std::sync::Mutex<Vec<String>>);

impl crate::drivers::notices::Notifier for &Counting {
    async fn send(&self, owner_id: &str, notice: &crate::drivers::notices::Notice) -> Result<(), String> {
        self.0.lock().unwrap().push(format!("{owner_id} {}", notice.key()));
        Ok(())
    }
}

async fn notices_show_in_the_app_and_go_out_once(db: &Db) {
    let clock = parking_runtime::Clock::manual(crate::settlement::tests::ts(crate::settlement::tests::NOW));
    let api = Api::build(db, Default::default(), clock.clone()).await;
    let (owner, account, car) =
        customer(&api, "Vũ Thị Lan", Some("0911222333"), "30K-555.66", "E20000000000000000005555").await;
    api.ok("POST", &format!("/api/v1/owners/{owner}/pin"), Some(json!({ "pin": "480213" }))).await;
    let session = sign_in(&api, "0911222333", "480213").await.unwrap();
    // A pass ending in three days; an empty account; a car inside since
    // fourteen hours ago.
    let today = clock.now().local_date();
    let iso = |d: time::Date| d.to_string();
    api.ok("POST", "/api/v1/passes", Some(json!({ "vehicle_id": car, "valid_from": iso(today - time::Duration::days(27)), "valid_until": iso(today + time::Duration::days(3)), "price_vnd": 2_500_000 }))).await;
    let entry = parking_core::wire::GateEventKind::Entry {
        credential: crate::settlement::tests::tag("E20000000000000000005555"),
        class: "car".parse().unwrap(),
        plate: Some("30K-555.66".parse().unwrap()),
    };
    let at = crate::settlement::tests::NOW - 14 * 3_600_000;
    let event = crate::settlement::tests::event_in("api-lot", 1, at, entry);
    crate::ingest::commit(db, &crate::settlement::tests::policy(), &[event], crate::settlement::tests::ts(at))
        .await
        .unwrap();

    let (_, me) = as_driver(&api, "GET", "/api/v1/driver/me", &session, None).await;
    let kinds: Vec<&str> = me["notices"].as_array().unwrap().iter().map(|n| n["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["low_balance", "pass_ending", "long_stay"], "{me}");
    assert_eq!(me["notices"][0]["account_id"], account.as_str());

    let sent = Counting::default();
    let rules = crate::drivers::notices::Rules::default();
    assert_eq!(crate::drivers::notices::send_new(db, &rules, &&sent, clock.now()).await.unwrap(), 3);
    assert_eq!(crate::drivers::notices::send_new(db, &rules, &&sent, clock.now()).await.unwrap(), 0, "each once");
    assert!(sent.0.lock().unwrap().iter().all(|s| s.starts_with(&owner)));
    // Topped up, the account's notice is gone from the app.
    api.ok(
        "POST",
        &format!("/api/v1/accounts/{account}/top-ups"),
        Some(json!({ "amount_vnd": 200_000, "reference": "FT-N-1" })),
    )
    .await;
    let (_, me) = as_driver(&api, "GET", "/api/v1/driver/me", &session, None).await;
    assert!(me["notices"].as_array().unwrap().iter().all(|n| n["kind"] != "low_balance"), "{me}");
}
crate::on_both_databases!(driver_notices, notices_show_in_the_app_and_go_out_once);
