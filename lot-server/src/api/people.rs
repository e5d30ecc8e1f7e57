//! Signing in and out, who is calling, and the accounts of people.
//!
//! A person signs in with `POST /api/v1/login` `{"username","password"}`;
//! a machine may sign in with `{"token"}`. Either way the answer sets an
//! HttpOnly, SameSite=Strict cookie (`Secure` behind TLS) holding a
//! server-side session's random id, never a password or a token; every
//! API route accepts that cookie in place of `Authorization: Bearer`, and
//! a write made with it must also carry the `x-parking-csrf` header,
//! which no other site can send. After five failed sign-ins for a
//! username within fifteen minutes, it is locked out (429, `Retry-After`)
//! until the window passes.

use axum::extract::{OriginalUri, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;

use super::{ApiError, AppState, Body, Caller};
use crate::people::users::{self, NewUser, User, WithPassword};
use crate::people::{Principal, lockout, sessions};
use crate::tokens;

/// The session cookie's name.
pub(super) const COOKIE: &str = "parking_session";
/// The header a cookie-authenticated write must carry.
pub(super) const CSRF: &str = "x-parking-csrf";

/// Sign-in and sign-out: no credential needed, rate limited per address.
pub(super) fn login_routes() -> Router<AppState> {
    Router::new().route("/api/v1/login", post(login)).route("/api/v1/logout", post(logout))
}

/// For every role.
pub(super) fn read_routes() -> Router<AppState> {
    Router::new().route("/api/v1/me", get(me))
}

/// For admins.
pub(super) fn admin_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/users", get(list_users).post(create_user))
        .route("/api/v1/users/{username}/disable", post(disable))
        .route("/api/v1/users/{username}/enable", post(enable))
        .route("/api/v1/users/{username}/password", post(reset_password))
}

/// The credential a request presents: the bearer header, else the
/// session cookie (then writes must carry the CSRF header).
pub(super) fn presented(headers: &HeaderMap, method: &axum::http::Method) -> Result<Option<String>, ApiError> {
    presented_with(headers, method, COOKIE)
}

/// [`presented`], the session in the cookie `name` (people's or drivers').
pub(super) fn presented_with(
    headers: &HeaderMap,
    method: &axum::http::Method,
    name: &str,
) -> Result<Option<String>, ApiError> {
    if let Some(h) = headers.get(header::AUTHORIZATION) {
        let token = h
            .to_str()
            .ok()
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(str::trim)
            .ok_or_else(|| ApiError::Unauthorized("the Authorization header must be `Bearer <token>`".into()))?;
        return Ok(Some(token.to_owned()));
    }
    let cookie = session_cookie(headers, name);
    if cookie.is_some()
        && !matches!(*method, axum::http::Method::GET | axum::http::Method::HEAD)
        && !headers.contains_key(CSRF)
    {
        return Err(ApiError::Forbidden(format!("a write with the session cookie must carry the {CSRF} header")));
    }
    Ok(cookie)
}

pub(super) fn session_cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|c| c.trim().strip_prefix(name).and_then(|r| r.strip_prefix('=')).map(str::to_owned))
        .filter(|v| !v.is_empty())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    username: Option<String>,
    password: Option<String>,
    /// A machine's API token, instead of a username and a password.
    token: Option<String>,
}

