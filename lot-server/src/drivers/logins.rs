//! How a driver signs in. The desk sets a PIN on an owner who has a phone
//! number (6 digits, generated unless the driver chose one, shown once,
//! kept as an Argon2id hash); the driver signs in with that phone number
//! and PIN. Five wrong tries in 15 minutes lock the number (the same
//! lockout as people's, under `driver:{phone}`), and the desk can unlock
//! it at once. The desk can also print a one-time sign-in link (a QR),
//! good for a day.

use sqlx::Row;

use super::{DriverError, phone_key};
use crate::db::Db;
use crate::people::{argon, lockout, sessions};
use crate::tokens::hash;

/// How long a printed sign-in link works.
pub const LINK_MS: i64 = 24 * 3_600_000;

/// Every sign-in link's key starts so.
const LINK_PREFIX: &str = "dlk_";

/// What the desk hands the driver.
#[derive(Debug, serde::Serialize)]
pub struct PinSet {
    pub phone: String,
    /// Shown once, never stored.
    pub pin: String,
}

/// The lockout's name for a phone number.
fn locked_name(phone: &str) -> String {
    format!("driver:{phone}")
}

/// A PIN a driver may use: 6 to 8 digits, not all one digit, not a run.
fn check_pin(pin: &str) -> Result<(), DriverError> {
    let weak = || DriverError::Invalid("pin_weak", "pin: 6 to 8 digits, not all the same and not in a row".into());
    if !(6..=8).contains(&pin.len()) || !pin.bytes().all(|b| b.is_ascii_digit()) {
        return Err(weak());
    }
    let b = pin.as_bytes();
    let same = b.iter().all(|&d| d == b[0]);
    let up = b.windows(2).all(|w| w[1] == w[0] + 1);
    let down = b.windows(2).all(|w| w[0] == w[1] + 1);
    if same || up || down {
        return Err(weak());
    }
    Ok(())
}

/// Six random digits that pass [`check_pin`].
fn generate_pin() -> String {
    loop {
        let n = uuid::Uuid::new_v4().as_u128() % 1_000_000;
        let pin = format!("{n:06}");
        if check_pin(&pin).is_ok() {
            return pin;
        }
    }
}

/// Sets the owner's PIN (generated unless given) for the phone number on
/// their record; ends their sessions and clears their lockout.
pub async fn set_pin(db: &Db, owner_id: &str, pin: Option<String>, now_ms: i64) -> Result<PinSet, DriverError> {
    let row = sqlx::query("SELECT phone FROM owners WHERE owner_id = $1")
        .bind(owner_id.to_owned())
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| DriverError::NotFound(format!("no owner {owner_id}")))?;
    let phone: Option<String> = row.try_get("phone")?;
    let phone = phone_key(phone.as_deref().ok_or_else(|| {
        DriverError::Invalid("phone_missing", "the owner has no phone number: add one before setting a PIN".into())
    })?)?;
    let pin = match pin {
        Some(p) => {
            check_pin(p.trim())?;
            p.trim().to_owned()
        }
        None => generate_pin(),
    };
    let pin_hash = argon::hash(pin.clone()).await?;
    let mut tx = db.begin_write().await?;
    sqlx::query("DELETE FROM driver_logins WHERE owner_id = $1").bind(owner_id.to_owned()).execute(&mut *tx).await?;
    sqlx::query("INSERT INTO driver_logins (owner_id, phone_key, pin_hash, pin_set_ms) VALUES ($1, $2, $3, $4)")
        .bind(owner_id.to_owned())
        .bind(phone.clone())
        .bind(pin_hash)
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => {
                DriverError::Conflict(format!("another owner signs in with {phone}"))
            }
            e => DriverError::Db(e),
        })?;
    tx.commit().await?;
    sessions::revoke_driver(db, owner_id, now_ms).await?;
    lockout::cleared(db, &locked_name(&phone)).await?;
    Ok(PinSet { phone, pin })
}

/// Why a sign-in was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// Wrong phone or PIN (which, is not said).
    Wrong,
    /// Locked out for this many more seconds.
    Locked(u64),
}

