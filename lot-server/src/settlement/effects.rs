//! The settlement work of one transaction: the payment requests it reads
//! and changes, its ledger entries and balance changes, written together
//! by [`Effects::finish`].

use std::collections::{BTreeSet, HashMap};

use parking_core::ids::{GateId, LotId};
use parking_core::payment_code::PaymentCode;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Transaction};

use super::LaneCommand;
use super::ledger::{self, Entry};
use crate::db::{Backend, CHUNK, parse_stored};
use crate::lists::{self, Touched};
use sqlx::Row;

/// The settlement work of one transaction: commands to publish after
/// commit, prepaid accounts whose balance changed (their tags' list
/// entries carry what they may spend), and the writes it defers to
/// [`Effects::finish`]: the payment requests it read and changed, and its
/// ledger entries. Reading each request once and writing all of them in a
/// few multi-row statements is what lets a batch of webhooks cost a
/// handful of round trips instead of a handful per transfer.
#[derive(Debug, Default)]
pub struct Effects {
    pub commands: Vec<LaneCommand>,
    accounts: BTreeSet<String>,
    /// The lists version taken for this transaction, before the first
    /// balance change: every writer takes the lists lock before account
    /// rows, so writers never wait on each other in a cycle.
    version: Option<i64>,
    /// Requests read in this transaction (None: no such code), locked on
    /// PostgreSQL.
    pub(super) requests: HashMap<PaymentCode, Option<Request>>,
    dirty: BTreeSet<PaymentCode>,
    entries: Vec<Entry>,
    sales: Vec<crate::tax::Sale>,
}

impl Effects {
    /// For a writer that already took the lists version (the registry).
    pub(crate) fn with_version(version: i64) -> Self {
        Effects { version: Some(version), ..Effects::default() }
    }

    /// Changes an account's balance by `delta`; false if there is no such
    /// account.
    pub(super) async fn change_balance(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        account: &str,
        delta: i64,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        if self.version.is_none() {
            self.version = Some(lists::next_version(tx).await?);
        }
        let done =
            sqlx::query("UPDATE accounts SET balance_vnd = balance_vnd + $1, updated_ms = $2 WHERE account_id = $3")
                .bind(delta)
                .bind(now_ms)
                .bind(account.to_owned())
                .execute(&mut **tx)
                .await?;
        self.accounts.insert(account.to_owned());
        Ok(done.rows_affected() > 0)
    }

    /// Which of `accounts` exist, in one read per chunk.
    pub(super) async fn existing_accounts(
        &self,
        tx: &mut Transaction<'_, Any>,
        backend: Backend,
        accounts: &[String],
    ) -> Result<std::collections::HashSet<String>, sqlx::Error> {
        let mut wanted: Vec<&String> = accounts.iter().collect();
        wanted.sort();
        wanted.dedup();
        let mut found = std::collections::HashSet::new();
        for chunk in wanted.chunks(CHUNK) {
            let sql =
                format!("SELECT account_id FROM accounts WHERE account_id IN ({})", backend.params(1, chunk.len()));
            let mut q = sqlx::query(&sql).persistent(false);
            for a in chunk {
                q = q.bind((*a).clone());
            }
            for row in q.fetch_all(&mut **tx).await? {
                found.insert(row.try_get::<String, _>(0)?);
            }
        }
        Ok(found)
    }

