//! The clock, as a value every task is handed: the wall clock, a
//! simulated one that runs `speed` times faster from a given start (so a
//! day of traffic passes in a minute and is still priced, journaled and
//! reported as a day), or a manual one that tests move by hand.
//!
//! A simulated clock is anchored to the wall clock, not to the process's
//! start: `sim = start + (wall - anchor) × speed`, so processes given the
//! same `PARKING_CLOCK` agree on the time. Its form is
//! `START@ANCHOR_MS*SPEED`, e.g. `2026-11-23T05:00:00+07:00@1795400000000*1440`.
//! Each binary parses it once, at start-up, into its settings
//! ([`Clock::from_env_value`]); nothing reads it afterwards.
//!
//! Timers set in clock time (a lane's timeouts, a dedup window) are slept
//! in real time: [`Clock::real_wait`] converts. A window meant in real
//! time (a webhook signature's age) is stretched by [`Clock::speed`].

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_core::Timestamp;

/// A simulated clock's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Simulated {
    /// The clock's time at the anchor.
    pub start_ms: i64,
    /// The wall time the clock starts from, Unix ms.
    pub anchor_ms: i64,
    pub speed: f64,
}

impl Simulated {
    /// The clock's time at wall time `wall_ms`.
    pub fn at(&self, wall_ms: i64) -> i64 {
        // Whole milliseconds of a bounded product: the cast cannot truncate.
        #[allow(clippy::cast_possible_truncation)]
        let elapsed = ((wall_ms - self.anchor_ms) as f64 * self.speed) as i64;
        self.start_ms.saturating_add(elapsed)
    }
}

impl std::str::FromStr for Simulated {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let shape = || {
            format!(
                "PARKING_CLOCK must be START@ANCHOR_MS*SPEED, e.g. 2026-11-23T05:00:00+07:00@1795400000000*1440, not {s:?}"
            )
        };
        let (start, rest) = s.trim().split_once('@').ok_or_else(shape)?;
        let (anchor, speed) = rest.split_once('*').ok_or_else(shape)?;
        let start: Timestamp = start.parse().map_err(|e| format!("PARKING_CLOCK start: {e}"))?;
        let anchor_ms: i64 = anchor.parse().map_err(|_| shape())?;
        let speed: f64 = speed.parse().map_err(|_| shape())?;
        if !(speed.is_finite() && (1.0..=1_000_000.0).contains(&speed)) {
            return Err(format!("PARKING_CLOCK speed must be 1 to 1,000,000, not {speed}"));
        }
        Ok(Simulated { start_ms: start.unix_millis(), anchor_ms, speed })
    }
}

/// `anchor` of a held clock until it is released.
const HELD: i64 = i64::MAX;

#[derive(Debug)]
enum Source {
    Wall,
    /// Runs from `start_ms` at `speed` since the wall time in `anchor`
    /// (`HELD`: stands at `start_ms` until [`Clock::release`]).
    Simulated {
        start_ms: i64,
        speed: f64,
        anchor: AtomicI64,
    },
    /// Stands still until moved ([`Clock::advance`]).
    Manual(AtomicI64),
}

/// The time as one process reads it. Cheap to clone: clones share the
/// source, so releasing or advancing one moves them all.
#[derive(Clone, Debug)]
pub struct Clock(Arc<Source>);

impl Default for Clock {
    fn default() -> Self {
        Clock::wall()
    }
}

fn wall_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0))
}

impl Clock {
    /// The wall clock.
    pub fn wall() -> Clock {
        Clock(Arc::new(Source::Wall))
    }

    /// A simulated clock.
    pub fn simulated(sim: Simulated) -> Clock {
        Clock(Arc::new(Source::Simulated {
            start_ms: sim.start_ms,
            speed: sim.speed,
            anchor: AtomicI64::new(sim.anchor_ms),
        }))
    }

    /// A clock that stands still at `start` until [`Clock::release`], then
    /// runs `speed` times faster: a demo's setup (accounts, tags) takes
    /// what real time it takes, and the day starts when the traffic does.
    pub fn held(start: Timestamp, speed: f64) -> Clock {
        Clock::simulated(Simulated { start_ms: start.unix_millis(), anchor_ms: HELD, speed })
    }

    /// A clock that stands at `start` until a test moves it.
    pub fn manual(start: Timestamp) -> Clock {
        Clock(Arc::new(Source::Manual(AtomicI64::new(start.unix_millis()))))
    }

    /// The clock `PARKING_CLOCK` names: its value if set (empty counts as
    /// unset), else the wall clock. A malformed value is an error that
    /// names the variable, for the caller to refuse to start with.
    pub fn from_env_value(value: Option<&str>) -> Result<Clock, String> {
        match value.map(str::trim) {
            Some(text) if !text.is_empty() => text.parse::<Simulated>().map(Clock::simulated),
            _ => Ok(Clock::wall()),
        }
    }

    /// The clock this process was started with: `PARKING_CLOCK`, read once
    /// by each binary's settings loader. A malformed value is a
    /// configuration error naming the variable.
    pub fn from_env() -> Result<Clock, parking_core::config::ConfigError> {
        let value = std::env::var("PARKING_CLOCK").ok();
        Clock::from_env_value(value.as_deref())
            .map_err(|reason| parking_core::config::ConfigError::BadEnv { name: "PARKING_CLOCK".into(), reason })
    }

    /// The current time, in Unix milliseconds.
    pub fn now_ms(&self) -> i64 {
        match &*self.0 {
            Source::Wall => wall_ms(),
            Source::Simulated { start_ms, speed, anchor } => {
                let anchor_ms = anchor.load(Ordering::SeqCst);
                if anchor_ms == HELD {
                    return *start_ms;
                }
                Simulated { start_ms: *start_ms, anchor_ms, speed: *speed }.at(wall_ms())
            }
            Source::Manual(ms) => ms.load(Ordering::SeqCst),
        }
    }