/// The owner a phone number and PIN sign in as. An unknown number costs the
/// same Argon2 check and counts against the lockout the same.
pub async fn sign_in(db: &Db, phone: &str, pin: &str, now_ms: i64) -> Result<Result<String, Refused>, DriverError> {
    let Ok(phone) = phone_key(phone) else { return Ok(Err(Refused::Wrong)) };
    let name = locked_name(&phone);
    if let Some(wait) = lockout::locked(db, &name, now_ms).await? {
        return Ok(Err(Refused::Locked(wait)));
    }
    let row = sqlx::query("SELECT owner_id, pin_hash FROM driver_logins WHERE phone_key = $1")
        .bind(phone.clone())
        .fetch_optional(&db.pool)
        .await?;
    let stored = match &row {
        Some(r) => r.try_get("pin_hash")?,
        None => argon::decoy().await?,
    };
    let ok = argon::verify(pin.to_owned(), stored).await? && row.is_some();
    match (ok, row) {
        (true, Some(r)) if pin.len() <= 16 => {
            lockout::cleared(db, &name).await?;
            Ok(Ok(r.try_get("owner_id")?))
        }
        _ => {
            lockout::failed(db, &name, now_ms).await?;
            Ok(Err(Refused::Wrong))
        }
    }
}

/// Clears the lockout of the owner's phone number (at the desk).
pub async fn unlock(db: &Db, owner_id: &str) -> Result<String, DriverError> {
    let phone: String = sqlx::query_scalar("SELECT phone_key FROM driver_logins WHERE owner_id = $1")
        .bind(owner_id.to_owned())
        .fetch_optional(&db.pool)
        .await?
        .ok_or_else(|| DriverError::NotFound(format!("owner {owner_id} has no PIN set")))?;
    lockout::cleared(db, &locked_name(&phone)).await?;
    Ok(phone)
}

/// A one-time sign-in link's key for an owner who has a PIN set.
pub async fn make_link(db: &Db, owner_id: &str, now_ms: i64) -> Result<String, DriverError> {
    let known: Option<String> = sqlx::query_scalar("SELECT owner_id FROM driver_logins WHERE owner_id = $1")
        .bind(owner_id.to_owned())
        .fetch_optional(&db.pool)
        .await?;
    if known.is_none() {
        return Err(DriverError::NotFound(format!("owner {owner_id} has no PIN set: set one first")));
    }
    let key = format!("{LINK_PREFIX}{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    sqlx::query("INSERT INTO driver_links (link_hash, owner_id, created_ms, expires_ms) VALUES ($1, $2, $3, $4)")
        .bind(hash(&key))
        .bind(owner_id.to_owned())
        .bind(now_ms)
        .bind(now_ms + LINK_MS)
        .execute(&db.pool)
        .await?;
    Ok(key)
}

/// The owner a link signs in as, the link used up; `None` if it is
/// unknown, used or expired.
pub async fn redeem_link(db: &Db, key: &str, now_ms: i64) -> Result<Option<String>, DriverError> {
    if !key.starts_with(LINK_PREFIX) || key.len() > 100 {
        return Ok(None);
    }
    let mut tx = db.begin_write().await?;
    let owner: Option<String> = sqlx::query_scalar(
        "UPDATE driver_links SET used_ms = $1 WHERE link_hash = $2 AND used_ms IS NULL AND expires_ms > $1 \
         RETURNING owner_id",
    )
    .bind(now_ms)
    .bind(hash(key))
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(owner)
}

#[cfg(test)]
mod tests {
    #[test]
    fn pins_are_six_to_eight_digits_and_not_guessable_runs() {
        for good in ["493817", "20261207", "1357924"] {
            assert!(super::check_pin(good).is_ok(), "{good}");
        }
        for weak in ["12345", "123456", "654321", "000000", "12a456", "123456789", ""] {
            assert!(super::check_pin(weak).is_err(), "{weak}");
        }
        for _ in 0..100 {
            assert!(super::check_pin(&super::generate_pin()).is_ok());
        }
    }
}
