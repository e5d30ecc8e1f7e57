//! The registry's SQL. A change that can alter the lists runs in one
//! transaction that first takes the next lists version (see
//! [`crate::lists`]), then writes the record, then refreshes the list
//! entries it affects; the publisher is woken after the commit.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use super::*;
use crate::lists::{self, Touched};

fn decode<T: std::str::FromStr>(what: &str, s: &str) -> Result<T, RegistryError>
where
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e| RegistryError::Db(sqlx::Error::Decode(format!("stored {what}: {e}").into())))
}

fn state_str<T: Serialize>(s: &T) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn state_of<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T, RegistryError> {
    serde_json::from_value(serde_json::Value::String(s.to_owned()))
        .map_err(|e| RegistryError::Db(sqlx::Error::Decode(format!("stored {what}: {e}").into())))
}

/// A unique or foreign-key violation is the caller's conflict, not ours.
fn conflict(e: sqlx::Error, what: &str) -> RegistryError {
    if let sqlx::Error::Database(d) = &e {
        if d.is_unique_violation() {
            return RegistryError::Conflict(format!("{what} already exists"));
        }
        if d.is_foreign_key_violation() {
            return RegistryError::Conflict(format!(
                "{what}: a record it names does not exist, or records still use it"
            ));
        }
    }
    RegistryError::Db(e)
}

fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

