//! The drivers' side, open to anyone without signing in, every route
//! rate-limited per address and none carrying anything personal:
//!
//! - this file: the routes; free spaces of every lot the server serves
//!   (`/api/v1/public/availability`, and as DATEX II); the drivers' app
//!   itself (`/driver/`, static files);
//! - `prices`: a lot's page (address, hours, free spaces, the tariff in
//!   force) and the fee estimator;
//! - `stay`: what a stay still inside owes, found by ticket, code or
//!   plate, with the VietQR to pay it;
//! - `receipt`: an invoice's receipt, a page rendered here (it works
//!   without JavaScript, and prints), and its XML.

mod prices;
mod receipt;
mod stay;

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router, middleware};

use super::limits::{self, Limited};
use super::{ApiError, AppState};
use crate::availability::{self, LotAvailability};

/// The app's files, by path: served as they are, no build step.
const FILES: &[(&str, &str, &str)] = &[
    ("/driver/", include_str!("../../driver/index.html"), "text/html; charset=utf-8"),
    ("/driver/app.css", include_str!("../../driver/app.css"), "text/css; charset=utf-8"),
    ("/driver/i18n.js", include_str!("../../driver/i18n.js"), JS),
    ("/driver/app.js", include_str!("../../driver/app.js"), JS),
    ("/driver/lots.js", include_str!("../../driver/lots.js"), JS),
    ("/driver/owe.js", include_str!("../../driver/owe.js"), JS),
    ("/driver/account.js", include_str!("../../driver/account.js"), JS),
    ("/driver/manifest.webmanifest", include_str!("../../driver/manifest.webmanifest"), "application/manifest+json"),
    ("/driver/icon.svg", include_str!("../../driver/icon.svg"), "image/svg+xml"),
];
const JS: &str = "text/javascript; charset=utf-8";

/// One lot's public routes, each limited per address; those a key opens
/// (a stay, a receipt) more tightly.
pub(super) fn lot_routes(state: &AppState) -> Router<AppState> {
    let throttle = |which| middleware::from_fn_with_state((state.clone(), which), limits::limit);
    let keyed = Router::new()
        .route("/api/v1/public/stay", get(stay::find))
        .route("/receipt/{key}", get(receipt::page))
        .route("/receipt/{key}/xml", get(receipt::xml))
        .route_layer(throttle(Limited::Lookups));
    Router::new()
        .route("/api/v1/public/lot", get(prices::lot))
        .route("/api/v1/public/estimate", get(prices::estimate))
        .merge(keyed)
        .route_layer(throttle(Limited::Public))
}

/// The server's public routes: every lot's free spaces, and the app.
pub(super) fn server_routes(lots: Vec<AppState>) -> Router {
    let Some(first) = lots.first().cloned() else { return Router::new() };
    let data = Router::new()
        .route("/api/v1/public/availability", get(all_lots))
        .route("/api/v1/public/availability/datex2", get(datex))
        .with_state(Arc::new(lots));
    let app = FILES
        .iter()
        .fold(Router::new(), |r, &(path, body, kind)| r.route(path, get(move || async move { file(body, kind) })));
    let app = app.route("/driver", get(|| async { axum::response::Redirect::permanent("/driver/") }));
    data.merge(app).route_layer(middleware::from_fn_with_state((first, Limited::Public), limits::limit))
}

/// The app's pages may load only their own scripts, styles and images.
fn file(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::HeaderName::from_static("content-security-policy"), CSP),
        ],
        body,
    )
        .into_response()
}

const CSP: &str = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'";

/// Every lot's figures now.
async fn figures(lots: &[AppState]) -> Result<Vec<(LotAvailability, String)>, ApiError> {
    let mut out = Vec::with_capacity(lots.len());
    for lot in lots {
        let app = &lot.0;
        out.push((availability::read(&app.db, &app.site, app.clock.now()).await?, format!("/lots/{}", app.lot)));
    }
    Ok(out)
}

/// `GET /api/v1/public/availability`: free spaces by class, of every lot
/// the server serves, each with the base path of its own public routes.
async fn all_lots(State(lots): State<Arc<Vec<AppState>>>) -> Result<Json<serde_json::Value>, ApiError> {
    let lots: Vec<serde_json::Value> = figures(&lots)
        .await?
        .into_iter()
        .map(|(lot, base)| {
            let mut v = serde_json::to_value(lot).unwrap_or_default();
            v["base"] = serde_json::Value::String(base);
            v
        })
        .collect();
    Ok(Json(serde_json::json!({ "lots": lots })))
}

/// `GET /api/v1/public/availability/datex2`: the same, as a DATEX II
/// parking status publication.
async fn datex(State(lots): State<Arc<Vec<AppState>>>) -> Result<Response, ApiError> {
    let now = lots.first().map(|l| l.0.clock.now()).ok_or_else(|| ApiError::NotFound("no lots".into()))?;
    let lots: Vec<LotAvailability> = figures(&lots).await?.into_iter().map(|(l, _)| l).collect();
    let xml = availability::datex::publication(&lots, now);
    Ok(([(header::CONTENT_TYPE, "application/xml; charset=utf-8"), (header::CACHE_CONTROL, "no-cache")], xml)
        .into_response())
}
