//! Sessions, the gate-event journal, exceptions, the lists and tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use parking_core::wire::ListsSnapshot;
use serde::Deserialize;

use super::{ApiError, AppState, Body, Caller, Params};
use crate::journal::{self, EventQuery, ExceptionQuery, ExceptionRecord, JournalEvent, Session, SessionQuery};
use crate::tokens::{self, NewToken, Role, TokenInfo};

/// Readable by every role, tax officers included.
pub(super) fn read_routes() -> Router<super::AppState> {
    Router::new()
        .route("/api/v1/sessions", get(sessions))
        .route("/api/v1/sessions/{id}", get(session))
        .route("/api/v1/sessions/{id}/detail", get(stay_detail))
        .route("/api/v1/close", get(close))
        .route("/api/v1/events", get(events))
        .route("/api/v1/exceptions", get(exceptions))
}

/// For operators and admins.
pub(super) fn ops_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/exceptions/{id}/resolve", post(resolve))
        .route("/api/v1/exceptions/{id}/acknowledge", post(acknowledge))
        .route("/api/v1/lists", get(lists_summary))
        .route("/api/v1/lists/snapshot", get(lists_snapshot))
}

/// For admins.
pub(super) fn token_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/tokens", get(list_tokens).post(create_token))
        .route("/api/v1/tokens/{id}", delete(revoke_token))
}

async fn sessions(State(s): State<AppState>, Params(q): Params<SessionQuery>) -> Result<Json<Vec<Session>>, ApiError> {
    Ok(Json(journal::sessions(&s.0.db, &q).await?))
}

async fn session(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Session>, ApiError> {
    Ok(Json(journal::session_by_id(&s.0.db, &id).await?))
}

async fn stay_detail(
    State(s): State<AppState>,
    Path(id): Path<String>,
) -> Result<Json<crate::stay_detail::StayDetail>, ApiError> {
    Ok(Json(crate::stay_detail::detail(&s.0.db, &id).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CloseQuery {
    from_ms: i64,
    to_ms: i64,
}

/// `GET /api/v1/close?from_ms=&to_ms=`: a shift's or a day's close.
async fn close(
    State(s): State<AppState>,
    Params(q): Params<CloseQuery>,
) -> Result<Json<crate::day_close::Close>, ApiError> {
    Ok(Json(crate::day_close::close(&s.0.db, q.from_ms, q.to_ms).await?))
}

async fn events(State(s): State<AppState>, Params(q): Params<EventQuery>) -> Result<Json<Vec<JournalEvent>>, ApiError> {
    Ok(Json(journal::events(&s.0.db, &q).await?))
}

async fn exceptions(
    State(s): State<AppState>,
    Params(q): Params<ExceptionQuery>,
) -> Result<Json<Vec<ExceptionRecord>>, ApiError> {
    Ok(Json(journal::exceptions(&s.0.db, &q).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Resolution {
    /// What was done about it.
    note: String,
}

async fn resolve(
    State(s): State<AppState>,
    Extension(Caller(who)): Extension<Caller>,
    Path(id): Path<String>,
    Body(b): Body<Resolution>,
) -> Result<Json<ExceptionRecord>, ApiError> {
    let by = who.attribution();
    Ok(Json(journal::resolve_exception(&s.0.db, &id, &by, &b.note, s.0.clock.now_ms()).await?))
}

async fn acknowledge(
    State(s): State<AppState>,
    Extension(Caller(who)): Extension<Caller>,
    Path(id): Path<String>,
) -> Result<Json<ExceptionRecord>, ApiError> {
    let by = who.attribution();
    Ok(Json(journal::acknowledge_exception(&s.0.db, &id, &by, s.0.clock.now_ms()).await?))
}

async fn lists_snapshot(State(s): State<AppState>) -> Result<Json<ListsSnapshot>, ApiError> {
    Ok(Json(crate::lists::snapshot(&s.0.db, &s.0.lot, s.0.clock.now()).await?))
}

async fn lists_summary(State(s): State<AppState>) -> Result<Json<serde_json::Value>, ApiError> {
    Ok(Json(crate::lists::summary(&s.0.db).await?))
}

async fn list_tokens(State(s): State<AppState>) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    Ok(Json(tokens::list(&s.0.db).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenRequest {
    role: Role,
    label: String,
}

async fn create_token(
    State(s): State<AppState>,
    Body(b): Body<TokenRequest>,
) -> Result<(StatusCode, Json<NewToken>), ApiError> {
    if b.label.trim().is_empty() || b.label.chars().count() > 100 {
        return Err(ApiError::bad("label must be 1 to 100 characters: say whose token it is"));
    }
    let token = tokens::create(&s.0.db, b.role, b.label.trim(), s.0.clock.now_ms()).await?;
    tracing::info!(token_id = %token.info.token_id, role = %token.info.role, "API token created");
    Ok((StatusCode::CREATED, Json(token)))
}

async fn revoke_token(State(s): State<AppState>, Path(id): Path<String>) -> Result<StatusCode, ApiError> {
    if tokens::revoke(&s.0.db, &id, s.0.clock.now_ms()).await? {
        tracing::info!(token_id = %id, "API token revoked");
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::NotFound(format!("no live token {}", id.chars().take(64).collect::<String>())))
    }
}
