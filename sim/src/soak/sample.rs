//! What a soak samples each simulated day, and its verdict: pure, so the
//! rules are tested on made-up series.
//!
//! - [`DaySample`]: each process's resident memory, each database's and
//!   write-ahead log's size, and that day's read-to-open p99, from the
//!   controller's `open_latency_seconds` histogram (the counts that day
//!   added, interpolated within a bucket as Prometheus' `histogram_quantile`
//!   does);
//! - [`verdict`]: memory must not keep growing, the logs must stay under
//!   their bound, and the p99 must not drift up.

use serde::Serialize;

/// One simulated day's sample, taken at its end.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DaySample {
    /// 1 for the first day.
    pub day: u32,
    pub date: String,
    pub server_rss_kib: u64,
    pub controller_rss_kib: u64,
    pub server_db_bytes: u64,
    pub server_wal_bytes: u64,
    pub controller_db_bytes: u64,
    pub controller_wal_bytes: u64,
    /// Barrier openings the controller counted that day.
    pub opens: u64,
    /// Read received to barrier pulse, that day's p99 (None: no openings).
    pub open_p99_ms: Option<f64>,
}

/// Cumulative `(upper bound in seconds, count)` buckets of one histogram
/// from a Prometheus text exposition; `+Inf` last.
pub fn buckets(exposition: &str, name: &str) -> Vec<(f64, u64)> {
    let prefix = format!("{name}_bucket{{le=\"");
    exposition
        .lines()
        .filter_map(|l| l.strip_prefix(&prefix))
        .filter_map(|rest| {
            let (le, count) = rest.split_once("\"}")?;
            let le = if le == "+Inf" { f64::INFINITY } else { le.parse().ok()? };
            Some((le, count.trim().parse().ok()?))
        })
        .collect()
}

/// The `q` quantile, in milliseconds, of what was added between two
/// snapshots of one histogram's cumulative buckets, with the count added.
pub fn quantile_between(before: &[(f64, u64)], after: &[(f64, u64)], q: f64) -> (u64, Option<f64>) {
    let added: Vec<(f64, u64)> = after
        .iter()
        .map(|(le, n)| {
            let was = before.iter().find(|(b, _)| b.to_bits() == le.to_bits()).map_or(0, |(_, c)| *c);
            (*le, n.saturating_sub(was))
        })
        .collect();
    let total = added.last().map_or(0, |(_, n)| *n);
    if total == 0 {
        return (0, None);
    }
    // Counts and ranks: far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    let rank = q * total as f64;
    let mut lower = (0.0, 0u64);
    for (le, n) in added {
        #[allow(clippy::cast_precision_loss)]
        if n as f64 >= rank {
            if le.is_infinite() {
                return (total, Some(lower.0 * 1e3));
            }
            #[allow(clippy::cast_precision_loss)]
            let within = (rank - lower.1 as f64) / (n - lower.1).max(1) as f64;
            return (total, Some((lower.0 + (le - lower.0) * within) * 1e3));
        }
        lower = (le, n);
    }
    (total, Some(lower.0 * 1e3))
}

/// The soak's bounds.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    /// No write-ahead log may be larger at a day's end.
    pub wal_bytes: u64,
    /// Memory of the last third of the days may exceed the middle third's
    /// by this factor, plus `rss_slack_kib`, before it counts as growing.
    pub rss_growth: f64,
    pub rss_slack_kib: u64,
    /// The last third's median p99 may exceed the first third's by this
    /// factor plus `p99_slack_ms` before it counts as drifting.
    pub p99_drift: f64,
    pub p99_slack_ms: f64,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds { wal_bytes: 64 << 20, rss_growth: 1.2, rss_slack_kib: 16 << 10, p99_drift: 1.5, p99_slack_ms: 1.0 }
    }
}

/// What the days show: each failed rule, in words (empty: the soak passed).
pub fn verdict(days: &[DaySample], b: Bounds) -> Vec<String> {
    let mut failed = Vec::new();
    for d in days {
        for (what, bytes) in [("the lot server's", d.server_wal_bytes), ("the controller's", d.controller_wal_bytes)] {
            if bytes > b.wal_bytes {
                failed.push(format!("day {}: {what} write-ahead log is {bytes} bytes, over {}", d.day, b.wal_bytes));
            }
        }
    }
    // Growth needs a series: the first day warms caches up, then a middle
    // third and a last third are compared.
    let n = days.len();
    if n >= 6 {
        let third = n / 3;
        let (middle, last) = (&days[third..2 * third], &days[n - third..]);
        for (what, rss) in [
            ("the lot server's", (|d: &DaySample| d.server_rss_kib) as fn(&DaySample) -> u64),
            ("the controller's", |d: &DaySample| d.controller_rss_kib),
        ] {
            let before = middle.iter().map(rss).max().unwrap_or(0);
            let after = last.iter().map(rss).max().unwrap_or(0);
            #[allow(clippy::cast_precision_loss, clippy::cast_possible_truncation, clippy::cast_sign_loss)]
            let limit = (before as f64 * b.rss_growth) as u64 + b.rss_slack_kib;
            if after > limit {
                failed.push(format!(
                    "{what} memory grows: {after} KiB at most in the last {third} days, {before} KiB in days {}-{}",
                    third + 1,
                    2 * third
                ));
            }
        }
        let median = |s: &[DaySample]| {
            let mut v: Vec<f64> = s.iter().filter_map(|d| d.open_p99_ms).collect();
            v.sort_by(f64::total_cmp);
            v.get(v.len() / 2).copied()
        };
        if let (Some(first), Some(end)) = (median(&days[..third]), median(last)) {
            if end > first * b.p99_drift + b.p99_slack_ms {
                failed.push(format!(
                    "read-to-open p99 drifts up: median {end:.2} ms in the last {third} days, {first:.2} ms in the first"
                ));
            }
        }
    }
    failed
}

/// The days as a table, for a person.
pub fn table(days: &[DaySample]) -> String {
    let mib = |b: u64| format!("{:.1}", b as f64 / f64::from(1u32 << 20));
    let mut out = format!(
        "{:>4} {:<10} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9}\n",
        "day", "date", "server MiB", "ctl MiB", "db MiB", "wal MiB", "ctl db", "ctl wal", "opens", "p99 ms"
    );
    for d in days {
        out.push_str(&format!(
            "{:>4} {:<10} {:>10} {:>10} {:>9} {:>9} {:>9} {:>9} {:>7} {:>9}\n",
            d.day,
            d.date,
            mib(d.server_rss_kib << 10),
            mib(d.controller_rss_kib << 10),
            mib(d.server_db_bytes),
            mib(d.server_wal_bytes),
            mib(d.controller_db_bytes),
            mib(d.controller_wal_bytes),
            d.opens,
            d.open_p99_ms.map_or("-".into(), |p| format!("{p:.2}"))
        ));
    }
    out
}

#[cfg(test)]
mod tests;
