//! The fault suite: a compressed busy day replayed by `sim run` against a
//! lot server and a controller running as their own processes on
//! Mosquitto, while a fault is injected. Each test ends by checking the
//! books the way `sim run` does (every vehicle that passed has exactly one
//! session, every settled fee is counted once and equals the tariff, every
//! transfer settled its stay) and that the journal verifies.
//!
//! Only the processes a test started are killed and restarted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_tests::bins::{self, Proc, api};
use parking_tests::mosquitto::{Broker, free_port};
use serde_json::Value;

const LOT: &str = "fault-lot";
const HMAC: &str = "fault-sepay-hmac-secret";
const JOURNAL_SEED: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";

/// A lot (server and controller on `broker`) and a `sim run` configuration.
struct Lot {
    dir: PathBuf,
    http_port: u16,
    server_toml: PathBuf,
    controller_toml: PathBuf,
    sim_toml: PathBuf,
    token: String,
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

fn lot(name: &str, broker: &Broker) -> Lot {
    // Without the example's grace period: a compressed stay still costs.
    let (dir, lot) = bins::test_dir_with_tariff(name, LOT, include_str!("../fixtures/no-grace-tariff.toml")).unwrap();
    let (http_port, metrics_port) = (free_port(), free_port());
    let broker_toml = format!("[broker]\nembedded = false\nhost = \"127.0.0.1\"\nport = {}\n", broker.port);
    let server_toml = dir.join("lot-server.toml");
    let extra = format!("[settlement]\nsepay_hmac_secret = \"{HMAC}\"\n[tax]\njournal_key = \"{JOURNAL_SEED}\"\n");
    write(&server_toml, &bins::server_toml(&lot, broker.port, http_port, &dir, &extra));
    let controller_toml = dir.join("controller.toml");
    let journal = dir.join("journal.sqlite");
    let ctl =
        bins::controller_toml_with(&lot, broker.port, "ctl-1", &journal, metrics_port, "", bins::BANK_AND_FOUR_LANES);
    write(&controller_toml, &ctl);
    let token = bins::token(&server_toml, "admin").unwrap();
    let sim_toml = dir.join("sim.toml");
    write(
        &sim_toml,
        &format!(
            "{lot}{broker_toml}[sim]\nserver = \"http://127.0.0.1:{http_port}\"\ntoken = \"{token}\"\n\
             sepay_hmac_secret = \"{HMAC}\"\ncontrollers = [\"127.0.0.1:{metrics_port}\"]\ntimeout_s = 20\n\
             [traffic]\nclasses = {{ car = 1.0 }}\n"
        ),
    );
    Lot { dir, http_port, server_toml, controller_toml, sim_toml, token }
}

/// The summary's JSON line, after the run's status is checked.
fn summary(out: &std::process::Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let s: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no summary ({e}): {stdout}\n{stderr}"));
    assert!(out.status.success(), "the books do not match: {s}\n{stderr}");
    s
}

/// Waits until the server holds `n` sessions: the replay is under way.
async fn sessions_at_least(port: u16, token: &str, n: usize) {
    for _ in 0..600 {
        let (status, body) =
            bins::http(port, "GET", "/api/v1/sessions?limit=1000", Some(token), None).await.unwrap_or_default();
        if status == 200
            && serde_json::from_str::<Value>(&body).ok().and_then(|v| v.as_array().map(Vec::len)).unwrap_or(0) >= n
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the replay never reached {n} sessions");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn the_lot_server_killed_mid_day_loses_and_doubles_nothing() {
    let broker = Broker::start().expect("start mosquitto");
    let l = lot("fault-server", &broker);
    let mut server: Proc = bins::start_server(&l.server_toml, &l.dir.join("server-1.log"), l.http_port).await.unwrap();
    let _controller = bins::start_logged("controller", &l.controller_toml, &l.dir.join("controller.log")).unwrap();

    // 400 cars over a day compressed 3,600 times: about half a minute.
    let sim = bins::command("sim")
        .args(["run", "--speed", "3600", "--seed", "21", "--visits", "400", "--config"])
        .arg(&l.sim_toml)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    sessions_at_least(l.http_port, &l.token, 20).await;
    // SIGKILL mid-day; the lanes keep deciding from their lists, drivers'
    // banks keep re-sending their notifications.
    server.kill();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let _server = bins::start_server(&l.server_toml, &l.dir.join("server-2.log"), l.http_port).await.unwrap();
    let out = tokio::task::spawn_blocking(move || sim.wait_with_output().unwrap()).await.unwrap();
    let s = summary(&out);
    assert_eq!(s["events_lost"], 0, "{s}");
    assert_eq!(s["duplicates"], 0, "{s}");
    assert_eq!(s["stuck"], 0, "{s}");
    assert_eq!(s["revenue_vnd"], s["expected_revenue_vnd"], "{s}");
    assert!(s["revenue_vnd"].as_i64().unwrap() > 0, "{s}");
    assert_eq!(s["transferred_vnd"], s["settled_by_transfer_vnd"], "{s}");
    // No transfer waits for a stay the server never learned of.
    let held = api(l.http_port, "GET", "/api/v1/transfers?state=all&limit=1000", &l.token, None).await;
    assert!(held.as_array().unwrap().iter().all(|t| t["state"] != "held"), "a transfer still held");
    // The journal chains across the crash and verifies.
    let mut verified = Value::Null;
    for _ in 0..50 {
        verified = api(l.http_port, "GET", "/api/v1/journal/verify", &l.token, None).await;
        if verified["ok"] == true && verified["pending"] == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(verified["ok"], true, "{verified}");
    eprintln!("after a lot-server SIGKILL: {s}");
    let _ = std::fs::remove_dir_all(&l.dir);
}
