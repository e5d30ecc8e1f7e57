//! The operator's dashboard: the page itself (`/`, no data in it; it
//! signs in through `people`), the live gate board as server-sent events,
//! occupancy by class, and an operator's count of the vehicles inside.
//! Commands to a lane (open by hand, decide a hold) are in `lanes`.

use std::convert::Infallible;

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Router};
use futures_util::Stream;
use serde::Deserialize;
use serde_json::{Value, json};
use sqlx::Row;

use super::{ApiError, AppState, Body, Caller, Params};

const INDEX: &str = include_str!("../dashboard/index.html");

/// The page's scripts and style, by path: served as they are, no build step.
const FILES: &[(&str, &str, &str)] = &[
    ("/dashboard/app.css", include_str!("../dashboard/app.css"), "text/css; charset=utf-8"),
    ("/dashboard/i18n.js", include_str!("../dashboard/i18n.js"), JS),
    ("/dashboard/app.js", include_str!("../dashboard/app.js"), JS),
    ("/dashboard/photos.js", include_str!("../dashboard/photos.js"), JS),
    ("/dashboard/board.js", include_str!("../dashboard/board.js"), JS),
    ("/dashboard/alarms.js", include_str!("../dashboard/alarms.js"), JS),
    ("/dashboard/desk.js", include_str!("../dashboard/desk.js"), JS),
    ("/dashboard/money.js", include_str!("../dashboard/money.js"), JS),
    ("/dashboard/reports.js", include_str!("../dashboard/reports.js"), JS),
    ("/dashboard/stays.js", include_str!("../dashboard/stays.js"), JS),
    ("/dashboard/registry.js", include_str!("../dashboard/registry.js"), JS),
    ("/dashboard/people.js", include_str!("../dashboard/people.js"), JS),
    ("/dashboard/close.js", include_str!("../dashboard/close.js"), JS),
    ("/dashboard/drivers.js", include_str!("../dashboard/drivers.js"), JS),
];
const JS: &str = "text/javascript; charset=utf-8";

/// The page: no token needed, no data in it.
pub(super) fn public_routes() -> Router<AppState> {
    FILES.iter().fold(Router::new().route("/", get(index)), |r, &(path, body, kind)| {
        r.route(path, get(move || async move { page(body, kind) }))
    })
}

/// For every role.
pub(super) fn read_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/live", get(live))
        .route("/api/v1/gates", get(gates))
        .route("/api/v1/occupancy", get(occupancy))
        .route("/api/v1/qr.svg", get(qr_svg))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QrQuery {
    text: String,
}

/// `GET /api/v1/qr.svg?text=…`: a QR code as SVG (the VietQR a lane shows).
async fn qr_svg(Params(q): Params<QrQuery>) -> Result<Response, ApiError> {
    let svg = qr(&q.text)?;
    Ok(([(header::CONTENT_TYPE, "image/svg+xml"), (header::CACHE_CONTROL, "no-store")], svg).into_response())
}

/// `text` (1 to 512 bytes) as a QR code in SVG.
pub(super) fn qr(text: &str) -> Result<String, ApiError> {
    if text.is_empty() || text.len() > 512 {
        return Err(ApiError::bad("text: 1 to 512 bytes"));
    }
    let code = qrcode::QrCode::new(text.as_bytes()).map_err(|e| ApiError::bad(format!("text: {e}")))?;
    Ok(code.render::<qrcode::render::svg::Color<'_>>().min_dimensions(200, 200).build())
}

/// For operators and admins.
pub(super) fn ops_routes() -> Router<AppState> {
    Router::new().route("/api/v1/occupancy/adjust", post(adjust_occupancy))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AdjustRequest {
    /// A class the lot lists a capacity for.
    class: String,
    /// The vehicles of that class the operator counted inside.
    inside: u32,
    /// Why (3 to 500 characters).
    note: String,
}

/// `POST /api/v1/occupancy/adjust`: sets a class's occupied spaces to an
/// operator's count; the free spaces drivers see follow.
async fn adjust_occupancy(
    State(s): State<AppState>,
    Extension(Caller(who)): Extension<Caller>,
    Body(b): Body<AdjustRequest>,
) -> Result<Json<Value>, ApiError> {
    use crate::availability::{AdjustError, adjust};
    let class = b
        .class
        .parse()
        .map_err(|_| ApiError::coded(StatusCode::BAD_REQUEST, "unknown_class", "class: not a vehicle class"))?;
    let app = &s.0;
    match adjust(&app.db, &app.site, &class, b.inside, &b.note, &who.name, app.clock.now()).await {
        Ok(figure) => Ok(Json(json!(figure))),
        Err(e @ AdjustError::UnknownClass(_)) => {
            Err(ApiError::coded(StatusCode::BAD_REQUEST, "unknown_class", e.to_string()))
        }
        Err(e @ AdjustError::OverCapacity { .. }) => {
            Err(ApiError::coded(StatusCode::BAD_REQUEST, "over_capacity", e.to_string()))
        }
        Err(e @ AdjustError::Note) => Err(ApiError::coded(StatusCode::BAD_REQUEST, "note_length", e.to_string())),
        Err(AdjustError::Db(e)) => Err(e.into()),
    }
}

/// The dashboard's page.
pub(super) async fn index() -> Response {
    page(INDEX, "text/html; charset=utf-8")
}

fn page(body: &'static str, kind: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, kind),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::HeaderName::from_static("content-security-policy"), "default-src 'self'; img-src 'self' data:"),
        ],
        body,
    )
        .into_response()
}