    /// Changes many balances, summed per account, in one statement per
    /// chunk (`UPDATE … FROM (VALUES …)`, which both databases take).
    pub(super) async fn change_balances(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        backend: Backend,
        deltas: &[(String, i64)],
        now_ms: i64,
    ) -> Result<(), sqlx::Error> {
        if deltas.is_empty() {
            return Ok(());
        }
        if self.version.is_none() {
            self.version = Some(lists::next_version(tx).await?);
        }
        let mut sums: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
        for (a, d) in deltas {
            *sums.entry(a.as_str()).or_default() += d;
        }
        let sums: Vec<(&str, i64)> = sums.into_iter().collect();
        for chunk in sums.chunks(CHUNK) {
            let sql = format!(
                "UPDATE accounts SET balance_vnd = balance_vnd + CAST(v.column2 AS BIGINT), \
                 updated_ms = CAST(v.column3 AS BIGINT) FROM (VALUES {}) AS v WHERE accounts.account_id = v.column1",
                backend.placeholders(chunk.len(), 3)
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for (a, d) in chunk {
                q = q.bind((*a).to_owned()).bind(*d).bind(now_ms);
                self.accounts.insert((*a).to_owned());
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Queues a ledger entry, refusing one whose lines do not sum to zero.
    pub(super) fn post(&mut self, e: Entry) -> Result<(), sqlx::Error> {
        ledger::check(&e)?;
        self.entries.push(e);
        Ok(())
    }

    /// Queues a sale (written with the ledger entries).
    pub(super) fn sell(&mut self, s: crate::tax::Sale) {
        self.sales.push(s);
    }

    /// Reads the requests of `codes` not read yet, in one statement.
    pub(super) async fn load_requests(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        backend: Backend,
        codes: &[PaymentCode],
    ) -> Result<(), sqlx::Error> {
        let mut missing: Vec<String> =
            codes.iter().filter(|c| !self.requests.contains_key(c)).map(ToString::to_string).collect();
        missing.sort();
        missing.dedup();
        for chunk in missing.chunks(CHUNK) {
            let sql = format!(
                "SELECT {REQUEST_COLUMNS} FROM payment_requests WHERE payment_code IN ({}){}",
                backend.params(1, chunk.len()),
                backend.for_update()
            );
            let mut q = sqlx::query(&sql).persistent(false);
            for c in chunk {
                q = q.bind(c.clone());
            }
            for row in q.fetch_all(&mut **tx).await? {
                let r = Request::from_row(&row)?;
                self.requests.insert(r.code, Some(r));
            }
            for c in chunk {
                let code: PaymentCode = parse_stored("payment code", c)?;
                self.requests.entry(code).or_insert(None);
            }
        }
        Ok(())
    }

    pub(super) async fn request(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        backend: Backend,
        code: &PaymentCode,
    ) -> Result<Option<Request>, sqlx::Error> {
        self.load_requests(tx, backend, std::slice::from_ref(code)).await?;
        Ok(self.requests.get(code).cloned().flatten())
    }

    pub(super) fn store(&mut self, r: &Request) {
        self.dirty.insert(r.code);
        self.requests.insert(r.code, Some(r.clone()));
    }

    /// Writes what was deferred (requests, ledger entries) and rewrites the
    /// list entries of accounts whose balance changed, in the caller's
    /// transaction. Returns whether any list entry changed (the lists
    /// publisher should be woken after commit).
    pub async fn finish(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        backend: Backend,
        now_ms: i64,
    ) -> Result<bool, sqlx::Error> {
        let dirty: Vec<Request> = std::mem::take(&mut self.dirty)
            .into_iter()
            .filter_map(|c| self.requests.get(&c).cloned().flatten())
            .collect();
        for chunk in backend.chunks(&dirty, CHUNK / 2) {
            let update: Vec<String> =
                REQUEST_COLUMNS.split(", ").skip(1).map(|c| format!("{c} = excluded.{c}")).collect();
            let sql = format!(
                "INSERT INTO payment_requests ({REQUEST_COLUMNS}) VALUES {} ON CONFLICT (payment_code) DO UPDATE SET {}",
                backend.placeholders(chunk.len(), 14),
                update.join(", ")
            );
            let mut q = sqlx::query(&sql).persistent(backend.cache_statements());
            for r in chunk {
                q = r.bind(q);
            }
            q.execute(&mut **tx).await?;
        }
        ledger::write(tx, backend, &std::mem::take(&mut self.entries)).await?;
        crate::tax::write(tx, backend, &std::mem::take(&mut self.sales)).await?;
        let Some(version) = self.version.take() else { return Ok(false) };
        let touched = Touched { accounts: std::mem::take(&mut self.accounts), ..Touched::default() };
        Ok(lists::refresh(tx, backend, touched, version, now_ms).await? > 0)
    }
}

const REQUEST_COLUMNS: &str = "payment_code, lot, gate, event_id, credential_key, class, entered_ms, fee_vnd, \
    tariff_version, account_id, requested_ms, paid_vnd, state, settled_ms";

/// A `payment_requests` row.
#[derive(Clone, Debug)]
pub(super) struct Request {
    pub(super) code: PaymentCode,
    pub(super) lot: LotId,
    pub(super) gate: GateId,
    pub(super) event_id: String,
    pub(super) credential_key: String,
    pub(super) class: String,
    pub(super) entered_ms: i64,
    pub(super) fee: i64,
    pub(super) tariff_version: String,
    pub(super) account_id: Option<String>,
    pub(super) requested_ms: i64,
    pub(super) paid: i64,
    pub(super) state: String,
    pub(super) settled_ms: Option<i64>,
}

impl Request {
    pub(super) fn remaining(&self) -> i64 {
        if self.state == "paid" { 0 } else { (self.fee - self.paid).max(0) }
    }

    fn from_row(r: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Request {
            code: parse_stored("payment code", &r.try_get::<String, _>(0)?)?,
            lot: parse_stored("lot", &r.try_get::<String, _>(1)?)?,
            gate: parse_stored("gate", &r.try_get::<String, _>(2)?)?,
            event_id: r.try_get(3)?,
            credential_key: r.try_get(4)?,
            class: r.try_get(5)?,
            entered_ms: r.try_get(6)?,
            fee: r.try_get(7)?,
            tariff_version: r.try_get(8)?,
            account_id: r.try_get(9)?,
            requested_ms: r.try_get(10)?,
            paid: r.try_get(11)?,
            state: r.try_get(12)?,
            settled_ms: r.try_get(13)?,
        })
    }

    /// Binds the 14 columns, in `REQUEST_COLUMNS` order.
    fn bind<'q>(&self, q: Query<'q, Any, AnyArguments<'q>>) -> Query<'q, Any, AnyArguments<'q>> {
        q.bind(self.code.to_string())
            .bind(self.lot.as_str().to_owned())
            .bind(self.gate.as_str().to_owned())
            .bind(self.event_id.clone())
            .bind(self.credential_key.clone())
            .bind(self.class.clone())
            .bind(self.entered_ms)
            .bind(self.fee)
            .bind(self.tariff_version.clone())
            .bind(self.account_id.clone())
            .bind(self.requested_ms)
            .bind(self.paid)
            .bind(self.state.clone())
            .bind(self.settled_ms)
    }
}
