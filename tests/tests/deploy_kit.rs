//! The deployment kit (`deploy/`) checked where it can be without Docker:
//!
//! - every systemd unit passes `systemd-analyze verify` (its binaries
//!   pointed at the ones just built);
//! - the lot server and the controller stop on SIGTERM, cleanly, within
//!   the `TimeoutStopSec` their units give them;
//! - the production configuration layers pass `check-config`;
//! - `lot-server node export` with the kit's configuration writes users
//!   that the kit's `mosquitto.conf` serves: a node signs in with its
//!   secret, a stranger and a wrong secret are refused;
//! - the compose file parses, and every file it and the Dockerfile name
//!   is in the repository.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failure is the assertion

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use parking_tests::bins::{self, repo_root};
use parking_tests::embedded;
use parking_tests::mosquitto::{binary as mosquitto_binary, free_port};
use rumqttc::{ConnectReturnCode, Event, MqttOptions, Packet};
use serde_json::Value;

fn kit(path: &str) -> PathBuf {
    repo_root().join("deploy").join(path)
}

fn temp_dir(name: &str) -> PathBuf {
    bins::fresh_dir(&format!("kit-{name}")).unwrap()
}

/// A unit's `KEY=` value.
fn unit_value(unit: &str, key: &str) -> String {
    unit.lines().find_map(|l| l.strip_prefix(&format!("{key}="))).unwrap_or_else(|| panic!("no {key}=")).to_owned()
}

