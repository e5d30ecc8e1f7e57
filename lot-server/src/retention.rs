//! Retention: raw records older than `[retention]` allows are deleted,
//! every hour, a bounded batch at a time so no sweep holds the writer
//! long.
//!
//! - gate events that happened more than `gate_events_days` ago (a stay
//!   keeps its own entry and exit times, gates and fee);
//! - sign-in sessions that ended (expired or revoked) and failed sign-ins
//!   more than `sign_ins_days` ago;
//! - lane photos taken more than `photos_days` ago, their files too.
//!
//! Never deleted: journal records and seals, invoices, sales, ledger
//! postings, stays, transfers. A lot keeps its books; only the raw
//! material they were made from ages out.

use std::time::Duration;

use parking_runtime::Clock;
use tokio_util::sync::CancellationToken;

use crate::db::Db;
use crate::photos::{PhotoError, Photos};
use crate::settings::RetentionSettings;

const DAY_MS: i64 = 86_400_000;
/// Rows deleted per statement.
const BATCH: i64 = 5_000;
const EVERY: Duration = Duration::from_secs(3600);

/// What one sweep deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Swept {
    pub gate_events: u64,
    pub sign_ins: u64,
    pub failed_sign_ins: u64,
    pub photos: u64,
}

/// Why a sweep stopped.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
    #[error("{0}")]
    Photos(#[from] PhotoError),
}

/// The instant before which records of `days` are deleted; `None` keeps them.
fn cutoff(now_ms: i64, days: u32) -> Option<i64> {
    (days > 0).then(|| now_ms - i64::from(days) * DAY_MS)
}

/// Deletes, a batch at a time, the rows of `table` (keyed by `key`)
/// that `condition` (on `$1`, the cutoff) selects.
async fn delete_before(db: &Db, (table, key, condition): Rows, before: i64, batch: i64) -> Result<u64, sqlx::Error> {
    let sql = format!("DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {condition} LIMIT $2)");
    let mut total = 0;
    loop {
        let n = sqlx::query(&sql).bind(before).bind(batch).execute(&db.pool).await?.rows_affected();
        total += n;
        if n < batch.unsigned_abs() {
            return Ok(total);
        }
        tokio::task::yield_now().await;
    }
}

/// One sweep at `now_ms`.
pub async fn sweep(db: &Db, photos: &Photos, policy: RetentionSettings, now_ms: i64) -> Result<Swept, SweepError> {
    sweep_in_batches(db, photos, policy, now_ms, BATCH).await
}

/// A table, its key, and the condition on `$1` that picks what ages out.
type Rows = (&'static str, &'static str, &'static str);
/// Raw gate events by when they happened; sign-in sessions by when they ended.
const EVENTS: Rows = ("gate_events", "event_id", "at_ms < $1");
const SIGN_INS: Rows = ("login_sessions", "session_hash", "COALESCE(revoked_ms, expires_ms) < $1");

async fn sweep_in_batches(
    db: &Db,
    photos: &Photos,
    policy: RetentionSettings,
    now_ms: i64,
    batch: i64,
) -> Result<Swept, SweepError> {
    let mut swept = Swept::default();
    if let Some(before) = cutoff(now_ms, policy.gate_events_days) {
        swept.gate_events = delete_before(db, EVENTS, before, batch).await?;
    }
    if let Some(before) = cutoff(now_ms, policy.sign_ins_days) {
        swept.sign_ins = delete_before(db, SIGN_INS, before, batch).await?;
        swept.failed_sign_ins = sqlx::query("DELETE FROM login_failures WHERE at_ms < $1")
            .bind(before)
            .execute(&db.pool)
            .await?
            .rows_affected();
    }
    if let Some(before) = cutoff(now_ms, policy.photos_days) {
        swept.photos = photos.sweep(before, batch).await?;
    }
    Ok(swept)
}

/// Sweeps every hour until `shutdown`, the first a minute after start.
pub async fn run(db: Db, photos: Photos, policy: RetentionSettings, clock: Clock, shutdown: CancellationToken) {
    let mut wait = Duration::from_secs(60);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        wait = EVERY;
        match sweep(&db, &photos, policy, clock.now_ms()).await {
            Ok(s) if s != Swept::default() => tracing::info!(
                gate_events = s.gate_events,
                sign_ins = s.sign_ins,
                failed_sign_ins = s.failed_sign_ins,
                photos = s.photos,
                "retention: deleted what is older than [retention] keeps"
            ),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "retention sweep failed; will retry"),
        }
    }
}

#[cfg(test)]
mod tests;
