//! Logs a shipper can parse: the lot server run with PARKING_LOG_FORMAT=json
//! writes nothing on standard error but JSON objects, one a line, each with
//! its time, level, target and fields; what a lot's tasks log carries the
//! lot's span. A log format the binaries do not know is a usage error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // tests: a failure is the assertion

use parking_tests::bins;
use parking_tests::mosquitto::free_port;
use serde_json::Value;

const LOT: &str = "json-log-lot";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_lot_server_logs_json_lines_with_the_lots_span() {
    let dir = bins::fresh_dir("json-log").unwrap();
    let (mqtt_port, http_port) = (free_port(), free_port());
    let config = dir.join("lot-server.toml");
    let lot = bins::lot_toml(LOT);
    std::fs::write(&config, parking_tests::embedded::embedded_server_toml(&lot, mqtt_port, http_port, &dir, ""))
        .unwrap();
    let log = dir.join("lot-server.log");
    let mut server = bins::start_server_env(&config, &log, http_port, &[("PARKING_LOG_FORMAT", "json")]).await.unwrap();
    server.kill();
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
        .collect();
    assert!(lines.len() >= 2, "{text}");
    for l in &lines {
        assert!(l["timestamp"].is_string() && l["level"].is_string() && l["target"].is_string(), "{l}");
        assert!(l["fields"].is_object(), "{l}");
    }
    let starting = lines
        .iter()
        .find(|l| l["fields"]["message"] == "lot starting")
        .unwrap_or_else(|| panic!("no 'lot starting' line: {text}"));
    let spans = starting["spans"].as_array().unwrap_or_else(|| panic!("no spans: {starting}"));
    assert!(spans.iter().any(|s| s["name"] == "lot" && s["lot"] == LOT), "the lot's span: {starting}");
    let _ = std::fs::remove_dir_all(&dir);

    // A format nobody reads is refused before anything starts, as a usage error.
    for bin in ["lot-server", "controller", "tag-reader", "sim"] {
        let out = bins::command(bin).args(["--log-format", "xml", "run", "--config", "x.toml"]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{bin}: {err}");
        assert!(err.contains("text or json"), "{bin}: {err}");
    }
}
