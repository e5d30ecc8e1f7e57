//! Lockout: after [`LIMIT`] failed sign-ins for one username within
//! [`WINDOW_MS`], every further attempt for it is refused, the right
//! password included, until the oldest of those failures leaves the
//! window. Kept in the database, so every instance of a lot's server
//! counts the same failures; names no one has are counted too, so a
//! refusal does not say which names exist.

use crate::db::Db;

/// Failures that lock a username.
pub const LIMIT: i64 = 5;
/// The window they must fall in: 15 minutes.
pub const WINDOW_MS: i64 = 15 * 60_000;

/// Seconds until `username` may try again, if it is locked out now.
pub async fn locked(db: &Db, username: &str, now_ms: i64) -> Result<Option<u64>, sqlx::Error> {
    let recent: Vec<i64> = sqlx::query_scalar(
        "SELECT at_ms FROM login_failures WHERE username = $1 AND at_ms > $2 ORDER BY at_ms DESC LIMIT $3",
    )
    .bind(username.to_owned())
    .bind(now_ms - WINDOW_MS)
    .bind(LIMIT)
    .fetch_all(&db.pool)
    .await?;
    if i64::try_from(recent.len()).unwrap_or(i64::MAX) < LIMIT {
        return Ok(None);
    }
    let oldest = recent.iter().copied().min().unwrap_or(now_ms);
    let wait_ms = (oldest + WINDOW_MS - now_ms).max(1);
    Ok(Some(u64::try_from((wait_ms + 999) / 1_000).unwrap_or(1)))
}

/// Notes a failed sign-in, and forgets every failure that left the window
/// (so guessing at many names cannot grow the table past what the
/// per-address rate limit lets in within one window).
pub async fn failed(db: &Db, username: &str, now_ms: i64) -> Result<(), sqlx::Error> {
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM login_failures WHERE at_ms <= $1").bind(now_ms - WINDOW_MS).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO login_failures (username, at_ms) VALUES ($1, $2)")
        .bind(username.to_owned())
        .bind(now_ms)
        .execute(&mut *tx)
        .await?;
    tx.commit().await
}

/// A successful sign-in clears the name's failures.
pub async fn cleared(db: &Db, username: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM login_failures WHERE username = $1").bind(username.to_owned()).execute(&db.pool).await?;
    Ok(())
}