#[test]
#[ignore = "needs systemd-analyze (Debian's systemd); .ci/run runs it"]
fn every_unit_passes_systemd_analyze_verify() {
    let dir = temp_dir("units");
    let units = ["parking-lot-server.service", "parking-controller.service", "parking-tag-reader@.service"];
    for name in units {
        let text = std::fs::read_to_string(kit(&format!("systemd/{name}"))).unwrap();
        let mut local = text.clone();
        for bin in ["lot-server", "controller", "tag-reader"] {
            local = local.replace(&format!("/usr/local/bin/{bin}"), bins::bin(bin).to_str().unwrap());
        }
        assert_ne!(local, text, "{name} runs one of the binaries");
        // A template is verified as one of its instances.
        let file = dir.join(name.replace("@.", "@entry-1."));
        std::fs::write(&file, local).unwrap();
        let out = Command::new("systemd-analyze").arg("verify").arg(&file).output().expect("systemd-analyze");
        let err = String::from_utf8_lossy(&out.stderr);
        let about_it: Vec<&str> =
            err.lines().filter(|l| l.contains(file.file_name().unwrap().to_str().unwrap())).collect();
        assert!(out.status.success() && about_it.is_empty(), "{name}: {err}");
        for key in ["NoNewPrivileges", "ProtectSystem", "User", "Restart", "TimeoutStopSec", "KillSignal"] {
            unit_value(&text, key);
        }
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// Sends SIGTERM; how long the process took to exit, and how.
fn terminate(child: &mut std::process::Child, limit: Duration) -> (Duration, std::process::ExitStatus) {
    let sent = Instant::now();
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    loop {
        if let Some(s) = child.try_wait().unwrap() {
            return (sent.elapsed(), s);
        }
        assert!(sent.elapsed() < limit, "still running {limit:?} after SIGTERM");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_and_the_controller_within_their_units_timeouts() {
    let dir = temp_dir("sigterm");
    let (mqtt_port, http_port, metrics_port) = (free_port(), free_port(), free_port());
    let lot = bins::lot_toml("kit-lot");
    let server_cfg = dir.join("lot-server.toml");
    std::fs::write(&server_cfg, embedded::embedded_server_toml(&lot, mqtt_port, http_port, &dir, "")).unwrap();
    let secret = embedded::add_node(&server_cfg, "ctl-kit", "controller", &["entry-1", "exit-1"], None).unwrap();
    let controller_cfg = dir.join("controller.toml");
    let lanes =
        "[[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\n[[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n";
    let controller =
        bins::controller_toml("kit-lot", mqtt_port, "ctl-kit", &dir.join("j.sqlite"), metrics_port, "", lanes);
    std::fs::write(&controller_cfg, embedded::with_password_file(&controller, &secret)).unwrap();
    let mut server = bins::start_server(&server_cfg, &dir.join("server.log"), http_port).await.unwrap();
    let mut controller = bins::start_logged("controller", &controller_cfg, &dir.join("controller.log")).unwrap();
    parking_tests::wait::until(30, "the controller's health", || async {
        bins::http_get(metrics_port, "/health").await.is_some()
    })
    .await;
    let timeout = |unit: &str| {
        let text = std::fs::read_to_string(kit(&format!("systemd/{unit}"))).unwrap();
        Duration::from_secs(unit_value(&text, "TimeoutStopSec").trim_end_matches('s').parse().unwrap())
    };
    let (took, status) = terminate(&mut controller.0, timeout("parking-controller.service"));
    eprintln!("controller stopped {took:?} after SIGTERM: {status}");
    assert!(status.success(), "the controller's exit on SIGTERM: {status}");
    // A clean stop sends no last will: the controller says it is offline itself.
    let topic = parking_core::wire::Topics::new("kit-lot".parse().unwrap()).node_status(&"ctl-kit".parse().unwrap());
    let retained = retained_status(mqtt_port, &topic).await;
    assert!(!retained.online, "the retained status after SIGTERM: {retained:?}");
    let (took, status) = terminate(&mut server.0, timeout("parking-lot-server.service"));
    eprintln!("lot server stopped {took:?} after SIGTERM: {status}");
    assert!(status.success(), "the lot server's exit on SIGTERM: {status}");
    let _ = std::fs::remove_dir_all(dir);
}

/// The message retained on `topic` of the broker at `port`.
async fn retained_status(port: u16, topic: &str) -> parking_core::wire::NodeStatus {
    let (client, mut events) = parking_tests::mqtt::client(port, "kit-status-reader", true);
    client.subscribe(topic, rumqttc::QoS::AtLeastOnce).await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            if let Ok(Event::Incoming(Packet::Publish(p))) = events.poll().await {
                return parking_core::wire::decode::<parking_core::wire::NodeStatus>(&p.payload).unwrap();
            }
        }
    })
    .await;
    got.expect("a retained status")
}

#[test]
fn the_production_configuration_passes_check_config() {
    let root = repo_root();
    for (bin, files) in [
        ("lot-server", ["config/lot.toml", "config/lot-server.toml", "deploy/etc/lot-server.production.toml"]),
        ("controller", ["config/lot.toml", "config/controller.toml", "deploy/etc/controller.production.toml"]),
    ] {
        let mut cmd = bins::command(bin);
        cmd.current_dir(&root).arg("check-config");
        for f in files {
            cmd.arg("--config").arg(f);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{bin}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Whether the broker at `port` lets `user` in with `password`.
async fn connects(port: u16, user: Option<(&str, &str)>) -> bool {
    let mut opts = MqttOptions::new(format!("kit-{}", user.map_or("nobody", |u| u.0)), "127.0.0.1", port);
    if let Some((u, p)) = user {
        opts.set_credentials(u, p);
    }
    let (_client, mut events) = rumqttc::AsyncClient::new(opts, 4);
    let outcome = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::ConnAck(c))) => return c.code == ConnectReturnCode::Success,
                Ok(_) => {}
                Err(_) => return false,
            }
        }
    })
    .await;
    outcome.unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Mosquitto (apt-get install mosquitto); .ci/run runs it"]
