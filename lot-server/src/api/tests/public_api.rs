//! The drivers' public side through the API, without a token: free spaces
//! that follow entries, exits and an operator's count, never below 0 nor
//! above capacity; a stay found by ticket, code or plate, priced by the
//! tariff engine and paid ahead; receipts opened by their link alone; and
//! the limits on guessing.

use axum::http::StatusCode;
use parking_core::gate::stay_code_for_serial;
use parking_core::tariff::fee;
use parking_core::vehicle::VehicleClass;
use parking_core::vietqr::VietQr;
use parking_core::wire::{Credential, GateEventKind, Settlement};
use serde_json::{Value, json};

use super::settlement_api::sepay_body;
use super::{Api, error_of};
use crate::db::Db;
use crate::settlement::tests::{NOW, event_in, policy, tag, ts};

const TICKET: &str = "PT1.api-lot.entry-1.4711.1794996400.car.00112233445566778899";

async fn enter(db: &Db, n: u64, at_ms: i64, credential: Credential, class: &str, plate: Option<&str>) {
    let kind =
        GateEventKind::Entry { credential, class: class.parse().unwrap(), plate: plate.map(|p| p.parse().unwrap()) };
    crate::ingest::commit(db, &policy(), &[event_in("api-lot", n, at_ms, kind)], ts(at_ms)).await.unwrap();
}

async fn leave(db: &Db, n: u64, at_ms: i64, credential: Credential, class: &str) {
    let kind = GateEventKind::Exit {
        credential,
        class: class.parse().unwrap(),
        plate: None,
        entered_at: None,
        fee: None,
        settlement: Settlement::Free,
    };
    crate::ingest::commit(db, &policy(), &[event_in("api-lot", n, at_ms, kind)], ts(at_ms)).await.unwrap();
}

fn class_of<'a>(lot: &'a Value, class: &str) -> &'a Value {
    lot["classes"].as_array().unwrap().iter().find(|c| c["class"] == class).unwrap()
}

async fn public(api: &Api, path: &str) -> (StatusCode, Value) {
    api.raw("GET", path, None, None).await
}

async fn free_spaces_follow_traffic_and_an_operators_count(db: &Db) {
    let api = Api::build(db, Default::default(), parking_runtime::Clock::manual(ts(NOW))).await;
    let (s, v) = public(&api, "/api/v1/public/availability").await;
    assert_eq!(s, StatusCode::OK, "no token needed: {v}");
    let lot = &v["lots"][0];
    assert_eq!((lot["id"].as_str(), lot["base"].as_str()), (Some("api-lot"), Some("/lots/api-lot")));
    assert_eq!(lot["address"], "1 Tràng Tiền, Hà Nội");
    assert_eq!((class_of(lot, "car")["capacity"].as_u64(), class_of(lot, "car")["free"].as_u64()), (Some(3), Some(3)));
    assert_eq!(class_of(lot, "motorbike")["free"], 5);

    for n in 1..=2 {
        enter(db, n, NOW - 60_000, tag(&format!("E2000000000000000000000{n}")), "car", None).await;
    }
    let (_, v) = public(&api, "/api/v1/public/availability").await;
    assert_eq!(class_of(&v["lots"][0], "car")["free"], 1);
    // More cars counted inside than the lot holds (a lost exit): full, not
    // below zero.
    for n in 3..=5 {
        enter(db, n, NOW - 60_000, tag(&format!("E2000000000000000000000{n}")), "car", None).await;
    }
    let (_, v) = public(&api, "/api/v1/public/availability").await;
    let car = class_of(&v["lots"][0], "car");
    assert_eq!((car["occupied"].as_u64(), car["free"].as_u64()), (Some(3), Some(0)), "{v}");

    // The operator counts one car inside; the figure follows, and later
    // traffic moves it from there.
    let adjust = |inside: u32, class: &str| json!({ "class": class, "inside": inside, "note": "đếm lại lúc 9 giờ" });
    let (s, v) = api.call("POST", "/api/v1/occupancy/adjust", &api.operator, Some(adjust(1, "car"))).await;
    assert_eq!((s, v["free"].as_u64()), (StatusCode::OK, Some(2)), "{v}");
    leave(db, 6, NOW - 30_000, tag("E20000000000000000000001"), "car").await;
    let (_, v) = public(&api, "/api/v1/public/availability").await;
    assert_eq!(class_of(&v["lots"][0], "car")["free"], 3, "an exit after the count frees a space: {v}");
    let recorded: Vec<(i64, i64, String)> =
        sqlx::query_as("SELECT counted, inside, by_user FROM occupancy_adjustments").fetch_all(&db.pool).await.unwrap();
    assert_eq!(recorded, [(5, 1, "test operator".to_owned())]);

    // Refused: over capacity, a class the lot does not list, no note, a
    // tax officer, nobody.
    let (s, v) = api.call("POST", "/api/v1/occupancy/adjust", &api.operator, Some(adjust(4, "car"))).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::BAD_REQUEST, "over_capacity"));
    let (s, v) = api.call("POST", "/api/v1/occupancy/adjust", &api.operator, Some(adjust(1, "bicycle"))).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::BAD_REQUEST, "unknown_class"));
    let (s, v) = api
        .call("POST", "/api/v1/occupancy/adjust", &api.operator, Some(json!({"class": "car", "inside": 1, "note": ""})))
        .await;
    assert_eq!((s, error_of(&v).0), (StatusCode::BAD_REQUEST, "note_length"));
    assert_eq!(
        api.call("POST", "/api/v1/occupancy/adjust", &api.tax, Some(adjust(1, "car"))).await.0,
        StatusCode::FORBIDDEN
    );
    let unsigned = api
        .raw("POST", "/api/v1/occupancy/adjust", None, Some(("application/json", adjust(1, "car").to_string())))
        .await;
    assert_eq!(unsigned.0, StatusCode::UNAUTHORIZED);

    // The open feed says the same.
    let (s, xml) = public(&api, "/api/v1/public/availability/datex2").await;
    assert_eq!(s, StatusCode::OK);
    let xml = xml.as_str().unwrap();
    assert!(xml.contains("id=\"api-lot/car\"") && xml.contains("<prk:parkingNumberOfVacantSpaces>3<"), "{xml}");
    // And the lot's own page, under its base, with the tariff in force.
    let (s, v) = public(&api, "/lots/api-lot/api/v1/public/lot").await;
    assert_eq!((s, v["tariff"]["version"].as_str()), (StatusCode::OK, Some("hn-z1-2018-example")), "{v}");
}
crate::on_both_databases!(free_spaces, free_spaces_follow_traffic_and_an_operators_count);

