//! Vehicles.

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
}
