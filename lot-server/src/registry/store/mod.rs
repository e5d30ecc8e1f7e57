//! The registry's SQL. A change that can alter the lists runs in one
//! transaction that first takes the next lists version (see
//! [`crate::lists`]), then writes the record, then refreshes the list
//! entries it affects; the publisher is woken after the commit.
//!
//! Layout: this file holds what every record shares (transactions, reading
//! a row by id, stored states); one file per record kind holds its
//! operations: `owners`, `accounts`, `vehicles`, `tags` (and replacing a
//! lost one), `passes`, `pass_sale` (a pass sold from an account).

mod accounts;
mod owners;
mod pass_sale;
mod passes;
mod tags;
mod vehicles;

use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use super::*;
use crate::db::{ISO_DATE, decode_error, parse_stored};
use crate::lists::{self, Touched};

fn state_str<T: Serialize>(s: &T) -> String {
    serde_json::to_value(s).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn state_of<T: serde::de::DeserializeOwned>(what: &str, s: &str) -> Result<T, sqlx::Error> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| decode_error(what, e))
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

fn iso(d: Date) -> String {
    d.format(ISO_DATE).unwrap_or_default()
}

impl Registry {
    /// A registry with the default tax policy (no top-up invoices).
    pub fn new(db: Db) -> Self {
        let policy = crate::settlement::Policy::from_tax(&crate::settings::TaxSettings::default())
            .unwrap_or_else(|_| unreachable!("the default VAT schedule is valid"));
        Registry { db, lists_changed: Arc::new(Notify::new()), policy: Arc::new(policy) }
    }

    /// The same registry booking top-ups under `policy`.
    pub fn with_policy(self, policy: Arc<crate::settlement::Policy>) -> Self {
        Registry { policy, ..self }
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
        now_ms: i64,
    ) -> Result<(), RegistryError> {
        let changed = lists::refresh(&mut tx, self.db.backend, touched, version, now_ms).await?;
        self.commit(tx, changed > 0, version).await
    }

    /// Commits a write whose list entries are already rewritten, and wakes
    /// the lists publisher if any changed.
    async fn commit(&self, tx: Transaction<'static, Any>, changed: bool, version: i64) -> Result<(), RegistryError> {
        tx.commit().await?;
        if changed {
            tracing::info!(version, "lists changed");
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
}
