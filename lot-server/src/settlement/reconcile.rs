//! Reconciliation: webhooks get lost (SePay itself recommends polling as
//! well), so a job asks the provider for its transaction list every so
//! often and books whatever the webhooks missed. Booking goes through the
//! same writer, deduplicated by the provider's id, so a transfer seen both
//! ways is counted once.
//!
//! The provider is behind [`TransactionFeed`]; [`SepayFeed`] speaks SePay's
//! `GET /userapi/transactions/list` (Bearer token, `since_id`) over the
//! runtime's HTTPS client (rustls; plain HTTP only to this machine).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use parking_core::money::Vnd;
use parking_core::secret::Secret;
use parking_runtime::Clock;
use parking_runtime::every::Every;
use parking_runtime::https::{HttpsClient, Request, SendError, header};
use serde::Deserialize;
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use super::settler::Settler;
use super::{Incoming, Provider};
use crate::db::Db;

/// Why a poll failed; the poller logs it and tries again next time.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("cannot ask the provider: {0}")]
    Request(String),
    #[error(transparent)]
    Send(#[from] SendError),
    #[error("the provider answered {status}: {body}")]
    Status { status: u16, body: String },
    #[error("the provider's answer is not a transaction list: {0}")]
    BadAnswer(String),
}

/// A page of transactions after a cursor, and the cursor to ask from next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub transfers: Vec<Incoming>,
    pub next_cursor: String,
}

/// A provider's list of incoming transactions.
pub trait TransactionFeed: Send + Sync {
    fn provider(&self) -> Provider;
    /// Transactions after `cursor` ("" for the start), oldest first.
    fn fetch(&self, cursor: &str) -> impl Future<Output = Result<Page, FeedError>> + Send;
}

/// SePay's transaction list API.
#[derive(Debug, Clone)]
pub struct SepayFeed {
    base_url: String,
    token: Secret,
    account_number: Option<String>,
    client: HttpsClient,
}

impl SepayFeed {
    pub fn new(base_url: &str, token: Secret, account_number: Option<String>, client: HttpsClient) -> Self {
        SepayFeed { base_url: base_url.trim_end_matches('/').to_owned(), token, account_number, client }
    }
}

#[derive(Debug, Deserialize)]
struct SepayList {
    #[serde(default)]
    transactions: Vec<SepayTx>,
}

#[derive(Debug, Deserialize)]
struct SepayTx {
    id: serde_json::Value,
    transaction_date: String,
    #[serde(default)]
    account_number: Option<String>,
    #[serde(default)]
    amount_in: serde_json::Value,
    #[serde(default)]
    transaction_content: Option<String>,
    #[serde(default)]
    reference_number: Option<String>,
    #[serde(default)]
    code: Option<String>,
}

/// "2277000.00", 2277000 or "2277000": whole đồng.
fn dong(v: &serde_json::Value) -> Option<i64> {
    match v {
        serde_json::Value::Number(n) => n.as_i64().or_else(|| dong(&serde_json::Value::String(n.to_string()))),
        serde_json::Value::String(s) => {
            let (whole, frac) = s.trim().split_once('.').unwrap_or((s.trim(), ""));
            if !frac.chars().all(|c| c == '0') {
                return None;
            }
            whole.parse().ok()
        }
        _ => None,
    }
}

fn id_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    }
}

impl TransactionFeed for SepayFeed {
    fn provider(&self) -> Provider {
        Provider::Sepay
    }

    async fn fetch(&self, cursor: &str) -> Result<Page, FeedError> {
        let mut url = format!("{}/userapi/transactions/list?limit=100", self.base_url);
        if !cursor.is_empty() {
            url.push_str(&format!("&since_id={cursor}"));
        }
        if let Some(a) = &self.account_number {
            url.push_str(&format!("&account_number={a}"));
        }
        let req = Request::get(&url)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token.expose()))
            .body(Full::new(Bytes::new()))
            .map_err(|e| FeedError::Request(e.to_string()))?;
        let (status, body) = self.client.send(req).await?;
        let status = status.as_u16();
        if status != 200 {
            return Err(FeedError::Status { status, body: String::from_utf8_lossy(&body).chars().take(200).collect() });
        }
        let list: SepayList = serde_json::from_slice(&body).map_err(|e| FeedError::BadAnswer(e.to_string()))?;
        let mut transfers = Vec::new();
        let mut next = cursor.to_owned();
        for tx in list.transactions {
            let id = id_text(&tx.id).ok_or_else(|| FeedError::BadAnswer("a transaction without an id".into()))?;
            if id.parse::<u64>().unwrap_or(0) > next.parse::<u64>().unwrap_or(0) {
                next = id.clone();
            }
            let amount = dong(&tx.amount_in).unwrap_or(0);
            if amount <= 0 {
                continue; // money out: not ours to book
            }
            let at = super::webhook::local_time("transaction_date", &tx.transaction_date)
                .map_err(|e| FeedError::BadAnswer(format!("transaction {id}: {e}")))?;
            transfers.push(Incoming {
                provider: Provider::Sepay,
                provider_tx: id,
                amount: Vnd::new(amount),
                memo: tx.transaction_content.unwrap_or_default(),
                code_hint: tx.code,
                bank_account: tx.account_number,
                reference: tx.reference_number,
                transferred_at: at,
            });
        }
        Ok(Page { transfers, next_cursor: next })
    }
}

/// What one poll did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct PollOutcome {
    pub seen: usize,
    /// Booked now: the webhooks had missed them.
    pub booked: usize,
}

/// Polls once: fetches after the stored cursor, books each transfer, and
/// moves the cursor only past what was booked.
pub async fn poll_once<F: TransactionFeed>(
    db: &Db,
    feed: &F,
    settler: &Settler,
    now_ms: i64,
) -> anyhow::Result<PollOutcome> {
    let provider = feed.provider().as_str();
    let cursor: Option<String> = sqlx::query("SELECT cursor FROM provider_cursors WHERE provider = $1")
        .bind(provider)
        .fetch_optional(&db.pool)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
    let page = feed.fetch(cursor.as_deref().unwrap_or("")).await?;
    let mut out = PollOutcome { seen: page.transfers.len(), booked: 0 };
    for t in page.transfers {
        let id = t.transfer_id();
        let d = settler.submit(t).await?;
        if d != super::Disposition::Duplicate {
            tracing::warn!(transfer = %id, outcome = d.name(), "reconciliation booked a transfer no webhook reported");
            out.booked += 1;
        }
    }
    sqlx::query(
        "INSERT INTO provider_cursors (provider, cursor, polled_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (provider) DO UPDATE SET cursor = excluded.cursor, polled_ms = excluded.polled_ms",
    )
    .bind(provider)
    .bind(page.next_cursor)
    .bind(now_ms)
    .execute(&db.pool)
    .await?;
    Ok(out)
}

/// Polls every `every` until `shutdown`.
pub async fn run<F: TransactionFeed>(
    db: Db,
    feed: F,
    settler: Settler,
    every: Duration,
    clock: Clock,
    shutdown: CancellationToken,
) {
    let mut every = Every::new(every, &shutdown, clock);
    while let Some(now) = every.tick().await {
        match poll_once(&db, &feed, &settler, now.unix_millis()).await {
            Ok(o) if o.booked > 0 => {
                tracing::warn!(seen = o.seen, booked = o.booked, "reconciliation found missed transfers")
            }
            Ok(o) => tracing::debug!(seen = o.seen, "reconciliation: nothing missed"),
            Err(e) => tracing::warn!(error = %e, "reconciliation poll failed; will retry"),
        }
    }
}
