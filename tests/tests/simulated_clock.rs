//! A simulated clock shared by separate processes (`PARKING_CLOCK`): a lot
//! server, a controller and this test, on Mosquitto, with the clock at an
//! hour a second. A car stays about two and a half seconds and is priced,
//! debited and reported as a stay of two and a half hours; the fee is the
//! tariff's for the recorded times.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use parking_core::wire::{self, Read, ReadMsg, TagPresence, V1};
use parking_core::{Epc, Timestamp, VehicleClass};
use parking_runtime::Clock;
use parking_tests::bins::{self, api};
use parking_tests::devices::epc_text;
use parking_tests::mosquitto::{Broker, free_port};
use parking_tests::mqtt::client;
use parking_tests::wait;
use rumqttc::QoS;
use serde_json::json;

const LOT: &str = "clock-lot";
const TARIFF: &str = include_str!("../fixtures/no-grace-tariff.toml");

fn read(clock: &Clock, gate: &str, epc: &str) -> Vec<u8> {
    let at = clock.now();
    let p = TagPresence {
        epc: epc.parse::<Epc>().unwrap(),
        tid: None,
        antenna: 0,
        rssi: None,
        first_seen: at,
        last_seen: at,
        reads: 3,
    };
    wire::encode(&ReadMsg { v: V1, gate: gate.parse().unwrap(), at, read: Read::Tag(p) })
}

#[tokio::test]
#[ignore = "needs Mosquitto (PARKING_TEST_MOSQUITTO); .ci/run runs it"]
async fn a_day_at_an_hour_a_second_is_priced_as_hours() {
    let anchor = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis();
    let clock = format!("2026-11-23T09:00:00+07:00@{anchor}*3600");
    let env = [("PARKING_CLOCK", clock.as_str())];
    let clock = Clock::from_env_value(Some(&clock)).unwrap();

    let broker = Broker::start().expect("start mosquitto");
    let (dir, lot) = bins::test_dir_with_tariff("clock", LOT, TARIFF).unwrap();
    let (http_port, metrics_port) = (free_port(), free_port());
    let server_cfg = dir.join("lot-server.toml");
    std::fs::write(&server_cfg, bins::server_toml(&lot, broker.port, http_port, &dir, "")).unwrap();
    let token = bins::token(&server_cfg, "admin").unwrap();
    let mut server = bins::start_server_env(&server_cfg, &dir.join("lot-server.log"), http_port, &env).await.unwrap();

    // A car whose tag pays from a prepaid account.
    let owner = api(
        http_port,
        "POST",
        "/api/v1/owners",
        &token,
        Some(json!({ "name": "Trần Thị B", "id_number": "001199012345" })),
    )
    .await;
    let account =
        api(http_port, "POST", "/api/v1/accounts", &token, Some(json!({ "owner_id": owner["owner_id"] }))).await;
    let account_id = account["account_id"].as_str().unwrap().to_owned();
    let top_up = json!({ "amount_vnd": 1_000_000, "reference": "FT-CLOCK-1" });
    api(http_port, "POST", &format!("/api/v1/accounts/{account_id}/top-ups"), &token, Some(top_up)).await;
    let vehicle = json!({ "plate": "30E-777.77", "class": "car", "account_id": account_id });
    let vehicle = api(http_port, "POST", "/api/v1/vehicles", &token, Some(vehicle)).await;
    let epc = epc_text(9);
    api(http_port, "POST", "/api/v1/tags", &token, Some(json!({ "epc": epc, "vehicle_id": vehicle["vehicle_id"] })))
        .await;
    let version = api(http_port, "GET", "/api/v1/lists", &token, None).await["version"].as_u64().unwrap();

    let ctl_cfg = dir.join("controller.toml");
    let ctl = bins::controller_toml(
        LOT,
        broker.port,
        "ctl-clock",
        &dir.join("journal.sqlite"),
        metrics_port,
        "",
        "[[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\n[[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n",
    );
    std::fs::write(&ctl_cfg, ctl.replace(&bins::lot_toml(LOT), &lot)).unwrap();
    let mut ctl = bins::start_logged_env("controller", &ctl_cfg, &dir.join("controller.log"), &env).unwrap();
    assert!(bins::wait_for_lists(metrics_port, version).await, "the controller took the lists v{version}");

    let (reads, mut reads_loop) = client(broker.port, "clock-reader", true);
    tokio::spawn(async move {
        loop {
            if reads_loop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    // Reads are queued in the client and go out once it is connected.
    let topic = |gate: &str| format!("parking/{LOT}/gate/{gate}/read");
    reads.publish(topic("entry-1"), QoS::AtLeastOnce, false, read(&clock, "entry-1", &epc)).await.unwrap();
    // The stay: 2.5 real seconds, two and a half hours on the clock.
    wait::hold(Duration::from_millis(2_500)).await;
    reads.publish(topic("exit-1"), QoS::AtLeastOnce, false, read(&clock, "exit-1", &epc)).await.unwrap();

    let closed = bins::closed_sessions(http_port, &token, 1).await[0].clone();
    // Two and a half real seconds are about two and a half hours.
    let stay_s = closed["duration_s"].as_i64().unwrap_or(0);
    assert!((7_200..=12_600).contains(&stay_s), "a stay of {stay_s} s in clock time: {closed}");
    // Priced by the tariff for the recorded times: the first two hours and
    // at least one more (a stay of seconds would cost 50,000).
    let t = |k: &str| Timestamp::from_unix_millis(closed[k].as_i64().unwrap()).unwrap();
    let (entered, exited) = (t("entered_ms"), t("exited_ms"));
    let tariff = parking_core::tariff::Tariff::from_toml(TARIFF).unwrap();
    let expected = parking_core::fee(&tariff, &VehicleClass::Car, entered, exited).unwrap().amount.get();
    assert!(expected >= 80_000, "{expected}");
    assert_eq!(closed["fee_vnd"].as_i64(), Some(expected), "{closed}");
    assert_eq!(closed["settlement"], json!("account"), "{closed}");
    assert_eq!(entered.local_date().to_string(), "2026-11-23", "the clock's day, not today's");
    // Debited, booked and reported on the clock's day.
    let report =
        api(http_port, "GET", "/api/v1/reports/revenue?from=2026-11-23&to=2026-11-23&lot=clock-lot", &token, None)
            .await;
    assert_eq!(report["totals"]["total_vnd"].as_i64(), Some(expected), "{report}");
    let account = api(http_port, "GET", &format!("/api/v1/accounts/{account_id}"), &token, None).await;
    assert_eq!(account["balance_vnd"].as_i64(), Some(1_000_000 - expected));
    ctl.kill();
    server.kill();
    let _ = std::fs::remove_dir_all(&dir);
}
