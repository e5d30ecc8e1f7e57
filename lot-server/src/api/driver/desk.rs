//! The registration desk's part in a driver's sign-in: setting their PIN
//! (shown once), printing a one-time sign-in link as a QR, and unlocking
//! a phone number locked out by wrong PINs.

use axum::extract::{Path, State};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{ApiError, AppState, Body};
use crate::drivers::logins;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/owners/{id}/pin", post(set_pin))
        .route("/api/v1/owners/{id}/sign-in-link", post(sign_in_link))
        .route("/api/v1/owners/{id}/unlock", post(unlock))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PinRequest {
    /// 6 to 8 digits the driver chose; generated when absent.
    #[serde(default)]
    pin: Option<String>,
}

/// `POST /api/v1/owners/{id}/pin`: the PIN, shown this once.
async fn set_pin(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Body(b): Body<PinRequest>,
) -> Result<Json<Value>, ApiError> {
    let set = logins::set_pin(&s.0.db, &id, b.pin, s.0.clock.now_ms()).await?;
    tracing::info!(owner = %id, "driver PIN set at the desk");
    Ok(Json(json!(set)))
}

/// `POST /api/v1/owners/{id}/sign-in-link`: a link that signs the driver
/// in once, within a day, with its QR to print.
async fn sign_in_link(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let now = s.0.clock.now_ms();
    let key = logins::make_link(&s.0.db, &id, now).await?;
    let root = s.0.public_url.as_deref().unwrap_or("").trim_end_matches('/');
    let url = format!("{root}/driver/#link/{}/{key}", s.0.lot);
    let qr = crate::api::dashboard::qr(&url)?;
    Ok(Json(json!({ "url": url, "expires_ms": now + logins::LINK_MS, "qr_svg": qr })))
}

/// `POST /api/v1/owners/{id}/unlock`: the driver may try their PIN again.
async fn unlock(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<Value>, ApiError> {
    let phone = logins::unlock(&s.0.db, &id).await?;
    Ok(Json(json!({ "owner_id": id, "phone": phone, "unlocked": true })))
}
