//! The simulator end to end, on seeded traffic:
//!
//! - `sim demo --exit`: the one-command demo (embedded broker, SQLite, a
//!   controller whose barriers are on a Modbus relay board over a pty, a
//!   simulated clock) replays a seeded day; nothing may be lost or
//!   counted twice, and the revenue booked must be the tariff's, to the
//!   đồng; its write-ahead log is empty after the stop;
//! - `sim run`: the same checks against a lot server and a controller
//!   running as their own processes on Mosquitto, replaying a trace file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::path::Path;

use parking_tests::bins::{self, Proc};
use parking_tests::demo::{assert_books, summary};
use parking_tests::mosquitto::{Broker, free_port};

#[test]
fn the_demo_replays_a_seeded_day_to_the_dong() {
    let dir = std::env::temp_dir().join(format!("parking-demo-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = bins::command("sim")
        .args(["demo", "--exit", "--port", "0", "--visits", "600", "--speed", "10000", "--seed", "7", "--dir"])
        .arg(&dir)
        .output()
        .expect("run sim demo");
    let s = summary(&out);
    assert_books(&s, 600, 1, &out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Revenue report"), "the demo prints the day's report: {stderr}");
    // The demo's people, each with a generated password to sign in with.
    for who in ["dieu.hanh (operator)", "can.bo.thue (tax_officer)", "quan.tri (admin)"] {
        let line = stderr.lines().find(|l| l.contains(&format!("sign in as {who}, password "))).unwrap_or_else(|| {
            panic!("the demo prints {who}'s sign-in: {stderr}");
        });
        let password = line.rsplit(' ').next().unwrap_or_default();
        assert_eq!(password.len(), 23, "a generated password: {line}");
    }
    // The lot's books are on disk: its database and the invoices issued.
    assert!(dir.join("lot-server.sqlite").exists());
    // Its write-ahead log is bounded, and emptied at the clean stop.
    let wal = std::fs::metadata(dir.join("lot-server.sqlite-wal")).map_or(0, |m| m.len());
    assert!(wal < 64 << 20, "the WAL is {wal} bytes after the demo");
    assert_eq!(wal, 0, "the stop checkpoints and truncates the WAL");
    let _ = std::fs::remove_dir_all(&dir);
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn sim_run_replays_a_trace_through_separate_processes() {
    const LOT: &str = "sim-lot";
    const HMAC: &str = "sim-run-sepay-hmac-secret";
    let broker = Broker::start().expect("start mosquitto");
    // Without the example's grace period: stays of seconds cost a first block.
    let (dir, lot) =
        bins::test_dir_with_tariff("sim-run", LOT, include_str!("../fixtures/no-grace-tariff.toml")).unwrap();
    let (http_port, metrics_port) = (free_port(), free_port());
    let broker_toml = format!("[broker]\nembedded = false\nhost = \"127.0.0.1\"\nport = {}\n", broker.port);
    let server_toml = dir.join("lot-server.toml");
    write(
        &server_toml,
        &bins::server_toml(
            &lot,
            broker.port,
            http_port,
            &dir,
            &format!("[settlement]\nsepay_hmac_secret = \"{HMAC}\"\n"),
        ),
    );
    let ctl_toml = dir.join("controller.toml");
    let journal = dir.join("journal.sqlite");
    let ctl =
        bins::controller_toml_with(&lot, broker.port, "ctl-1", &journal, metrics_port, "", bins::BANK_AND_FOUR_LANES);
    write(&ctl_toml, &ctl);
    let _server: Proc = bins::start_server(&server_toml, &dir.join("server.log"), http_port).await.unwrap();
    let _controller = bins::start_logged("controller", &ctl_toml, &dir.join("controller.log")).unwrap();
    let token = bins::token(&server_toml, "admin").unwrap();

    // A seeded trace, written by `sim generate`, replayed by `sim run`.
    let trace = dir.join("trace.csv");
    // Cars only: the test tariff prices cars alone.
    let traffic = dir.join("traffic.toml");
    write(&traffic, "[traffic]\nclasses = { car = 1.0 }\n");
    let made = bins::command("sim")
        .args(["generate", "--seed", "11", "--visits", "300", "--config"])
        .arg(&traffic)
        .arg("--out")
        .arg(&trace)
        .output()
        .unwrap();
    assert!(made.status.success(), "{}", String::from_utf8_lossy(&made.stderr));
    let sim_toml = dir.join("sim.toml");
    write(
        &sim_toml,
        &format!(
            "{lot}{broker_toml}[sim]\nserver = \"http://127.0.0.1:{http_port}\"\ntoken = \"{token}\"\nsepay_hmac_secret = \"{HMAC}\"\n\
             controllers = [\"127.0.0.1:{metrics_port}\"]\n"
        ),
    );
    let out = bins::command("sim")
        .args(["run", "--speed", "max", "--config"])
        .arg(&sim_toml)
        .arg("--trace")
        .arg(&trace)
        .output()
        .unwrap();
    let s = summary(&out);
    assert_books(&s, 300, 1, &out);
    // Nothing of the secrets reached the output.
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(!all.contains(&token) && !all.contains(HMAC), "a secret was printed");
    let _ = std::fs::remove_dir_all(&dir);
}
