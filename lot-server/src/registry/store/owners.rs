//! Owners, and their citizen ID kept only as a slow salted hash.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;

impl Registry {
    fn owner(row: &AnyRow) -> Result<Owner, RegistryError> {
        Ok(Owner {
            owner_id: row.try_get("owner_id")?,
            name: row.try_get("name")?,
            phone: row.try_get("phone")?,
            created_ms: row.try_get("created_ms")?,
            updated_ms: row.try_get("updated_ms")?,
        })
    }

    pub async fn create_owner(&self, input: OwnerInput, now_ms: i64) -> Result<Owner, RegistryError> {
        non_empty("name", &input.name, 200)?;
        let number = citizen_id(
            input
                .id_number
                .as_deref()
                .ok_or_else(|| RegistryError::Invalid("id_number is required when an owner is created".into()))?,
        )?;
        let id_hash = hash_id_off_thread(number).await?;
        let owner_id = new_id();
        sqlx::query(
            "INSERT INTO owners (owner_id, name, id_hash, phone, created_ms, updated_ms) VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(owner_id.clone())
        .bind(input.name.trim().to_owned())
        .bind(id_hash)
        .bind(input.phone.clone())
        .bind(now_ms)
        .execute(&self.db.pool)
        .await?;
        self.get_owner(&owner_id).await
    }

    pub async fn get_owner(&self, owner_id: &str) -> Result<Owner, RegistryError> {
        Self::owner(&self.row("owners", "owner_id", owner_id, "owner").await?)
    }

    pub async fn list_owners(&self, q: &ListQuery) -> Result<Vec<Owner>, RegistryError> {
        let (limit, offset) = q.page()?;
        let rows = sqlx::query("SELECT * FROM owners ORDER BY created_ms, owner_id LIMIT $1 OFFSET $2")
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(Self::owner).collect()
    }

    pub async fn update_owner(&self, owner_id: &str, input: OwnerInput, now_ms: i64) -> Result<Owner, RegistryError> {
        non_empty("name", &input.name, 200)?;
        let id_hash = match input.id_number.as_deref() {
            Some(n) => Some(hash_id_off_thread(citizen_id(n)?).await?),
            None => None,
        };
        let done = sqlx::query(
            "UPDATE owners SET name = $1, phone = $2, id_hash = COALESCE($3, id_hash), updated_ms = $4 \
             WHERE owner_id = $5",
        )
        .bind(input.name.trim().to_owned())
        .bind(input.phone.clone())
        .bind(id_hash)
        .bind(now_ms)
        .bind(owner_id.to_owned())
        .execute(&self.db.pool)
        .await?;
        if done.rows_affected() == 0 {
            return Err(RegistryError::not_found("owner", owner_id));
        }
        self.get_owner(owner_id).await
    }

    /// Whether `number` is the owner's citizen ID.
    pub async fn owner_id_matches(&self, owner_id: &str, number: &str) -> Result<bool, RegistryError> {
        let number = citizen_id(number)?;
        let stored: String = sqlx::query_scalar("SELECT id_hash FROM owners WHERE owner_id = $1")
            .bind(owner_id.to_owned())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| RegistryError::not_found("owner", owner_id))?;
        Ok(crate::people::argon::verify(number, stored).await?)
    }

    pub async fn delete_owner(&self, owner_id: &str) -> Result<(), RegistryError> {
        let done = sqlx::query("DELETE FROM owners WHERE owner_id = $1")
            .bind(owner_id.to_owned())
            .execute(&self.db.pool)
            .await
            .map_err(|e| conflict(e, "owner"))?;
        if done.rows_affected() == 0 {
            return Err(RegistryError::not_found("owner", owner_id));
        }
        Ok(())
    }
}

/// A citizen ID as stored: its Argon2id hash.
async fn hash_id_off_thread(number: String) -> Result<String, RegistryError> {
    Ok(crate::people::argon::hash(number).await?)
}
