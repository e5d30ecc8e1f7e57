//! Lane photos for staff (operators and admins only: a vehicle and its
//! plate are personal data): `GET /api/v1/photos/{event_id}`, the image of
//! one gate event, and `GET /api/v1/events/{event_id}/photos`, the stay's
//! entry photo beside the event's own, as a held lane's alarm shows them.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::{ApiError, AppState};
use crate::photos::{EventPhotos, PhotoError, event_photos};

/// For operators and admins.
pub(super) fn ops_routes() -> Router<AppState> {
    Router::new().route("/api/v1/photos/{event_id}", get(photo)).route("/api/v1/events/{event_id}/photos", get(pair))
}

impl From<PhotoError> for ApiError {
    fn from(e: PhotoError) -> Self {
        ApiError::Unexpected(e.to_string())
    }
}

/// An event id is a UUID; anything else names no photo.
fn event_id(id: &str) -> Result<String, ApiError> {
    match id.parse::<parking_core::EventId>() {
        Ok(id) => Ok(id.to_string()),
        Err(_) => Err(ApiError::bad(format!("{id:?} is not an event id"))),
    }
}

async fn photo(State(s): State<AppState>, Path(id): Path<String>) -> Result<Response, ApiError> {
    let id = event_id(&id)?;
    match s.0.photos.get(&id).await? {
        Some(p) => Ok((
            [
                (header::CONTENT_TYPE, p.content_type),
                // Personal data: never kept by a shared cache.
                (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
            ],
            p.bytes,
        )
            .into_response()),
        None => Err(ApiError::NotFound(format!("no photo of event {id}"))),
    }
}

async fn pair(State(s): State<AppState>, Path(id): Path<String>) -> Result<Json<EventPhotos>, ApiError> {
    let id = event_id(&id)?;
    Ok(Json(event_photos(&s.0.db, s.0.lot.as_str(), &id).await?))
}
