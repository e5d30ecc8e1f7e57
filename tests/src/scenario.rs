//! A lot for the fault and scale-out suites: lot servers and a controller
//! running as their own processes on a test's Mosquitto, a `sim run`
//! configuration replaying a compressed busy day against them, and the
//! checks every such test ends with.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::path::{Path, PathBuf};
use std::process::{Child, Output, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::bins::{self, api};
use crate::mosquitto::free_port;

pub const LOT: &str = "fault-lot";
pub const HMAC: &str = "fault-sepay-hmac-secret";
const JOURNAL_SEED: &str = "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb";

/// How the lot is laid out.
#[derive(Debug, Clone)]
pub struct Layout {
    /// `sqlite` in the test's directory, or a PostgreSQL URL.
    pub database: Option<String>,
    /// How many lot-server instances (`server-0`, `server-1`…); more than
    /// one share the gate events in the group `lot-servers`.
    pub servers: usize,
    /// Extra `[controller]` keys.
    pub controller_extra: String,
    /// A subdirectory of the lot's directory for the controller's journal
    /// (for a disk of its own), else the lot's directory.
    pub journal_dir: Option<&'static str>,
    /// The port the controller reaches the lot's broker on (a proxy a test
    /// can cut); its lane devices then stay on the broker itself, as
    /// `[device_broker]`.
    pub controller_link: Option<u16>,
    /// How many controllers: one runs all four lanes; two run `entry-1`
    /// and `exit-1`, and `entry-2` and `exit-2` (`ctl-1`, `ctl-2`).
    pub controllers: usize,
}

impl Default for Layout {
    fn default() -> Self {
        // Events a killed server took and never committed are sent again
        // after 5 s, not the default 30 s: a driver whose payment request
        // was among them waits that long for the barrier.
        Layout {
            database: None,
            servers: 1,
            controller_extra: "ack_timeout_ms = 5000\n".to_owned(),
            journal_dir: None,
            controller_link: None,
            controllers: 1,
        }
    }
}

/// A lot's files: one configuration per server, the controller's, the
/// simulator's, and an admin token.
#[derive(Debug)]
pub struct Lot {
    pub dir: PathBuf,
    /// Each server's HTTP port and configuration.
    pub servers: Vec<(u16, PathBuf)>,
    pub controller_toml: PathBuf,
    pub controller_metrics: u16,
    /// The second controller's configuration, if the lot has two.
    pub second_controller: Option<PathBuf>,
    pub journal: PathBuf,
    pub sim_toml: PathBuf,
    pub token: String,
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
}

impl Lot {
    /// Writes the configurations for a lot on the broker at `broker_port`.
    /// The tariff has no grace period: a compressed stay still costs.
    pub fn new(name: &str, broker_port: u16, layout: &Layout) -> Lot {
        let tariff = include_str!("../fixtures/no-grace-tariff.toml");
        let (dir, lot) = bins::test_dir_with_tariff(name, LOT, tariff).unwrap();
        let database = layout
            .database
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", dir.join("lot.sqlite").display()));
        let share = if layout.servers > 1 { "share_group = \"lot-servers\"\n" } else { "" };
        let mut servers = Vec::new();
        for n in 0..layout.servers.max(1) {
            let port = free_port();
            let toml = dir.join(format!("lot-server-{n}.toml"));
            write(
                &toml,
                &format!(
                    "{lot}[broker]\nembedded = false\nhost = \"127.0.0.1\"\nport = {broker_port}\n\
                     [server]\nlisten = \"127.0.0.1:{port}\"\nnode = \"server-{n}\"\n{share}\
                     [database]\nurl = \"{database}\"\n\
                     [settlement]\nsepay_hmac_secret = \"{HMAC}\"\n[tax]\njournal_key = \"{JOURNAL_SEED}\"\n\
                     [invoice]\ndrop_dir = \"{}\"\n",
                    dir.join(format!("invoices-{n}")).display()
                ),
            );
            servers.push((port, toml));
        }
        let controller_metrics = free_port();
        let journal_dir = layout.journal_dir.map_or_else(|| dir.clone(), |sub| dir.join(sub));
        std::fs::create_dir_all(&journal_dir).unwrap();
        let journal = journal_dir.join("journal.sqlite");
        let controller_toml = dir.join("controller.toml");
        // Through a proxy a test can cut, the lane devices then on the
        // broker itself; one controller for all four lanes, or two.
        let (link_port, device_broker) = match layout.controller_link {
            Some(port) => {
                (port, format!("[device_broker]\nembedded = false\nhost = \"127.0.0.1\"\nport = {broker_port}\n"))
            }
            None => (broker_port, String::new()),
        };
        // These suites are about events under faults, not plates (those are
        // tests/plate_hold.rs and the simulator's): at 3,600× a plate read
        // counts for 3 ms of real time, and a broker's outage delivers a
        // lane's queued reads and loop changes together, on two topics,
        // so one car's plate can meet another's ticket and hold the lane.
        // Plates are not compared here, and a moved tag is only flagged.
        const PLATES: &str = "[plates]\nexit_check = \"off\"\ntag_on_other_vehicle = \"alarm\"\n";
        // At 3,600×, the seconds a restarted controller takes are hours of
        // the day: its lanes give their last open again for 6 h, not 5 min.
        let lane = |gate: &str, dir: &str| {
            format!("[[lanes]]\ngate = \"{gate}\"\ndirection = \"{dir}\"\nreopen_within_ms = 21600000\n")
        };
        let controller =
            |toml: &Path, node: &str, journal: &Path, metrics: u16, index: usize, lanes: &[(&str, &str)]| {
                let lanes: String = lanes.iter().map(|(gate, dir)| lane(gate, dir)).collect();
                let text = bins::controller_toml_with(
                    &lot,
                    link_port,
                    node,
                    journal,
                    metrics,
                    &format!("{}index = {index}\n", layout.controller_extra),
                    &format!("{device_broker}{PLATES}[bank]\nbin = \"970403\"\naccount = \"0011012345678\"\n{lanes}"),
                );
                write(toml, &text);
            };
        let (first, second) = ([("entry-1", "entry"), ("exit-1", "exit")], [("entry-2", "entry"), ("exit-2", "exit")]);
        let mut second_controller = None;
        let mut controller_addrs = format!("\"127.0.0.1:{controller_metrics}\"");
        if layout.controllers > 1 {
            controller(&controller_toml, "ctl-1", &journal, controller_metrics, 0, &first);
            let metrics = free_port();
            let toml = dir.join("controller-2.toml");
            controller(&toml, "ctl-2", &journal.with_file_name("journal-2.sqlite"), metrics, 1, &second);
            controller_addrs.push_str(&format!(", \"127.0.0.1:{metrics}\""));
            second_controller = Some(toml);
        } else {
            controller(&controller_toml, "ctl-1", &journal, controller_metrics, 0, &[first, second].concat());
        }
        // The token is made in the shared database, before any server runs.
        let token = bins::token(&servers[0].1, "admin").unwrap();
        let sim_toml = dir.join("sim.toml");
        write(
            &sim_toml,
            &format!(
                "{lot}[broker]\nembedded = false\nhost = \"127.0.0.1\"\nport = {broker_port}\n\
                 [sim]\nserver = \"http://127.0.0.1:{}\"\ntoken = \"{token}\"\nsepay_hmac_secret = \"{HMAC}\"\n\
                 controllers = [{controller_addrs}]\ntimeout_s = 60\n\
                 [traffic]\nclasses = {{ car = 1.0 }}\n",
                servers[0].0
            ),
        );
        Lot { dir, servers, controller_toml, controller_metrics, second_controller, journal, sim_toml, token }
    }

    /// The first server's HTTP port, which the simulator talks to.
    pub fn port(&self) -> u16 {
        self.servers[0].0
    }

    /// Starts server `n`, logging to `server-{n}-{attempt}.log`.
    pub async fn start_server(&self, n: usize, attempt: u32) -> bins::Proc {
        let (port, toml) = &self.servers[n];
        bins::start_server(toml, &self.dir.join(format!("server-{n}-{attempt}.log")), *port).await.unwrap()
    }

    /// Starts the controller, logging to `controller-{attempt}.log`.
    pub fn start_controller(&self, attempt: u32) -> bins::Proc {
        bins::start_logged("controller", &self.controller_toml, &self.dir.join(format!("controller-{attempt}.log")))
            .unwrap()
    }

    /// Starts the second controller, logging to `controller-2-{attempt}.log`.
    pub fn start_second_controller(&self, attempt: u32) -> bins::Proc {
        let toml = self.second_controller.as_ref().expect("a lot of two controllers");
        bins::start_logged("controller", toml, &self.dir.join(format!("controller-2-{attempt}.log"))).unwrap()
    }

    /// Starts `sim run` over `visits` cars of seed `seed`, a day compressed
    /// `speed` times (`max`: as fast as the lanes go).
    pub fn start_sim(&self, visits: u32, seed: u32, speed: &str) -> Child {
        bins::command("sim")
            .args(["run", "--speed", speed, "--seed", &seed.to_string(), "--visits", &visits.to_string()])
            .arg("--config")
            .arg(&self.sim_toml)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// The fault suite's busy day: 400 cars at 3,600× (seed `seed`)
    /// against the servers and controller already started; `fault` runs
    /// once the replay is under way. Then the books: the summary's and the
    /// server's. Returns the summary.
    pub async fn day_with_fault(&self, seed: u32, fault: impl std::future::Future<Output = ()>) -> Value {
        let sim = self.start_sim(400, seed, "3600");
        self.sessions_at_least(40).await;
        fault.await;
        let (s, out) = finish_sim(sim).await;
        assert_books(&s, &out);
        self.assert_server_books(self.port()).await;
        s
    }

    /// Waits until the server holds `n` sessions: the replay is under way.
    pub async fn sessions_at_least(&self, n: usize) {
        for _ in 0..600 {
            let got = bins::http(self.port(), "GET", "/api/v1/sessions?limit=1000", Some(&self.token), None).await;
            if let Some((200, body)) = got {
                if serde_json::from_str::<Value>(&body).ok().and_then(|v| v.as_array().map(Vec::len)).unwrap_or(0) >= n
                {
                    return;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("the replay never reached {n} sessions");
    }

    /// The checks every fault ends with, on the server at `port`: no
    /// transfer still held for a stay the server never learned of, and
    /// the journal verifying with nothing left to chain.
    pub async fn assert_server_books(&self, port: u16) {
        let held = api(port, "GET", "/api/v1/transfers?state=all&limit=1000", &self.token, None).await;
        assert!(held.as_array().unwrap().iter().all(|t| t["state"] != "held"), "a transfer still held: {held}");
        let mut verified = Value::Null;
        for _ in 0..50 {
            verified = api(port, "GET", "/api/v1/journal/verify", &self.token, None).await;
            if verified["ok"] == true && verified["pending"] == 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        assert_eq!(verified["ok"], true, "the journal does not verify: {verified}");
        assert_eq!(verified["pending"], 0, "{verified}");
    }

    /// A Prometheus metric of the controller (0 if it does not answer).
    pub async fn controller_metric(&self, name: &str) -> f64 {
        let body = bins::http(self.controller_metrics, "GET", "/metrics", None, None).await.map(|(_, b)| b);
        body.and_then(|b| bins::metric(&b, name)).unwrap_or(0.0)
    }

    /// A Prometheus counter of server `n`.
    pub async fn server_metric(&self, n: usize, name: &str) -> f64 {
        let body = bins::http(self.servers[n].0, "GET", "/metrics", Some(&self.token), None).await.unwrap().1;
        bins::metric(&body, name).unwrap_or(0.0)
    }
}

impl Drop for Lot {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Waits for `sim run` and returns its summary (the last line of stdout,
/// JSON), with its stderr.
pub async fn finish_sim(sim: Child) -> (Value, Output) {
    let out = tokio::task::spawn_blocking(move || sim.wait_with_output().unwrap()).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let s: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no summary ({e}): {stdout}\n{stderr}"));
    (s, out)
}

/// The summary's books: the run succeeded, no event was lost or counted
/// twice, no vehicle was left at a lane, every fee is the tariff's, and
/// every đồng transferred settled a stay.
pub fn assert_books(s: &Value, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the books do not match: {s}\n{stderr}");
    assert_eq!(s["events_committed"], s["gate_events"], "{s}");
    assert_eq!(s["events_lost"], 0, "{s}");
    assert_eq!(s["duplicates"], 0, "{s}");
    assert_eq!(s["stuck"], 0, "{s}");
    assert_eq!(s["fee_mismatches"], 0, "{s}");
    assert_eq!(s["revenue_vnd"], s["expected_revenue_vnd"], "{s}");
    assert!(s["revenue_vnd"].as_i64().unwrap() > 0, "{s}");
    assert_eq!(s["transferred_vnd"], s["settled_by_transfer_vnd"], "{s}");
}
