//! Settlement: matching bank transfers to what exit lanes asked to be
//! paid, account debits and top-ups, and the double-entry ledger.
//!
//! How money moves:
//! - An exit lane that cannot open for free or on an account shows a
//!   dynamic VietQR with the stay's payment code, and emits a
//!   `payment_requested` event; ingestion makes it a `payment_requests`
//!   row ([`on_gate_events`]).
//! - A transfer arrives by webhook ([`webhook`]) or by the reconciliation
//!   poller ([`reconcile`]) and is applied once per provider id
//!   ([`apply_transfer`]): to a stay by the `PK…` code in its memo, to an
//!   account by its `TK…` top-up code, held when its stay code is not known
//!   yet (the notification beat the lane's event), or put in suspense for
//!   an operator when it matches nothing.
//! - A stay paid in full is settled: its fee moves from `stay_deposits` to
//!   revenue (by class, VAT excluded) and VAT payable, once. More than the
//!   fee, or a second payment, goes to the driver's account when the tag
//!   has one, otherwise to refunds. The waiting lane is told what remains
//!   (`Command::PaymentConfirmed`, one-way), and opens at zero.
//! - An exit on an account-linked tag is debited from the account when its
//!   event is ingested.
//!
//! Every step is one database transaction with its ledger entry, so the
//! postings sum to zero at every commit.

pub mod ledger;
pub mod reconcile;
pub mod records;
pub mod settler;
#[cfg(test)]
mod tests;
pub mod webhook;

use std::collections::{BTreeSet, HashMap, HashSet};

use parking_core::ids::{GateId, LotId};
use parking_core::money::Vnd;
use parking_core::payment_code::PaymentCode;
use parking_core::timestamp::Timestamp;
use parking_core::vat::VatSchedule;
use parking_core::wire::{
    self, Command, Credential, GateCommand, GateEvent, GateEventKind, GateTopic, Settlement, Topics, V1,
};
use serde::{Deserialize, Serialize};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, Row, Transaction};
use tag_reader::publisher::OutMsg;

use crate::db::{Backend, CHUNK, Db, parse_stored};
use crate::ingest::credential_key;
use crate::lists::{self, Touched};
use ledger::{BANK, Entry, REFUNDS, STAY_DEPOSITS, SUSPENSE, VAT_PAYABLE};

/// What settlement needs from the lot's configuration.
#[derive(Debug, Clone)]
pub struct Policy {
    /// VAT rates by date: tariff prices include VAT.
    pub vat: VatSchedule,
}

impl Policy {
    pub fn from_tax(tax: &crate::settings::TaxSettings) -> Result<Self, parking_core::vat::VatError> {
        Ok(Policy { vat: tax.schedule()? })
    }
}

/// Who told us about a transfer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provider {
    Sepay,
    Casso,
    /// Booked by hand through the API (an account top-up).
    Manual,
}

impl Provider {
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::Sepay => "sepay",
            Provider::Casso => "casso",
            Provider::Manual => "manual",
        }
    }
}

/// A transfer into the lot's bank account, as a provider reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Incoming {
    pub provider: Provider,
    /// The provider's transaction id: the deduplication key.
    pub provider_tx: String,
    pub amount: Vnd,
    /// The memo as the bank delivered it.
    pub memo: String,
    /// A code the provider already parsed from the memo (SePay's `code`).
    pub code_hint: Option<String>,
    pub bank_account: Option<String>,
    pub reference: Option<String>,
    pub transferred_at: Timestamp,
}

impl Incoming {
    pub fn transfer_id(&self) -> String {
        format!("{}:{}", self.provider.as_str(), self.provider_tx)
    }
}

/// What became of a transfer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum Disposition {
    /// Already applied under the same provider id: nothing changed.
    Duplicate,
    /// Applied to a stay. `remaining` is still owed; `excess` went to the
    /// driver's account or to refunds (`excess_to`).
    Stay {
        payment_code: PaymentCode,
        applied: Vnd,
        remaining: Vnd,
        excess: Vnd,
        excess_to: Option<String>,
        settled: bool,
    },
    /// Credited to a prepaid account.
    TopUp { account_id: String, amount: Vnd },
    /// Carries a stay code no lane has asked for yet: held, and applied
    /// when the request arrives.
    Held { payment_code: PaymentCode },
    /// Matches nothing: an operator must resolve it.
    Suspense,
}

