//! Prepaid accounts: credit limit, state, top-ups.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::*;

impl Registry {
    fn account(row: &AnyRow) -> Result<Account, RegistryError> {
        let state: String = row.try_get("state")?;
        Ok(Account {
            account_id: row.try_get("account_id")?,
            owner_id: row.try_get("owner_id")?,
            balance_vnd: row.try_get("balance_vnd")?,
            topup_code: row.try_get("topup_code")?,
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
        crate::settlement::assign_topup_code(&mut tx, &account_id).await?;
        let touched = Touched { accounts: [account_id.clone()].into(), ..Touched::default() };
        self.finish(tx, touched, version, now_ms).await?;
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
        self.finish(tx, touched, version, now_ms).await?;
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
        let exists: Option<String> = sqlx::query_scalar("SELECT account_id FROM accounts WHERE account_id = $1")
            .bind(account_id.to_owned())
            .fetch_optional(&mut *tx)
            .await?;
        if exists.is_none() {
            return Err(RegistryError::not_found("account", account_id));
        }
        // A transfer booked by hand: posted to the ledger like any other,
        // and refused if its bank reference was booked before.
        let mut fx = crate::settlement::Effects::with_version(version);
        let reference = input.reference.trim();
        let booked = crate::settlement::manual_top_up(
            &mut tx,
            self.db.backend,
            &self.policy,
            account_id,
            input.amount_vnd,
            reference,
            now_ms,
            &mut fx,
        )
        .await?;
        if !booked {
            return Err(RegistryError::Conflict(format!("bank reference {reference:?} was already booked")));
        }
        // The top-up's own effects rewrite the account's list entries (under
        // the version taken above): refreshing them again would find nothing
        // changed and leave the publisher asleep.
        let changed = fx.finish(&mut tx, self.db.backend, now_ms).await?;
        tracing::info!(account = account_id, amount = input.amount_vnd, "account topped up");
        self.commit(tx, changed, version).await?;
        self.get_account(account_id).await
    }

    pub async fn delete_account(&self, account_id: &str, now_ms: i64) -> Result<(), RegistryError> {
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
        self.finish(tx, touched, version, now_ms).await
    }
}
