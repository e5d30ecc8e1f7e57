//! SQLite's write-ahead log kept bounded, off the commit path.
//!
//! SQLite's own automatic checkpoint runs inside whichever commit crosses
//! 1,000 pages, with its fsyncs: that commit, and every event waiting on
//! it, took the tail of the ingest latency. So it is off, and this task
//! checkpoints instead, every second:
//!
//! - a PASSIVE checkpoint copies what it can into the database file and
//!   never blocks a writer;
//! - but under steady load a reader always holds some frame, so PASSIVE
//!   alone never lets the log start over: after a busy day the log was
//!   a gigabyte beside a 50 MB database. When the log holds more than
//!   [`Policy::restart_bytes`], a RESTART checkpoint waits (through the
//!   busy timeout) for the readers to move on and copies the rest, so the
//!   next commit writes the log from its start again;
//! - when nothing was written since the last tick (the lot is idle), a
//!   TRUNCATE empties the file too, so a quiet lot keeps no log on disk;
//! - `journal_size_limit` ([`LIMIT_BYTES`], set on every connection) is
//!   the backstop: whenever the log starts over, SQLite cuts the file back
//!   to it.

use std::time::Duration;

use sqlx::{AnyPool, Row};

/// `PRAGMA journal_size_limit`: the most a log left on disk keeps.
pub const LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// When the checkpointer acts.
#[derive(Clone, Copy, Debug)]
pub struct Policy {
    /// How often it looks.
    pub every: Duration,
    /// A log above this many bytes is emptied even while writers are busy.
    pub restart_bytes: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { every: Duration::from_secs(1), restart_bytes: 32 * 1024 * 1024 }
    }
}

/// What one checkpoint reported: frames in the log, and of them copied.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Frames {
    log: i64,
    copied: i64,
}

async fn checkpoint(pool: &AnyPool, mode: &str) -> Result<Frames, sqlx::Error> {
    let row = sqlx::query(&format!("PRAGMA wal_checkpoint({mode})")).fetch_one(pool).await?;
    Ok(Frames { log: row.try_get::<i64, _>(1)?, copied: row.try_get::<i64, _>(2)? })
}

/// What to do after a PASSIVE checkpoint saw `now`, `before` the last one.
fn next_step(now: Frames, before: Option<Frames>, page_bytes: i64, policy: Policy) -> Option<&'static str> {
    let idle = now.log > 0 && now.copied == now.log && before.is_some_and(|b| b.log == now.log);
    if idle {
        Some("TRUNCATE")
    } else if now.log.saturating_mul(page_bytes) > policy.restart_bytes {
        Some("RESTART")
    } else {
        None
    }
}

/// Runs until the pool closes.
pub async fn run(pool: AnyPool, policy: Policy) {
    let page_bytes = match sqlx::query_scalar::<_, i64>("PRAGMA page_size").fetch_one(&pool).await {
        Ok(n) if n > 0 => n,
        _ => 4096,
    };
    let mut tick = tokio::time::interval(policy.every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut before = None;
    loop {
        tick.tick().await;
        if pool.is_closed() {
            return;
        }
        let now = match checkpoint(&pool, "PASSIVE").await {
            Ok(f) => f,
            Err(e) => {
                if pool.is_closed() {
                    return;
                }
                tracing::warn!(error = %e, "SQLite checkpoint failed; will retry");
                continue;
            }
        };
        let step = next_step(now, before, page_bytes, policy);
        before = Some(now);
        if let Some(mode) = step {
            match checkpoint(&pool, mode).await {
                Ok(after) => before = Some(after),
                Err(e) => tracing::warn!(error = %e, "SQLite log could not be emptied; will retry"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: Policy = Policy { every: Duration::from_secs(1), restart_bytes: 1_000 };

    #[test]
    fn a_long_log_starts_over_and_an_idle_one_is_emptied() {
        let f = |log, copied| Frames { log, copied };
        // Over the limit, busy or not: the log starts over.
        assert_eq!(next_step(f(300, 10), Some(f(200, 10)), 4, POLICY), Some("RESTART"));
        // Growing, under the limit: PASSIVE is enough.
        assert_eq!(next_step(f(200, 200), Some(f(100, 100)), 4, POLICY), None);
        // Nothing written since the last look, all copied: idle.
        assert_eq!(next_step(f(200, 200), Some(f(200, 200)), 4, POLICY), Some("TRUNCATE"));
        assert_eq!(next_step(f(300, 300), Some(f(300, 300)), 4, POLICY), Some("TRUNCATE"));
        // Unchanged but a reader still holds frames: not yet.
        assert_eq!(next_step(f(200, 150), Some(f(200, 150)), 4, POLICY), None);
        // An empty log, or the first look: nothing to do.
        assert_eq!(next_step(f(0, 0), Some(f(0, 0)), 4, POLICY), None);
        assert_eq!(next_step(f(200, 200), None, 4, POLICY), None);
    }
}
