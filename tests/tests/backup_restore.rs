//! Backup and restore of a running lot: `lot-server backup` taken while
//! `sim run` drives a busy day through the real server and controller;
//! the day's books still balance; the backup, restored into a fresh
//! directory, holds every stay committed before it, verifies, and the lot
//! resumes from it: the restored server takes the lanes' next vehicle.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failure is the assertion

use std::collections::HashSet;
use std::path::Path;

use parking_core::wire::{self, GateTopic, Read, ReadMsg, Topics, V1};
use parking_tests::bins::{self, api};
use parking_tests::mosquitto::Broker;
use parking_tests::scenario::{LOT, Layout, Lot, assert_books, finish_sim};
use parking_tests::{mqtt, wait};
use serde_json::Value;

fn stays(v: &Value) -> HashSet<String> {
    v.as_array().unwrap().iter().filter_map(|s| s["session_id"].as_str().map(str::to_owned)).collect()
}

/// Runs `lot-server ARGS`; its last line of output, as JSON.
fn lot_server(args: &[&str], config: &Path) -> Result<Value, String> {
    let out = bins::command("lot-server").args(args).arg("--config").arg(config).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)));
    }
    Ok(serde_json::from_str(stdout.lines().last().unwrap_or_default()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn a_backup_taken_mid_day_restores_and_the_lot_resumes() {
    let broker = Broker::start().expect("start mosquitto");
    let l = Lot::new("backup", broker.port, &Layout::default());
    let (port, config) = l.servers[0].clone();
    let mut server = l.start_server(0, 1).await;
    let _controller = l.start_controller(1);
    let sim = l.start_sim(400, 41, "3600");
    l.sessions_at_least(60).await;

    // Mid-day, while the lanes keep passing vehicles.
    let before = stays(&api(port, "GET", "/api/v1/sessions?limit=1000", &l.token, None).await);
    let file = l.dir.join("lot-backup.sqlite");
    let backup = lot_server(&["backup", "--out", file.to_str().unwrap()], &config).expect("the backup");
    eprintln!("backup: {backup}");
    assert!(backup["holds"]["stays"].as_u64().unwrap() >= before.len() as u64, "{backup}");
    assert_eq!(backup["bytes"].as_u64(), Some(std::fs::metadata(&file).unwrap().len()));
    let again = lot_server(&["backup", "--out", file.to_str().unwrap()], &config).unwrap_err();
    assert!(again.contains("never overwrites"), "{again}");

    // The day goes on undisturbed, and went on after the backup.
    let (s, out) = finish_sim(sim).await;
    assert_books(&s, &out);
    l.assert_server_books(port).await;
    let after = stays(&api(port, "GET", "/api/v1/sessions?limit=1000", &l.token, None).await);
    assert!(after.len() > before.len(), "traffic flowed after the backup: {} then {}", before.len(), after.len());
    server.kill();

    // Restored into a fresh directory: the same configuration, another file.
    let restored_db = l.dir.join("restored").join("lot.sqlite");
    let text = std::fs::read_to_string(&config).unwrap();
    let url = text.lines().find(|line| line.starts_with("url = \"sqlite://")).unwrap().to_owned();
    let restored = l.dir.join("restored.toml");
    let restored_url = format!("url = \"sqlite://{}?mode=rwc\"", restored_db.display());
    std::fs::write(&restored, text.replace(&url, &restored_url)).unwrap();
    let r = lot_server(&["restore", "--from", file.to_str().unwrap()], &restored).expect("the restore");
    eprintln!("restore: {r}");
    assert_eq!(r["holds"], backup["holds"], "the restore holds what the backup did");
    let twice = lot_server(&["restore", "--from", file.to_str().unwrap()], &restored).unwrap_err();
    assert!(twice.contains("--force"), "a database in place is not replaced unasked: {twice}");
    let verified = lot_server(&["ledger", "verify"], &restored).expect("the restored journal verifies");
    assert_eq!(verified["ok"], true, "{verified}");

    // The lot resumes on the restored database.
    let _restored_server = bins::start_server(&restored, &l.dir.join("server-restored.log"), port).await.unwrap();
    let held = stays(&api(port, "GET", "/api/v1/sessions?limit=1000", &l.token, None).await);
    let missing: Vec<&String> = before.iter().filter(|id| !held.contains(*id)).collect();
    assert!(missing.is_empty(), "stays committed before the backup are missing: {missing:?}");
    // A driver presses the ticket button at entry-1: the controller lets
    // them in and the restored server records the stay.
    let gate: parking_core::GateId = "entry-1".parse().unwrap();
    let read =
        ReadMsg { v: V1, gate: gate.clone(), at: parking_runtime::Clock::wall().now(), read: Read::TicketButton };
    let topic = Topics::new(LOT.parse().unwrap()).gate(&gate, GateTopic::Read);
    mqtt::publish_once(broker.port, &topic, wire::encode(&read), false).await;
    wait::until(30, "the restored server to record the next vehicle", || async {
        let now = stays(&api(port, "GET", "/api/v1/sessions?limit=1000", &l.token, None).await);
        now.difference(&held).next().is_some()
    })
    .await;
    l.assert_server_books(port).await;
}
