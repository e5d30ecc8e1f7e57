//! Tags: windshield stickers bound to vehicles, their states (active,
//! suspended, stolen, cloned), and replacing a lost one.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;

impl Registry {
    fn tag(row: &AnyRow) -> Result<Tag, RegistryError> {
        let epc: String = row.try_get("epc")?;
        let tid: Option<String> = row.try_get("tid")?;
        let state: String = row.try_get("state")?;
        Ok(Tag {
            epc: parse_stored("epc", &epc)?,
            tid: tid.as_deref().map(|t| parse_stored("tid", t)).transpose()?,
            vehicle_id: row.try_get("vehicle_id")?,
            state: state_of("tag state", &state)?,
            created_ms: row.try_get("created_ms")?,
            updated_ms: row.try_get("updated_ms")?,
        })
    }

    pub async fn create_tag(&self, input: TagInput, now_ms: i64) -> Result<Tag, RegistryError> {
        let epc = input.epc.to_string();
        let (mut tx, version) = self.begin().await?;
        sqlx::query(
            "INSERT INTO tags (epc, tid, vehicle_id, state, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(epc.clone())
        .bind(input.tid.as_ref().map(ToString::to_string))
        .bind(input.vehicle_id.clone())
        .bind(state_str(&input.state))
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, &format!("tag {epc}")))?;
        let touched = Touched { epcs: [epc.clone()].into(), vehicles: [input.vehicle_id].into(), ..Touched::default() };
        self.finish(tx, touched, version, now_ms).await?;
        self.get_tag(&epc).await
    }

    pub async fn get_tag(&self, epc: &str) -> Result<Tag, RegistryError> {
        Self::tag(&self.row("tags", "epc", &epc.to_ascii_uppercase(), "tag").await?)
    }

    pub async fn list_tags(&self, q: &ListQuery) -> Result<Vec<Tag>, RegistryError> {
        let (limit, offset) = q.page()?;
        let rows =
            sqlx::query("SELECT * FROM tags WHERE ($1 IS NULL OR vehicle_id = $1) ORDER BY epc LIMIT $2 OFFSET $3")
                .bind(q.vehicle_id.clone())
                .bind(limit)
                .bind(offset)
                .fetch_all(&self.db.pool)
                .await?;
        rows.iter().map(Self::tag).collect()
    }

    /// Replaces a tag's binding; the EPC in the path and body must agree.
    pub async fn update_tag(&self, epc: &str, input: TagInput, now_ms: i64) -> Result<Tag, RegistryError> {
        let epc = epc.to_ascii_uppercase();
        if input.epc.to_string() != epc {
            return Err(RegistryError::Invalid(format!("the body's epc {} is not the tag {epc}", input.epc)));
        }
        let (mut tx, version) = self.begin().await?;
        let old_vehicle: Option<String> = sqlx::query_scalar("SELECT vehicle_id FROM tags WHERE epc = $1")
            .bind(epc.clone())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(old_vehicle) = old_vehicle else {
            return Err(RegistryError::not_found("tag", &epc));
        };
        sqlx::query("UPDATE tags SET tid = $1, vehicle_id = $2, state = $3, updated_ms = $4 WHERE epc = $5")
            .bind(input.tid.as_ref().map(ToString::to_string))
            .bind(input.vehicle_id.clone())
            .bind(state_str(&input.state))
            .bind(now_ms)
            .bind(epc.clone())
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, &format!("tag {epc}")))?;
        let touched = Touched {
            epcs: [epc.clone()].into(),
            vehicles: [old_vehicle, input.vehicle_id].into(),
            ..Touched::default()
        };
        self.finish(tx, touched, version, now_ms).await?;
        self.get_tag(&epc).await
    }

    pub async fn delete_tag(&self, epc: &str, now_ms: i64) -> Result<(), RegistryError> {
        let epc = epc.to_ascii_uppercase();
        let (mut tx, version) = self.begin().await?;
        let vehicle: Option<String> = sqlx::query_scalar("DELETE FROM tags WHERE epc = $1 RETURNING vehicle_id")
            .bind(epc.clone())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(vehicle) = vehicle else {
            return Err(RegistryError::not_found("tag", &epc));
        };
        let touched = Touched { epcs: [epc].into(), vehicles: [vehicle].into(), ..Touched::default() };
        self.finish(tx, touched, version, now_ms).await
    }

    /// Replaces a lost or damaged tag: in one transaction the old one goes
    /// on the deny list (`stolen`: whoever finds it is refused) and the new
    /// one is bound to the same vehicle, under one lists version.
    pub async fn replace_tag(&self, epc: &str, new: TagReplacement, now_ms: i64) -> Result<(Tag, Tag), RegistryError> {
        let old_epc = epc.to_ascii_uppercase();
        let new_epc = new.epc.to_string();
        if new_epc == old_epc {
            return Err(RegistryError::Invalid("the new tag's epc is the old one's".into()));
        }
        let (mut tx, version) = self.begin().await?;
        let vehicle: Option<String> =
            sqlx::query_scalar("UPDATE tags SET state = 'stolen', updated_ms = $1 WHERE epc = $2 RETURNING vehicle_id")
                .bind(now_ms)
                .bind(old_epc.clone())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(vehicle) = vehicle else {
            return Err(RegistryError::not_found("tag", &old_epc));
        };
        sqlx::query(
            "INSERT INTO tags (epc, tid, vehicle_id, state, created_ms, updated_ms) VALUES ($1, $2, $3, 'active', $4, $4)",
        )
        .bind(new_epc.clone())
        .bind(new.tid.as_ref().map(ToString::to_string))
        .bind(vehicle.clone())
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, &format!("tag {new_epc}")))?;
        let touched = Touched {
            epcs: [old_epc.clone(), new_epc.clone()].into(),
            vehicles: [vehicle].into(),
            ..Touched::default()
        };
        self.finish(tx, touched, version, now_ms).await?;
        tracing::info!(old = %old_epc, new = %new_epc, "tag replaced");
        Ok((self.get_tag(&old_epc).await?, self.get_tag(&new_epc).await?))
    }
}
