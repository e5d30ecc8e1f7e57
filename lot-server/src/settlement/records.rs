//! Reading settlement's tables for the API and the dashboard.

use serde::{Deserialize, Serialize};
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::db::{Db, page};

/// A query refused (400) or a database failure.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// One transfer as booked.
#[derive(Clone, Debug, Serialize)]
pub struct TransferRecord {
    pub transfer_id: String,
    pub provider: String,
    pub provider_tx: String,
    pub amount_vnd: i64,
    pub memo: String,
    pub bank_account: Option<String>,
    pub reference: Option<String>,
    pub transferred_ms: i64,
    pub received_ms: i64,
    pub payment_code: Option<String>,
    pub target: Option<String>,
    pub applied_vnd: i64,
    pub credited_vnd: i64,
    pub refund_vnd: i64,
    pub refund_paid_ms: Option<i64>,
    /// matched | held | suspense | resolved
    pub state: String,
    pub note: Option<String>,
    pub resolved_by: Option<String>,
    pub resolved_ms: Option<i64>,
}

impl TransferRecord {
    pub(crate) fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(TransferRecord {
            transfer_id: r.try_get("transfer_id")?,
            provider: r.try_get("provider")?,
            provider_tx: r.try_get("provider_tx")?,
            amount_vnd: r.try_get("amount_vnd")?,
            memo: r.try_get("memo")?,
            bank_account: r.try_get("bank_account")?,
            reference: r.try_get("reference")?,
            transferred_ms: r.try_get("transferred_ms")?,
            received_ms: r.try_get("received_ms")?,
            payment_code: r.try_get("payment_code")?,
            target: r.try_get("target")?,
            applied_vnd: r.try_get("applied_vnd")?,
            credited_vnd: r.try_get("credited_vnd")?,
            refund_vnd: r.try_get("refund_vnd")?,
            refund_paid_ms: r.try_get("refund_paid_ms")?,
            state: r.try_get("state")?,
            note: r.try_get("note")?,
            resolved_by: r.try_get("resolved_by")?,
            resolved_ms: r.try_get("resolved_ms")?,
        })
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferQuery {
    /// `suspense` (held ones included), `matched`, `resolved`, `refunds`
    /// (refunds queued and not yet paid) or `all` (the default).
    pub state: Option<String>,
    pub payment_code: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Transfers, newest first.
pub async fn transfers(db: &Db, q: &TransferQuery) -> Result<Vec<TransferRecord>, QueryError> {
    let (limit, offset) = page(q.limit, q.offset).map_err(QueryError::Invalid)?;
    let filter = match q.state.as_deref().unwrap_or("all") {
        "all" => "1 = 1",
        "suspense" => "state IN ('suspense', 'held')",
        "matched" => "state = 'matched'",
        "resolved" => "state = 'resolved'",
        "refunds" => "refund_vnd > 0 AND refund_paid_ms IS NULL",
        other => {
            return Err(QueryError::Invalid(format!(
                "state must be all, suspense, matched, resolved or refunds, not {other:?}"
            )));
        }
    };
    let sql = format!(
        "SELECT * FROM transfers WHERE {filter} AND ($1 IS NULL OR payment_code = $1) \
         ORDER BY received_ms DESC, transfer_id LIMIT $2 OFFSET $3"
    );
    let rows = sqlx::query(&sql)
        .bind(q.payment_code.as_ref().map(|c| c.to_ascii_uppercase()))
        .bind(limit)
        .bind(offset)
        .fetch_all(&db.pool)
        .await
        .map_err(QueryError::Db)?;
    rows.iter().map(TransferRecord::from_row).collect::<Result<_, _>>().map_err(QueryError::Db)
}

pub async fn transfer(db: &Db, id: &str) -> Result<Option<TransferRecord>, sqlx::Error> {
    let row = sqlx::query("SELECT * FROM transfers WHERE transfer_id = $1")
        .bind(id.to_owned())
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(TransferRecord::from_row).transpose()
}

/// One payment request of an exit lane.
#[derive(Clone, Debug, Serialize)]
pub struct RequestRecord {
    pub payment_code: String,
    pub lot: String,
    pub gate: String,
    pub credential_key: String,
    pub class: String,
    pub entered_ms: i64,
    pub fee_vnd: i64,
    pub tariff_version: String,
    pub account_id: Option<String>,
    pub requested_ms: i64,
    pub paid_vnd: i64,
    /// owed | paid
    pub state: String,
    pub settled_ms: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestQuery {
    /// `owed`, `paid` or `all` (the default).
    pub state: Option<String>,
    pub gate: Option<String>,
    pub limit: Option<i64>,
    pub offset: Option<i64>,
}

/// Payment requests, newest first.
pub async fn requests(db: &Db, q: &RequestQuery) -> Result<Vec<RequestRecord>, QueryError> {
    let (limit, offset) = page(q.limit, q.offset).map_err(QueryError::Invalid)?;
    let state = match q.state.as_deref().unwrap_or("all") {
        "all" => None,
        s @ ("owed" | "paid") => Some(s.to_owned()),
        other => return Err(QueryError::Invalid(format!("state must be all, owed or paid, not {other:?}"))),
    };
    let rows = sqlx::query(
        "SELECT * FROM payment_requests WHERE ($1 IS NULL OR state = $1) AND ($2 IS NULL OR gate = $2) \
         ORDER BY requested_ms DESC, payment_code LIMIT $3 OFFSET $4",
    )
    .bind(state)
    .bind(q.gate.clone())
    .bind(limit)
    .bind(offset)
    .fetch_all(&db.pool)
    .await
    .map_err(QueryError::Db)?;
    rows.iter()
        .map(|r| {
            Ok(RequestRecord {
                payment_code: r.try_get("payment_code")?,
                lot: r.try_get("lot")?,
                gate: r.try_get("gate")?,
                credential_key: r.try_get("credential_key")?,
                class: r.try_get("class")?,
                entered_ms: r.try_get("entered_ms")?,
                fee_vnd: r.try_get("fee_vnd")?,
                tariff_version: r.try_get("tariff_version")?,
                account_id: r.try_get("account_id")?,
                requested_ms: r.try_get("requested_ms")?,
                paid_vnd: r.try_get("paid_vnd")?,
                state: r.try_get("state")?,
                settled_ms: r.try_get("settled_ms")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(QueryError::Db)
}
