//! Public receipts: every invoice can be opened by anyone holding its
//! link, and by no one else.
//!
//! A receipt's key is 128 bits: the first half of HMAC-SHA256 under the
//! server's receipt secret of the sale the invoice is for, in hex. Only
//! its SHA-256 is stored (`invoices.receipt_hash`), so a copy of the
//! database opens no receipt; the server derives the key again to list a
//! receipt's link to operators and tax officers, and a lane can show the
//! link of a sale as soon as it is booked, before its invoice is issued.
//!
//! The secret is `[invoice] receipt_secret`; without one, the server makes
//! one and keeps it in the database (`server_keys`), which every instance
//! shares but which a copy of the database then carries.

use hmac::{Hmac, Mac};
use parking_core::secret::Secret;
use sha2::{Digest, Sha256};
use sqlx::Row;

use crate::db::Db;

/// The name the made secret is kept under in `server_keys`.
const KEPT: &str = "receipt_secret";

/// Derives receipts' keys: HMAC-SHA256 keyed with the secret.
#[derive(Clone)]
pub struct ReceiptKeys(Hmac<Sha256>);

impl std::fmt::Debug for ReceiptKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ReceiptKeys(***)")
    }
}

impl ReceiptKeys {
    /// Keys under `secret` (at least 16 bytes).
    pub fn new(secret: Secret) -> Result<Self, String> {
        if secret.expose().len() < 16 {
            return Err("receipt_secret must be at least 16 characters".into());
        }
        Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes())
            .map(ReceiptKeys)
            .map_err(|_| "receipt_secret cannot key HMAC-SHA256".to_owned())
    }

    /// The configured secret, else the one kept in the database (made and
    /// kept on first use; the first instance to keep one wins).
    pub async fn load(db: &Db, configured: Option<&Secret>) -> Result<Self, sqlx::Error> {
        if let Some(s) = configured {
            return ReceiptKeys::new(s.clone()).map_err(sqlx::Error::Protocol);
        }
        let made = format!("{}{}", uuid::Uuid::new_v4().simple(), uuid::Uuid::new_v4().simple());
        sqlx::query("INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
            .bind(KEPT)
            .bind(made)
            .execute(&db.pool)
            .await?;
        let kept: String =
            sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1").bind(KEPT).fetch_one(&db.pool).await?;
        ReceiptKeys::new(Secret::new(kept)).map_err(sqlx::Error::Protocol)
    }

    /// The key of the receipt of `sale_id`: 32 hex digits.
    pub fn key_for(&self, sale_id: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(b"receipt:");
        mac.update(sale_id.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..16])
    }

    /// What is stored of the key of `sale_id`'s receipt.
    pub fn hash_for(&self, sale_id: &str) -> String {
        stored(&self.key_for(sale_id))
    }
}

/// Gives the invoices issued before receipts existed theirs; returns how
/// many.
pub async fn backfill(db: &Db, keys: &ReceiptKeys) -> Result<usize, sqlx::Error> {
    let sales: Vec<String> =
        sqlx::query_scalar("SELECT sale_id FROM invoices WHERE receipt_hash IS NULL").fetch_all(&db.pool).await?;
    for sale in &sales {
        sqlx::query("UPDATE invoices SET receipt_hash = $1 WHERE sale_id = $2")
            .bind(keys.hash_for(sale))
            .bind(sale)
            .execute(&db.pool)
            .await?;
    }
    Ok(sales.len())
}

/// Receipts' links of one lot: `{public_url}/lots/{lot}/receipt/{key}`.
#[derive(Clone, Debug)]
pub struct ReceiptLinks {
    pub keys: ReceiptKeys,
    root: String,
}

impl ReceiptLinks {
    /// Links under `public_url` (`[server] public_url`), or from the site's
    /// root without one.
    pub fn new(keys: ReceiptKeys, public_url: Option<&str>, lot: &str) -> Self {
        let root = format!("{}/lots/{lot}/receipt/", public_url.unwrap_or("").trim_end_matches('/'));
        ReceiptLinks { keys, root }
    }

    /// The link of the receipt of `sale_id`'s invoice.
    pub fn url(&self, sale_id: &str) -> String {
        format!("{}{}", self.root, self.keys.key_for(sale_id))
    }
}

/// What is stored of a key: its SHA-256, hex.
pub fn stored(key: &str) -> String {
    hex::encode(Sha256::digest(key.as_bytes()))
}

/// A key as a receipt link carries it: 32 lower-case hex digits.
pub fn well_formed(key: &str) -> bool {
    key.len() == 32 && key.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An invoice found by its receipt key.
#[derive(Clone, Debug)]
pub struct Found {
    pub series: String,
    pub number: i64,
    pub xml: String,
}

/// The invoice whose receipt `key` opens, if any.
pub async fn find(db: &Db, key: &str) -> Result<Option<Found>, sqlx::Error> {
    if !well_formed(key) {
        return Ok(None);
    }
    let row = sqlx::query("SELECT series, number, xml FROM invoices WHERE receipt_hash = $1")
        .bind(stored(key))
        .fetch_optional(&db.pool)
        .await?;
    row.map(|r| Ok(Found { series: r.try_get("series")?, number: r.try_get("number")?, xml: r.try_get("xml")? }))
        .transpose()
}
