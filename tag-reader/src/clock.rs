//! The clock every process of the system reads ([`now`]): the wall clock,
//! or, for demos and replays, a simulated clock that runs `speed` times
//! faster from a given start, so a day of traffic passes in a minute and
//! is still priced, journaled and reported as a day.
//!
//! The simulated clock is anchored to the wall clock, not to the process's
//! start: `sim = start + (wall - anchor) × speed`. Processes given the same
//! `PARKING_CLOCK` therefore agree on the time. Its form is
//! `START@ANCHOR_MS*SPEED`, e.g. `2026-11-23T05:00:00+07:00@1795400000000*1440`.
//!
//! Timers set in clock time (a lane's timeouts, a dedup window) must be
//! slept in real time: [`real_wait`] converts. A window meant in real time
//! (a webhook signature's age) is stretched by [`speed`].

use std::sync::OnceLock;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_core::Timestamp;

/// A simulated clock.
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

static CLOCK: OnceLock<Option<Simulated>> = OnceLock::new();

/// `anchor_ms` of a clock held at its start until [`release`].
const HELD: i64 = i64::MAX;
/// The wall time a held clock was released at (`HELD` until then).
static RELEASED: AtomicI64 = AtomicI64::new(HELD);

fn wall_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(0))
}

fn clock() -> Option<Simulated> {
    *CLOCK.get_or_init(|| match std::env::var("PARKING_CLOCK") {
        Ok(text) if !text.trim().is_empty() => match text.parse::<Simulated>() {
            Ok(c) => Some(c),
            Err(e) => {
                // Refusing to start is the caller's to do (`check_env`);
                // here the wall clock is the safe answer.
                tracing::error!("{e}; using the wall clock");
                None
            }
        },
        _ => None,
    })
}

/// Checks `PARKING_CLOCK`, if set, so a process can refuse a typo at start.
pub fn check_env() -> Result<(), String> {
    match std::env::var("PARKING_CLOCK") {
        Ok(text) if !text.trim().is_empty() => text.parse::<Simulated>().map(|_| ()),
        _ => Ok(()),
    }
}

/// Makes this process's clock `sim`. Only before the clock is first read:
/// afterwards the time would jump under whoever read it.
pub fn simulate(sim: Simulated) -> Result<(), String> {
    CLOCK.set(Some(sim)).map_err(|_| "the clock was already read or set".to_owned())
}

/// Makes this process's clock stand still at `start_ms` until [`release`],
/// then run `speed` times faster: a demo's setup (accounts, tags) takes
/// what real time it takes, and the day starts when the traffic does.
pub fn simulate_held(start_ms: i64, speed: f64) -> Result<(), String> {
    simulate(Simulated { start_ms, anchor_ms: HELD, speed })
}

/// Starts a held clock; a clock that is not held is left alone.
pub fn release() {
    let _ = RELEASED.compare_exchange(HELD, wall_ms(), Ordering::SeqCst, Ordering::SeqCst);
}

/// The current time.
pub fn now() -> Timestamp {
    let wall = wall_ms();
    let ms = clock().map_or(wall, |mut c| {
        if c.anchor_ms == HELD {
            c.anchor_ms = RELEASED.load(Ordering::SeqCst);
            if c.anchor_ms == HELD {
                return c.start_ms;
            }
        }
        c.at(wall)
    });
    Timestamp::from_unix_millis(ms).unwrap_or(Timestamp::UNIX_EPOCH)
}

/// How many times faster than the wall clock the clock runs (1: it is the wall clock).
pub fn speed() -> f64 {
    clock().map_or(1.0, |c| c.speed)
}

/// How long to sleep, in real time, until the clock reads `at`.
pub fn real_wait(at: Timestamp) -> Duration {
    let ahead = u64::try_from(at.unix_millis() - now().unix_millis()).unwrap_or(0);
    Duration::from_millis(ahead).div_f64(speed())
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
            let e = bad.parse::<Simulated>().unwrap_err();
            assert!(e.contains("PARKING_CLOCK"), "{e}");
        }
    }
}
