//! Vehicles and the tags bound to them.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;

impl Registry {
    fn vehicle(row: &AnyRow) -> Result<Vehicle, RegistryError> {
        let plate: String = row.try_get("plate")?;
        let class: String = row.try_get("class")?;
        let state: String = row.try_get("state")?;
        Ok(Vehicle {
            vehicle_id: row.try_get("vehicle_id")?,
            plate: parse_stored("plate", &plate)?,
            class: parse_stored("class", &class)?,
            owner_id: row.try_get("owner_id")?,
            account_id: row.try_get("account_id")?,
            state: state_of("vehicle state", &state)?,
            created_ms: row.try_get("created_ms")?,
            updated_ms: row.try_get("updated_ms")?,
        })
    }

    pub async fn create_vehicle(&self, input: VehicleInput, now_ms: i64) -> Result<Vehicle, RegistryError> {
        let vehicle_id = new_id();
        let (mut tx, version) = self.begin().await?;
        sqlx::query(
            "INSERT INTO vehicles (vehicle_id, plate, class, owner_id, account_id, state, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(vehicle_id.clone())
        .bind(input.plate.compact().to_owned())
        .bind(input.class.as_str().to_owned())
        .bind(input.owner_id.clone())
        .bind(input.account_id.clone())
        .bind(state_str(&input.state))
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, &format!("vehicle {}", input.plate)))?;
        let touched = Touched {
            vehicles: [vehicle_id.clone()].into(),
            plates: [input.plate.compact().to_owned()].into(),
            ..Touched::default()
        };
        self.finish(tx, touched, version, now_ms).await?;
        self.get_vehicle(&vehicle_id).await
    }

    pub async fn get_vehicle(&self, vehicle_id: &str) -> Result<Vehicle, RegistryError> {
        Self::vehicle(&self.row("vehicles", "vehicle_id", vehicle_id, "vehicle").await?)
    }

    pub async fn list_vehicles(&self, q: &ListQuery) -> Result<Vec<Vehicle>, RegistryError> {
        let (limit, offset) = q.page()?;
        let rows = sqlx::query(
            "SELECT * FROM vehicles WHERE ($1 IS NULL OR plate = $1) AND ($2 IS NULL OR owner_id = $2) \
             AND ($3 IS NULL OR account_id = $3) ORDER BY created_ms, vehicle_id LIMIT $4 OFFSET $5",
        )
        .bind(q.plate.as_ref().map(|p| p.compact().to_owned()))
        .bind(q.owner_id.clone())
        .bind(q.account_id.clone())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(Self::vehicle).collect()
    }

    pub async fn update_vehicle(
        &self,
        vehicle_id: &str,
        input: VehicleInput,
        now_ms: i64,
    ) -> Result<Vehicle, RegistryError> {
        let (mut tx, version) = self.begin().await?;
        let old_plate: Option<String> = sqlx::query_scalar("SELECT plate FROM vehicles WHERE vehicle_id = $1")
            .bind(vehicle_id.to_owned())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(old_plate) = old_plate else {
            return Err(RegistryError::not_found("vehicle", vehicle_id));
        };
        sqlx::query(
            "UPDATE vehicles SET plate = $1, class = $2, owner_id = $3, account_id = $4, state = $5, updated_ms = $6 \
             WHERE vehicle_id = $7",
        )
        .bind(input.plate.compact().to_owned())
        .bind(input.class.as_str().to_owned())
        .bind(input.owner_id.clone())
        .bind(input.account_id.clone())
        .bind(state_str(&input.state))
        .bind(now_ms)
        .bind(vehicle_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, &format!("vehicle {}", input.plate)))?;
        let touched = Touched {
            vehicles: [vehicle_id.to_owned()].into(),
            plates: [old_plate, input.plate.compact().to_owned()].into(),
            ..Touched::default()
        };
        self.finish(tx, touched, version, now_ms).await?;
        self.get_vehicle(vehicle_id).await
    }

    pub async fn delete_vehicle(&self, vehicle_id: &str, now_ms: i64) -> Result<(), RegistryError> {
        let (mut tx, version) = self.begin().await?;
        let plate: Option<String> = sqlx::query_scalar("SELECT plate FROM vehicles WHERE vehicle_id = $1")
            .bind(vehicle_id.to_owned())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(plate) = plate else {
            return Err(RegistryError::not_found("vehicle", vehicle_id));
        };
        sqlx::query("DELETE FROM vehicles WHERE vehicle_id = $1")
            .bind(vehicle_id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, "vehicle (delete its tags and passes first)"))?;
        let touched = Touched { plates: [plate].into(), ..Touched::default() };
        self.finish(tx, touched, version, now_ms).await
    }

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
}
