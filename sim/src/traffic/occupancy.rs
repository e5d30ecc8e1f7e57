//! A day shaped like a real lot's: from an occupancy series (`lot,
//! capacity, occupancy, timestamp` snapshots, as in the Birmingham data
//! set: `SystemCodeNumber,Capacity,Occupancy,LastUpdated`), visits whose
//! count in the lot at each snapshot is that snapshot's occupancy.
//!
//! Between two snapshots the net change is arrivals minus departures; a
//! turnover share of the vehicles present also leave and are replaced, so
//! a flat stretch still has traffic. A departure is always a vehicle
//! present at the interval's start, an arrival enters strictly inside the
//! interval, and whoever is left at the last snapshot leaves within two
//! hours after it.
//!
//! Sensor data is dirty: an occupancy above capacity is clamped to it, a
//! negative one to zero, and a row that does not parse is listed with its
//! line, not used, and not fatal.

use std::io::Read;

use parking_core::{GateId, Timestamp, VehicleClass};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use time::PrimitiveDateTime;
use time::macros::format_description;

use super::{CredentialKind, TrafficError, Visit, epc_of};

/// One snapshot of one lot, cleaned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    pub capacity: i64,
    pub occupancy: i64,
    pub at: Timestamp,
}

/// A lot's series, and what cleaning it took.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Series {
    pub snapshots: Vec<Snapshot>,
    /// Occupancies outside [0, capacity], clamped.
    pub clamped: usize,
    /// Rows that did not parse: (line, why).
    pub skipped: Vec<(u64, String)>,
}

/// Reads `lot`'s snapshots from a CSV of `lot,capacity,occupancy,timestamp`
/// rows (a header first), in time order, one per instant. Timestamps are
/// local (`YYYY-MM-DD HH:MM:SS`) or RFC 3339.
pub fn read(input: impl Read, lot: &str) -> Result<Series, TrafficError> {
    let mut r = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(input);
    let mut s = Series::default();
    let local = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    for (i, row) in r.records().enumerate() {
        let line = u64::try_from(i).unwrap_or(u64::MAX) + 2;
        let row = match row {
            Ok(row) => row,
            Err(e) => {
                s.skipped.push((line, e.to_string()));
                continue;
            }
        };
        if row.get(0) != Some(lot) {
            continue;
        }
        let parsed = (|| -> Result<Snapshot, String> {
            let capacity: i64 = row.get(1).unwrap_or_default().parse().map_err(|_| "capacity is not a number")?;
            let occupancy: i64 = row.get(2).unwrap_or_default().parse().map_err(|_| "occupancy is not a number")?;
            let text = row.get(3).unwrap_or_default();
            let at = match PrimitiveDateTime::parse(text, &local) {
                Ok(t) => Some(Timestamp::from_local(t)),
                Err(_) => text.parse::<Timestamp>().ok(),
            }
            .ok_or_else(|| format!("timestamp {text:?} is neither YYYY-MM-DD HH:MM:SS nor RFC 3339"))?;
            if capacity <= 0 {
                return Err(format!("capacity {capacity} is not above zero"));
            }
            Ok(Snapshot { capacity, occupancy, at })
        })();
        match parsed {
            Ok(mut snap) => {
                if !(0..=snap.capacity).contains(&snap.occupancy) {
                    snap.occupancy = snap.occupancy.clamp(0, snap.capacity);
                    s.clamped += 1;
                }
                s.snapshots.push(snap);
            }
            Err(why) => s.skipped.push((line, why)),
        }
    }
    s.snapshots.sort_by_key(|x| x.at);
    s.snapshots.dedup_by_key(|x| x.at);
    Ok(s)
}

impl Series {
    /// The snapshots of one local day.
    pub fn day(&self, day: time::Date) -> Vec<Snapshot> {
        self.snapshots.iter().filter(|x| x.at.local_date() == day).cloned().collect()
    }
}

