//! The HTTP API (axum). Every route but `/health`, `/health/ready`, the
//! dashboard's page and its sign-in needs `Authorization: Bearer <token>`
//! (or the dashboard's session cookie); each group of routes admits some
//! roles:
//!
//! | group | roles |
//! |---|---|
//! | registry, exception handling, lists, manual open, holds decided, lane photos, `/metrics` | admin, operator |
//! | sessions, the event journal, exceptions (read), transfers, ledger, reports, invoices, journal verification, the live board, occupancy, `/openapi.json`, `/api/v1/me` | admin, operator, tax_officer |
//! | tokens | admin |
//! | a driver's PIN, printed sign-in link, unlock; an occupancy count | admin, operator |
//! | `/api/v1/driver/…` (a driver's own data) | driver (phone and PIN), nobody else |
//! | `/api/v1/public/…`, receipts, `/driver/` | anyone, rate-limited per address |
//!
//! Layout:
//! - this file: state, router, authentication, the JSON extractors;
//! - `error`: the error policy;
//! - `registry`: owners, accounts, vehicles, tags, passes;
//! - `journal`: sessions, events, exceptions, lists, tokens;
//! - `settlement`: webhooks, transfers, payment requests, the ledger;
//! - `tax`: revenue reports and exports, invoices, journal verification;
//! - `dashboard`: the operator's page, its cookie sign-in, the live board (SSE), occupancy;
//! - `lanes`: commands to a lane: manual open, a held vehicle released or refused;
//! - `photos`: lane photos of an event, and a stay's entry photo beside it;
//! - `driver`: drivers signed in to their own data, and the desk's part in it;
//! - `public`: the drivers' side, open to anyone (free spaces, prices, what
//!   a stay owes, receipts) and the drivers' app;
//! - `limits`: rate limits per client address on sign-in, webhooks and the public routes;
//! - `openapi`: the OpenAPI document.

mod dashboard;
mod driver;
pub mod error;
mod journal;
mod lanes;
pub mod limits;
mod openapi;
mod people;
mod photos;
mod public;
mod registry;
pub mod settlement;
mod tax;

use std::sync::Arc;

