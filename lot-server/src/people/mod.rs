//! Who is calling: people who sign in with a username and a password, and
//! machines with an API token ([`crate::tokens`]).
//!
//! Parts:
//! - `argon`: slow salted hashes (passwords, citizen IDs) on one thread;
//! - `users`: the accounts of people, their roles and passwords;
//! - `sessions`: server-side sign-in sessions, kept as hashes, with an
//!   idle and an absolute expiry;
//! - `lockout`: failed sign-ins per username, and the lockout they lead to;
//! - `actions`: what a person changed, into the tamper-evident journal;
//! - this file: [`Principal`], the caller as every handler sees it, and
//!   [`authenticate`], from a presented credential to a principal.

pub mod actions;
pub mod argon;
pub mod lockout;
pub mod sessions;
pub mod users;

use serde::Serialize;

use crate::db::Db;
use crate::tokens::{self, Role, TokenInfo};
pub use sessions::Policy;

/// The caller: a person signed in, or a machine's token (used directly or
/// through a session it signed in with).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub role: Role,
    /// The name shown and recorded: a person's display name, a token's label.
    pub name: String,
    /// `user:{username}` or `token:{token_id}`: unique and stable.
    pub id: String,
    /// A person's username.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// A machine token's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
}

impl Principal {
    pub fn from_token(t: &TokenInfo) -> Self {
        Principal {
            role: t.role,
            name: t.label.clone(),
            id: format!("token:{}", t.token_id),
            username: None,
            token_id: Some(t.token_id.clone()),
        }
    }

    pub fn from_user(u: &users::User) -> Self {
        Principal::person(&u.username, &u.display_name, u.role)
    }

    pub fn person(username: &str, display_name: &str, role: Role) -> Self {
        Principal {
            role,
            name: display_name.to_owned(),
            id: format!("user:{username}"),
            username: Some(username.to_owned()),
            token_id: None,
        }
    }

    /// A driver signed in to their own data: `driver:{owner_id}`.
    pub fn driver(owner_id: &str, name: &str) -> Self {
        Principal {
            role: Role::Driver,
            name: name.to_owned(),
            id: format!("driver:{owner_id}"),
            username: None,
            token_id: None,
        }
    }

    /// The owner a driver's principal stands for.
    pub fn owner_id(&self) -> Option<&str> {
        self.id.strip_prefix("driver:").filter(|_| self.role == Role::Driver)
    }

    /// How a change is signed in the records: "Nguyễn Văn An (operator,
    /// user:an.nguyen)".
    pub fn attribution(&self) -> String {
        format!("{} ({}, {})", self.name, self.role, self.id)
    }
}

/// An operator's note as the records keep it: trimmed, 3 to 500
/// characters; `None` if it is not that.
pub fn note(text: &str) -> Option<&str> {
    let note = text.trim();
    (3..=500).contains(&note.chars().count()).then_some(note)
}

/// The principal a presented credential stands for: an API token
/// (`lsk_…`) or a session id (`lss_…`); `None` if it is neither, unknown,
/// revoked or expired.
pub async fn authenticate(
    db: &Db,
    presented: &str,
    now_ms: i64,
    policy: &Policy,
) -> Result<Option<Principal>, sqlx::Error> {
    if presented.starts_with(sessions::PREFIX) {
        return sessions::verify(db, presented, now_ms, policy).await;
    }
    Ok(tokens::verify(db, presented).await?.as_ref().map(Principal::from_token))
}
