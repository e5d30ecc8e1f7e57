//! Settlement over HTTP: the providers' transfer notifications (verified
//! by their own keys, not by API tokens), the transfers and payment
//! requests, suspense resolution, refunds and the ledger.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, Body, Caller, Params};
use crate::settlement::records::{self, RequestQuery, RequestRecord, TransferQuery, TransferRecord};
use crate::settlement::settler::{SettleError, Settler};
use crate::settlement::webhook::{self, Notice, WebhookError, WebhookKeys};
use crate::settlement::{self, Policy, Resolution, ledger};

/// What the settlement routes need.
#[derive(Clone, Debug)]
pub struct SettlementState {
    pub settler: Settler,
    pub policy: std::sync::Arc<Policy>,
    pub keys: WebhookKeys,
    /// Lane commands from resolutions by hand, after their commit.
    pub after: crate::mqtt::commands::AfterCommit,
}

/// The providers' endpoints: no token, their own verification.
pub(super) fn webhook_routes() -> Router<AppState> {
    Router::new().route("/api/v1/webhooks/sepay", post(sepay)).route("/api/v1/webhooks/casso", post(casso))
}

/// Readable by every role.
pub(super) fn read_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/transfers", get(transfers))
        .route("/api/v1/transfers/{id}", get(transfer))
        .route("/api/v1/payment-requests", get(requests))
        .route("/api/v1/ledger", get(trial))
}

/// Operators and admins.
pub(super) fn ops_routes() -> Router<AppState> {
    Router::new().route("/api/v1/transfers/{id}/resolve", post(resolve))
}

/// Admins: money leaving the bank.
pub(super) fn admin_routes() -> Router<AppState> {
    Router::new().route("/api/v1/transfers/{id}/refund-paid", post(refund_paid))
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

fn refused(s: &AppState, provider: &str, e: WebhookError) -> ApiError {
    let reason = match &e {
        WebhookError::Unauthorized(_) => "unauthorized",
        WebhookError::BadBody(_) => "bad_body",
        WebhookError::NotConfigured(_) => "not_configured",
    };
    s.0.metrics.settlement.webhooks_rejected.with_label_values(&[provider, reason]).inc();
    tracing::warn!(provider, reason, detail = %e, "transfer notification refused");
    match e {
        WebhookError::Unauthorized(m) => ApiError::Unauthorized(m),
        WebhookError::BadBody(m) => ApiError::bad(m),
        WebhookError::NotConfigured(_) => ApiError::NotFound(e.to_string()),
    }
}

/// Books a parsed notification and answers in the provider's shape.
async fn book(s: &AppState, notice: Notice) -> Result<(StatusCode, Json<Value>), ApiError> {
    let t = match notice {
        Notice::Outgoing { provider_tx } => {
            tracing::info!(provider_tx, "outgoing transfer notified; nothing to book");
            return Ok((StatusCode::OK, Json(json!({ "success": true, "outcome": "outgoing_ignored" }))));
        }
        Notice::Incoming(t) => t,
    };
    match s.0.settlement.settler.submit(t).await {
        Ok(d) => Ok((StatusCode::OK, Json(json!({ "success": true, "outcome": d.name(), "detail": d })))),
        Err(SettleError::Stopped) => Err(ApiError::Unavailable("the server is stopping; retry".into())),
        Err(SettleError::Db(_)) => Err(ApiError::Unavailable("could not book the transfer; retry".into())),
    }
}

async fn sepay(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let keys = &s.0.settlement.keys;
    webhook::verify_sepay(
        keys,
        header(&headers, "authorization"),
        header(&headers, "x-sepay-signature"),
        header(&headers, "x-sepay-timestamp"),
        &body,
        s.0.clock.now(),
    )
    .map_err(|e| refused(&s, "sepay", e))?;
    let notice = webhook::parse_sepay(&body).map_err(|e| refused(&s, "sepay", e))?;
    book(&s, notice).await
}

async fn casso(
    State(s): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    // Unsigned is refused before the body is even read.
    if header(&headers, "x-casso-signature").is_none() {
        let e = WebhookError::Unauthorized("Casso notification without X-Casso-Signature".into());
        return Err(refused(&s, "casso", e));
    }
    let value: Value = serde_json::from_slice(&body)
        .map_err(|e| refused(&s, "casso", WebhookError::BadBody(format!("not JSON: {e}"))))?;
    webhook::verify_casso(&s.0.settlement.keys, header(&headers, "x-casso-signature"), &value, s.0.clock.now())
        .map_err(|e| refused(&s, "casso", e))?;
    let notice = webhook::parse_casso(&value).map_err(|e| refused(&s, "casso", e))?;
    book(&s, notice).await
}

async fn transfers(
    State(s): State<AppState>,
    Params(q): Params<TransferQuery>,
) -> Result<Json<Vec<TransferRecord>>, ApiError> {
    Ok(Json(records::transfers(&s.0.db, &q).await?))
}

async fn transfer(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<TransferRecord>, ApiError> {
    records::transfer(&s.0.db, &id)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("transfer {id} not found")))
}

async fn requests(
    State(s): State<AppState>,
    Params(q): Params<RequestQuery>,
) -> Result<Json<Vec<RequestRecord>>, ApiError> {
    Ok(Json(records::requests(&s.0.db, &q).await?))
}

async fn trial(State(s): State<AppState>) -> Result<Json<ledger::Trial>, ApiError> {
    Ok(Json(ledger::trial(&s.0.db).await?))
}

async fn resolve(
    State(s): State<AppState>,
    Extension(Caller(who)): Extension<Caller>,
    Path(id): Path<String>,
    Body(how): Body<Resolution>,
) -> Result<Json<Value>, ApiError> {
    let note = match &how {
        Resolution::Stay { note, .. } | Resolution::Account { note, .. } | Resolution::Refund { note } => note,
    };
    if note.trim().is_empty() || note.chars().count() > 500 {
        return Err(ApiError::bad("note must be 1 to 500 characters: say why"));
    }
    let by = who.attribution();
    let app = &s.0;
    let (d, fx, lists_changed) =
        settlement::resolve(&app.db, &app.settlement.policy, &id, &how, &by, app.clock.now_ms()).await?;
    app.settlement.after.publish(&fx.commands, lists_changed).await;
    tracing::info!(transfer = %id, by, outcome = d.name(), "transfer resolved by hand");
    let record = records::transfer(&app.db, &id).await?;
    Ok(Json(json!({ "outcome": d.name(), "detail": d, "transfer": record })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefundPaid {
    /// The bank reference of the outgoing transfer.
    reference: String,
}

async fn refund_paid(
    State(s): State<AppState>,
    Extension(Caller(who)): Extension<Caller>,
    Path(id): Path<String>,
    Body(b): Body<RefundPaid>,
) -> Result<Json<Value>, ApiError> {
    if b.reference.trim().is_empty() || b.reference.chars().count() > 200 {
        return Err(ApiError::bad("reference must be 1 to 200 characters"));
    }
    let by = who.attribution();
    let amount = settlement::refund_paid(&s.0.db, &id, b.reference.trim(), &by, s.0.clock.now_ms()).await?;
    Ok(Json(json!({ "transfer_id": id, "refunded_vnd": amount })))
}