use axum::extract::{FromRequest, FromRequestParts, MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use parking_runtime::Clock;
use parking_runtime::mqtt::PublisherStats;
use serde::de::DeserializeOwned;

use crate::db::Db;
use crate::metrics::ServerMetrics;
use crate::people::{self as persons, Principal};
use crate::registry::Registry;
use crate::tokens::Role;
pub use error::ApiError;

/// What every handler shares.
#[derive(Debug)]
pub struct App {
    pub db: Db,
    pub registry: Registry,
    pub lot: parking_core::LotId,
    pub metrics: ServerMetrics,
    /// The server's MQTT link (acknowledgements, lists, tariff), for
    /// readiness: a server that cannot reach the broker is not ready.
    pub broker: Arc<PublisherStats>,
    pub settlement: settlement::SettlementState,
    /// The key the journal's seals verify with, if it is sealed.
    pub journal_key: Option<parking_core::chain::JournalVerifyingKey>,
    /// The live gate board of the dashboard.
    pub live: Arc<crate::mqtt::live::LiveBoard>,
    /// The lot's lane photos.
    pub photos: crate::photos::Photos,
    /// Sign-in and webhook rate limits per address, shared by every lot
    /// of the server.
    pub limits: Arc<limits::RateLimits>,
    /// The server's clock: every handler's "now".
    pub clock: Clock,
    /// How long a sign-in session lasts, and how its cookie is marked.
    pub people: persons::Policy,
    /// The lot's tariffs and its zone: what a pass sold at the desk costs.
    pub tariffs: Arc<parking_core::tariff::TariffBook>,
    pub zone: String,
    /// The lot as configured: its name, address, hours and capacity.
    pub site: parking_core::settings::LotSettings,
    /// The invoices' public receipts' links.
    pub receipts: crate::tax::receipts::ReceiptLinks,
    /// `[server] public_url`: where drivers reach the server, for links.
    pub public_url: Option<String>,
    /// How long a driver's sign-in lasts, and when they get a notice.
    pub drivers: persons::Policy,
    pub driver_rules: crate::drivers::notices::Rules,
}

impl App {
    /// The public link of the receipt of `sale_id`'s invoice.
    pub fn receipt_url(&self, sale_id: &str) -> String {
        self.receipts.url(sale_id)
    }
}

#[derive(Clone, Debug)]
pub struct AppState(pub Arc<App>);

/// Who is calling, once the credential checked out.
#[derive(Clone, Debug)]
pub struct Caller(pub Principal);

const ALL: &[Role] = &[Role::Admin, Role::Operator, Role::TaxOfficer];
const OPS: &[Role] = &[Role::Admin, Role::Operator];
const ADMIN: &[Role] = &[Role::Admin];

/// The whole API of a server of one lot.
pub fn router(state: AppState) -> Router {
    serve(vec![state])
}

/// The API of every lot a server serves: each at `/lots/{lot}/…`, and the
/// first (`[lot]`) at `/` as well. A lot's routes reach only its own
/// database, so a token of one lot means nothing at another's. `/health`
/// is the process's; `/health/ready` is ready when every lot is, and
/// `/lots/{lot}/health/ready` when that one is.
pub fn serve(lots: Vec<AppState>) -> Router {
    let Some(first) = lots.first().cloned() else {
        return Router::new().route("/health", get(health));
    };
    let mut top = lot_routes(first)
        .merge(public::server_routes(lots.clone()))
        .route("/health", get(health))
        .route("/health/ready", get(ready).with_state(Arc::new(lots.clone())));
    for lot in lots {
        let path = format!("/lots/{}", lot.0.lot);
        let own = Arc::new(vec![lot.clone()]);
        top = top
            .nest(&path, lot_routes(lot).route("/health/ready", get(ready).with_state(own)))
            // The nested page answers `/lots/{lot}` only.
            .route(&format!("{path}/"), get(dashboard::index));
    }
    top
}

/// One lot's routes, on its state.
fn lot_routes(state: AppState) -> Router {
    let guard = |roles: &'static [Role]| middleware::from_fn_with_state((state.clone(), roles), authorize);
    let attributed = || middleware::from_fn_with_state(state.clone(), attribute);
    let throttle = |which| middleware::from_fn_with_state((state.clone(), which), limits::limit);
    let ops = registry::routes()
        .merge(journal::ops_routes())
        .merge(dashboard::ops_routes())
        .merge(lanes::ops_routes())
        .merge(photos::ops_routes())
        .merge(settlement::ops_routes())
        .merge(driver::desk_routes())
        .route("/metrics", get(metrics))
        .route_layer(attributed())
        .route_layer(guard(OPS));
    let all = journal::read_routes()
        .merge(settlement::read_routes())
        .merge(dashboard::read_routes())
        .merge(tax::read_routes())
        .merge(people::read_routes())
        .route("/openapi.json", get(openapi::document))
        .route_layer(attributed())
        .route_layer(guard(ALL));
    let admin = journal::token_routes()
        .merge(settlement::admin_routes())
        .merge(people::admin_routes())
        .route_layer(attributed())
        .route_layer(guard(ADMIN));
    Router::new()
        .merge(ops)
        .merge(all)
        .merge(admin)
        .merge(settlement::webhook_routes().route_layer(throttle(limits::Limited::Webhooks)))
        .merge(people::login_routes().route_layer(throttle(limits::Limited::Login)))
        .merge(dashboard::public_routes())
        .merge(public::lot_routes(&state))
        .merge(driver::routes(&state))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(state.clone(), count))
        .with_state(state)
}

/// An unknown route: 404, except that under `/api/` a caller without a
/// live token learns nothing (401), not even which routes exist.
async fn not_found(State(state): State<AppState>, req: Request) -> ApiError {
    if req.uri().path().starts_with("/api/") {
        let app = &state.0;
        let known = match people::presented(req.headers(), req.method()) {
            Ok(Some(presented)) => persons::authenticate(&app.db, &presented, app.clock.now_ms(), &app.people)
                .await
                .ok()
                .flatten()
                .is_some(),
            _ => false,
        };
        if !known {
            return ApiError::Unauthorized("missing `Authorization: Bearer <token>`".into());
        }
    }
    ApiError::NotFound("no such route; see /openapi.json".into())
}