async fn the_kits_mosquitto_serves_the_users_the_lot_server_exports() {
    let dir = temp_dir("mosquitto");
    let state = dir.display().to_string();
    let root = repo_root();
    // The kit's lot-server layer, its /var/lib/parking here.
    let production = std::fs::read_to_string(kit("etc/lot-server.production.toml")).unwrap();
    let layer = dir.join("lot-server.production.toml");
    std::fs::write(&layer, production.replace("/var/lib/parking", &state)).unwrap();
    let users = dir.join("mosquitto-users");
    let out = bins::command("lot-server")
        .current_dir(&root)
        .args(["node", "export", "--mosquitto", users.to_str().unwrap()])
        .args(["--config", "config/lot.toml", "--config", "config/lot-server.toml", "--config"])
        .arg(&layer)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    // The kit's mosquitto.conf, its paths and port here.
    let port = free_port();
    let conf = std::fs::read_to_string(kit("mosquitto/mosquitto.conf"))
        .unwrap()
        .replace("/etc/mosquitto/parking", users.to_str().unwrap())
        .replace("/var/lib/mosquitto/", &format!("{state}/"))
        .replace("listener 1883", &format!("listener {port} 127.0.0.1"))
        .replace("log_dest stdout", "log_dest stderr");
    let conf_file = dir.join("mosquitto.conf");
    std::fs::write(&conf_file, format!("{conf}\nuser root\n")).unwrap();
    let mut broker = bins::Proc(
        Command::new(mosquitto_binary().expect("mosquitto"))
            .arg("-c")
            .arg(&conf_file)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("mosquitto.log")).unwrap())
            .spawn()
            .unwrap(),
    );
    parking_tests::wait::until(10, "the kit's Mosquitto to listen", || async {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .await;
    let secret = std::fs::read_to_string(dir.join("broker/controller-1.secret")).unwrap();
    assert!(connects(port, Some(("controller-1", secret.trim()))).await, "controller-1 with its secret");
    let server = std::fs::read_to_string(dir.join("broker/server-1.secret")).unwrap();
    assert!(connects(port, Some(("server-1", server.trim()))).await, "the lot server with its secret");
    assert!(!connects(port, None).await, "an anonymous client is let in");
    assert!(!connects(port, Some(("controller-1", "guess"))).await, "a wrong secret is let in");
    broker.kill();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
#[ignore = "needs python3 with PyYAML (.ci/run installs it)"]
fn the_compose_file_parses_and_names_files_that_exist() {
    let out = Command::new("python3")
        .args(["-c", "import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), sys.stdout)"])
        .arg(kit("compose.yaml"))
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let compose: Value = serde_json::from_slice(&out.stdout).unwrap();
    let services = compose["services"].as_object().unwrap();
    for s in ["postgres", "mosquitto", "setup", "lot-server", "controller"] {
        assert!(services.contains_key(s), "no {s} service");
    }
    // Every --config the services pass is in the image: config/ or deploy/etc/.
    let in_image = |path: &str| {
        let name = path.strip_prefix("/etc/parking/").unwrap_or_else(|| panic!("{path} is not under /etc/parking"));
        repo_root().join("config").join(name).exists() || kit("etc").join(name).exists()
    };
    let dockerfile = std::fs::read_to_string(kit("docker/Dockerfile")).unwrap();
    let default_cmd = dockerfile.lines().find(|l| l.starts_with("CMD ")).unwrap();
    let mut named: Vec<String> =
        default_cmd.split('"').filter(|p| p.starts_with("/etc/parking/")).map(str::to_owned).collect();
    for s in services.values() {
        let args = s["command"].as_array().into_iter().flatten().filter_map(Value::as_str);
        named.extend(args.filter(|a| a.starts_with("/etc/parking/")).map(str::to_owned));
    }
    assert!(named.len() >= 9, "{named:?}");
    for path in &named {
        assert!(in_image(path), "{path} is named but not in the image");
    }
    // The broker's configuration is mounted from the kit.
    let mounts = services["mosquitto"]["volumes"].as_array().unwrap();
    let conf = mounts.iter().filter_map(Value::as_str).find(|m| m.contains("mosquitto.conf")).unwrap();
    assert!(kit(conf.split(':').next().unwrap()).exists(), "{conf}");
    // What the Dockerfile copies from the repository exists.
    for line in dockerfile.lines().filter(|l| l.starts_with("COPY ") && !l.contains("--from")) {
        let source = line.split_whitespace().nth(1).unwrap();
        assert!(repo_root().join(source).exists(), "{line}");
    }
}
