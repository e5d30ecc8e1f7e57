//! API tokens: random, shown once, stored as their SHA-256. A token is
//! long and random (244 bits), so a fast hash is enough: there is nothing
//! to brute-force, and a lookup by hash keeps every request one indexed
//! read. Revoked tokens stay, for the record.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::Db;

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, tokens included.
    Admin,
    /// The lot's registry, sessions, exceptions and lists.
    Operator,
    /// Read-only: sessions, the event journal and (later) reports.
    TaxOfficer,
    /// A driver signed in to their own data (phone and PIN): never a
    /// token's or a person's role, so it cannot be named when one is made.
    #[serde(skip_deserializing)]
    Driver,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::TaxOfficer => "tax_officer",
            Role::Driver => "driver",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "admin" => Ok(Role::Admin),
            "operator" => Ok(Role::Operator),
            "tax_officer" => Ok(Role::TaxOfficer),
            other => Err(format!("unknown role `{other}`: expected admin, operator or tax_officer")),
        }
    }
}

/// A token as stored: never the token itself.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub token_id: String,
    pub role: Role,
    pub label: String,
    pub created_ms: i64,
    pub revoked_ms: Option<i64>,
}

/// A token just made: `secret` is shown to its owner once.
#[derive(Debug, Serialize)]
pub struct NewToken {
    #[serde(flatten)]
    pub info: TokenInfo,
    pub token: String,
}

/// Prefix of every token, so a leaked one is easy to recognise and grep for.
const PREFIX: &str = "lsk_";

/// The SHA-256 (hex) a long random secret is stored as: a token here, a
/// sign-in session's id in `people::sessions`.
pub(crate) fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Makes and stores a token for `role`.
pub async fn create(db: &Db, role: Role, label: &str, now_ms: i64) -> Result<NewToken, sqlx::Error> {
    // Two v4 UUIDs: 244 random bits from the OS generator.
    let token = format!("{PREFIX}{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
    let token_id = uuid::Uuid::new_v4().simple().to_string();
    sqlx::query("INSERT INTO api_tokens (token_id, token_hash, role, label, created_ms) VALUES ($1, $2, $3, $4, $5)")
        .bind(token_id.clone())
        .bind(hash(&token))
        .bind(role.as_str())
        .bind(label.to_owned())
        .bind(now_ms)
        .execute(&db.pool)
        .await?;
    Ok(NewToken {
        info: TokenInfo { token_id, role, label: label.to_owned(), created_ms: now_ms, revoked_ms: None },
        token,
    })
}

fn info(row: &sqlx::any::AnyRow) -> Result<TokenInfo, sqlx::Error> {
    let role: String = row.try_get("role")?;
    Ok(TokenInfo {
        token_id: row.try_get("token_id")?,
        role: role.parse().map_err(|e: String| sqlx::Error::Decode(e.into()))?,
        label: row.try_get("label")?,
        created_ms: row.try_get("created_ms")?,
        revoked_ms: row.try_get("revoked_ms")?,
    })
}

/// The live token `presented` is, if any.
pub async fn verify(db: &Db, presented: &str) -> Result<Option<TokenInfo>, sqlx::Error> {
    if !presented.starts_with(PREFIX) {
        return Ok(None);
    }
    let row = sqlx::query(
        "SELECT token_id, role, label, created_ms, revoked_ms FROM api_tokens \
         WHERE token_hash = $1 AND revoked_ms IS NULL",
    )
    .bind(hash(presented))
    .fetch_optional(&db.pool)
    .await?;
    row.as_ref().map(info).transpose()
}

/// Every token, newest first.
pub async fn list(db: &Db) -> Result<Vec<TokenInfo>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT token_id, role, label, created_ms, revoked_ms FROM api_tokens ORDER BY created_ms DESC, token_id",
    )
    .fetch_all(&db.pool)
    .await?;
    rows.iter().map(info).collect()
}

/// Revokes a token; false if there is no such live token.
pub async fn revoke(db: &Db, token_id: &str, now_ms: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("UPDATE api_tokens SET revoked_ms = $1 WHERE token_id = $2 AND revoked_ms IS NULL")
        .bind(now_ms)
        .bind(token_id.to_owned())
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn create_verify_revoke(db: &Db) {
        let t = create(db, Role::Operator, "gate staff", 1_000).await.unwrap();
        assert!(t.token.starts_with(PREFIX) && t.token.len() == PREFIX.len() + 64);
        let found = verify(db, &t.token).await.unwrap().unwrap();
        assert_eq!(found, t.info);
        // Nothing but the hash is stored.
        let stored: String = sqlx::query_scalar("SELECT token_hash FROM api_tokens").fetch_one(&db.pool).await.unwrap();
        assert_ne!(stored, t.token);
        assert!(!stored.contains(&t.token[PREFIX.len()..]));
        // A near miss is not the token.
        let mut wrong = t.token.clone();
        wrong.pop();
        wrong.push(if t.token.ends_with('0') { '1' } else { '0' });
        assert_eq!(verify(db, &wrong).await.unwrap(), None);
        assert_eq!(verify(db, "Bearer nonsense").await.unwrap(), None);
        assert!(revoke(db, &t.info.token_id, 2_000).await.unwrap());
        assert!(!revoke(db, &t.info.token_id, 3_000).await.unwrap());
        assert_eq!(verify(db, &t.token).await.unwrap(), None);
        assert_eq!(list(db).await.unwrap()[0].revoked_ms, Some(2_000));
    }
    crate::on_both_databases!(tokens_create_verify_revoke, create_verify_revoke);

    #[test]
    fn roles_parse_and_refuse() {
        for r in [Role::Admin, Role::Operator, Role::TaxOfficer] {
            assert_eq!(r.as_str().parse::<Role>(), Ok(r));
        }
        assert!("root".parse::<Role>().unwrap_err().contains("expected admin, operator or tax_officer"));
    }
}
