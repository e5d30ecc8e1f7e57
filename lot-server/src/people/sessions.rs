//! Server-side sign-in sessions. The browser holds an opaque random id
//! (`lss_` and 64 hex digits, 244 random bits) in an HttpOnly cookie; the
//! database holds its SHA-256 (random, so a fast hash is enough), who it
//! belongs to, and when it ends: after `idle` without a request, at
//! `absolute` after sign-in, or when revoked (sign-out; the person
//! disabled or given a new password; the token revoked; the driver's PIN
//! set again).

use sqlx::Row;

use super::Principal;
use crate::db::Db;
use crate::tokens::{TokenInfo, hash};

/// Every session id starts so.
pub const PREFIX: &str = "lss_";

/// A session's lifetime, and how its cookie is marked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    pub idle_ms: i64,
    pub absolute_ms: i64,
    /// The server is reached over HTTPS: the cookie is `Secure`.
    pub secure_cookie: bool,
}

impl Default for Policy {
    /// Half an hour idle, a 12-hour shift at most, plain HTTP.
    fn default() -> Self {
        Policy { idle_ms: 30 * 60_000, absolute_ms: 12 * 3_600_000, secure_cookie: false }
    }
}

/// Whose session it is.
#[derive(Clone, Copy, Debug)]
pub enum Holder<'a> {
    User(&'a str),
    Token(&'a TokenInfo),
    /// A driver: the owner whose data they see.
    Driver(&'a str),
}

/// A session's last use is written at most this often, so that a page
/// polling every few seconds does not write on every request.
const TOUCH_EVERY_MS: i64 = 60_000;

/// Starts a session; returns its id, to go in the cookie and nowhere else.
pub async fn open(db: &Db, holder: Holder<'_>, now_ms: i64, policy: &Policy) -> Result<String, sqlx::Error> {
    let id = format!("{PREFIX}{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let (user_id, token_id, owner_id) = match holder {
        Holder::User(u) => (Some(u.to_owned()), None, None),
        Holder::Token(t) => (None, Some(t.token_id.clone()), None),
        Holder::Driver(o) => (None, None, Some(o.to_owned())),
    };
    sqlx::query(
        "INSERT INTO login_sessions (session_hash, user_id, token_id, owner_id, created_ms, last_seen_ms, expires_ms) \
         VALUES ($1, $2, $3, $4, $5, $5, $6)",
    )
    .bind(hash(&id))
    .bind(user_id)
    .bind(token_id)
    .bind(owner_id)
    .bind(now_ms)
    .bind(now_ms + policy.absolute_ms)
    .execute(&db.pool)
    .await?;
    Ok(id)
}

/// The principal of a live session, its last use noted.
pub async fn verify(db: &Db, id: &str, now_ms: i64, policy: &Policy) -> Result<Option<Principal>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT s.last_seen_ms, \
                u.user_id, u.username, u.display_name, u.role AS user_role, u.disabled_ms, \
                t.token_id AS t_id, t.role AS token_role, t.label, t.created_ms AS token_created, t.revoked_ms AS t_revoked, \
                o.owner_id AS o_id, o.name AS owner_name \
         FROM login_sessions s \
         LEFT JOIN users u ON u.user_id = s.user_id \
         LEFT JOIN api_tokens t ON t.token_id = s.token_id \
         LEFT JOIN owners o ON o.owner_id = s.owner_id \
         WHERE s.session_hash = $1 AND s.revoked_ms IS NULL AND s.expires_ms > $2 AND s.last_seen_ms > $3",
    )
    .bind(hash(id))
    .bind(now_ms)
    .bind(now_ms - policy.idle_ms)
    .fetch_optional(&db.pool)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let role = |column: &str| -> Result<crate::tokens::Role, sqlx::Error> {
        let r: String = row.try_get(column)?;
        r.parse().map_err(|e: String| sqlx::Error::Decode(e.into()))
    };
    let principal = if row.try_get::<Option<String>, _>("user_id")?.is_some() {
        if row.try_get::<Option<i64>, _>("disabled_ms")?.is_some() {
            return Ok(None);
        }
        let (username, name): (String, String) = (row.try_get("username")?, row.try_get("display_name")?);
        Principal::person(&username, &name, role("user_role")?)
    } else if let Some(token_id) = row.try_get::<Option<String>, _>("t_id")? {
        if row.try_get::<Option<i64>, _>("t_revoked")?.is_some() {
            return Ok(None);
        }
        Principal::from_token(&TokenInfo {
            token_id,
            role: role("token_role")?,
            label: row.try_get("label")?,
            created_ms: row.try_get("token_created")?,
            revoked_ms: None,
        })
    } else if let Some(owner_id) = row.try_get::<Option<String>, _>("o_id")? {
        Principal::driver(&owner_id, &row.try_get::<String, _>("owner_name")?)
    } else {
        return Ok(None);
    };
    let last_seen: i64 = row.try_get("last_seen_ms")?;
    if now_ms - last_seen >= TOUCH_EVERY_MS {
        sqlx::query("UPDATE login_sessions SET last_seen_ms = $1 WHERE session_hash = $2")
            .bind(now_ms)
            .bind(hash(id))
            .execute(&db.pool)
            .await?;
    }
    Ok(Some(principal))
}

/// Ends one session (sign-out); false if it was not live.
pub async fn revoke(db: &Db, id: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE login_sessions SET revoked_ms = $1 WHERE session_hash = $2 AND revoked_ms IS NULL")
        .bind(now_ms)
        .bind(hash(id))
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Ends every session of a driver (their PIN set again).
pub async fn revoke_driver(db: &Db, owner_id: &str, now_ms: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("UPDATE login_sessions SET revoked_ms = $1 WHERE owner_id = $2 AND revoked_ms IS NULL")
        .bind(now_ms)
        .bind(owner_id.to_owned())
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// Ends every session of a person.
pub async fn revoke_user(db: &Db, user_id: &str, now_ms: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("UPDATE login_sessions SET revoked_ms = $1 WHERE user_id = $2 AND revoked_ms IS NULL")
        .bind(now_ms)
        .bind(user_id.to_owned())
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected())
}

/// Who signed in between two instants (for the day close): each person or
/// token's name, role, and first and last sign-in in the window.
pub async fn signed_in(db: &Db, from_ms: i64, to_ms: i64) -> Result<Vec<serde_json::Value>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT COALESCE(u.display_name, t.label) AS name, COALESCE(u.role, t.role) AS role, \
                COALESCE('user:' || u.username, 'token:' || t.token_id) AS id, \
                MIN(s.created_ms) AS first_ms, MAX(s.created_ms) AS last_ms, COUNT(*) AS n \
         FROM login_sessions s \
         LEFT JOIN users u ON u.user_id = s.user_id \
         LEFT JOIN api_tokens t ON t.token_id = s.token_id \
         WHERE s.created_ms >= $1 AND s.created_ms < $2 AND s.owner_id IS NULL \
         GROUP BY 1, 2, 3 ORDER BY 4",
    )
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(&db.pool)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(serde_json::json!({
                "name": r.try_get::<Option<String>, _>("name")?,
                "role": r.try_get::<Option<String>, _>("role")?,
                "id": r.try_get::<Option<String>, _>("id")?,
                "first_ms": r.try_get::<Option<i64>, _>("first_ms")?,
                "last_ms": r.try_get::<Option<i64>, _>("last_ms")?,
                "sessions": r.try_get::<i64, _>("n")?,
            }))
        })
        .collect()
}