async fn a_stay_is_found_priced_and_paid_ahead(db: &Db) {
    let clock = parking_runtime::Clock::manual(ts(NOW));
    let api = Api::build(db, Default::default(), clock.clone()).await;
    let entered = NOW - 3_600_000;
    enter(db, 1, entered, Credential::Ticket { code: TICKET.into() }, "car", None).await;
    let tariff = api_tariff();

    let (s, v) = public(&api, &format!("/api/v1/public/stay?q={TICKET}")).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let expected = fee(&tariff, &VehicleClass::Car, ts(entered), ts(NOW)).unwrap();
    assert!(expected.amount.get() > 0);
    assert_eq!(v["fee"]["amount"], expected.amount.get(), "priced by the tariff engine: {v}");
    assert_eq!(v["fee"]["items"].as_array().map(Vec::len), Some(expected.items.len()));
    assert_eq!((v["standing"].as_str(), v["how"].as_str()), (Some("owing"), Some("transfer")));
    let code = stay_code_for_serial(4711);
    assert_eq!(v["payment_code"], code.as_str());
    let qr = VietQr::decode(v["pay"]["vietqr"].as_str().unwrap()).unwrap();
    assert_eq!(qr, VietQr::payment("970403", "0011012345678", expected.amount, code.as_str()));
    assert!(v["pay"]["qr_svg"].as_str().unwrap().starts_with("<?xml"), "{v}");
    let link =
        format!("https://pay.example/?ba=0011012345678@970403&am={}&tn={}", expected.amount.get(), code.as_str());
    assert_eq!(v["pay"]["link"], link.as_str(), "a banking app's link, filled in");
    // By its code, the same stay.
    let (_, by_code) = public(&api, &format!("/api/v1/public/stay?q={}", code.as_str().to_lowercase())).await;
    assert_eq!(by_code["payment_code"], code.as_str());
    // A ticket with another signature is not this stay's.
    let forged = TICKET.replace("00112233", "FFFFFFFF");
    let (s, v) = public(&api, &format!("/api/v1/public/stay?q={forged}")).await;
    assert_eq!((s, error_of(&v).0), (StatusCode::NOT_FOUND, "not_inside"));
    let (s, v) = public(&api, "/api/v1/public/stay?q=%25%25").await;
    assert_eq!((s, error_of(&v).0), (StatusCode::BAD_REQUEST, "unreadable"));

    // Paid ahead by transfer: paid, and until when.
    let apikey = vec![("authorization", "Apikey sepay-test-key".to_owned())];
    let memo = format!("CT {} thanh toan", code.as_str());
    let (s, _) =
        api.post_with("/api/v1/webhooks/sepay", &apikey, &sepay_body(7001, expected.amount.get(), &memo)).await;
    assert_eq!(s, StatusCode::OK);
    let (_, v) = public(&api, &format!("/api/v1/public/stay?q={TICKET}")).await;
    assert_eq!((v["standing"].as_str(), v["owed_vnd"].as_i64()), (Some("paid"), Some(0)), "{v}");
    assert_eq!(v["paid_vnd"], expected.amount.get());
    assert!(v.get("pay").is_none(), "nothing to pay, no QR: {v}");
    let leave_by: parking_core::Timestamp = serde_json::from_value(v["leave_by"].clone()).unwrap();
    assert!(leave_by > ts(NOW), "{v}");
    let later = fee(&tariff, &VehicleClass::Car, ts(entered), leave_by).unwrap();
    assert!(later.amount <= expected.amount, "what was paid covers leaving by then");
    // Staying on past it: the rest is owed.
    clock.advance(std::time::Duration::from_secs(5 * 3600));
    let (_, v) = public(&api, &format!("/api/v1/public/stay?q={TICKET}")).await;
    let now_fee = fee(&tariff, &VehicleClass::Car, ts(entered), clock.now()).unwrap().amount.get();
    assert_eq!(
        (v["standing"].as_str(), v["owed_vnd"].as_i64()),
        (Some("owing"), Some(now_fee - expected.amount.get()))
    );
}
crate::on_both_databases!(stay_lookup, a_stay_is_found_priced_and_paid_ahead);