/// `GET /api/v1/live`: the board, then every change, as server-sent events.
async fn live(State(s): State<AppState>) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = s.0.live.subscribe();
    let first = json!({ "type": "snapshot", "lanes": s.0.live.snapshot() }).to_string();
    let board = std::sync::Arc::clone(&s.0.live);
    let rest = futures_util::stream::unfold((rx, board), |(mut rx, board)| async move {
        use tokio::sync::broadcast::error::RecvError;
        let data = match rx.recv().await {
            Ok(m) => m,
            // Too slow a reader: start again from the whole board.
            Err(RecvError::Lagged(_)) => json!({ "type": "snapshot", "lanes": board.snapshot() }).to_string(),
            Err(RecvError::Closed) => return None,
        };
        Some((Ok(Event::default().data(data)), (rx, board)))
    });
    let stream = futures_util::StreamExt::chain(
        futures_util::stream::once(async move { Ok(Event::default().data(first)) }),
        rest,
    );
    Sse::new(stream).keep_alive(KeepAlive::default())
}

async fn gates(State(s): State<AppState>) -> Json<Value> {
    Json(json!(s.0.live.snapshot()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OccupancyQuery {
    /// A local day, YYYY-MM-DD; today by default.
    date: Option<String>,
}

/// `GET /api/v1/occupancy`: vehicles inside now, and at the end of each
/// hour of a local day (now, for the hour under way), by class.
async fn occupancy(State(s): State<AppState>, Params(q): Params<OccupancyQuery>) -> Result<Json<Value>, ApiError> {
    let day = match &q.date {
        Some(d) => crate::tax::report::local_date("date", d).map_err(|e| ApiError::bad(e.to_string()))?,
        None => s.0.clock.now().local_date(),
    };
    let start = crate::tax::report::midnight_ms(day);
    let end = start + 24 * 3_600_000;
    let now_rows = sqlx::query("SELECT class, COUNT(*) AS n FROM sessions WHERE state = 'open' GROUP BY class")
        .fetch_all(&s.0.db.pool)
        .await?;
    let mut now = serde_json::Map::new();
    for r in &now_rows {
        now.insert(r.try_get::<String, _>("class")?, json!(r.try_get::<i64, _>("n")?));
    }
    let stays = sqlx::query(
        "SELECT class, entered_ms, exited_ms FROM sessions \
         WHERE entered_ms IS NOT NULL AND entered_ms < $1 AND (exited_ms IS NULL OR exited_ms >= $2)",
    )
    .bind(end)
    .bind(start)
    .fetch_all(&s.0.db.pool)
    .await?;
    let now_ms = s.0.clock.now().unix_millis();
    let mut hours: Vec<serde_json::Map<String, Value>> = vec![serde_json::Map::new(); 24];
    for r in &stays {
        let class: String = r.try_get("class")?;
        let entered: i64 = r.try_get("entered_ms")?;
        let exited: Option<i64> = r.try_get("exited_ms")?;
        for (h, counts) in hours.iter_mut().enumerate() {
            // Inside at the end of the hour, or now for the hour under way;
            // hours to come have no figure yet.
            let hour_start = start + i64::try_from(h).unwrap_or(0) * 3_600_000;
            if hour_start > now_ms {
                continue;
            }
            let t = (hour_start + 3_600_000).min(now_ms);
            if entered <= t && exited.is_none_or(|x| x > t) {
                let n = counts.entry(class.clone()).or_insert(json!(0));
                *n = json!(n.as_i64().unwrap_or(0) + 1);
            }
        }
    }
    let by_hour: Vec<Value> = hours.into_iter().enumerate().map(|(h, c)| json!({ "hour": h, "by_class": c })).collect();
    let spaces = crate::availability::read(&s.0.db, &s.0.site, s.0.clock.now()).await?.classes;
    Ok(Json(json!({ "date": day.to_string(), "now": now, "by_hour": by_hour, "spaces": spaces })))
}
