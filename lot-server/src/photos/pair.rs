//! The two photos staff compare for one gate event: the photo of the
//! stay's entry, and the event's own (an exit, a hold). For an entry the
//! two are the same; a hold at the exit finds its stay by the credential
//! it was held with, the stay that was inside when the lane held it.

use parking_core::wire::{Credential, GateEventKind};
use serde::Serialize;
use sqlx::Row;

use super::PhotoError;
use crate::db::Db;
use crate::ingest::keys::credential_key;

/// One kept photo, where the dashboard fetches it.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct PhotoRef {
    pub event_id: String,
    pub gate: String,
    pub taken_ms: i64,
    /// `/api/v1/photos/{event_id}`.
    pub url: String,
}

/// The stay's entry photo and the event's own, each if kept.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct EventPhotos {
    pub entry: Option<PhotoRef>,
    pub now: Option<PhotoRef>,
}

async fn photo_ref(db: &Db, event_id: &str) -> Result<Option<PhotoRef>, PhotoError> {
    let row = sqlx::query("SELECT gate, taken_ms FROM photos WHERE event_id = $1")
        .bind(event_id.to_owned())
        .fetch_optional(&db.pool)
        .await?;
    Ok(match row {
        Some(r) => Some(PhotoRef {
            event_id: event_id.to_owned(),
            gate: r.try_get("gate")?,
            taken_ms: r.try_get("taken_ms")?,
            url: format!("/api/v1/photos/{event_id}"),
        }),
        None => None,
    })
}

/// The entry event of the stay `event_id` (of lot `lot`) belongs to.
async fn entry_of(db: &Db, lot: &str, event_id: &str) -> Result<Option<String>, PhotoError> {
    let Some(row) = sqlx::query("SELECT kind, at_ms, payload FROM gate_events WHERE event_id = $1")
        .bind(event_id.to_owned())
        .fetch_optional(&db.pool)
        .await?
    else {
        return Ok(None);
    };
    let kind: String = row.try_get("kind")?;
    if kind == "entry" {
        return Ok(Some(event_id.to_owned()));
    }
    if kind == "exit" {
        let entry: Option<Option<String>> =
            sqlx::query_scalar("SELECT entry_event FROM sessions WHERE lot = $1 AND exit_event = $2")
                .bind(lot.to_owned())
                .bind(event_id.to_owned())
                .fetch_optional(&db.pool)
                .await?;
        return Ok(entry.flatten());
    }
    let payload: String = row.try_get("payload")?;
    let at_ms: i64 = row.try_get("at_ms")?;
    let credential: Option<Credential> =
        serde_json::from_str::<parking_core::wire::GateEvent>(&payload).ok().and_then(|e| match e.kind {
            GateEventKind::Held { credential, .. } | GateEventKind::PaymentRequested { credential, .. } => {
                Some(credential)
            }
            _ => None,
        });
    let Some(credential) = credential else { return Ok(None) };
    // The stay that was inside then: entered before, not left before.
    let entry: Option<Option<String>> = sqlx::query_scalar(
        "SELECT entry_event FROM sessions WHERE lot = $1 AND credential_key = $2 AND entered_ms <= $3 \
         AND (exited_ms IS NULL OR exited_ms >= $3) ORDER BY entered_ms DESC LIMIT 1",
    )
    .bind(lot.to_owned())
    .bind(credential_key(lot, &credential))
    .bind(at_ms)
    .fetch_optional(&db.pool)
    .await?;
    Ok(entry.flatten())
}

/// The photos staff compare for `event_id`.
pub async fn event_photos(db: &Db, lot: &str, event_id: &str) -> Result<EventPhotos, PhotoError> {
    let now = photo_ref(db, event_id).await?;
    let entry = match entry_of(db, lot, event_id).await? {
        Some(id) if id == event_id => now.clone(),
        Some(id) => photo_ref(db, &id).await?,
        None => None,
    };
    Ok(EventPhotos { entry, now })
}
