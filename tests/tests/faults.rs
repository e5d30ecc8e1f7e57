//! The fault suite: a compressed busy day replayed by `sim run` against a
//! lot server and a controller running as their own processes on
//! Mosquitto, while a fault is injected. Each test ends by checking the
//! books the way `sim run` does (every vehicle that passed has exactly one
//! session, every settled fee is counted once and equals the tariff, every
//! transfer settled its stay) and that the journal verifies.
//!
//! Only the processes a test started are killed and restarted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::time::Duration;

use parking_tests::mosquitto::Broker;
use parking_tests::postgres::PgServer;
use parking_tests::scenario::{Layout, Lot, assert_books, finish_sim};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn the_lot_server_killed_mid_day_loses_and_doubles_nothing() {
    let broker = Broker::start().expect("start mosquitto");
    let l = Lot::new("fault-server", broker.port, &Layout::default());
    let mut server = l.start_server(0, 1).await;
    let _controller = l.start_controller(1);
    let mut restarted = None;
    // SIGKILL mid-day; the lanes keep deciding from their lists, drivers'
    // banks keep re-sending their notifications.
    let s = l
        .day_with_fault(21, async {
            server.kill();
            tokio::time::sleep(Duration::from_secs(3)).await;
            restarted = Some(l.start_server(0, 2).await);
        })
        .await;
    eprintln!("after a lot-server SIGKILL: {s}");
    assert!(restarted.is_some(), "the server was restarted");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn the_broker_killed_mid_day_loses_and_doubles_nothing() {
    let mut broker = Broker::start_durable().expect("start mosquitto");
    let l = Lot::new("fault-broker", broker.port, &Layout::default());
    let _server = l.start_server(0, 1).await;
    let _controller = l.start_controller(1);
    // SIGKILL the broker: the controller keeps its events in its journal,
    // the server its commands in its outbox, the devices their reads.
    let s = l
        .day_with_fault(22, async {
            broker.kill();
            tokio::time::sleep(Duration::from_secs(3)).await;
            broker.restart().expect("restart mosquitto");
        })
        .await;
    eprintln!("after a broker SIGKILL: {s}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto and PostgreSQL's binaries (initdb); .ci/run runs it"]
async fn postgresql_killed_mid_day_loses_and_doubles_nothing() {
    let broker = Broker::start().expect("start mosquitto");
    let mut pg = PgServer::start().expect("start a PostgreSQL of the test's own");
    let l = Lot::new("fault-postgres", broker.port, &Layout { database: Some(pg.url()), ..Layout::default() });
    let _server = l.start_server(0, 1).await;
    let _controller = l.start_controller(1);
    // SIGKILL the database: ingestion retries its batch, the settler
    // refuses the banks' notifications (they retry), the lanes go on.
    let s = l
        .day_with_fault(23, async {
            pg.kill();
            tokio::time::sleep(Duration::from_secs(3)).await;
            pg.restart().expect("restart postgresql");
        })
        .await;
    eprintln!("after a PostgreSQL SIGKILL: {s}");
}

/// Where `needle` is in the lot's SQLite file, after a checkpoint has
/// moved everything from the write-ahead log into it.
fn find(bytes: &[u8], needle: &[u8]) -> Option<usize> {
    bytes.windows(needle.len()).position(|w| w == needle)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn a_corrupted_journal_page_is_found_and_named() {
    use sqlx::{Connection as _, Row as _};

    let broker = Broker::start().expect("start mosquitto");
    let l = Lot::new("fault-journal", broker.port, &Layout::default());
    let mut server = l.start_server(0, 1).await;
    let _controller = l.start_controller(1);
    let (s, out) = finish_sim(l.start_sim(150, 5, "3600")).await;
    assert_books(&s, &out);
    l.assert_server_books(l.port()).await;

    // The server dies; a disk fault then flips one character in a page
    // that holds a record of gate events (one digest of one event).
    server.kill();
    let db = l.dir.join("lot.sqlite");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display())).await.unwrap();
    sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut conn).await.unwrap();
    let row =
        sqlx::query("SELECT seq, body FROM journal_records WHERE kind = 'gate_events' ORDER BY seq LIMIT 1 OFFSET 2")
            .fetch_one(&mut conn)
            .await
            .unwrap();
    let (seq, body): (i64, String) = (row.get(0), row.get(1));
    conn.close().await.unwrap();
    let digest = body.split("\"payload_sha256\":\"").nth(1).unwrap()[..64].to_owned();
    let mut bytes = std::fs::read(&db).unwrap();
    let at = find(&bytes, digest.as_bytes()).expect("the record's digest is in the file");
    bytes[at] = if bytes[at] == b'0' { b'1' } else { b'0' };
    std::fs::write(&db, &bytes).unwrap();

    // The server starts on the damaged file, keeps serving, and its
    // verification names the damaged record.
    let _server = l.start_server(0, 2).await;
    let verified = parking_tests::bins::api(l.port(), "GET", "/api/v1/journal/verify", &l.token, None).await;
    assert_eq!(verified["ok"], false, "{verified}");
    let want = format!("record {seq}: its contents do not match its hash (edited)");
    assert_eq!(verified["tamper"], want.as_str(), "{verified}");
    let sessions = parking_tests::bins::api(l.port(), "GET", "/api/v1/sessions?limit=1000", &l.token, None).await;
    assert!(sessions.as_array().is_some_and(|a| a.len() >= 100), "the stays are still served: {sessions}");
    eprintln!("a flipped byte in journal record {seq} is reported: {}", verified["tamper"]);
}