impl Disposition {
    pub fn name(&self) -> &'static str {
        match self {
            Disposition::Duplicate => "duplicate",
            Disposition::Stay { settled: true, .. } => "settled",
            Disposition::Stay { .. } => "partial",
            Disposition::TopUp { .. } => "top_up",
            Disposition::Held { .. } => "held",
            Disposition::Suspense => "suspense",
        }
    }
}

/// A command for a lane, to publish once the transaction has committed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LaneCommand {
    pub lot: LotId,
    pub gate: GateId,
    pub command: Command,
}

impl LaneCommand {
    pub fn to_out(&self, now: Timestamp) -> OutMsg {
        let msg =
            GateCommand { v: V1, command_id: uuid::Uuid::new_v4(), issued_at: now, command: self.command.clone() };
        OutMsg {
            topic: Topics::new(self.lot.clone()).gate(&self.gate, GateTopic::Command),
            payload: wire::encode(&msg),
            retain: false,
        }
    }
}

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
    requests: HashMap<PaymentCode, Option<Request>>,
    dirty: BTreeSet<PaymentCode>,
    entries: Vec<Entry>,
}

impl Effects {
    /// For a writer that already took the lists version (the registry).
    pub(crate) fn with_version(version: i64) -> Self {
        Effects { version: Some(version), ..Effects::default() }
    }