const ISO: &[time::format_description::FormatItem<'static>] = time::macros::format_description!("[year]-[month]-[day]");

fn iso(d: Date) -> String {
    d.format(ISO).unwrap_or_default()
}

/// Argon2id (default parameters) with a random salt: a citizen ID has few
/// digits, so the hash must be slow as well as salted.
fn hash_id(number: String) -> Result<String, RegistryError> {
    let salt = SaltString::encode_b64(uuid::Uuid::new_v4().as_bytes())
        .map_err(|e| RegistryError::Invalid(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(number.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| RegistryError::Invalid(format!("id_number: {e}")))
}

async fn hash_id_off_thread(number: String) -> Result<String, RegistryError> {
    tokio::task::spawn_blocking(move || hash_id(number))
        .await
        .map_err(|e| RegistryError::Db(sqlx::Error::Protocol(format!("hashing task: {e}"))))?
}

impl Registry {
    pub fn new(db: Db) -> Self {
        Registry { db, lists_changed: Arc::new(Notify::new()) }
    }

    async fn begin(&self) -> Result<(Transaction<'static, Any>, i64), RegistryError> {
        let mut tx = self.db.pool.begin().await?;
        let version = lists::next_version(&mut tx).await?;
        Ok((tx, version))
    }

    async fn finish(
        &self,
        mut tx: Transaction<'static, Any>,
        touched: Touched,
        version: i64,
    ) -> Result<(), RegistryError> {
        let changed = lists::refresh(&mut tx, self.db.backend, touched, version).await?;
        tx.commit().await?;
        if changed > 0 {
            tracing::info!(version, entries = changed, "lists changed");
            self.lists_changed.notify_one();
        }
        Ok(())
    }

    /// The row of `table` whose `column` is `id`. Table and column names
    /// are this module's constants, never input.
    async fn row(&self, table: &str, column: &str, id: &str, what: &'static str) -> Result<AnyRow, RegistryError> {
        sqlx::query(&format!("SELECT * FROM {table} WHERE {column} = $1"))
            .bind(id.to_owned())
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or_else(|| RegistryError::not_found(what, id))
    }

    // ---- owners ----

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
        tokio::task::spawn_blocking(move || {
            PasswordHash::new(&stored)
                .map(|h| Argon2::default().verify_password(number.as_bytes(), &h).is_ok())
                .map_err(|e| RegistryError::Db(sqlx::Error::Decode(format!("stored id hash: {e}").into())))
        })
        .await
        .map_err(|e| RegistryError::Db(sqlx::Error::Protocol(format!("hashing task: {e}"))))?
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

    // ---- accounts ----

    fn account(row: &AnyRow) -> Result<Account, RegistryError> {
        let state: String = row.try_get("state")?;
        Ok(Account {
            account_id: row.try_get("account_id")?,
            owner_id: row.try_get("owner_id")?,
            balance_vnd: row.try_get("balance_vnd")?,
            credit_limit_vnd: row.try_get("credit_limit_vnd")?,
            state: state_of("account state", &state)?,
            created_ms: row.try_get("created_ms")?,
            updated_ms: row.try_get("updated_ms")?,
        })
    }

    fn check_account(input: &AccountInput) -> Result<(), RegistryError> {
        if input.credit_limit_vnd < 0 {
            return Err(RegistryError::Invalid("credit_limit_vnd must not be negative".into()));
        }
        Ok(())
    }

    pub async fn create_account(&self, input: AccountInput, now_ms: i64) -> Result<Account, RegistryError> {
        Self::check_account(&input)?;
        let account_id = new_id();
        let (mut tx, version) = self.begin().await?;
        sqlx::query(
            "INSERT INTO accounts (account_id, owner_id, balance_vnd, credit_limit_vnd, state, created_ms, updated_ms) \
             VALUES ($1, $2, 0, $3, $4, $5, $5)",
        )
        .bind(account_id.clone())
        .bind(input.owner_id.clone())
        .bind(input.credit_limit_vnd)
        .bind(state_str(&input.state))
        .bind(now_ms)
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, "account"))?;
        let touched = Touched { accounts: [account_id.clone()].into(), ..Touched::default() };
        self.finish(tx, touched, version).await?;
        self.get_account(&account_id).await
    }

    pub async fn get_account(&self, account_id: &str) -> Result<Account, RegistryError> {
        Self::account(&self.row("accounts", "account_id", account_id, "account").await?)
    }

    pub async fn list_accounts(&self, q: &ListQuery) -> Result<Vec<Account>, RegistryError> {
        let (limit, offset) = q.page()?;
        let rows = sqlx::query(
            "SELECT * FROM accounts WHERE ($1 IS NULL OR owner_id = $1) ORDER BY created_ms, account_id \
             LIMIT $2 OFFSET $3",
        )
        .bind(q.owner_id.clone())
        .bind(limit)
        .bind(offset)
        .fetch_all(&self.db.pool)
        .await?;
        rows.iter().map(Self::account).collect()
    }

    pub async fn update_account(
        &self,
        account_id: &str,
        input: AccountInput,
        now_ms: i64,
    ) -> Result<Account, RegistryError> {
        Self::check_account(&input)?;
        let (mut tx, version) = self.begin().await?;
        let done = sqlx::query(
            "UPDATE accounts SET owner_id = $1, credit_limit_vnd = $2, state = $3, updated_ms = $4 WHERE account_id = $5",
        )
        .bind(input.owner_id.clone())
        .bind(input.credit_limit_vnd)
        .bind(state_str(&input.state))
        .bind(now_ms)
        .bind(account_id.to_owned())
        .execute(&mut *tx)
        .await
        .map_err(|e| conflict(e, "account"))?;
        if done.rows_affected() == 0 {
            return Err(RegistryError::not_found("account", account_id));
        }
        let touched = Touched { accounts: [account_id.to_owned()].into(), ..Touched::default() };
        self.finish(tx, touched, version).await?;
        self.get_account(account_id).await
    }

    /// Adds money to an account; its tags pay from it again once it is
    /// above zero (with the credit limit).
    pub async fn top_up(&self, account_id: &str, input: TopUpInput, now_ms: i64) -> Result<Account, RegistryError> {
        if input.amount_vnd <= 0 || input.amount_vnd > 1_000_000_000 {
            return Err(RegistryError::Invalid("amount_vnd must be 1 to 1,000,000,000 đồng".into()));
        }
        non_empty("reference", &input.reference, 200)?;
        let (mut tx, version) = self.begin().await?;
        let done =
            sqlx::query("UPDATE accounts SET balance_vnd = balance_vnd + $1, updated_ms = $2 WHERE account_id = $3")
                .bind(input.amount_vnd)
                .bind(now_ms)
                .bind(account_id.to_owned())
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            return Err(RegistryError::not_found("account", account_id));
        }
        tracing::info!(account = account_id, amount = input.amount_vnd, "account topped up");
        let touched = Touched { accounts: [account_id.to_owned()].into(), ..Touched::default() };
        self.finish(tx, touched, version).await?;
        self.get_account(account_id).await
    }

    pub async fn delete_account(&self, account_id: &str) -> Result<(), RegistryError> {
        let (mut tx, version) = self.begin().await?;
        let balance: Option<i64> = sqlx::query_scalar("SELECT balance_vnd FROM accounts WHERE account_id = $1")
            .bind(account_id.to_owned())
            .fetch_optional(&mut *tx)
            .await?;
        match balance {
            None => return Err(RegistryError::not_found("account", account_id)),
            Some(b) if b != 0 => {
                return Err(RegistryError::Conflict(format!(
                    "account {account_id} holds {b} đồng: settle the balance before deleting it"
                )));
            }
            Some(_) => {}
        }
        sqlx::query("DELETE FROM accounts WHERE account_id = $1")
            .bind(account_id.to_owned())
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, "account"))?;
        let touched = Touched { accounts: [account_id.to_owned()].into(), ..Touched::default() };
        self.finish(tx, touched, version).await
    }

    // ---- vehicles ----

    fn vehicle(row: &AnyRow) -> Result<Vehicle, RegistryError> {
        let plate: String = row.try_get("plate")?;
        let class: String = row.try_get("class")?;
        let state: String = row.try_get("state")?;
        Ok(Vehicle {
            vehicle_id: row.try_get("vehicle_id")?,
            plate: decode("plate", &plate)?,
            class: decode("class", &class)?,
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
        self.finish(tx, touched, version).await?;
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
        self.finish(tx, touched, version).await?;
        self.get_vehicle(vehicle_id).await
    }

    pub async fn delete_vehicle(&self, vehicle_id: &str) -> Result<(), RegistryError> {
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
        self.finish(tx, touched, version).await
    }

    // ---- tags ----

    fn tag(row: &AnyRow) -> Result<Tag, RegistryError> {
        let epc: String = row.try_get("epc")?;
        let tid: Option<String> = row.try_get("tid")?;
        let state: String = row.try_get("state")?;
        Ok(Tag {
            epc: decode("epc", &epc)?,
            tid: tid.as_deref().map(|t| decode("tid", t)).transpose()?,
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
        self.finish(tx, touched, version).await?;
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
        self.finish(tx, touched, version).await?;
        self.get_tag(&epc).await
    }

    pub async fn delete_tag(&self, epc: &str) -> Result<(), RegistryError> {
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
        self.finish(tx, touched, version).await
    }

    // ---- passes ----

    fn pass(row: &AnyRow) -> Result<Pass, RegistryError> {
        let from: String = row.try_get("valid_from")?;
        let until: String = row.try_get("valid_until")?;
        let state: String = row.try_get("state")?;
        let date = |s: &str| {
            Date::parse(s, ISO).map_err(|e| RegistryError::Db(sqlx::Error::Decode(format!("stored date: {e}").into())))
        };
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
        self.finish(tx, touched, version).await?;
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
        self.finish(tx, touched, version).await?;
        self.get_pass(pass_id).await
    }

    pub async fn delete_pass(&self, pass_id: &str) -> Result<(), RegistryError> {
        let (mut tx, version) = self.begin().await?;
        let done =
            sqlx::query("DELETE FROM passes WHERE pass_id = $1").bind(pass_id.to_owned()).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Err(RegistryError::not_found("pass", pass_id));
        }
        let touched = Touched { passes: [pass_id.to_owned()].into(), ..Touched::default() };
        self.finish(tx, touched, version).await
    }
}
