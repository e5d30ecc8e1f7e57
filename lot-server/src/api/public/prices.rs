//! A lot as a driver looks it up before driving there: where it is, when
//! it opens, how many spaces are free, the tariff in force, and what a
//! stay would cost.

use axum::Json;
use axum::extract::State;
use parking_core::tariff::fee;
use parking_core::timestamp::Timestamp;
use parking_core::vehicle::VehicleClass;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{ApiError, AppState, Params};
use crate::availability;

/// `GET /api/v1/public/lot`: the lot, its free spaces and the tariff in
/// force (null if none is).
pub(super) async fn lot(State(s): State<AppState>) -> Result<Json<Value>, ApiError> {
    let app = &s.0;
    let now = app.clock.now();
    let figures = availability::read(&app.db, &app.site, now).await?;
    let tariff = app.tariffs.in_force(&app.zone, now);
    Ok(Json(json!({ "lot": figures, "tariff": tariff, "now": now })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EstimateQuery {
    class: String,
    /// Local time the stay would begin, `YYYY-MM-DDTHH:MM`.
    from: String,
    /// … and end.
    to: String,
}

/// The longest stay the estimator prices.
const LONGEST_DAYS: i64 = 31;

/// `GET /api/v1/public/estimate?class=car&from=2026-12-07T09:00&to=2026-12-07T14:30`:
/// the fee of such a stay under the tariff in force at its end, itemised.
pub(super) async fn estimate(
    State(s): State<AppState>,
    Params(q): Params<EstimateQuery>,
) -> Result<Json<Value>, ApiError> {
    let app = &s.0;
    let class: VehicleClass =
        q.class.parse().map_err(|_| ApiError::coded(BAD, "unknown_class", "class: not a vehicle class"))?;
    let from = local_minute("from", &q.from)?;
    let to = local_minute("to", &q.to)?;
    if to < from {
        return Err(ApiError::coded(BAD, "ends_before_start", "to: the stay ends before it begins"));
    }
    if to.since(from) > time::Duration::days(LONGEST_DAYS) {
        return Err(ApiError::coded(BAD, "too_long", "to: the estimator prices stays of up to 31 days"));
    }
    let tariff = app.tariffs.in_force(&app.zone, to).ok_or_else(|| {
        ApiError::coded(axum::http::StatusCode::NOT_FOUND, "no_tariff", "no tariff is in force on that day")
    })?;
    let priced = fee(tariff, &class, from, to)
        .map_err(|_| ApiError::coded(BAD, "class_not_priced", "class: the lot's tariff has no price for it"))?;
    Ok(Json(json!({ "from": from, "to": to, "fee": priced })))
}

const BAD: axum::http::StatusCode = axum::http::StatusCode::BAD_REQUEST;

/// A local date and minute as a form's `datetime-local` gives it.
fn local_minute(name: &str, text: &str) -> Result<Timestamp, ApiError> {
    let format = time::macros::format_description!("[year]-[month]-[day]T[hour]:[minute]");
    let local = time::PrimitiveDateTime::parse(text.get(..16).unwrap_or(text), &format)
        .map_err(|_| ApiError::coded(BAD, "bad_time", format!("{name}: a local date and time, YYYY-MM-DDTHH:MM")))?;
    Ok(Timestamp::from_local(local))
}
