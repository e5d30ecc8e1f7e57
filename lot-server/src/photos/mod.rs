//! Lane photos kept for staff: the snapshot of each entry, exit and hold,
//! as the controllers send them (`…/gate/{gate}/photo`), keyed by the gate
//! event, shown on a held lane's alarm and in a stay's detail, and deleted
//! after `[retention] photos_days`.
//!
//! Parts: this file ([`Photos`]: keep, find, sweep); `pair` (the entry
//! and the present photo of the stay an event belongs to); the MQTT
//! subscriber is `crate::mqtt::photos`.
//!
//! Where the image lives: a file under `[photos] dir`
//! (`{dir}/{lot}/{date}/{event_id}.jpg`), or in the database as base64
//! when no directory is set (a small setup, one file to back up).

mod pair;

use std::path::PathBuf;

use base64::Engine as _;
use parking_core::wire::{PHOTO_MAX_BYTES, PhotoMsg, photo_type};
use sqlx::Row;

use crate::db::Db;

pub use pair::{EventPhotos, PhotoRef, event_photos};

/// Why a photo was not kept or found.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    #[error("the photo of event {0} is not base64")]
    NotBase64(String),
    #[error("the photo of event {0} is larger than {max} KiB", max = PHOTO_MAX_BYTES / 1024)]
    TooLarge(String),
    #[error("the photo of event {0} is not a JPEG or PNG image")]
    NotAnImage(String),
    #[error("photo file {path}: {error}")]
    File { path: String, error: std::io::Error },
    #[error("database: {0}")]
    Db(#[from] sqlx::Error),
}

/// One photo's image.
#[derive(Debug)]
pub struct Photo {
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// The lot's photos: its database, and its directory if photos are files.
#[derive(Clone, Debug)]
pub struct Photos {
    db: Db,
    dir: Option<PathBuf>,
}

impl Photos {
    /// Photos of the lot in `db`, as files under `dir` if given.
    pub fn new(db: Db, dir: Option<PathBuf>) -> Self {
        Photos { db, dir }
    }

    /// Keeps `msg`'s image; `false` if the event already has a photo
    /// (a message delivered again).
    pub async fn keep(&self, msg: &PhotoMsg) -> Result<bool, PhotoError> {
        let id = msg.event_id.to_string();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(msg.image.as_bytes())
            .map_err(|_| PhotoError::NotBase64(id.clone()))?;
        let size = i64::try_from(bytes.len()).unwrap_or(i64::MAX);
        if bytes.len() > PHOTO_MAX_BYTES {
            return Err(PhotoError::TooLarge(id));
        }
        // What the bytes are, not what the sender says they are.
        let content_type = photo_type(&bytes).ok_or_else(|| PhotoError::NotAnImage(id.clone()))?;
        let known: Option<i64> = sqlx::query_scalar("SELECT taken_ms FROM photos WHERE event_id = $1")
            .bind(id.clone())
            .fetch_optional(&self.db.pool)
            .await?;
        if known.is_some() {
            return Ok(false);
        }
        let (file, inline) = match &self.dir {
            Some(dir) => {
                let ext = if content_type == "image/png" { "png" } else { "jpg" };
                let date = msg.at.local_date();
                let relative = format!("{date}/{id}.{ext}");
                let path = dir.join(&relative);
                let shown = path.display().to_string();
                tokio::task::spawn_blocking(move || parking_runtime::files::write_atomically(&path, &bytes))
                    .await
                    .map_err(|e| PhotoError::File { path: shown.clone(), error: std::io::Error::other(e) })?
                    .map_err(|error| PhotoError::File { path: shown, error })?;
                (Some(relative), None)
            }
            None => (None, Some(msg.image.clone())),
        };
        let n = sqlx::query(
            "INSERT INTO photos (event_id, gate, taken_ms, content_type, size_bytes, file, image_b64) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (event_id) DO NOTHING",
        )
        .bind(id)
        .bind(msg.gate.to_string())
        .bind(msg.at.unix_millis())
        .bind(content_type)
        .bind(size)
        .bind(file)
        .bind(inline)
        .execute(&self.db.pool)
        .await?
        .rows_affected();
        Ok(n == 1)
    }

    /// The photo of `event_id`, if one is kept.
    pub async fn get(&self, event_id: &str) -> Result<Option<Photo>, PhotoError> {
        let Some(row) = sqlx::query("SELECT content_type, file, image_b64 FROM photos WHERE event_id = $1")
            .bind(event_id.to_owned())
            .fetch_optional(&self.db.pool)
            .await?
        else {
            return Ok(None);
        };
        let content_type: String = row.try_get("content_type")?;
        let file: Option<String> = row.try_get("file")?;
        let inline: Option<String> = row.try_get("image_b64")?;
        let bytes = match (file, inline, &self.dir) {
            (Some(file), _, Some(dir)) => {
                let path = dir.join(file);
                match tokio::fs::read(&path).await {
                    Ok(b) => b,
                    // Deleted by hand, or on a disk not mounted: no photo.
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                    Err(error) => return Err(PhotoError::File { path: path.display().to_string(), error }),
                }
            }
            (_, Some(inline), _) => base64::engine::general_purpose::STANDARD
                .decode(inline.as_bytes())
                .map_err(|_| PhotoError::NotBase64(event_id.to_owned()))?,
            // A file kept while a directory was set, asked for without one.
            _ => return Ok(None),
        };
        Ok(Some(Photo { content_type, bytes }))
    }

    /// Deletes the photos taken before `before_ms`, files too, `batch`
    /// rows at a time; how many.
    pub async fn sweep(&self, before_ms: i64, batch: i64) -> Result<u64, PhotoError> {
        let mut total = 0;
        loop {
            let rows = sqlx::query("SELECT event_id, file FROM photos WHERE taken_ms < $1 LIMIT $2")
                .bind(before_ms)
                .bind(batch)
                .fetch_all(&self.db.pool)
                .await?;
            if rows.is_empty() {
                return Ok(total);
            }
            for row in &rows {
                let id: String = row.try_get("event_id")?;
                let file: Option<String> = row.try_get("file")?;
                if let (Some(file), Some(dir)) = (file, &self.dir) {
                    let path = dir.join(file);
                    match tokio::fs::remove_file(&path).await {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(error) => return Err(PhotoError::File { path: path.display().to_string(), error }),
                    }
                }
                total += sqlx::query("DELETE FROM photos WHERE event_id = $1")
                    .bind(id)
                    .execute(&self.db.pool)
                    .await?
                    .rows_affected();
            }
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests;
