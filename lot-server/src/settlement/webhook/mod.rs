//! Transfer notifications from the services that watch the lot's bank
//! account (docs/settlement.md, "Transfer notifications"): parsing their bodies and verifying that they
//! come from the service. Pure functions over header values and bytes, so
//! the simulated bank in the tests signs with the same code the server
//! verifies with, and the HTTP layer stays thin.
//!
//! - **SePay**: `Authorization: Apikey <key>`, or an HMAC-SHA256 of
//!   `{timestamp}.{raw body}` in `X-SePay-Signature: sha256=<hex>` with the
//!   Unix seconds in `X-SePay-Timestamp`. Reply `{"success": true}`.
//! - **Casso v2**: `X-Casso-Signature: t=<unix ms>,v1=<hex>`, `v1` being
//!   HMAC-SHA512 of `{t}.{the body as compact JSON, keys sorted at every
//!   level}`.
//!
//! A signature's timestamp must be within the window (5 minutes) of now.
//! Replays inside the window are harmless: transfers are deduplicated by
//! the provider's id.

use std::time::Duration;

use hmac::{Hmac, Mac};
use parking_core::money::Vnd;
use parking_core::secret::Secret;
use parking_core::timestamp::Timestamp;
use serde::Deserialize;
use serde_json::Value;
use sha2::{Sha256, Sha512};

use super::{Incoming, Provider};

/// The keys the lot shares with its providers.
#[derive(Clone, Debug, Default)]
pub struct WebhookKeys {
    pub sepay_api_key: Option<Secret>,
    pub sepay_hmac_secret: Option<Secret>,
    pub casso_secret: Option<Secret>,
    /// How far a signature's timestamp may be from now, in clock time.
    /// It is meant in real time: under a simulated clock the server's
    /// wiring stretches it by the clock's speed ([`parking_runtime::Clock::stretch`]).
    pub window: Duration,
}

/// Why a notification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong credentials: 401.
    #[error("{0}")]
    Unauthorized(String),
    /// A body that is not a notification of this provider: 400.
    #[error("{0}")]
    BadBody(String),
    /// The provider is not configured on this lot: 404.
    #[error("{0} notifications are not configured on this lot")]
    NotConfigured(&'static str),
}

/// A parsed notification: an incoming transfer, or something to
/// acknowledge without booking (an outgoing transfer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    Incoming(Incoming),
    Outgoing { provider_tx: String },
}

fn unauthorized(s: impl Into<String>) -> WebhookError {
    WebhookError::Unauthorized(s.into())
}

fn within_window(at_ms: i64, now: Timestamp, window: Duration) -> Result<(), WebhookError> {
    // Saturating: a timestamp header is the sender's text, and one near
    // i64's ends must be refused, not overflow (found by cargo-fuzz).
    let skew = now.unix_millis().saturating_sub(at_ms).unsigned_abs();
    let limit = u64::try_from(window.as_millis()).unwrap_or(u64::MAX);
    if skew > limit {
        return Err(unauthorized(format!(
            "signature timestamp is {}s from now; the window is {}s",
            skew / 1000,
            window.as_secs()
        )));
    }
    Ok(())
}

fn hex_mac_ok<M: Mac>(mut mac: M, message: &[&[u8]], hex_sig: &str) -> bool {
    for part in message {
        mac.update(part);
    }
    match hex::decode(hex_sig.trim()) {
        Ok(sig) => mac.verify_slice(&sig).is_ok(),
        Err(_) => false,
    }
}

