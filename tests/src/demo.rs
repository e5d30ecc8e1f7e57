//! What a simulator run must show, read from its output: the summary (its
//! last line, JSON) and the books every seeded day keeps.

#![allow(clippy::unwrap_used, clippy::panic)] // test helpers: a failure is the assertion

use std::process::Output;

use serde_json::Value;

/// The summary: the last line of stdout, JSON.
pub fn summary(out: &Output) -> Value {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stdout.lines().last().unwrap_or_default();
    serde_json::from_str(last).unwrap_or_else(|e| panic!("no JSON summary ({e}): {stdout}\n{stderr}"))
}

/// What every seeded run must show; `clones` the cloned tags in the day.
pub fn assert_books(s: &Value, visits: u64, clones: u64, out: &Output) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "the run failed: {s}\n{stderr}");
    assert_eq!(s["visits"], visits, "{s}");
    // An entry and an exit each, but for the bad actors that never
    // properly enter: the tailgater (no event in or out), the deny-listed
    // and the cloned tag (one refusal each).
    assert_eq!(s["gate_events"].as_u64().unwrap(), visits * 2 - 3 - clones, "{s}");
    assert_eq!(s["events_committed"], s["gate_events"], "{s}");
    assert_eq!(s["events_lost"], 0, "{s}");
    assert_eq!(s["duplicates"], 0, "{s}");
    assert_eq!(s["stuck"], 0, "{s}");
    assert_eq!(s["fee_mismatches"], 0, "{s}");
    let revenue = s["revenue_vnd"].as_i64().unwrap();
    assert!(revenue > 0, "{s}");
    assert_eq!(revenue, s["expected_revenue_vnd"].as_i64().unwrap(), "revenue to the đồng: {s}");
    // The bad actors: a deny-listed tag, a clone, a tailgater (in and
    // out), a thief, a moved tag (at both gates).
    assert!(s["alarms"].as_u64().unwrap() >= 6 + clones, "{s}");
    assert!(s["open_p99_ms"].as_f64().unwrap() > 0.0, "{s}");
    // Plates: the thief held at the exit and refused, the moved tag held
    // at both gates, and no honest driver held whatever the cameras
    // misread (3 % one character off, 2 % not read).
    let holds = ["thieves_held", "moved_tags_held", "false_holds"].map(|k| s[k].as_u64());
    assert_eq!(holds, [Some(1), Some(2), Some(0)], "{s}");
    // Every đồng the drivers transferred settled a stay.
    assert!(s["transferred_vnd"].as_i64().unwrap() > 0, "{s}");
    assert_eq!(s["transferred_vnd"], s["settled_by_transfer_vnd"], "{s}");
}