/// Visits that reproduce `snapshots` (one day, in time order): at each
/// snapshot's instant, exactly its occupancy is inside.
pub fn visits(
    snapshots: &[Snapshot],
    turnover: f64,
    seed: u64,
    entry_gates: &[GateId],
    exit_gates: &[GateId],
) -> Result<Vec<Visit>, TrafficError> {
    if !(0.0..=1.0).contains(&turnover) {
        return Err(TrafficError::Settings(format!("turnover is a share from 0 to 1, not {turnover}")));
    }
    if entry_gates.is_empty() || exit_gates.is_empty() {
        return Err(TrafficError::Settings("at least one entry and one exit gate".into()));
    }
    let Some(first) = snapshots.first() else { return Ok(Vec::new()) };
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // (vehicle, entry ms) of those inside; finished visits.
    let mut inside: Vec<(u64, i64)> = Vec::new();
    let mut done: Vec<(u64, i64, i64)> = Vec::new();
    let mut next = 1u64;
    let t0 = first.at.unix_millis();
    for _ in 0..first.occupancy {
        // Already there at the first snapshot: arrived within the hour before.
        inside.push((next, t0 - rng.random_range(1..3_600_000)));
        next += 1;
    }
    for w in snapshots.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        let (ta, tb) = (a.at.unix_millis(), b.at.unix_millis());
        // A share of a count of vehicles: the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let churn = ((a.occupancy as f64) * turnover).round() as i64;
        let delta = b.occupancy - a.occupancy;
        let leaving = (churn + (-delta).max(0)).min(i64::try_from(inside.len()).unwrap_or(0));
        let arriving = leaving + delta;
        for _ in 0..leaving {
            let i = rng.random_range(0..inside.len());
            let (v, entered) = inside.swap_remove(i);
            done.push((v, entered, ta + rng.random_range(1..(tb - ta).max(2))));
        }
        for _ in 0..arriving.max(0) {
            inside.push((next, ta + rng.random_range(1..(tb - ta).max(2))));
            next += 1;
        }
    }
    let last = snapshots.last().map_or(t0, |s| s.at.unix_millis());
    for (v, entered) in inside.drain(..) {
        done.push((v, entered, last + rng.random_range(60_000..7_200_000)));
    }
    done.sort_by_key(|(v, entered, _)| (*entered, *v));
    let at =
        |ms: i64| Timestamp::from_unix_millis(ms).ok_or_else(|| TrafficError::Settings("time out of range".into()));
    let mut out = Vec::with_capacity(done.len());
    for (v, entered, left) in done {
        let class = if rng.random::<f64>() < 0.9 { VehicleClass::Car } else { VehicleClass::Motorbike };
        let credential = if rng.random::<f64>() < 0.5 { CredentialKind::Tag } else { CredentialKind::Ticket };
        let letter = char::from(b'A' + u8::try_from(v % 8).unwrap_or(0));
        out.push(Visit {
            vehicle: v,
            plate: super::generate::painted(&class, 29 + v % 4, letter, v),
            class,
            credential,
            epc: (credential == CredentialKind::Tag).then(|| epc_of(v)),
            entry_at: at(entered)?,
            exit_at: at(left)?,
            entry_gate: entry_gates.choose(&mut rng).cloned().unwrap_or_else(|| entry_gates[0].clone()),
            exit_gate: exit_gates.choose(&mut rng).cloned().unwrap_or_else(|| exit_gates[0].clone()),
            actor: super::Actor::Normal,
            pay_delay_s: rng.random_range(5..=45),
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    /// A real day of the Birmingham data set's busiest car park (an
    /// excerpt, see tests/fixtures/README.md), with dirty rows added.
    const EXCERPT: &str = include_str!("../../tests/fixtures/occupancy-excerpt.csv");

    fn gates(p: &str) -> Vec<GateId> {
        vec![format!("{p}-1").parse().unwrap(), format!("{p}-2").parse().unwrap()]
    }

    fn inside_at(visits: &[Visit], t: Timestamp) -> i64 {
        visits.iter().filter(|v| v.entry_at <= t && t < v.exit_at).count() as i64
    }

    #[test]
    fn the_derived_day_has_the_series_occupancy_at_every_snapshot() {
        let series = read(EXCERPT.as_bytes(), "Others-CCCPS133").unwrap();
        let day = series.day(time::macros::date!(2016 - 10 - 04));
        assert!(day.len() >= 15, "{} snapshots", day.len());
        for turnover in [0.0, 0.1, 0.3] {
            let visits = visits(&day, turnover, 42, &gates("entry"), &gates("exit")).unwrap();
            for s in &day {
                assert_eq!(inside_at(&visits, s.at), s.occupancy, "at {} with turnover {turnover}", s.at);
            }
            assert!(visits.iter().all(|v| v.exit_at > v.entry_at));
            if turnover > 0.0 {
                let peak = day.iter().map(|s| s.occupancy).max().unwrap();
                assert!(visits.len() as i64 > peak, "turnover adds traffic beyond the peak");
            }
        }
        // Seeded: the same seed, the same day.
        assert_eq!(
            visits(&day, 0.1, 42, &gates("entry"), &gates("exit")).unwrap(),
            visits(&day, 0.1, 42, &gates("entry"), &gates("exit")).unwrap()
        );
    }

    #[test]
    fn dirty_rows_are_clamped_or_listed_never_fatal() {
        let series = read(EXCERPT.as_bytes(), "DIRTY").unwrap();
        assert_eq!(series.clamped, 2, "one above capacity, one negative");
        assert_eq!(series.snapshots.iter().map(|s| s.occupancy).collect::<Vec<_>>(), [80, 0, 50]);
        let lines: Vec<u64> = series.skipped.iter().map(|(l, _)| *l).collect();
        assert_eq!(series.skipped.len(), 2, "{:?}", series.skipped);
        assert!(series.skipped.iter().any(|(_, why)| why.contains("timestamp")), "{:?}", series.skipped);
        assert!(lines.iter().all(|l| *l > 1));
        let visits = visits(&series.snapshots, 0.2, 1, &gates("entry"), &gates("exit")).unwrap();
        for s in &series.snapshots {
            assert_eq!(inside_at(&visits, s.at), s.occupancy);
        }
        assert!(super::visits(&series.snapshots, 1.5, 1, &gates("entry"), &gates("exit")).is_err());
    }
}