    /// Changes an account's balance by `delta`; false if there is no such
    /// account.
    async fn change_balance(
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

    /// Queues a ledger entry, refusing one whose lines do not sum to zero.
    fn post(&mut self, e: Entry) -> Result<(), sqlx::Error> {
        ledger::check(&e)?;
        self.entries.push(e);
        Ok(())
    }

    /// Reads the requests of `codes` not read yet, in one statement.
    async fn load_requests(
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
                for_update(backend)
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

    async fn request(
        &mut self,
        tx: &mut Transaction<'_, Any>,
        backend: Backend,
        code: &PaymentCode,
    ) -> Result<Option<Request>, sqlx::Error> {
        self.load_requests(tx, backend, std::slice::from_ref(code)).await?;
        Ok(self.requests.get(code).cloned().flatten())
    }

    fn store(&mut self, r: &Request) {
        self.dirty.insert(r.code);
        self.requests.insert(r.code, Some(r.clone()));
    }

    /// Writes what was deferred (requests, ledger entries) and rewrites the
    /// list entries of accounts whose balance changed, in the caller's
    /// transaction. Returns whether any list entry changed (the lists
    /// publisher should be woken after commit).
    pub async fn finish(&mut self, tx: &mut Transaction<'_, Any>, backend: Backend) -> Result<bool, sqlx::Error> {
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
        let Some(version) = self.version.take() else { return Ok(false) };
        let touched = Touched { accounts: std::mem::take(&mut self.accounts), ..Touched::default() };
        Ok(lists::refresh(tx, backend, touched, version).await? > 0)
    }
}

const REQUEST_COLUMNS: &str = "payment_code, lot, gate, event_id, credential_key, class, entered_ms, fee_vnd, \
    tariff_version, account_id, requested_ms, paid_vnd, state, settled_ms";

/// A `payment_requests` row.
#[derive(Clone, Debug)]
struct Request {
    code: PaymentCode,
    lot: LotId,
    gate: GateId,
    event_id: String,
    credential_key: String,
    class: String,
    entered_ms: i64,
    fee: i64,
    tariff_version: String,
    account_id: Option<String>,
    requested_ms: i64,
    paid: i64,
    state: String,
    settled_ms: Option<i64>,
}

impl Request {
    fn remaining(&self) -> i64 {
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

fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// Where money that a stay does not need goes: the tag's account, or the
/// refund queue. Returns the ledger account and a label.
async fn excess_target(
    tx: &mut Transaction<'_, Any>,
    fx: &mut Effects,
    account: Option<&str>,
    amount: i64,
    now_ms: i64,
) -> Result<(String, String), sqlx::Error> {
    if let Some(a) = account {
        if amount > 0 && fx.change_balance(tx, a, amount, now_ms).await? {
            return Ok((ledger::driver(a), format!("account:{a}")));
        }
    }
    Ok((REFUNDS.to_owned(), "refund".to_owned()))
}

/// Settles a request whose transfers cover its fee: the fee becomes
/// revenue and VAT, and anything paid past it goes to the driver.
async fn settle_if_paid(
    tx: &mut Transaction<'_, Any>,
    policy: &Policy,
    r: &mut Request,
    fx: &mut Effects,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    if r.state == "paid" || r.paid < r.fee {
        return Ok(false);
    }
    let now = Timestamp::from_unix_millis(now_ms).unwrap_or_else(tag_reader::reader::now);
    let rate = policy.vat.rate_at(now).map_err(|e| sqlx::Error::Protocol(format!("cannot settle {}: {e}", r.code)))?;
    let (net, vat) = rate.split(Vnd::new(r.fee));
    let extra = r.paid - r.fee;
    let mut entry = Entry::new(format!("settle:{}", r.code), now_ms, format!("stay {} settled, VAT {rate}", r.code))
        .line(STAY_DEPOSITS, r.paid)
        .line(ledger::revenue(&r.class), -net.get())
        .line(VAT_PAYABLE, -vat.get());
    if extra > 0 {
        let (target, _) = excess_target(tx, fx, r.account_id.as_deref(), extra, now_ms).await?;
        entry = entry.line(target, -extra);
    }
    fx.post(entry)?;
    r.paid = r.fee;
    r.state = "paid".into();
    r.settled_ms = Some(now_ms);
    Ok(true)
}

/// What a transfer's row records once applied.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Applied {
    payment_code: Option<String>,
    target: Option<String>,
    applied: i64,
    credited: i64,
    refund: i64,
    state: &'static str,
}

/// Applies `amount` from a transfer to a stay. `source` is the ledger
/// account the money sits in now: `bank` for a fresh transfer, `suspense`
/// for one that was held.
#[allow(clippy::too_many_arguments)]
async fn apply_to_stay(
    tx: &mut Transaction<'_, Any>,
    policy: &Policy,
    r: &mut Request,
    transfer_id: &str,
    amount: i64,
    source: &str,
    fx: &mut Effects,
    now_ms: i64,
) -> Result<(Disposition, Applied), sqlx::Error> {
    let applied = amount.min(r.remaining()).max(0);
    let excess = amount - applied;
    let mut entry =
        Entry::new(format!("apply:{transfer_id}"), now_ms, format!("transfer {transfer_id} for stay {}", r.code))
            .line(source, amount)
            .line(STAY_DEPOSITS, -applied);
    let mut excess_to = None;
    if excess > 0 {
        let (target, label) = excess_target(tx, fx, r.account_id.as_deref(), excess, now_ms).await?;
        entry = entry.line(target, -excess);
        excess_to = Some(label);
    }
    fx.post(entry)?;
    r.paid += applied;
    let settled = settle_if_paid(tx, policy, r, fx, now_ms).await?;
    fx.store(r);
    let (credited, refund) = match excess_to.as_deref() {
        Some("refund") => (0, excess),
        Some(_) => (excess, 0),
        None => (0, 0),
    };
    fx.commands.push(LaneCommand {
        lot: r.lot.clone(),
        gate: r.gate.clone(),
        command: Command::PaymentConfirmed {
            payment_code: r.code,
            paid: Vnd::new(amount),
            remaining: Vnd::new(r.remaining()),
        },
    });
    let row = Applied {
        payment_code: Some(r.code.to_string()),
        target: Some(format!("stay:{}", r.code)),
        applied,
        credited,
        refund,
        state: "matched",
    };
    let d = Disposition::Stay {
        payment_code: r.code,
        applied: Vnd::new(applied),
        remaining: Vnd::new(r.remaining()),
        excess: Vnd::new(excess),
        excess_to,
        settled,
    };
    Ok((d, row))
}

/// Records what became of an existing transfer (held, or in suspense).
async fn update_transfer(tx: &mut Transaction<'_, Any>, id: &str, a: &Applied) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE transfers SET payment_code = COALESCE($1, payment_code), target = $2, applied_vnd = $3, \
         credited_vnd = $4, refund_vnd = $5, state = $6 WHERE transfer_id = $7",
    )
    .bind(a.payment_code.clone())
    .bind(a.target.clone())
    .bind(a.applied)
    .bind(a.credited)
    .bind(a.refund)
    .bind(a.state)
    .bind(id.to_owned())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The codes a transfer may be for, best first: the provider's own parse,
/// then whatever the memo holds.
fn candidate_codes(t: &Incoming) -> Vec<PaymentCode> {
    let mut codes: Vec<PaymentCode> = t.code_hint.as_deref().and_then(|c| c.trim().parse().ok()).into_iter().collect();
    for c in PaymentCode::find_in_memo(&t.memo) {
        if !codes.contains(&c) {
            codes.push(c);
        }
    }
    codes
}

/// Applies one transfer, once: a second report of the same provider id
/// changes nothing.
pub async fn apply_transfer(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    policy: &Policy,
    t: &Incoming,
    now_ms: i64,
    fx: &mut Effects,
) -> Result<Disposition, sqlx::Error> {
    let mut d = apply_transfers(tx, backend, policy, std::slice::from_ref(t), now_ms, fx).await?;
    d.pop().ok_or(sqlx::Error::RowNotFound)
}

/// Applies transfers in order, each once: a provider id already booked, or
/// seen earlier in `ts`, is a duplicate and changes nothing. Set-based:
/// one read of which ids exist, one of the requests and one of the
/// accounts their memos name, one insert of the new transfers with what
/// became of them; requests and ledger entries are written by
/// [`Effects::finish`].
pub async fn apply_transfers(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    policy: &Policy,
    ts: &[Incoming],
    now_ms: i64,
    fx: &mut Effects,
) -> Result<Vec<Disposition>, sqlx::Error> {
    let ids: Vec<String> = ts.iter().map(Incoming::transfer_id).collect();
    let mut seen: HashSet<String> = HashSet::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let sql =
            format!("SELECT transfer_id FROM transfers WHERE transfer_id IN ({})", backend.params(1, chunk.len()));
        let mut q = sqlx::query(&sql).persistent(false);
        for id in chunk {
            q = q.bind(id.clone());
        }
        for row in q.fetch_all(&mut **tx).await? {
            seen.insert(row.try_get(0)?);
        }
    }
    let codes: Vec<Vec<PaymentCode>> = ts.iter().map(candidate_codes).collect();
    let stays: Vec<PaymentCode> = codes.iter().flatten().filter(|c| c.prefix() == "PK").copied().collect();
    fx.load_requests(tx, backend, &stays).await?;
    let mut topups: HashMap<String, String> = HashMap::new();
    let wanted: Vec<String> = codes.iter().flatten().filter(|c| c.prefix() == "TK").map(ToString::to_string).collect();
    for chunk in wanted.chunks(CHUNK) {
        let sql = format!(
            "SELECT topup_code, account_id FROM accounts WHERE topup_code IN ({})",
            backend.params(1, chunk.len())
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for c in chunk {
            q = q.bind(c.clone());
        }
        for row in q.fetch_all(&mut **tx).await? {
            topups.insert(row.try_get(0)?, row.try_get(1)?);
        }
    }
    let mut out = Vec::with_capacity(ts.len());
    let mut rows: Vec<(&Incoming, Applied)> = Vec::with_capacity(ts.len());
    for ((t, id), codes) in ts.iter().zip(&ids).zip(&codes) {
        if !seen.insert(id.clone()) {
            out.push(Disposition::Duplicate);
            continue;
        }
        let (d, row) = apply_new(tx, policy, t, id, codes, &topups, fx, now_ms).await?;
        out.push(d);
        rows.push((t, row));
    }
    for chunk in backend.chunks(&rows, CHUNK / 2) {
        let sql = format!(
            "INSERT INTO transfers (transfer_id, provider, provider_tx, amount_vnd, memo, bank_account, reference, \
             transferred_ms, received_ms, payment_code, target, applied_vnd, credited_vnd, refund_vnd, state) VALUES {}",
            backend.placeholders(chunk.len(), 15)
        );
        let mut q = sqlx::query(&sql).persistent(backend.cache_statements());
        for (t, a) in chunk {
            q = q
                .bind(t.transfer_id())
                .bind(t.provider.as_str())
                .bind(t.provider_tx.clone())
                .bind(t.amount.get())
                .bind(t.memo.clone())
                .bind(t.bank_account.clone())
                .bind(t.reference.clone())
                .bind(t.transferred_at.unix_millis())
                .bind(now_ms)
                .bind(a.payment_code.clone())
                .bind(a.target.clone())
                .bind(a.applied)
                .bind(a.credited)
                .bind(a.refund)
                .bind(a.state);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(out)
}

/// What a new transfer does, by the first of its codes that names
/// something: a stay, an account's top-up; else it waits in suspense.
#[allow(clippy::too_many_arguments)]
async fn apply_new(
    tx: &mut Transaction<'_, Any>,
    policy: &Policy,
    t: &Incoming,
    id: &str,
    codes: &[PaymentCode],
    topups: &HashMap<String, String>,
    fx: &mut Effects,
    now_ms: i64,
) -> Result<(Disposition, Applied), sqlx::Error> {
    for code in codes {
        match code.prefix() {
            "PK" => {
                if let Some(mut r) = fx.requests.get(code).cloned().flatten() {
                    return apply_to_stay(tx, policy, &mut r, id, t.amount.get(), BANK, fx, now_ms).await;
                }
            }
            "TK" => {
                if let Some(account) = topups.get(code.as_str()) {
                    return top_up(tx, id, Some(code), account, t.amount.get(), BANK, fx, now_ms).await;
                }
            }
            _ => {}
        }
    }
    // Nothing to apply it to yet: the money waits in suspense.
    let held = codes.iter().find(|c| c.prefix() == "PK").copied();
    let memo = format!("transfer {id}: {}", held.map_or("no match", |_| "held"));
    fx.post(
        Entry::new(format!("receive:{id}"), now_ms, memo).line(BANK, t.amount.get()).line(SUSPENSE, -t.amount.get()),
    )?;
    let row = Applied {
        payment_code: held.or(codes.first().copied()).map(|c| c.to_string()),
        state: if held.is_some() { "held" } else { "suspense" },
        ..Applied::default()
    };
    Ok((held.map_or(Disposition::Suspense, |payment_code| Disposition::Held { payment_code }), row))
}

/// Credits `amount` to a prepaid account from `source` (`bank`, or
/// `suspense` when an operator assigns a transfer).
#[allow(clippy::too_many_arguments)]
async fn top_up(
    tx: &mut Transaction<'_, Any>,
    transfer_id: &str,
    code: Option<&PaymentCode>,
    account: &str,
    amount: i64,
    source: &str,
    fx: &mut Effects,
    now_ms: i64,
) -> Result<(Disposition, Applied), sqlx::Error> {
    if !fx.change_balance(tx, account, amount, now_ms).await? {
        return Err(sqlx::Error::RowNotFound);
    }
    fx.post(
        Entry::new(format!("apply:{transfer_id}"), now_ms, format!("top-up of account {account}"))
            .line(source, amount)
            .line(ledger::driver(account), -amount),
    )?;
    let row = Applied {
        payment_code: code.map(ToString::to_string),
        target: Some(format!("account:{account}")),
        applied: amount,
        state: "matched",
        ..Applied::default()
    };
    Ok((Disposition::TopUp { account_id: account.to_owned(), amount: Vnd::new(amount) }, row))
}

/// A top-up booked by hand (a bank transfer an operator saw), recorded as
/// a `manual` transfer under its bank reference: the same reference twice
/// is refused. The caller runs [`Effects::finish`] before committing.
pub async fn manual_top_up(
    tx: &mut Transaction<'_, Any>,
    account: &str,
    amount: i64,
    reference: &str,
    now_ms: i64,
    fx: &mut Effects,
) -> Result<bool, sqlx::Error> {
    let t = Incoming {
        provider: Provider::Manual,
        provider_tx: reference.to_owned(),
        amount: Vnd::new(amount),
        memo: format!("top-up of {account} booked by hand"),
        code_hint: None,
        bank_account: None,
        reference: Some(reference.to_owned()),
        transferred_at: Timestamp::from_unix_millis(now_ms).unwrap_or_else(tag_reader::reader::now),
    };
    let id = t.transfer_id();
    let known: Option<String> = sqlx::query_scalar("SELECT transfer_id FROM transfers WHERE transfer_id = $1")
        .bind(id.clone())
        .fetch_optional(&mut **tx)
        .await?;
    if known.is_some() {
        return Ok(false);
    }
    let (_, row) = top_up(tx, &id, None, account, amount, BANK, fx, now_ms).await?;
    sqlx::query(
        "INSERT INTO transfers (transfer_id, provider, provider_tx, amount_vnd, memo, reference, transferred_ms, \
         received_ms, target, applied_vnd, credited_vnd, refund_vnd, state) \
         VALUES ($1, 'manual', $2, $3, $4, $2, $5, $5, $6, $7, 0, 0, 'matched')",
    )
    .bind(id)
    .bind(reference.to_owned())
    .bind(amount)
    .bind(t.memo)
    .bind(now_ms)
    .bind(row.target)
    .bind(amount)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// An exception settlement raises while ingesting: (event index, kind, detail).
pub type Raised = (usize, &'static str, String);

/// The settlement side of ingesting new gate events, in the ingest
/// transaction: payment requests from exit lanes, and account debits for
/// exits on account-linked tags.
pub async fn on_gate_events(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    policy: &Policy,
    events: &[&GateEvent],
    fx: &mut Effects,
) -> Result<Vec<Raised>, sqlx::Error> {
    let mut raised = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let at_ms = e.at.unix_millis();
        match &e.kind {
            GateEventKind::PaymentRequested { credential, class, entered_at, fee, payment_code, .. } => {
                requested(tx, backend, policy, e, credential, class.as_str(), *entered_at, fee, payment_code, fx)
                    .await?;
            }
            GateEventKind::Exit { fee: Some(fee), settlement: Settlement::Account { account }, class, .. }
                if fee.amount > Vnd::ZERO =>
            {
                let rate = match policy.vat.rate_at(e.at) {
                    Ok(r) => r,
                    Err(err) => {
                        raised.push((
                            i,
                            "vat_not_configured",
                            format!("exit charged {} to {account}: {err}", fee.amount),
                        ));
                        continue;
                    }
                };
                if !fx.change_balance(tx, account, -fee.amount.get(), at_ms).await? {
                    let detail = format!("exit charged {} to account {account}, which does not exist", fee.amount);
                    raised.push((i, "unknown_account", detail));
                    continue;
                }
                let (net, vat) = rate.split(fee.amount);
                let memo = format!("exit debited to {account}, VAT {rate}");
                fx.post(
                    Entry::new(format!("debit:{}", e.event_id), at_ms, memo)
                        .line(ledger::driver(account), fee.amount.get())
                        .line(ledger::revenue(class.as_str()), -net.get())
                        .line(VAT_PAYABLE, -vat.get()),
                )?;
            }
            GateEventKind::Exit { settlement: Settlement::Transfer { payment_code, .. }, .. } => {
                let paid = fx.request(tx, backend, payment_code).await?.is_some_and(|r| r.state == "paid");
                if !paid {
                    let detail = format!("the lane let stay {payment_code} out as paid, but no transfer settles it");
                    raised.push((i, "unsettled_exit", detail));
                }
            }
            _ => {}
        }
    }
    Ok(raised)
}

/// A lane asks for a stay to be paid: record (or refresh) the request,
/// apply any transfers that arrived before it, and tell the lane if it is
/// already paid.
#[allow(clippy::too_many_arguments)]
async fn requested(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    policy: &Policy,
    e: &GateEvent,
    credential: &Credential,
    class: &str,
    entered_at: Timestamp,
    fee: &parking_core::Fee,
    code: &PaymentCode,
    fx: &mut Effects,
) -> Result<(), sqlx::Error> {
    let at_ms = e.at.unix_millis();
    let mut r = match fx.request(tx, backend, code).await? {
        None => {
            let account_id: Option<String> = match credential {
                Credential::Tag { epc, .. } => sqlx::query_scalar(
                    "SELECT v.account_id FROM tags t JOIN vehicles v ON v.vehicle_id = t.vehicle_id WHERE t.epc = $1",
                )
                .bind(epc.to_string())
                .fetch_optional(&mut **tx)
                .await?
                .flatten(),
                _ => None,
            };
            Request {
                code: *code,
                lot: e.lot.clone(),
                gate: e.gate.clone(),
                event_id: e.event_id.to_string(),
                credential_key: credential_key(e.lot.as_str(), credential),
                class: class.to_owned(),
                entered_ms: entered_at.unix_millis(),
                fee: fee.amount.get(),
                tariff_version: fee.tariff_version.to_string(),
                account_id,
                requested_ms: at_ms,
                paid: 0,
                state: "owed".into(),
                settled_ms: None,
            }
        }
        Some(mut r) => {
            // The driver came back to a lane (the same or another): the lane
            // asking last is the one waiting, at the fee it shows now.
            r.gate = e.gate.clone();
            r.event_id = e.event_id.to_string();
            r.requested_ms = at_ms;
            if r.state != "paid" {
                r.fee = fee.amount.get().max(r.fee);
                r.tariff_version = fee.tariff_version.to_string();
            }
            r
        }
    };
    fx.store(&r);
    let held: Vec<(String, i64)> = sqlx::query(
        "SELECT transfer_id, amount_vnd FROM transfers WHERE payment_code = $1 AND state = 'held' \
         ORDER BY transferred_ms, transfer_id",
    )
    .bind(code.to_string())
    .fetch_all(&mut **tx)
    .await?
    .iter()
    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
    .collect::<Result<_, sqlx::Error>>()?;
    for (transfer_id, amount) in &held {
        let (_, row) = apply_to_stay(tx, policy, &mut r, transfer_id, *amount, SUSPENSE, fx, at_ms).await?;
        update_transfer(tx, transfer_id, &row).await?;
    }
    if held.is_empty() {
        // Unchanged money, but a new lane may be waiting: tell it where the
        // stay stands if anything was paid.
        settle_if_paid(tx, policy, &mut r, fx, at_ms).await?;
        fx.store(&r);
        if r.paid > 0 || r.state == "paid" {
            fx.commands.push(LaneCommand {
                lot: r.lot.clone(),
                gate: r.gate.clone(),
                command: Command::PaymentConfirmed {
                    payment_code: r.code,
                    paid: Vnd::ZERO,
                    remaining: Vnd::new(r.remaining()),
                },
            });
        }
    }
    Ok(())
}

/// How an operator resolves a transfer in suspense.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case", deny_unknown_fields)]
pub enum Resolution {
    /// Apply it to a stay's payment code.
    Stay { payment_code: PaymentCode, note: String },
    /// Credit it to a prepaid account.
    Account { account_id: String, note: String },
    /// Queue it to be sent back.
    Refund { note: String },
}

/// Why a resolution was refused.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    #[error("transfer {0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Resolves a transfer in suspense (or held) by hand. Returns the new
/// disposition and the commands to publish.
pub async fn resolve(
    db: &Db,
    policy: &Policy,
    transfer_id: &str,
    how: &Resolution,
    by: &str,
    now_ms: i64,
) -> Result<(Disposition, Effects, bool), ResolveError> {
    let mut tx = db.begin_write().await?;
    let sql = format!("SELECT amount_vnd, state FROM transfers WHERE transfer_id = $1{}", for_update(db.backend));
    let row: Option<AnyRow> = sqlx::query(&sql).bind(transfer_id.to_owned()).fetch_optional(&mut *tx).await?;
    let Some(row) = row else { return Err(ResolveError::NotFound(transfer_id.to_owned())) };
    let amount: i64 = row.try_get(0)?;
    let state: String = row.try_get(1)?;
    if state != "suspense" && state != "held" {
        return Err(ResolveError::Conflict(format!("transfer {transfer_id} is {state}, not in suspense")));
    }
    let mut fx = Effects::default();
    let (disposition, note) = match how {
        Resolution::Stay { payment_code, note } => {
            let Some(mut r) = fx.request(&mut tx, db.backend, payment_code).await? else {
                return Err(ResolveError::Conflict(format!("no lane has asked for payment code {payment_code}")));
            };
            let (d, row) =
                apply_to_stay(&mut tx, policy, &mut r, transfer_id, amount, SUSPENSE, &mut fx, now_ms).await?;
            update_transfer(&mut tx, transfer_id, &row).await?;
            (d, note)
        }
        Resolution::Account { account_id, note } => {
            let (d, row) = match top_up(&mut tx, transfer_id, None, account_id, amount, SUSPENSE, &mut fx, now_ms).await
            {
                Err(sqlx::Error::RowNotFound) => {
                    return Err(ResolveError::Conflict(format!("account {account_id} not found")));
                }
                other => other?,
            };
            update_transfer(&mut tx, transfer_id, &row).await?;
            (d, note)
        }
        Resolution::Refund { note } => {
            fx.post(
                Entry::new(format!("apply:{transfer_id}"), now_ms, format!("transfer {transfer_id} to refund"))
                    .line(SUSPENSE, amount)
                    .line(REFUNDS, -amount),
            )?;
            let row =
                Applied { target: Some("refund".into()), refund: amount, state: "resolved", ..Applied::default() };
            update_transfer(&mut tx, transfer_id, &row).await?;
            (Disposition::Suspense, note)
        }
    };
    sqlx::query(
        "UPDATE transfers SET state = 'resolved', note = $1, resolved_by = $2, resolved_ms = $3 WHERE transfer_id = $4",
    )
    .bind(note.clone())
    .bind(by.to_owned())
    .bind(now_ms)
    .bind(transfer_id.to_owned())
    .execute(&mut *tx)
    .await?;
    let lists_changed = fx.finish(&mut tx, db.backend).await?;
    tx.commit().await?;
    Ok((disposition, fx, lists_changed))
}

/// Records that a queued refund went out of the bank account.
pub async fn refund_paid(
    db: &Db,
    transfer_id: &str,
    reference: &str,
    by: &str,
    now_ms: i64,
) -> Result<i64, ResolveError> {
    let mut tx = db.begin_write().await?;
    let sql =
        format!("SELECT refund_vnd, refund_paid_ms FROM transfers WHERE transfer_id = $1{}", for_update(db.backend));
    let row: Option<AnyRow> = sqlx::query(&sql).bind(transfer_id.to_owned()).fetch_optional(&mut *tx).await?;
    let Some(row) = row else { return Err(ResolveError::NotFound(transfer_id.to_owned())) };
    let amount: i64 = row.try_get(0)?;
    let paid: Option<i64> = row.try_get(1)?;
    if amount <= 0 {
        return Err(ResolveError::Conflict(format!("transfer {transfer_id} has no refund queued")));
    }
    if paid.is_some() {
        return Err(ResolveError::Conflict(format!("the refund of transfer {transfer_id} was already paid")));
    }
    let entry =
        Entry::new(format!("refund:{transfer_id}"), now_ms, format!("refund paid by {by}, bank ref {reference}"))
            .line(REFUNDS, amount)
            .line(BANK, -amount);
    ledger::write(&mut tx, db.backend, &[entry]).await?;
    sqlx::query("UPDATE transfers SET refund_paid_ms = $1 WHERE transfer_id = $2")
        .bind(now_ms)
        .bind(transfer_id.to_owned())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(amount)
}

/// Gives every account without one a top-up code (`TK…`), unique.
pub async fn assign_topup_codes(db: &Db) -> Result<usize, sqlx::Error> {
    let missing: Vec<String> =
        sqlx::query_scalar("SELECT account_id FROM accounts WHERE topup_code IS NULL").fetch_all(&db.pool).await?;
    let mut n = 0;
    for account in missing {
        let mut tx = db.begin_write().await?;
        assign_topup_code(&mut tx, &account).await?;
        tx.commit().await?;
        n += 1;
    }
    Ok(n)
}

/// A fresh random top-up code for `account`, retried on the rare collision.
pub async fn assign_topup_code(tx: &mut Transaction<'_, Any>, account: &str) -> Result<PaymentCode, sqlx::Error> {
    for _ in 0..16 {
        let bytes = uuid::Uuid::new_v4().into_bytes();
        let code = PaymentCode::new("TK", u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        let taken: Option<String> = sqlx::query_scalar("SELECT account_id FROM accounts WHERE topup_code = $1")
            .bind(code.to_string())
            .fetch_optional(&mut **tx)
            .await?;
        if taken.is_none() {
            sqlx::query("UPDATE accounts SET topup_code = $1 WHERE account_id = $2 AND topup_code IS NULL")
                .bind(code.to_string())
                .bind(account.to_owned())
                .execute(&mut **tx)
                .await?;
            return Ok(code);
        }
    }
    Err(sqlx::Error::Protocol("could not find a free top-up code in 16 tries".into()))
}
