//! The accounts of people: a username, a display name, a role and an
//! Argon2id password hash. A disabled account cannot sign in, and its
//! sessions end; so do they when its password is reset.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{argon, sessions};
use crate::db::Db;
use crate::tokens::Role;

/// A person's account as stored, never with the password's hash.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct User {
    pub user_id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub created_ms: i64,
    pub password_set_ms: i64,
    pub disabled_ms: Option<i64>,
}

/// A new account.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    /// 3 to 32 of a–z, 0–9, `.`, `_`, `-` (upper case is folded).
    pub username: String,
    /// The name shown and recorded; the username if absent.
    pub display_name: Option<String>,
    pub role: Role,
    /// 10 to 128 characters; absent, one is generated and shown once.
    pub password: Option<String>,
}

/// An account just made, or a password just reset: a generated password
/// is shown to its owner once.
#[derive(Debug, Serialize)]
pub struct WithPassword {
    pub user: User,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generated_password: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    /// A rule broken: a stable code the page translates, and the message.
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error("no user {0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

const MIN_PASSWORD: usize = 10;
const MAX_PASSWORD: usize = 128;

/// A username as stored: trimmed and folded to lower case.
pub fn username(raw: &str) -> Result<String, PeopleError> {
    let name = raw.trim().to_lowercase();
    let ok = (3..=32).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(name)
    } else {
        Err(PeopleError::Invalid("username_invalid", "username: 3 to 32 of a-z, 0-9, '.', '_', '-'".into()))
    }
}

fn display_name(raw: Option<&str>, username: &str) -> Result<String, PeopleError> {
    let name = raw.map_or(username, str::trim);
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(PeopleError::Invalid("name_invalid", "display_name: 1 to 100 characters".into()));
    }
    Ok(name.to_owned())
}

/// A password a person chose: long enough, and not their username.
fn acceptable(password: &str, username: &str) -> Result<(), PeopleError> {
    let n = password.chars().count();
    if !(MIN_PASSWORD..=MAX_PASSWORD).contains(&n) {
        return Err(PeopleError::Invalid(
            "password_weak",
            format!("password: {MIN_PASSWORD} to {MAX_PASSWORD} characters"),
        ));
    }
    if password.to_lowercase().contains(username) {
        return Err(PeopleError::Invalid("password_weak", "password: must not contain the username".into()));
    }
    Ok(())
}

/// A strong password: 20 letters and digits of an alphabet without look-alikes
/// (100 random bits), in groups of five.
pub fn generate() -> String {
    const ALPHABET: &[u8; 32] = b"abcdefghijkmnpqrstuvwxyz23456789";
    let random = [*uuid::Uuid::new_v4().as_bytes(), *uuid::Uuid::new_v4().as_bytes()].concat();
    let letters: Vec<char> = random.iter().take(20).map(|b| char::from(ALPHABET[usize::from(b & 31)])).collect();
    letters.chunks(5).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

/// The password to set: the one given, checked, or a generated one.
fn chosen(given: Option<String>, username: &str) -> Result<(String, bool), PeopleError> {
    match given {
        Some(p) => acceptable(&p, username).map(|()| (p, false)),
        None => Ok((generate(), true)),
    }
}

fn user(row: &AnyRow) -> Result<User, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(User {
        user_id: row.try_get("user_id")?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        role: role.parse().map_err(|e: String| sqlx::Error::Decode(e.into()))?,
        created_ms: row.try_get("created_ms")?,
        password_set_ms: row.try_get("password_set_ms")?,
        disabled_ms: row.try_get("disabled_ms")?,
    })
}

const COLUMNS: &str = "user_id, username, display_name, role, created_ms, password_set_ms, disabled_ms";

/// Makes an account.
pub async fn create(db: &Db, new: NewUser, now_ms: i64) -> Result<WithPassword, PeopleError> {
    let username = username(&new.username)?;
    let display_name = display_name(new.display_name.as_deref(), &username)?;
    let (password, generated) = chosen(new.password, &username)?;
    let hash = argon::hash(password.clone()).await?;
    let user_id = uuid::Uuid::new_v4().simple().to_string();
    let done = sqlx::query(
        "INSERT INTO users (user_id, username, display_name, role, password_hash, created_ms, password_set_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (username) DO NOTHING",
    )
    .bind(user_id.clone())
    .bind(username.clone())
    .bind(display_name.clone())
    .bind(new.role.as_str())
    .bind(hash)
    .bind(now_ms)
    .execute(&db.pool)
    .await?;
    if done.rows_affected() == 0 {
        return Err(PeopleError::Conflict(format!("username {username} is taken")));
    }
    let user = User {
        user_id,
        username,
        display_name,
        role: new.role,
        created_ms: now_ms,
        password_set_ms: now_ms,
        disabled_ms: None,
    };
    Ok(WithPassword { user, generated_password: generated.then_some(password) })
}

/// Every account, by username.
pub async fn list(db: &Db) -> Result<Vec<User>, sqlx::Error> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM users ORDER BY username")).fetch_all(&db.pool).await?;
    rows.iter().map(user).collect()
}

pub async fn find(db: &Db, username: &str) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE username = $1"))
        .bind(username.trim().to_lowercase())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(user).transpose()
}

async fn found(db: &Db, username: &str) -> Result<User, PeopleError> {
    find(db, username).await?.ok_or_else(|| PeopleError::NotFound(username.chars().take(32).collect()))
}

/// Disables (or enables again) an account; disabling ends its sessions.
pub async fn set_disabled(db: &Db, username: &str, disabled: bool, now_ms: i64) -> Result<User, PeopleError> {
    let user = found(db, username).await?;
    sqlx::query("UPDATE users SET disabled_ms = $1 WHERE user_id = $2")
        .bind(disabled.then_some(now_ms))
        .bind(user.user_id.clone())
        .execute(&db.pool)
        .await?;
    if disabled {
        sessions::revoke_user(db, &user.user_id, now_ms).await?;
    }
    found(db, username).await
}

/// Sets a new password (the one given, or a generated one); the account's
/// sessions end.
pub async fn reset_password(
    db: &Db,
    username: &str,
    password: Option<String>,
    now_ms: i64,
) -> Result<WithPassword, PeopleError> {
    let user = found(db, username).await?;
    let (password, generated) = chosen(password, &user.username)?;
    let hash = argon::hash(password.clone()).await?;
    sqlx::query("UPDATE users SET password_hash = $1, password_set_ms = $2 WHERE user_id = $3")
        .bind(hash)
        .bind(now_ms)
        .bind(user.user_id.clone())
        .execute(&db.pool)
        .await?;
    sessions::revoke_user(db, &user.user_id, now_ms).await?;
    Ok(WithPassword { user: found(db, username).await?, generated_password: generated.then_some(password) })
}

/// The live account `username` names, if `password` is its password. An
/// unknown name costs the same hash as a known one.
pub async fn check_password(db: &Db, username: &str, password: &str) -> Result<Option<User>, sqlx::Error> {
    let row = sqlx::query(&format!("SELECT {COLUMNS}, password_hash FROM users WHERE username = $1"))
        .bind(username.to_owned())
        .fetch_optional(&db.pool)
        .await?;
    let Some(row) = row else {
        argon::verify(password.to_owned(), argon::decoy().await?).await?;
        return Ok(None);
    };
    let stored: String = row.try_get("password_hash")?;
    let ok = argon::verify(password.to_owned(), stored).await?;
    let user = user(&row)?;
    Ok((ok && user.disabled_ms.is_none()).then_some(user))
}