    /// The current time.
    pub fn now(&self) -> Timestamp {
        Timestamp::from_unix_millis(self.now_ms()).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    /// How many times faster than the wall clock it runs (1: the wall
    /// clock; a manual clock counts as 1).
    pub fn speed(&self) -> f64 {
        match &*self.0 {
            Source::Simulated { speed, .. } => *speed,
            Source::Wall | Source::Manual(_) => 1.0,
        }
    }

    /// True for a simulated clock.
    pub fn is_simulated(&self) -> bool {
        matches!(&*self.0, Source::Simulated { .. })
    }

    /// Starts a held clock; any other clock is left alone.
    pub fn release(&self) {
        if let Source::Simulated { anchor, .. } = &*self.0 {
            let _ = anchor.compare_exchange(HELD, wall_ms(), Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    /// Starts a held clock as if released at wall time `anchor_ms` (Unix
    /// ms, maybe in the future: until then it reads before its start), so
    /// that processes started later with `PARKING_CLOCK =
    /// START@ANCHOR_MS*SPEED` read the same time; any other clock is left
    /// alone.
    pub fn release_at(&self, anchor_ms: i64) {
        if let Source::Simulated { anchor, .. } = &*self.0 {
            let _ = anchor.compare_exchange(HELD, anchor_ms, Ordering::SeqCst, Ordering::SeqCst);
        }
    }

    /// Moves a manual clock forward by `by`; any other clock is left alone.
    pub fn advance(&self, by: Duration) {
        if let Source::Manual(ms) = &*self.0 {
            ms.fetch_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX), Ordering::SeqCst);
        }
    }

    /// How long to sleep, in real time, until the clock reads `at`.
    pub fn real_wait(&self, at: Timestamp) -> Duration {
        let ahead = u64::try_from(at.unix_millis() - self.now_ms()).unwrap_or(0);
        Duration::from_millis(ahead).div_f64(self.speed())
    }

    /// A real-time span as the clock measures it (a 5 s timeout is 5 s of
    /// clock time on the wall clock, 5 h at 3,600×).
    pub fn stretch(&self, real: Duration) -> Duration {
        real.mul_f64(self.speed())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn a_simulated_clock_runs_from_its_start_at_its_speed() {
        let c: Simulated = "2026-11-23T05:00:00+07:00@1795400000000*1440".parse().unwrap();
        let start: Timestamp = "2026-11-23T05:00:00+07:00".parse().unwrap();
        assert_eq!(c.at(1_795_400_000_000), start.unix_millis());
        // A real minute is a simulated day.
        assert_eq!(c.at(1_795_400_060_000) - start.unix_millis(), 86_400_000);
        assert_eq!(c.at(1_795_400_000_500) - start.unix_millis(), 720_000);
    }

    #[test]
    fn a_malformed_clock_is_named() {
        for bad in [
            "2026-11-23T05:00:00+07:00",
            "yesterday@1*2",
            "2026-11-23T05:00:00+07:00@x*2",
            "2026-11-23T05:00:00+07:00@1*0.5",
            "2026-11-23T05:00:00+07:00@1*inf",
        ] {
            let e = Clock::from_env_value(Some(bad)).unwrap_err();
            assert!(e.contains("PARKING_CLOCK"), "{e}");
        }
        assert!(!Clock::from_env_value(Some("  ")).unwrap().is_simulated());
        assert!(!Clock::from_env_value(None).unwrap().is_simulated());
    }

    #[test]
    fn a_held_clock_stands_until_released_and_clones_share_it() {
        let start: Timestamp = "2026-11-23T05:00:00+07:00".parse().unwrap();
        let c = Clock::held(start, 3600.0);
        let other = c.clone();
        assert_eq!(other.now(), start);
        assert_eq!(c.real_wait(Timestamp::from_unix_millis(start.unix_millis() + 3_600_000).unwrap()).as_secs(), 1);
        c.release();
        // Released: a clone runs too, never behind its start.
        assert!(other.now_ms() >= start.unix_millis());
        assert!((other.speed() - 3600.0).abs() < f64::EPSILON);
    }

    #[test]
    fn a_clock_released_at_a_wall_time_reads_as_another_process_would() {
        let start: Timestamp = "2026-11-23T05:00:00+07:00".parse().unwrap();
        let c = Clock::held(start, 3600.0);
        // Released ten seconds ahead: it reads ten hours before its start.
        let anchor = wall_ms() + 10_000;
        c.release_at(anchor);
        let other = Clock::from_env_value(Some(&format!("2026-11-23T05:00:00+07:00@{anchor}*3600"))).unwrap();
        let (a, b) = (c.now_ms(), other.now_ms());
        assert!((a - b).abs() < 60_000, "{a} and {b}: the same time, to a real millisecond or so");
        assert!(a < start.unix_millis() - 9 * 3_600_000, "not yet at its start: {a}");
        c.release();
        assert!((c.now_ms() - other.now_ms()).abs() < 60_000, "a later release changes nothing");
    }

    #[test]
    fn a_manual_clock_moves_only_when_told() {
        let start: Timestamp = "2026-11-23T05:00:00+07:00".parse().unwrap();
        let c = Clock::manual(start);
        assert_eq!(c.now(), start);
        c.clone().advance(Duration::from_secs(90));
        assert_eq!(c.now_ms() - start.unix_millis(), 90_000);
        c.release();
        assert_eq!(c.now_ms() - start.unix_millis(), 90_000);
        assert_eq!(c.stretch(Duration::from_secs(5)), Duration::from_secs(5));
    }
}
