//! The timer of a background task: a tick every `period` of real time
//! (a late tick is not made up for), each handing the task the clock's
//! time, until shutdown.

use std::time::Duration;

use parking_core::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::Clock;

/// Ticks every `period` until shut down.
#[derive(Debug)]
pub struct Every {
    tick: tokio::time::Interval,
    shutdown: CancellationToken,
    clock: Clock,
}

impl Every {
    /// The first tick comes at once.
    pub fn new(period: Duration, shutdown: &CancellationToken, clock: Clock) -> Self {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Every { tick, shutdown: shutdown.clone(), clock }
    }

    /// Waits for the next tick: the clock's time then, or `None` once shut
    /// down.
    pub async fn tick(&mut self) -> Option<Timestamp> {
        tokio::select! {
            _ = self.tick.tick() => Some(self.clock.now()),
            () = self.shutdown.cancelled() => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn ticks_every_period_with_the_clocks_time_until_shutdown() {
        let start: Timestamp = "2026-11-23T05:00:00+07:00".parse().unwrap_or(Timestamp::UNIX_EPOCH);
        let clock = Clock::manual(start);
        let shutdown = CancellationToken::new();
        let mut every = Every::new(Duration::from_secs(60), &shutdown, clock.clone());
        let began = tokio::time::Instant::now();
        assert_eq!(every.tick().await, Some(start), "the first tick is at once");
        clock.advance(Duration::from_secs(3600));
        assert_eq!(every.tick().await.map(|t| t.unix_millis() - start.unix_millis()), Some(3_600_000));
        assert_eq!(began.elapsed(), Duration::from_secs(60));
        shutdown.cancel();
        assert_eq!(every.tick().await, None);
    }
}
