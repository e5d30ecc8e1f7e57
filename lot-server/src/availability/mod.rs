//! Free spaces for drivers: each class the lot lists a capacity for
//! (`[lot.capacity]`), taken as its open stays, moved by an operator's
//! count, and held within capacity ([`parking_core::occupancy`]).
//!
//! Parts:
//! - this file: [`read`] a lot's figures, [`adjust`] them to an
//!   operator's count (kept in `occupancy_adjustments`, and journalled as
//!   the operator's action by the API);
//! - [`datex`]: the open feed, as a DATEX II parking status publication.
//!
//! `crate::mqtt::availability` keeps the figures retained on MQTT.

pub mod datex;

use parking_core::occupancy::ClassOccupancy;
use parking_core::settings::LotSettings;
use parking_core::timestamp::Timestamp;
use parking_core::vehicle::VehicleClass;
use serde::Serialize;
use sqlx::Row;

use crate::db::Db;

/// One class of one lot.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ClassFree {
    pub class: VehicleClass,
    pub capacity: u32,
    pub occupied: u32,
    pub free: u32,
}

/// One lot, as drivers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LotAvailability {
    pub id: String,
    pub name: String,
    pub address: Option<String>,
    pub opening_hours: Option<String>,
    /// When these figures were counted.
    pub updated_at: Timestamp,
    pub classes: Vec<ClassFree>,
}

/// The lot's figures now.
pub async fn read(db: &Db, lot: &LotSettings, now: Timestamp) -> Result<LotAvailability, sqlx::Error> {
    let counts = sqlx::query("SELECT class, COUNT(*) AS n FROM sessions WHERE state = 'open' GROUP BY class")
        .fetch_all(&db.pool)
        .await?;
    let mut classes = Vec::with_capacity(lot.capacity.len());
    for (class, capacity) in &lot.capacity {
        let mut counted = 0;
        for r in &counts {
            if r.try_get::<String, _>("class")? == class.as_str() {
                counted = r.try_get::<i64, _>("n")?;
            }
        }
        let o = ClassOccupancy::new(*capacity, counted, offset(db, class).await?);
        classes.push(ClassFree { class: class.clone(), capacity: o.capacity, occupied: o.occupied, free: o.free });
    }
    Ok(LotAvailability {
        id: lot.id.to_string(),
        name: lot.name.clone(),
        address: lot.address.clone(),
        opening_hours: lot.opening_hours.clone(),
        updated_at: now,
        classes,
    })
}

/// The latest correction of a class, 0 if none.
async fn offset(db: &Db, class: &VehicleClass) -> Result<i64, sqlx::Error> {
    let row = sqlx::query(
        "SELECT offset_count FROM occupancy_adjustments WHERE class = $1 ORDER BY at_ms DESC, adjustment_id DESC LIMIT 1",
    )
    .bind(class.as_str())
    .fetch_optional(&db.pool)
    .await?;
    row.map_or(Ok(0), |r| r.try_get("offset_count"))
}

/// Why an adjustment was refused.
#[derive(Debug, thiserror::Error)]
pub enum AdjustError {
    #[error("the lot lists no capacity for class {0}")]
    UnknownClass(String),
    #[error("{inside} inside is more than the {capacity} spaces of class {class}")]
    OverCapacity { class: String, inside: u32, capacity: u32 },
    #[error("note: say why, in 3 to 500 characters")]
    Note,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Sets a class's figure to what an operator counted inside.
pub async fn adjust(
    db: &Db,
    lot: &LotSettings,
    class: &VehicleClass,
    inside: u32,
    note: &str,
    by: &str,
    now: Timestamp,
) -> Result<ClassFree, AdjustError> {
    let capacity = *lot.capacity.get(class).ok_or_else(|| AdjustError::UnknownClass(class.to_string()))?;
    if inside > capacity {
        return Err(AdjustError::OverCapacity { class: class.to_string(), inside, capacity });
    }
    let note = crate::people::note(note).ok_or(AdjustError::Note)?;
    let counted: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sessions WHERE state = 'open' AND class = $1")
        .bind(class.as_str())
        .fetch_one(&db.pool)
        .await?;
    let offset = ClassOccupancy::offset_for(inside, counted);
    sqlx::query(
        "INSERT INTO occupancy_adjustments (adjustment_id, lot, class, counted, inside, offset_count, note, by_user, at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(uuid::Uuid::new_v4().to_string())
    .bind(lot.id.as_str())
    .bind(class.as_str())
    .bind(counted)
    .bind(i64::from(inside))
    .bind(offset)
    .bind(note)
    .bind(by)
    .bind(now.unix_millis())
    .execute(&db.pool)
    .await?;
    let o = ClassOccupancy::new(capacity, counted, offset);
    tracing::info!(class = %class, counted, inside, by, "occupancy adjusted to an operator's count");
    Ok(ClassFree { class: class.clone(), capacity, occupied: o.occupied, free: o.free })
}

#[cfg(test)]
mod tests;
