//! Tax over HTTP, read-only and open to every role (a tax officer's token
//! reads everything here and changes nothing): the revenue report and its
//! exports, invoices and their XML, and the journal's verification.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::Row as _;

use super::{ApiError, AppState, Params};
use crate::tax::export::{self, ExportFormat};
use crate::tax::report::{self, ReportError, ReportQuery};
use crate::tax::sheet_words::Lang;

pub(super) fn read_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/reports/revenue", get(revenue))
        .route("/api/v1/invoices", get(invoices))
        .route("/api/v1/invoices/{series}/{number}", get(invoice_xml))
        .route("/api/v1/journal/verify", get(verify))
}

impl From<ReportError> for ApiError {
    fn from(e: ReportError) -> Self {
        match e {
            ReportError::Invalid(m) => ApiError::bad(m),
            ReportError::Db(e) => e.into(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RevenueParams {
    from: String,
    to: String,
    lot: Option<String>,
    class: Option<String>,
    channel: Option<String>,
    format: Option<ExportFormat>,
    /// The workbook's language: vi (default) or en.
    lang: Option<Lang>,
}

async fn revenue(State(s): State<AppState>, Params(p): Params<RevenueParams>) -> Result<Response, ApiError> {
    let lot = p.lot.unwrap_or_else(|| s.0.lot.as_str().to_owned());
    let q = ReportQuery::new(&lot, &p.from, &p.to, p.class, p.channel.as_deref())?;
    let r = report::revenue(&s.0.db, &q, s.0.clock.now()).await?;
    let format = p.format.unwrap_or(ExportFormat::Json);
    let body =
        export::export(&r, format, p.lang.unwrap_or_default()).map_err(|e| ApiError::Unexpected(e.to_string()))?;
    let name = format!("attachment; filename=\"revenue-{}-{}-{}.{}\"", r.lot, r.from, r.to, format.extension());
    Ok(([(header::CONTENT_TYPE, format.content_type().to_owned()), (header::CONTENT_DISPOSITION, name)], body)
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InvoiceParams {
    from: Option<String>,
    to: Option<String>,
    series: Option<String>,
    limit: Option<i64>,
}

/// An invoice, without its XML (`/api/v1/invoices/{series}/{number}`).
#[derive(Serialize)]
struct InvoiceRecord {
    series: String,
    number: i64,
    sale_id: String,
    lot: String,
    issued_ms: i64,
    lookup_code: String,
    net_vnd: i64,
    vat_vnd: i64,
    total_vnd: i64,
    delivery: String,
    attempts: i64,
    last_error: Option<String>,
    /// The receipt anyone holding this link can open.
    receipt_url: String,
}

async fn invoices(
    State(s): State<AppState>,
    Params(p): Params<InvoiceParams>,
) -> Result<Json<Vec<InvoiceRecord>>, ApiError> {
    // Local days, both included.
    let from = match p.from {
        Some(d) => report::midnight_ms(report::local_date("from", &d)?),
        None => i64::MIN,
    };
    let to = match p.to {
        Some(d) => {
            let last = report::local_date("to", &d)?;
            report::midnight_ms(last.next_day().unwrap_or(last))
        }
        None => i64::MAX,
    };
    let limit = p.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::bad("limit must be 1 to 1000"));
    }
    let rows = sqlx::query(
        "SELECT series, number, sale_id, lot, issued_ms, lookup_code, net_vnd, vat_vnd, total_vnd, delivery, \
         attempts, last_error FROM invoices WHERE issued_ms >= $1 AND issued_ms < $2 AND ($3 IS NULL OR series = $3) \
         ORDER BY series, number LIMIT $4",
    )
    .bind(from)
    .bind(to)
    .bind(p.series)
    .bind(limit)
    .fetch_all(&s.0.db.pool)
    .await?;
    let out = rows
        .iter()
        .map(|r| {
            let sale_id: String = r.try_get(2)?;
            Ok(InvoiceRecord {
                receipt_url: s.0.receipt_url(&sale_id),
                series: r.try_get(0)?,
                number: r.try_get(1)?,
                sale_id,
                lot: r.try_get(3)?,
                issued_ms: r.try_get(4)?,
                lookup_code: r.try_get(5)?,
                net_vnd: r.try_get(6)?,
                vat_vnd: r.try_get(7)?,
                total_vnd: r.try_get(8)?,
                delivery: r.try_get(9)?,
                attempts: r.try_get(10)?,
                last_error: r.try_get(11)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    Ok(Json(out))
}

async fn invoice_xml(
    State(s): State<AppState>,
    Path((series, number)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let number: i64 = number.parse().map_err(|_| ApiError::bad("the invoice number must be a whole number"))?;
    let xml: Option<String> = sqlx::query_scalar("SELECT xml FROM invoices WHERE series = $1 AND number = $2")
        .bind(series.clone())
        .bind(number)
        .fetch_optional(&s.0.db.pool)
        .await?;
    let xml = xml.ok_or_else(|| ApiError::NotFound(format!("no invoice {series}-{number}")))?;
    Ok(([(header::CONTENT_TYPE, "application/xml; charset=utf-8")], xml).into_response())
}

/// Verifies the stored journal against the lot's public key.
async fn verify(State(s): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    let Some(key) = s.0.journal_key else {
        return Err(ApiError::NotFound("the journal is not sealed here: [tax] journal_key is not set".into()));
    };
    let pending = crate::audit::pending(&s.0.db).await?;
    let public_key = hex::encode(key.as_bytes());
    Ok(Json(match crate::audit::verify(&s.0.db, &key).await? {
        Ok(v) => serde_json::json!({
            "ok": true, "records": v.records, "seals": v.seals, "last_hash": v.last_hash,
            "pending": pending, "public_key": public_key,
        }),
        Err(t) => serde_json::json!({
            "ok": false, "tamper": t.to_string(), "pending": pending, "public_key": public_key,
        }),
    }))
}