async fn login(State(s): State<AppState>, uri: OriginalUri, Body(b): Body<Login>) -> Result<Response, ApiError> {
    let app = &s.0;
    let now = app.clock.now_ms();
    let refused = |reason: &str| app.metrics.login_refused.with_label_values(&[reason]).inc();
    let (principal, session) = match (b.username, b.password, b.token) {
        (Some(name), Some(password), None) => {
            let name = name.trim().to_lowercase();
            if name.is_empty() || name.len() > 64 || password.len() > 1024 {
                return Err(ApiError::coded(StatusCode::UNAUTHORIZED, "login_failed", "wrong username or password"));
            }
            if let Some(wait) = lockout::locked(&app.db, &name, now).await? {
                refused("locked_out");
                tracing::warn!(lot = %app.lot, username = %name, retry_after = wait, "sign-in refused: locked out");
                return Err(ApiError::Locked(wait));
            }
            let Some(user) = users::check_password(&app.db, &name, &password).await? else {
                lockout::failed(&app.db, &name, now).await?;
                refused("wrong_password");
                tracing::warn!(lot = %app.lot, username = %name, "sign-in refused: wrong username or password");
                return Err(ApiError::coded(StatusCode::UNAUTHORIZED, "login_failed", "wrong username or password"));
            };
            lockout::cleared(&app.db, &name).await?;
            let id = sessions::open(&app.db, sessions::Holder::User(&user.user_id), now, &app.people).await?;
            (Principal::from_user(&user), id)
        }
        (None, None, Some(token)) => {
            let Some(info) = tokens::verify(&app.db, token.trim()).await? else {
                refused("unknown_token");
                tracing::warn!(lot = %app.lot, "sign-in refused: unknown or revoked token");
                return Err(ApiError::coded(StatusCode::UNAUTHORIZED, "login_failed", "unknown or revoked token"));
            };
            let id = sessions::open(&app.db, sessions::Holder::Token(&info), now, &app.people).await?;
            (Principal::from_token(&info), id)
        }
        _ => return Err(ApiError::bad("send {\"username\", \"password\"} or {\"token\"}")),
    };
    tracing::info!(lot = %app.lot, who = %principal.id, role = %principal.role, "signed in");
    let max_age = app.people.absolute_ms / 1_000;
    let cookie = cookie(&s, &uri, &session, max_age);
    Ok(([(header::SET_COOKIE, cookie)], Json(principal)).into_response())
}

/// Ends the session the cookie names, server-side, and clears the cookie.
async fn logout(State(s): State<AppState>, uri: OriginalUri, headers: HeaderMap) -> Result<Response, ApiError> {
    if let Some(id) = session_cookie(&headers, COOKIE) {
        if sessions::revoke(&s.0.db, &id, s.0.clock.now_ms()).await? {
            tracing::info!(lot = %s.0.lot, "signed out");
        }
    }
    Ok(([(header::SET_COOKIE, cookie(&s, &uri, "", 0))], StatusCode::NO_CONTENT).into_response())
}

/// The session cookie. It applies to the whole site for the page at `/`,
/// and only to the lot's own routes for one under `/lots/{lot}/`, so that
/// signing in to one lot leaves another's session alone.
fn cookie(s: &AppState, uri: &OriginalUri, value: &str, max_age_s: i64) -> String {
    set_cookie(s, uri, COOKIE, value, max_age_s)
}

/// A session cookie `name` (people's or drivers'), HttpOnly, SameSite=Strict,
/// Secure behind TLS, for the site or the lot's own routes.
pub(super) fn set_cookie(s: &AppState, uri: &OriginalUri, name: &str, value: &str, max_age_s: i64) -> String {
    let path = if uri.path().starts_with("/lots/") { format!("/lots/{}/", s.0.lot) } else { "/".to_owned() };
    let secure = if s.0.people.secure_cookie { "; Secure" } else { "" };
    format!("{name}={value}; HttpOnly; SameSite=Strict; Path={path}; Max-Age={max_age_s}{secure}")
}

async fn me(Extension(Caller(who)): Extension<Caller>) -> Json<Principal> {
    Json(who)
}

async fn list_users(State(s): State<AppState>) -> Result<Json<Vec<User>>, ApiError> {
    Ok(Json(users::list(&s.0.db).await?))
}

async fn create_user(
    State(s): State<AppState>,
    Body(b): Body<NewUser>,
) -> Result<(StatusCode, Json<WithPassword>), ApiError> {
    let made = users::create(&s.0.db, b, s.0.clock.now_ms()).await?;
    tracing::info!(username = %made.user.username, role = %made.user.role, "user created");
    Ok((StatusCode::CREATED, Json(made)))
}

async fn disable(State(s): State<AppState>, Path(name): Path<String>) -> Result<Json<User>, ApiError> {
    Ok(Json(users::set_disabled(&s.0.db, &name, true, s.0.clock.now_ms()).await?))
}

async fn enable(State(s): State<AppState>, Path(name): Path<String>) -> Result<Json<User>, ApiError> {
    Ok(Json(users::set_disabled(&s.0.db, &name, false, s.0.clock.now_ms()).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NewPassword {
    /// Absent: one is generated and shown once.
    password: Option<String>,
}

async fn reset_password(
    State(s): State<AppState>,
    Path(name): Path<String>,
    Body(b): Body<NewPassword>,
) -> Result<Json<WithPassword>, ApiError> {
    let done = users::reset_password(&s.0.db, &name, b.password, s.0.clock.now_ms()).await?;
    tracing::info!(username = %done.user.username, "password reset");
    Ok(Json(done))
}