/// The SePay signature header value for `body` at `unix_secs`.
pub fn sign_sepay(secret: &Secret, unix_secs: i64, body: &[u8]) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes()).unwrap_or_else(|_| unreachable_hmac());
    mac.update(unix_secs.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

// HMAC takes keys of any length, so `new_from_slice` cannot fail.
fn unreachable_hmac<T>() -> T {
    unreachable!("HMAC accepts keys of any length")
}

/// Checks a SePay notification's credentials.
pub fn verify_sepay(
    keys: &WebhookKeys,
    authorization: Option<&str>,
    signature: Option<&str>,
    timestamp: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<(), WebhookError> {
    if keys.sepay_api_key.is_none() && keys.sepay_hmac_secret.is_none() {
        return Err(WebhookError::NotConfigured("SePay"));
    }
    if let (Some(secret), Some(sig)) = (&keys.sepay_hmac_secret, signature) {
        let ts = timestamp.ok_or_else(|| unauthorized("X-SePay-Signature needs X-SePay-Timestamp"))?;
        let secs: i64 = ts.trim().parse().map_err(|_| unauthorized("X-SePay-Timestamp is not Unix seconds"))?;
        within_window(secs.saturating_mul(1000), now, keys.window)?;
        let hex_sig = sig.trim().strip_prefix("sha256=").unwrap_or(sig.trim());
        let mac =
            <Hmac<Sha256> as Mac>::new_from_slice(secret.expose().as_bytes()).unwrap_or_else(|_| unreachable_hmac());
        if !hex_mac_ok(mac, &[ts.trim().as_bytes(), b".", body], hex_sig) {
            return Err(unauthorized("SePay signature does not match"));
        }
        return Ok(());
    }
    if let (Some(key), Some(auth)) = (&keys.sepay_api_key, authorization) {
        let given = auth.trim().strip_prefix("Apikey ").map(str::trim).unwrap_or_default();
        // Compare as HMACs of both, so the time taken says nothing about the key.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(b"apikey").unwrap_or_else(|_| unreachable_hmac());
        let want = {
            let mut m = mac.clone();
            m.update(key.expose().as_bytes());
            m.finalize().into_bytes()
        };
        let mut m = mac;
        m.update(given.as_bytes());
        if m.verify_slice(&want).is_err() || given.is_empty() {
            return Err(unauthorized("SePay API key does not match"));
        }
        return Ok(());
    }
    Err(unauthorized("SePay notification without Authorization: Apikey or X-SePay-Signature"))
}

/// "2023-03-25 14:02:37", Vietnam time, as the providers send it.
pub(super) fn local_time(what: &str, s: &str) -> Result<Timestamp, WebhookError> {
    let s = s.trim();
    let (date, time) =
        s.split_once([' ', 'T']).ok_or_else(|| bad(format!("{what} {s:?} is not YYYY-MM-DD HH:MM:SS")))?;
    format!("{date}T{time}+07:00").parse().map_err(|_| bad(format!("{what} {s:?} is not YYYY-MM-DD HH:MM:SS")))
}

fn bad(s: impl Into<String>) -> WebhookError {
    WebhookError::BadBody(s.into())
}

fn amount(what: &str, v: i64) -> Result<Vnd, WebhookError> {
    if v <= 0 || v > 100_000_000_000 {
        return Err(bad(format!("{what} {v} is not an amount of đồng received")));
    }
    Ok(Vnd::new(v))
}

/// Either a JSON number or a numeric string, as providers vary.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum IdValue {
    Num(i64),
    Text(String),
}

impl IdValue {
    fn text(self) -> String {
        match self {
            IdValue::Num(n) => n.to_string(),
            IdValue::Text(s) => s,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SepayBody {
    id: IdValue,
    #[serde(default)]
    gateway: Option<String>,
    transaction_date: String,
    #[serde(default)]
    account_number: Option<String>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    content: Option<String>,
    transfer_type: String,
    transfer_amount: i64,
    #[serde(default)]
    reference_code: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

/// Parses a SePay notification body.
pub fn parse_sepay(body: &[u8]) -> Result<Notice, WebhookError> {
    let b: SepayBody = serde_json::from_slice(body).map_err(|e| bad(format!("not a SePay notification: {e}")))?;
    let provider_tx = b.id.text();
    if provider_tx.is_empty() || provider_tx.len() > 100 {
        return Err(bad("SePay id must be 1 to 100 characters"));
    }
    match b.transfer_type.as_str() {
        "in" => {}
        "out" => return Ok(Notice::Outgoing { provider_tx }),
        other => return Err(bad(format!("transferType {other:?} is neither \"in\" nor \"out\""))),
    }
    let memo = b.content.or(b.description).unwrap_or_default();
    Ok(Notice::Incoming(Incoming {
        provider: Provider::Sepay,
        provider_tx,
        amount: amount("transferAmount", b.transfer_amount)?,
        memo: memo.chars().take(500).collect(),
        code_hint: b.code,
        bank_account: b.account_number.or(b.gateway),
        reference: b.reference_code,
        transferred_at: local_time("transactionDate", &b.transaction_date)?,
    }))
}

/// `value` as compact JSON with object keys sorted at every level.
pub fn canonical_json(value: &Value) -> String {
    fn sorted(v: &Value) -> Value {
        match v {
            Value::Object(map) => {
                let mut keys: Vec<&String> = map.keys().collect();
                keys.sort();
                Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&map[k]))).collect())
            }
            Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
            other => other.clone(),
        }
    }
    sorted(value).to_string()
}

/// The `X-Casso-Signature` header value for `body` at `t_ms`.
pub fn sign_casso(secret: &Secret, t_ms: i64, body: &Value) -> String {
    let mut mac =
        <Hmac<Sha512> as Mac>::new_from_slice(secret.expose().as_bytes()).unwrap_or_else(|_| unreachable_hmac());
    mac.update(format!("{t_ms}.{}", canonical_json(body)).as_bytes());
    format!("t={t_ms},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a Casso v2 notification's signature.
pub fn verify_casso(
    keys: &WebhookKeys,
    signature: Option<&str>,
    body: &Value,
    now: Timestamp,
) -> Result<(), WebhookError> {
    let Some(secret) = &keys.casso_secret else { return Err(WebhookError::NotConfigured("Casso")) };
    let header = signature.ok_or_else(|| unauthorized("Casso notification without X-Casso-Signature"))?;
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => t = Some(value.trim()),
            Some(("v1", value)) => v1 = Some(value.trim()),
            _ => {}
        }
    }
    let (Some(t), Some(v1)) = (t, v1) else {
        return Err(unauthorized("X-Casso-Signature must be t=<unix ms>,v1=<hex>"));
    };
    let t_ms: i64 = t.parse().map_err(|_| unauthorized("X-Casso-Signature t is not Unix milliseconds"))?;
    within_window(t_ms, now, keys.window)?;
    let mac = <Hmac<Sha512> as Mac>::new_from_slice(secret.expose().as_bytes()).unwrap_or_else(|_| unreachable_hmac());
    let message = format!("{t}.{}", canonical_json(body));
    if !hex_mac_ok(mac, &[message.as_bytes()], v1) {
        return Err(unauthorized("Casso signature does not match"));
    }
    Ok(())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CassoData {
    id: IdValue,
    #[serde(default)]
    reference: Option<String>,
    #[serde(default)]
    description: Option<String>,
    amount: i64,
    transaction_date_time: String,
    #[serde(default)]
    account_number: Option<String>,
}

#[derive(Debug, Deserialize)]
struct CassoBody {
    #[serde(default)]
    error: i64,
    data: CassoData,
}

/// Parses a Casso v2 notification body.
pub fn parse_casso(body: &Value) -> Result<Notice, WebhookError> {
    let b: CassoBody =
        serde_json::from_value(body.clone()).map_err(|e| bad(format!("not a Casso v2 notification: {e}")))?;
    if b.error != 0 {
        return Err(bad(format!("Casso notification carries error {}", b.error)));
    }
    let provider_tx = b.data.id.text();
    if provider_tx.is_empty() || provider_tx.len() > 100 {
        return Err(bad("Casso id must be 1 to 100 characters"));
    }
    if b.data.amount < 0 {
        return Ok(Notice::Outgoing { provider_tx });
    }
    Ok(Notice::Incoming(Incoming {
        provider: Provider::Casso,
        provider_tx,
        amount: amount("amount", b.data.amount)?,
        memo: b.data.description.unwrap_or_default().chars().take(500).collect(),
        code_hint: None,
        bank_account: b.data.account_number,
        reference: b.data.reference,
        transferred_at: local_time("transactionDateTime", &b.data.transaction_date_time)?,
    }))
}

#[cfg(test)]
mod tests;
