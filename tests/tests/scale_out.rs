//! Two lot-server instances behind one PostgreSQL database share the
//! lot's gate events through an MQTT shared subscription
//! (`$share/lot-servers/…`) on Mosquitto: `sim run` replays a busy day
//! while one instance is killed and restarted, and nothing may be lost or
//! counted twice. Each instance must have committed part of the events,
//! and together exactly all of them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::time::Duration;

use lot_server::testing::TestDb;
use parking_tests::mosquitto::Broker;
use parking_tests::scenario::{Layout, Lot, assert_books, finish_sim};
use parking_tests::wait;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto and PostgreSQL; .ci/run runs it"]
async fn two_instances_share_the_gate_events_and_lose_and_double_nothing() {
    let broker = Broker::start().expect("start mosquitto");
    // A database of its own on the test PostgreSQL server.
    let db = TestDb::postgres().await.expect("PostgreSQL (PARKING_TEST_DATABASE_URL)");
    let layout = Layout { database: Some(db.url.clone()), servers: 2, ..Layout::default() };
    let l = Lot::new("scale-out", broker.port, &layout);
    let _a = l.start_server(0, 1).await;
    let mut b = l.start_server(1, 1).await;
    let _controller = l.start_controller(1);

    let sim = l.start_sim(400, 33, "3600");
    l.sessions_at_least(40).await;
    // One instance dies mid-day: what it had taken and not committed is
    // re-sent by the controller and committed by the other, once.
    let b_before = l.server_metric(1, "parking_server_ingest_events_total").await;
    b.kill();
    // The instance stays down a while: two seconds of a simulated day.
    wait::hold(Duration::from_secs(2)).await;
    let _b = l.start_server(1, 2).await;
    let (s, out) = finish_sim(sim).await;
    assert_books(&s, &out);
    l.assert_server_books(l.port()).await;
    l.assert_server_books(l.servers[1].0).await;

    // Both instances took part, before and after the restart. What each
    // committed first is counted once (a redelivery counts as a
    // duplicate), so the counts add up to no more than the events.
    let a_events = l.server_metric(0, "parking_server_ingest_events_total").await;
    let b_after = l.server_metric(1, "parking_server_ingest_events_total").await;
    eprintln!(
        "two instances: server-0 committed {a_events} events, server-1 {b_before} before its SIGKILL and {b_after} \
         after; {s}"
    );
    assert!(a_events > 0.0 && b_before > 0.0 && b_after > 0.0, "an instance took no events");
    // Every event stored, payment requests and alarms included.
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM gate_events").fetch_one(&db.db.pool).await.unwrap();
    assert!(stored >= s["gate_events"].as_i64().unwrap(), "{stored}: {s}");
    #[allow(clippy::cast_precision_loss)] // a few hundred
    let all = stored as f64;
    assert!(a_events + b_before + b_after <= all, "{a_events} + {b_before} + {b_after} > {all}");
    // The servers go first: a database in use cannot be dropped.
    drop((_a, _b, _controller, l));
    db.drop_db().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn a_lot_of_two_controllers_lets_vehicles_leave_by_either() {
    let broker = Broker::start().expect("start mosquitto");
    let l = Lot::new("two-controllers", broker.port, &Layout { controllers: 2, ..Layout::default() });
    let _server = l.start_server(0, 1).await;
    let _first = l.start_controller(1);
    let mut second = l.start_second_controller(1);
    // Vehicles enter by either controller's lane and leave by either:
    // each controller applies the other's entries and exits, and their
    // tickets are numbered apart. One is killed and restarted mid-day.
    let s = l
        .day_with_fault(28, async {
            second.kill();
            // Down for three seconds of the day.
            wait::hold(Duration::from_secs(3)).await;
            second = l.start_second_controller(2);
        })
        .await;
    eprintln!("two controllers, one SIGKILLed mid-day: {s}");
    let exceptions = parking_tests::bins::api(l.port(), "GET", "/api/v1/exceptions?state=all", &l.token, None).await;
    let crossed = exceptions.as_array().unwrap().iter().filter(|e| e["kind"] == "alarm:exit_without_entry").count();
    assert_eq!(crossed, 0, "a vehicle that entered by one controller was unknown to the other: {exceptions}");
}