/// Checks the credential (a bearer token, or the session cookie) and the
/// role, and hands the caller on.
async fn authorize(
    State((state, roles)): State<(AppState, &'static [Role])>,
    mut req: Request,
    next: Next,
) -> Result<Response, ApiError> {
    let Some(presented) = people::presented(req.headers(), req.method())? else {
        return Err(ApiError::Unauthorized("missing `Authorization: Bearer <token>`".into()));
    };
    let app = &state.0;
    let info = persons::authenticate(&app.db, &presented, app.clock.now_ms(), &app.people)
        .await?
        .ok_or_else(|| ApiError::Unauthorized("unknown, revoked or expired credential".into()))?;
    if !roles.contains(&info.role) {
        let allowed: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
        return Err(ApiError::Forbidden(format!(
            "role {} may not use {}; it needs {}",
            info.role,
            req.uri().path(),
            allowed.join(" or ")
        )));
    }
    req.extensions_mut().insert(Caller(info));
    Ok(next.run(req).await)
}

/// Records each change a caller made (a write that succeeded) in the
/// tamper-evident journal: who, which route, which thing, the outcome.
async fn attribute(State(state): State<AppState>, req: Request, next: Next) -> Response {
    use axum::http::Method;
    let (Some(Caller(who)), false) =
        (req.extensions().get::<Caller>().cloned(), matches!(*req.method(), Method::GET | Method::HEAD))
    else {
        return next.run(req).await;
    };
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let action = format!("{} {route}", req.method());
    let target = req.uri().path().to_owned();
    let response = next.run(req).await;
    if response.status().is_success() {
        let done = persons::actions::Action::new(&who, action, target, response.status().as_u16());
        if let Err(e) = persons::actions::record(&state.0.db, &done, state.0.clock.now_ms()).await {
            tracing::error!(error = %e, action = ?done, "could not journal a change; it is in this log line");
        }
    }
    response
}

/// Counts and times requests by route template, so ids do not explode
/// the labels.
async fn count(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let method = req.method().to_string();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let started = std::time::Instant::now();
    let response = next.run(req).await;
    let status = response.status();
    let labels = [method.as_str(), route.as_str(), status.as_str()];
    state.0.metrics.http_requests.with_label_values(&labels).inc();
    state.0.metrics.http_seconds.with_label_values(&labels).observe(started.elapsed().as_secs_f64());
    response
}

async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

/// Ready when, for every lot, the database answers and the broker link is
/// up.
async fn ready(State(lots): State<Arc<Vec<AppState>>>) -> Result<Json<serde_json::Value>, ApiError> {
    let mut problems = Vec::new();
    let name = |lot: &AppState, what: &str| match lots.len() {
        1 => what.to_owned(),
        _ => format!("lot {}: {what}", lot.0.lot),
    };
    for lot in lots.iter() {
        if let Err(e) = sqlx::query("SELECT 1").execute(&lot.0.db.pool).await {
            tracing::warn!(lot = %lot.0.lot, error = %e, "readiness: database");
            problems.push(name(lot, "database unreachable"));
        }
        if !lot.0.broker.connected.load(std::sync::atomic::Ordering::Relaxed) {
            problems.push(name(lot, "MQTT broker not connected"));
        }
    }
    if problems.is_empty() {
        Ok(Json(serde_json::json!({ "status": "ready" })))
    } else {
        Err(ApiError::Unavailable(problems.join("; ")))
    }
}

async fn metrics(State(state): State<AppState>) -> Result<Response, ApiError> {
    let app = &state.0;
    app.metrics.open_sessions.set(crate::journal::open_sessions(&app.db).await?);
    let version: i64 =
        sqlx::query_scalar("SELECT version FROM lists_meta WHERE id = 1").fetch_one(&app.db.pool).await?;
    app.metrics.lists_version.set(version);
    Ok(([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], app.metrics.render()).into_response())
}

/// `Json<T>` whose refusal is our JSON error naming what is wrong.
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Body(v)),
            Err(r) => Err(ApiError::BadRequest(
                if r.status() == StatusCode::UNPROCESSABLE_ENTITY { StatusCode::BAD_REQUEST } else { r.status() },
                r.body_text(),
            )),
        }
    }
}

/// `Query<T>` whose refusal is our JSON error.
#[derive(Debug)]
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, ApiError> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(v)) => Ok(Params(v)),
            Err(r) => Err(ApiError::bad(r.body_text())),
        }
    }
}

#[cfg(test)]
mod tests;
