//! `sim soak`: busy days on the simulated clock against the lot server and
//! the controller as their own processes (embedded broker, SQLite),
//! sampled at the end of each simulated day. A short soak here; the
//! 30-day one is a command (docs/performance.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use parking_tests::bins;
use serde_json::Value;

#[test]
fn a_short_soak_samples_each_day_and_keeps_the_books() {
    let dir = bins::fresh_dir("soak").unwrap();
    let out = bins::command("sim")
        .args(["soak", "--days", "3", "--visits", "200", "--speed", "20000", "--seed", "11", "--dir"])
        .arg(&dir)
        .output()
        .expect("run sim soak");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the soak failed:\n{stdout}\n{stderr}");
    let last: Value = serde_json::from_str(stdout.lines().last().unwrap_or_default())
        .unwrap_or_else(|e| panic!("no JSON line last ({e}): {stdout}"));
    assert_eq!(last["ok"], true, "{last}");
    assert_eq!(last["failed"].as_array().map(Vec::len), Some(0), "{last}");
    let days = last["days"].as_array().expect("days");
    assert_eq!(days.len(), 3, "a sample a day: {last}");
    let dates: Vec<&str> = days.iter().map(|d| d["date"].as_str().unwrap()).collect();
    assert_eq!(dates, ["2026-11-23", "2026-11-24", "2026-11-25"]);
    for d in days {
        // Both processes were alive and measured, the lot's database was
        // written, and its log stayed under the bound.
        assert!(d["server_rss_kib"].as_u64().unwrap() > 1_000, "{d}");
        assert!(d["controller_rss_kib"].as_u64().unwrap() > 1_000, "{d}");
        assert!(d["server_db_bytes"].as_u64().unwrap() > 0, "{d}");
        assert!(d["server_wal_bytes"].as_u64().unwrap() < 64 << 20, "{d}");
    }
    let opens: u64 = days.iter().map(|d| d["opens"].as_u64().unwrap()).sum();
    assert!(opens > 200, "the controller counted the days' openings: {last}");
    assert!(days.iter().any(|d| d["open_p99_ms"].as_f64().is_some_and(|p| p > 0.0)), "{last}");
    // The run's books: nothing lost or doubled, fees to the đồng.
    let books: Value = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v.get("events_lost").is_some())
        .unwrap_or_else(|| panic!("no run summary: {stdout}"));
    assert_eq!(books["events_lost"], 0, "{books}");
    assert_eq!(books["duplicates"], 0, "{books}");
    assert_eq!(books["revenue_vnd"], books["expected_revenue_vnd"], "{books}");
    // The table, for a person.
    assert!(stderr.contains("server MiB") && stderr.contains("2026-11-25"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
