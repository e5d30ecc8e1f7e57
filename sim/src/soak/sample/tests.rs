#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

const EXPOSITION: &str = "# HELP parking_controller_open_latency_seconds x\n\
parking_controller_open_latency_seconds_bucket{le=\"0.001\"} 10\n\
parking_controller_open_latency_seconds_bucket{le=\"0.002\"} 90\n\
parking_controller_open_latency_seconds_bucket{le=\"0.004\"} 100\n\
parking_controller_open_latency_seconds_bucket{le=\"+Inf\"} 100\n\
parking_controller_open_latency_seconds_sum 0.2\n";

#[test]
fn buckets_are_read_from_the_exposition() {
    let b = buckets(EXPOSITION, "parking_controller_open_latency_seconds");
    assert_eq!(b.len(), 4);
    assert_eq!(b[1], (0.002, 90));
    assert!(b[3].0.is_infinite());
    assert!(buckets(EXPOSITION, "other").is_empty());
}

#[test]
fn a_days_quantile_counts_only_what_the_day_added() {
    let after = buckets(EXPOSITION, "parking_controller_open_latency_seconds");
    // All 100 from zero: the 99th is in the 2-4 ms bucket, 9/10 of the way.
    let (n, p) = quantile_between(&[], &after, 0.99);
    assert_eq!(n, 100);
    assert!((p.unwrap() - 3.8).abs() < 1e-9, "{p:?}");
    // The day before already had the 10 fast ones and 80 of the next.
    let before = vec![(0.001, 10), (0.002, 90), (0.004, 90), (f64::INFINITY, 90)];
    let (n, p) = quantile_between(&before, &after, 0.99);
    assert_eq!(n, 10, "ten openings that day, all 2-4 ms");
    assert!(p.unwrap() > 2.0 && p.unwrap() <= 4.0, "{p:?}");
    assert_eq!(quantile_between(&after, &after, 0.99), (0, None), "a day without openings");
}

fn day(n: u32, rss: u64, wal: u64, p99: f64) -> DaySample {
    DaySample {
        day: n,
        server_rss_kib: rss,
        controller_rss_kib: 20_000,
        server_wal_bytes: wal,
        open_p99_ms: Some(p99),
        ..DaySample::default()
    }
}

#[test]
fn a_steady_month_passes() {
    let days: Vec<DaySample> = (1..=30).map(|n| day(n, 60_000 + u64::from(n % 3) * 500, 4 << 20, 2.0)).collect();
    assert!(verdict(&days, Bounds::default()).is_empty(), "{:?}", verdict(&days, Bounds::default()));
}

#[test]
fn growing_memory_an_unbounded_log_and_a_drifting_p99_each_fail() {
    let growing: Vec<DaySample> = (1..=30).map(|n| day(n, 60_000 + u64::from(n) * 10_000, 0, 2.0)).collect();
    let v = verdict(&growing, Bounds::default());
    assert!(v.len() == 1 && v[0].contains("lot server's memory grows"), "{v:?}");
    let mut log = (1..=30).map(|n| day(n, 60_000, 1 << 20, 2.0)).collect::<Vec<_>>();
    log[17].server_wal_bytes = 900 << 20;
    let v = verdict(&log, Bounds::default());
    assert!(v.len() == 1 && v[0].starts_with("day 18:"), "{v:?}");
    let drifting: Vec<DaySample> = (1..=30).map(|n| day(n, 60_000, 0, 2.0 + f64::from(n) * 0.2)).collect();
    let v = verdict(&drifting, Bounds::default());
    assert!(v.len() == 1 && v[0].contains("p99 drifts up"), "{v:?}");
}

#[test]
fn the_table_has_a_row_a_day() {
    let t = table(&[day(1, 61_440, 2 << 20, 1.234)]);
    assert_eq!(t.lines().count(), 2);
    assert!(t.lines().nth(1).unwrap().contains("60.0") && t.contains("1.23"), "{t}");
}
