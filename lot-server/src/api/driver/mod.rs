//! The drivers' own API, under `/api/v1/driver/`, for the driver role
//! alone: a driver signs in with their phone number and PIN (or a link
//! the desk printed) and gets a cookie of their own (`parking_driver`,
//! HttpOnly, SameSite=Strict); every other route answers only with what is
//! theirs, and a write must carry the `x-parking-csrf` header. A driver's
//! session can never reach an operator's route: those admit staff roles
//! only, and read another cookie.
//!
//! - this file: sign-in, sign-out, the guard;
//! - `mine`: what they see and do (their records, stays, top-up QR,
//!   passes, a lost tag);
//! - `desk`: what the registration desk does for them (a PIN, a printed
//!   link, unlocking).

mod desk;
mod mine;

use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;

use super::limits::{self, Limited};
use super::people::{presented_with, session_cookie, set_cookie};
use super::{ApiError, AppState, Body, Caller};
use crate::drivers::{DriverError, logins};
use crate::people::{self as persons, Principal, sessions};
use crate::tokens::Role;

/// The drivers' session cookie.
const COOKIE: &str = "parking_driver";

impl From<DriverError> for ApiError {
    fn from(e: DriverError) -> Self {
        match e {
            DriverError::Invalid(code, m) => ApiError::coded(StatusCode::BAD_REQUEST, code, m),
            DriverError::NotFound(m) => ApiError::NotFound(m),
            DriverError::Conflict(m) => ApiError::coded(StatusCode::CONFLICT, "phone_taken", m),
            DriverError::Db(e) => e.into(),
        }
    }
}

/// Every driver route: sign-in limited per address like people's; the
/// rest behind the driver guard, their writes journalled.
pub(super) fn routes(state: &AppState) -> Router<AppState> {
    let throttle = middleware::from_fn_with_state((state.clone(), Limited::Login), limits::limit);
    let guard = middleware::from_fn_with_state(state.clone(), signed_in);
    let attributed = middleware::from_fn_with_state(state.clone(), super::attribute);
    let open = Router::new()
        .route("/api/v1/driver/login", post(login))
        .route("/api/v1/driver/link", post(link))
        .route("/api/v1/driver/logout", post(logout))
        .route_layer(throttle);
    open.merge(mine::routes().route_layer(attributed).route_layer(guard))
}

/// The desk's routes for drivers (operators and admins).
pub(super) fn desk_routes() -> Router<AppState> {
    desk::routes()
}

/// Admits a live driver session, and no one else.
async fn signed_in(State(state): State<AppState>, mut req: Request, next: Next) -> Result<Response, ApiError> {
    let Some(presented) = presented_with(req.headers(), req.method(), COOKIE)? else {
        return Err(ApiError::Unauthorized("sign in with your phone number and PIN".into()));
    };
    let app = &state.0;
    let who = persons::authenticate(&app.db, &presented, app.clock.now_ms(), &app.drivers)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("signed out, or the sign-in has expired".into()))?;
    if who.role != Role::Driver {
        return Err(ApiError::Forbidden("these routes are for drivers signed in with their phone".into()));
    }
    req.extensions_mut().insert(Caller(who));
    Ok(next.run(req).await)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    phone: String,
    pin: String,
}

/// `POST /api/v1/driver/login`.
async fn login(State(s): State<AppState>, uri: OriginalUri, Body(b): Body<Login>) -> Result<Response, ApiError> {
    let app = &s.0;
    let now = app.clock.now_ms();
    match logins::sign_in(&app.db, &b.phone, &b.pin, now).await? {
        Ok(owner) => open_session(&s, &uri, &owner).await,
        Err(logins::Refused::Locked(wait)) => {
            app.metrics.login_refused.with_label_values(&["driver_locked_out"]).inc();
            tracing::warn!(lot = %app.lot, retry_after = wait, "driver sign-in refused: locked out");
            Err(ApiError::Locked(wait))
        }
        Err(logins::Refused::Wrong) => {
            app.metrics.login_refused.with_label_values(&["driver_wrong_pin"]).inc();
            tracing::warn!(lot = %app.lot, "driver sign-in refused: wrong phone or PIN");
            Err(ApiError::coded(StatusCode::UNAUTHORIZED, "login_failed", "wrong phone number or PIN"))
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Link {
    key: String,
}

/// `POST /api/v1/driver/link`: a printed one-time link's key.
async fn link(State(s): State<AppState>, uri: OriginalUri, Body(b): Body<Link>) -> Result<Response, ApiError> {
    match logins::redeem_link(&s.0.db, b.key.trim(), s.0.clock.now_ms()).await? {
        Some(owner) => open_session(&s, &uri, &owner).await,
        None => {
            s.0.metrics.login_refused.with_label_values(&["driver_bad_link"]).inc();
            Err(ApiError::coded(StatusCode::UNAUTHORIZED, "link_used", "this sign-in link is unknown, used or expired"))
        }
    }
}

async fn open_session(s: &AppState, uri: &OriginalUri, owner: &str) -> Result<Response, ApiError> {
    let app = &s.0;
    let id = sessions::open(&app.db, sessions::Holder::Driver(owner), app.clock.now_ms(), &app.drivers).await?;
    let name: String = sqlx::query_scalar("SELECT name FROM owners WHERE owner_id = $1")
        .bind(owner.to_owned())
        .fetch_one(&app.db.pool)
        .await?;
    tracing::info!(lot = %app.lot, owner, "driver signed in");
    let cookie = set_cookie(s, uri, COOKIE, &id, app.drivers.absolute_ms / 1_000);
    Ok(([(header::SET_COOKIE, cookie)], Json(Principal::driver(owner, &name))).into_response())
}

/// `POST /api/v1/driver/logout`: ends the session, clears the cookie.
async fn logout(State(s): State<AppState>, uri: OriginalUri, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(id) = session_cookie(&headers, COOKIE) {
        sessions::revoke(&s.0.db, &id, s.0.clock.now_ms()).await?;
    }
    Ok(([(header::SET_COOKIE, set_cookie(&s, &uri, COOKIE, "", 0))], StatusCode::NO_CONTENT).into_response())
}
