//! Monthly passes.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;

impl Registry {
    fn pass(row: &AnyRow) -> Result<Pass, RegistryError> {
        let from: String = row.try_get("valid_from")?;
        let until: String = row.try_get("valid_until")?;
        let state: String = row.try_get("state")?;
        let date = |s: &str| Date::parse(s, ISO_DATE).map_err(|e| decode_error("date", e));
        Ok(Pass {
            pass_id: row.try_get("pass_id")?,
            vehicle_id: row.try_get("vehicle_id")?,
            valid_from: date(&from)?,
            valid_until: date(&until)?,
            price_vnd: row.try_get("price_vnd")?,
            state: state_of("pass state", &state)?,
            created_ms: row.try_get("created_ms")?,
            updated_ms: row.try_get("updated_ms")?,
        })
    }

    fn check_pass(input: &PassInput) -> Result<(), RegistryError> {
        if input.valid_until < input.valid_from {
            return Err(RegistryError::Invalid("valid_until must not be before valid_from".into()));
        }
        if input.price_vnd < 0 {
            return Err(RegistryError::Invalid("price_vnd must not be negative".into()));
        }
        Ok(())
    }

    pub async fn create_pass(&self, input: PassInput, now_ms: i64) -> Result<Pass, RegistryError> {
        Self::check_pass(&input)?;
        let pass_id = new_id();
        let (mut tx, version) = self.begin().await?;
        sqlx::query(
            "INSERT INTO passes (pass_id, vehicle_id, valid_from, valid_until, price_vnd, state, created_ms, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(pass_id.clone())
        .bind(input.vehicle_id.clone())
        .bind(iso(input.valid_from))
        .bind(iso(input.valid_until))
        .bind(input.price_vnd)
        .bind(state_str(&input.state))
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, "pass"))?;
        let touched = Touched { passes: [pass_id.clone()].into(), ..Touched::default() };
        self.finish(tx, touched, version, now_ms).await?;
        self.get_pass(&pass_id).await
    }

    pub async fn get_pass(&self, pass_id: &str) -> Result<Pass, RegistryError> {
        Self::pass(&self.row("passes", "pass_id", pass_id, "pass").await?)
    }

    pub async fn list_passes(&self, q: &ListQuery) -> Result<Vec<Pass>, RegistryError> {
        let (limit, offset) = q.page()?;
        let rows = sqlx::query(
            "SELECT * FROM passes WHERE ($1 IS NULL OR vehicle_id = $1) ORDER BY created_ms, pass_id LIMIT $2 OFFSET $3",
        )
        .bind(q.vehicle_id.clone())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(Self::pass).collect()
    }

    pub async fn update_pass(&self, pass_id: &str, input: PassInput, now_ms: i64) -> Result<Pass, RegistryError> {
        Self::check_pass(&input)?;
        let (mut tx, version) = self.begin().await?;
        let done = sqlx::query(
            "UPDATE passes SET vehicle_id = $1, valid_from = $2, valid_until = $3, price_vnd = $4, state = $5, \
             updated_ms = $6 WHERE pass_id = $7",
        )
        .bind(input.vehicle_id.clone())
        .bind(iso(input.valid_from))
        .bind(iso(input.valid_until))
        .bind(input.price_vnd)
        .bind(state_str(&input.state))
        .bind(now_ms)
        .bind(pass_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, "pass"))?;
        if done.rows_affected() == 0 {
            return Err(RegistryError::not_found("pass", pass_id));
        }
        let touched = Touched { passes: [pass_id.to_owned()].into(), ..Touched::default() };
        self.finish(tx, touched, version, now_ms).await?;
        self.get_pass(pass_id).await
    }

    pub async fn delete_pass(&self, pass_id: &str, now_ms: i64) -> Result<(), RegistryError> {
        let (mut tx, version) = self.begin().await?;
        let done =
            sqlx::query("DELETE FROM passes WHERE pass_id = $1").bind(pass_id.to_owned()).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(RegistryError::not_found("pass", pass_id));
        }
        let touched = Touched { passes: [pass_id.to_owned()].into(), ..Touched::default() };
        self.finish(tx, touched, version, now_ms).await
    }
}
