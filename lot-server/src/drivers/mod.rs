//! Drivers signed in to their own data: an owner of the registry who was
//! given a PIN at the desk signs in with their phone number and that PIN
//! (or a one-time link the desk prints), and sees only what is theirs.
//!
//! Parts:
//! - this file: phone numbers in one form, and what can go wrong;
//! - [`logins`]: PINs (Argon2id, shown once), sign-in with the lockout
//!   people have, one-time links, unlocking at the desk;
//! - [`view`]: a driver's vehicles, tags, accounts, passes and stays, each
//!   query scoped to the owner;
//! - [`notices`]: low balance, a pass about to end, a long stay: shown in
//!   the app, and sent outside it through a [`notices::Notifier`] (a
//!   log-only one here; nothing is sent anywhere).

pub mod logins;
pub mod notices;
pub mod view;

/// Why a driver's request was refused.
#[derive(Debug, thiserror::Error)]
pub enum DriverError {
    #[error("{1}")]
    Invalid(&'static str, String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// A Vietnamese phone number in one form: `0` and 9 or 10 digits, from any
/// common spelling (`0912 345 678`, `+84 912 345 678`, `84912345678`).
pub fn phone_key(text: &str) -> Result<String, DriverError> {
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let junk = text.chars().any(|c| !(c.is_ascii_digit() || " .-+()".contains(c)));
    let local = match digits.strip_prefix("84") {
        Some(rest) if text.trim_start().starts_with('+') || digits.len() == 11 => format!("0{rest}"),
        _ => digits,
    };
    if junk || !local.starts_with('0') || !(10..=11).contains(&local.len()) {
        return Err(DriverError::Invalid(
            "phone_invalid",
            "phone: a Vietnamese phone number, e.g. 0912 345 678".into(),
        ));
    }
    Ok(local)
}

#[cfg(test)]
mod tests {
    #[test]
    fn phone_numbers_are_read_in_any_common_spelling() {
        for p in ["0912345678", "0912 345 678", "0912.345.678", "+84 912 345 678", "84912345678", "(+84) 912-345-678"] {
            assert_eq!(super::phone_key(p).unwrap(), "0912345678", "{p}");
        }
        for bad in ["", "12345", "0912345", "091234567890", "phone 0912345678", "1912345678"] {
            assert!(super::phone_key(bad).is_err(), "{bad}");
        }
    }
}
