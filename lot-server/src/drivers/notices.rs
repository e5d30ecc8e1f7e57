//! Notices for a driver: an account running low, a pass about to end with
//! none after it, a stay that has gone on for hours. The app shows them
//! when asked; [`run`] sends each once through a [`Notifier`]. The only
//! notifier here writes to the log: no SMS or push is sent anywhere.

use std::future::Future;
use std::time::Duration;

use parking_core::timestamp::Timestamp;
use parking_runtime::Clock;
use serde::Serialize;
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use super::DriverError;
use crate::db::Db;

/// When a notice is due.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rules {
    /// An account under this balance.
    pub low_balance_vnd: i64,
    /// A pass ending within this many days, with no pass after it.
    pub pass_ending_days: i64,
    /// A stay inside for longer than this.
    pub long_stay_hours: i64,
}

impl Default for Rules {
    fn default() -> Self {
        Rules { low_balance_vnd: 50_000, pass_ending_days: 7, long_stay_hours: 12 }
    }
}

/// One notice; `key` names it so it is sent once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    LowBalance { key: String, account_id: String, balance_vnd: i64 },
    PassEnding { key: String, plate: String, valid_until: String },
    LongStay { key: String, plate: Option<String>, entered_ms: i64 },
}

impl Notice {
    pub fn key(&self) -> &str {
        match self {
            Notice::LowBalance { key, .. } | Notice::PassEnding { key, .. } | Notice::LongStay { key, .. } => key,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Notice::LowBalance { .. } => "low_balance",
            Notice::PassEnding { .. } => "pass_ending",
            Notice::LongStay { .. } => "long_stay",
        }
    }
}

/// The owner's notices now.
pub async fn due(db: &Db, owner_id: &str, rules: &Rules, now: Timestamp) -> Result<Vec<Notice>, DriverError> {
    let mut out = Vec::new();
    let today = now.local_date();
    let low = sqlx::query("SELECT account_id, balance_vnd FROM accounts WHERE owner_id = $1 AND balance_vnd < $2")
        .bind(owner_id.to_owned())
        .bind(rules.low_balance_vnd)
        .fetch_all(&db.pool)
        .await?;
    for r in &low {
        let account_id: String = r.try_get("account_id")?;
        out.push(Notice::LowBalance {
            key: format!("low_balance:{account_id}:{today}"),
            balance_vnd: r.try_get("balance_vnd")?,
            account_id,
        });
    }
    let horizon = today.checked_add(time::Duration::days(rules.pass_ending_days)).unwrap_or(today);
    let ending = sqlx::query(
        "SELECT p.pass_id, p.valid_until, v.plate FROM passes p JOIN vehicles v ON v.vehicle_id = p.vehicle_id \
         WHERE v.owner_id = $1 AND p.state = 'active' AND p.valid_until >= $2 AND p.valid_until <= $3 \
         AND NOT EXISTS (SELECT 1 FROM passes q WHERE q.vehicle_id = p.vehicle_id AND q.state = 'active' \
                         AND q.valid_until > p.valid_until)",
    )
    .bind(owner_id.to_owned())
    .bind(today.to_string())
    .bind(horizon.to_string())
    .fetch_all(&db.pool)
    .await?;
    for r in &ending {
        out.push(Notice::PassEnding {
            key: format!("pass_ending:{}", r.try_get::<String, _>("pass_id")?),
            plate: r.try_get("plate")?,
            valid_until: r.try_get("valid_until")?,
        });
    }
    let long = sqlx::query(
        "SELECT s.session_id, s.plate, s.entered_ms FROM sessions s WHERE s.state = 'open' AND s.entered_ms < $2 \
         AND (s.credential_key IN (SELECT 'tag:' || t.epc FROM tags t JOIN vehicles v ON v.vehicle_id = t.vehicle_id \
                                   WHERE v.owner_id = $1) \
              OR s.plate IN (SELECT plate FROM vehicles WHERE owner_id = $1))",
    )
    .bind(owner_id.to_owned())
    .bind(now.unix_millis() - rules.long_stay_hours * 3_600_000)
    .fetch_all(&db.pool)
    .await?;
    for r in &long {
        out.push(Notice::LongStay {
            key: format!("long_stay:{}", r.try_get::<String, _>("session_id")?),
            plate: r.try_get("plate")?,
            entered_ms: r.try_get("entered_ms")?,
        });
    }
    Ok(out)
}

/// Sends a notice outside the app (SMS, push…).
pub trait Notifier: Send + Sync {
    fn send(&self, owner_id: &str, notice: &Notice) -> impl Future<Output = Result<(), String>> + Send;
}

/// Writes each notice to the log, and sends nothing. The phone number is
/// not logged.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogOnly;

impl Notifier for LogOnly {
    async fn send(&self, owner_id: &str, notice: &Notice) -> Result<(), String> {
        tracing::info!(
            owner = owner_id,
            kind = notice.kind(),
            key = notice.key(),
            "driver notice (log only: nothing sent)"
        );
        Ok(())
    }
}

/// Sends every driver's new notices once, every `every`, until `shutdown`.
pub async fn run(
    db: Db,
    rules: Rules,
    notifier: impl Notifier,
    clock: Clock,
    every: Duration,
    shutdown: CancellationToken,
) {
    let mut tick = tokio::time::interval(every);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        if let Err(e) = send_new(&db, &rules, &notifier, clock.now()).await {
            tracing::warn!(error = %e, "driver notices: will try again");
        }
    }
}

/// One round: returns how many notices went out.
pub async fn send_new(db: &Db, rules: &Rules, notifier: &impl Notifier, now: Timestamp) -> Result<usize, DriverError> {
    let owners: Vec<String> = sqlx::query_scalar("SELECT owner_id FROM driver_logins").fetch_all(&db.pool).await?;
    let mut sent = 0;
    for owner in owners {
        for notice in due(db, &owner, rules, now).await? {
            let done: Option<i64> =
                sqlx::query_scalar("SELECT sent_ms FROM driver_notices WHERE owner_id = $1 AND notice_key = $2")
                    .bind(owner.clone())
                    .bind(notice.key().to_owned())
                    .fetch_optional(&db.pool)
                    .await?;
            if done.is_some() {
                continue;
            }
            if let Err(e) = notifier.send(&owner, &notice).await {
                tracing::warn!(owner = %owner, error = %e, "a driver notice could not be sent; will try again");
                continue;
            }
            sqlx::query("INSERT INTO driver_notices (owner_id, notice_key, sent_ms) VALUES ($1, $2, $3)")
                .bind(owner.clone())
                .bind(notice.key().to_owned())
                .bind(now.unix_millis())
                .execute(&db.pool)
                .await?;
            sent += 1;
        }
    }
    Ok(sent)
}