fn api_tariff() -> parking_core::tariff::Tariff {
    let book = parking_runtime::tariffs::load_dir(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/tariffs")),
        "hanoi-zone-1",
    )
    .unwrap();
    book.in_force("hanoi-zone-1", ts(NOW)).unwrap().clone()
}

async fn a_plate_shows_only_the_stay_under_way_and_nobodys_account(db: &Db) {
    let api = Api::build(db, Default::default(), parking_runtime::Clock::manual(ts(NOW))).await;
    // A registered car with a prepaid account.
    let owner =
        api.ok("POST", "/api/v1/owners", Some(json!({ "name": "Lê Thị Hoa", "id_number": "001199012345" }))).await;
    let account = api.ok("POST", "/api/v1/accounts", Some(json!({ "owner_id": owner["owner_id"] }))).await;
    let vehicle = api
        .ok("POST", "/api/v1/vehicles", Some(json!({ "plate": "30K-111.22", "class": "car", "owner_id": owner["owner_id"], "account_id": account["account_id"] })))
        .await;
    api.ok(
        "POST",
        "/api/v1/tags",
        Some(json!({ "epc": "E20000000000000000001111", "vehicle_id": vehicle["vehicle_id"] })),
    )
    .await;
    // Yesterday's stay, closed; today's, under way.
    let epc = tag("E20000000000000000001111");
    enter(db, 1, NOW - 86_400_000, epc.clone(), "car", Some("30K-111.22")).await;
    leave(db, 2, NOW - 80_000_000, epc.clone(), "car").await;
    let (s, v) = public(&api, "/api/v1/public/stay?q=30K11122").await;
    assert_eq!((s, error_of(&v).0), (StatusCode::NOT_FOUND, "not_inside"), "a closed stay is never shown");
    enter(db, 3, NOW - 600_000 * 3, epc, "car", Some("30K-111.22")).await;
    let (s, v) = public(&api, "/api/v1/public/stay?q=30k-111.22").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!((v["how"].as_str(), v["standing"].as_str()), (Some("account"), Some("nothing_to_pay")), "{v}");
    let text = v.to_string();
    for private in ["Lê Thị Hoa", "001199012345", account["account_id"].as_str().unwrap(), "balance", "E2000000"] {
        assert!(!text.contains(private), "{private} leaked: {text}");
    }
    assert!(v.get("payment_code").is_none_or(Value::is_null) && v.get("pay").is_none(), "{v}");
}
crate::on_both_databases!(plate_lookup, a_plate_shows_only_the_stay_under_way_and_nobodys_account);
