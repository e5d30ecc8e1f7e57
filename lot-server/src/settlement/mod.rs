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

use std::collections::BTreeSet;

use parking_core::ids::{GateId, LotId};
use parking_core::money::Vnd;
use parking_core::payment_code::PaymentCode;
use parking_core::timestamp::Timestamp;
use parking_core::vat::VatSchedule;
use parking_core::wire::{
    self, Command, Credential, GateCommand, GateEvent, GateEventKind, GateTopic, Settlement, Topics, V1,
};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use tag_reader::publisher::OutMsg;

use crate::db::{Backend, Db, parse_stored};
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

/// What a transaction's settlement work asks of the caller: commands to
/// publish after commit, and prepaid accounts whose balance changed (their
/// tags' list entries carry what they may spend).
#[derive(Debug, Default)]
pub struct Effects {
    pub commands: Vec<LaneCommand>,
    accounts: BTreeSet<String>,
    /// The lists version taken for this transaction, before the first
    /// balance change: every writer takes the lists lock before account
    /// rows, so writers never wait on each other in a cycle.
    version: Option<i64>,
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

    /// Rewrites the list entries of accounts whose balance changed, in the
    /// caller's transaction. Returns whether any entry changed (the lists
    /// publisher should be woken after commit).
    pub async fn finish(&mut self, tx: &mut Transaction<'_, Any>, backend: Backend) -> Result<bool, sqlx::Error> {
        let Some(version) = self.version.take() else { return Ok(false) };
        let touched = Touched { accounts: std::mem::take(&mut self.accounts), ..Touched::default() };
        Ok(lists::refresh(tx, backend, touched, version).await? > 0)
    }
}

/// A `payment_requests` row.
#[derive(Clone, Debug)]
struct Request {
    code: PaymentCode,
    lot: LotId,
    gate: GateId,
    class: String,
    fee: i64,
    paid: i64,
    state: String,
    account_id: Option<String>,
}

impl Request {
    fn remaining(&self) -> i64 {
        if self.state == "paid" { 0 } else { (self.fee - self.paid).max(0) }
    }
}

fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

async fn load_request(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    code: &PaymentCode,
) -> Result<Option<Request>, sqlx::Error> {
    let sql = format!(
        "SELECT payment_code, lot, gate, class, fee_vnd, paid_vnd, state, account_id FROM payment_requests \
         WHERE payment_code = $1{}",
        for_update(backend)
    );
    let row: Option<AnyRow> = sqlx::query(&sql).bind(code.to_string()).fetch_optional(&mut **tx).await?;
    row.map(|r| {
        Ok(Request {
            code: parse_stored("payment code", &r.try_get::<String, _>(0)?)?,
            lot: parse_stored("lot", &r.try_get::<String, _>(1)?)?,
            gate: parse_stored("gate", &r.try_get::<String, _>(2)?)?,
            class: r.try_get(3)?,
            fee: r.try_get(4)?,
            paid: r.try_get(5)?,
            state: r.try_get(6)?,
            account_id: r.try_get(7)?,
        })
    })
    .transpose()
}

async fn store_request(tx: &mut Transaction<'_, Any>, r: &Request, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE payment_requests SET paid_vnd = $1, state = $2, fee_vnd = $3, \
         settled_ms = CASE WHEN $2 = 'paid' THEN COALESCE(settled_ms, $4) ELSE settled_ms END WHERE payment_code = $5",
    )
    .bind(r.paid)
    .bind(r.state.clone())
    .bind(r.fee)
    .bind(now_ms)
    .bind(r.code.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
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
    backend: Backend,
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
    ledger::post(tx, backend, &entry).await?;
    r.paid = r.fee;
    r.state = "paid".into();
    Ok(true)
}

/// Applies `amount` from a transfer to a stay. `source` is the ledger
/// account the money sits in now: `bank` for a fresh transfer, `suspense`
/// for one that was held.
#[allow(clippy::too_many_arguments)]
async fn apply_to_stay(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    policy: &Policy,
    r: &mut Request,
    transfer_id: &str,
    amount: i64,
    source: &str,
    fx: &mut Effects,
    now_ms: i64,
) -> Result<Disposition, sqlx::Error> {
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
    ledger::post(tx, backend, &entry).await?;
    r.paid += applied;
    let settled = settle_if_paid(tx, backend, policy, r, fx, now_ms).await?;
    store_request(tx, r, now_ms).await?;
    let (credited, refund) = match excess_to.as_deref() {
        Some("refund") => (0, excess),
        Some(_) => (excess, 0),
        None => (0, 0),
    };
    sqlx::query(
        "UPDATE transfers SET payment_code = $1, target = $2, applied_vnd = $3, credited_vnd = $4, refund_vnd = $5 \
         WHERE transfer_id = $6",
    )
    .bind(r.code.to_string())
    .bind(format!("stay:{}", r.code))
    .bind(applied)
    .bind(credited)
    .bind(refund)
    .bind(transfer_id.to_owned())
    .execute(&mut **tx)
    .await?;
    fx.commands.push(LaneCommand {
        lot: r.lot.clone(),
        gate: r.gate.clone(),
        command: Command::PaymentConfirmed {
            payment_code: r.code,
            paid: Vnd::new(amount),
            remaining: Vnd::new(r.remaining()),
        },
    });
    Ok(Disposition::Stay {
        payment_code: r.code,
        applied: Vnd::new(applied),
        remaining: Vnd::new(r.remaining()),
        excess: Vnd::new(excess),
        excess_to,
        settled,
    })
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
    let id = t.transfer_id();
    let inserted = sqlx::query(
        "INSERT INTO transfers (transfer_id, provider, provider_tx, amount_vnd, memo, bank_account, reference, \
         transferred_ms, received_ms, applied_vnd, credited_vnd, refund_vnd, state) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, 0, 0, 'matched') ON CONFLICT (transfer_id) DO NOTHING",
    )
    .bind(id.clone())
    .bind(t.provider.as_str())
    .bind(t.provider_tx.clone())
    .bind(t.amount.get())
    .bind(t.memo.clone())
    .bind(t.bank_account.clone())
    .bind(t.reference.clone())
    .bind(t.transferred_at.unix_millis())
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(Disposition::Duplicate);
    }
    let codes = candidate_codes(t);
    for code in &codes {
        match code.prefix() {
            "PK" => {
                if let Some(mut r) = load_request(tx, backend, code).await? {
                    return apply_to_stay(tx, backend, policy, &mut r, &id, t.amount.get(), BANK, fx, now_ms).await;
                }
            }
            "TK" => {
                let account: Option<String> =
                    sqlx::query_scalar("SELECT account_id FROM accounts WHERE topup_code = $1")
                        .bind(code.to_string())
                        .fetch_optional(&mut **tx)
                        .await?;
                if let Some(account) = account {
                    return top_up(tx, backend, &id, Some(code), &account, t.amount.get(), BANK, fx, now_ms).await;
                }
            }
            _ => {}
        }
    }
    // Nothing to apply it to yet: the money waits in suspense.
    let held = codes.iter().find(|c| c.prefix() == "PK").copied();
    let entry =
        Entry::new(format!("receive:{id}"), now_ms, format!("transfer {id}: {}", held.map_or("no match", |_| "held")))
            .line(BANK, t.amount.get())
            .line(SUSPENSE, -t.amount.get());
    ledger::post(tx, backend, &entry).await?;
    sqlx::query("UPDATE transfers SET payment_code = $1, state = $2 WHERE transfer_id = $3")
        .bind(held.or(codes.first().copied()).map(|c| c.to_string()))
        .bind(if held.is_some() { "held" } else { "suspense" })
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(match held {
        Some(payment_code) => Disposition::Held { payment_code },
        None => Disposition::Suspense,
    })
}

/// Credits `amount` to a prepaid account from `source` (`bank`, or
/// `suspense` when an operator assigns a transfer).
#[allow(clippy::too_many_arguments)]
async fn top_up(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    transfer_id: &str,
    code: Option<&PaymentCode>,
    account: &str,
    amount: i64,
    source: &str,
    fx: &mut Effects,
    now_ms: i64,
) -> Result<Disposition, sqlx::Error> {
    if !fx.change_balance(tx, account, amount, now_ms).await? {
        return Err(sqlx::Error::RowNotFound);
    }
    let entry = Entry::new(format!("apply:{transfer_id}"), now_ms, format!("top-up of account {account}"))
        .line(source, amount)
        .line(ledger::driver(account), -amount);
    ledger::post(tx, backend, &entry).await?;
    sqlx::query(
        "UPDATE transfers SET payment_code = COALESCE($1, payment_code), target = $2, applied_vnd = $3 WHERE transfer_id = $4",
    )
    .bind(code.map(ToString::to_string))
    .bind(format!("account:{account}"))
    .bind(amount)
    .bind(transfer_id.to_owned())
    .execute(&mut **tx)
    .await?;
    Ok(Disposition::TopUp { account_id: account.to_owned(), amount: Vnd::new(amount) })
}

/// A top-up booked by hand (a bank transfer an operator saw), recorded as
/// a `manual` transfer under its bank reference: the same reference twice
/// is refused.
pub async fn manual_top_up(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    account: &str,
    amount: i64,
    reference: &str,
    now_ms: i64,
    fx: &mut Effects,
) -> Result<bool, sqlx::Error> {
    let id = format!("manual:{reference}");
    let inserted = sqlx::query(
        "INSERT INTO transfers (transfer_id, provider, provider_tx, amount_vnd, memo, reference, transferred_ms, \
         received_ms, applied_vnd, credited_vnd, refund_vnd, state) \
         VALUES ($1, 'manual', $2, $3, $4, $2, $5, $5, 0, 0, 0, 'matched') ON CONFLICT (transfer_id) DO NOTHING",
    )
    .bind(id.clone())
    .bind(reference.to_owned())
    .bind(amount)
    .bind(format!("top-up of {account} booked by hand"))
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 0 {
        return Ok(false);
    }
    top_up(tx, backend, &id, None, account, amount, BANK, fx, now_ms).await?;
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
                if !fx.change_balance(tx, account, -fee.amount.get(), at_ms).await? {
                    let detail = format!("exit charged {} to account {account}, which does not exist", fee.amount);
                    raised.push((i, "unknown_account", detail));
                    continue;
                }
                let rate = match policy.vat.rate_at(e.at) {
                    Ok(r) => r,
                    Err(err) => {
                        return Err(sqlx::Error::Protocol(format!("cannot post the exit {}: {err}", e.event_id)));
                    }
                };
                let (net, vat) = rate.split(fee.amount);
                let entry = Entry::new(
                    format!("debit:{}", e.event_id),
                    at_ms,
                    format!("exit debited to {account}, VAT {rate}"),
                )
                .line(ledger::driver(account), fee.amount.get())
                .line(ledger::revenue(class.as_str()), -net.get())
                .line(VAT_PAYABLE, -vat.get());
                ledger::post(tx, backend, &entry).await?;
            }
            GateEventKind::Exit { settlement: Settlement::Transfer { payment_code, .. }, .. } => {
                let paid = load_request(tx, backend, payment_code).await?.is_some_and(|r| r.state == "paid");
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
    match load_request(tx, backend, code).await? {
        None => {
            let account: Option<String> = match credential {
                Credential::Tag { epc, .. } => sqlx::query_scalar(
                    "SELECT v.account_id FROM tags t JOIN vehicles v ON v.vehicle_id = t.vehicle_id WHERE t.epc = $1",
                )
                .bind(epc.to_string())
                .fetch_optional(&mut **tx)
                .await?
                .flatten(),
                _ => None,
            };
            sqlx::query(
                "INSERT INTO payment_requests (payment_code, lot, gate, event_id, credential_key, class, entered_ms, \
                 fee_vnd, tariff_version, account_id, requested_ms, paid_vnd, state) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 0, 'owed')",
            )
            .bind(code.to_string())
            .bind(e.lot.as_str().to_owned())
            .bind(e.gate.as_str().to_owned())
            .bind(e.event_id.to_string())
            .bind(credential_key(e.lot.as_str(), credential))
            .bind(class.to_owned())
            .bind(entered_at.unix_millis())
            .bind(fee.amount.get())
            .bind(fee.tariff_version.to_string())
            .bind(account)
            .bind(at_ms)
            .execute(&mut **tx)
            .await?;
        }
        Some(r) => {
            // The driver came back to a lane (the same or another): the lane
            // asking last is the one waiting, at the fee it shows now.
            let fee_now = if r.state == "paid" { r.fee } else { fee.amount.get().max(r.fee) };
            sqlx::query(
                "UPDATE payment_requests SET gate = $1, event_id = $2, fee_vnd = $3, tariff_version = $4, \
                 requested_ms = $5 WHERE payment_code = $6",
            )
            .bind(e.gate.as_str().to_owned())
            .bind(e.event_id.to_string())
            .bind(fee_now)
            .bind(fee.tariff_version.to_string())
            .bind(at_ms)
            .bind(code.to_string())
            .execute(&mut **tx)
            .await?;
        }
    }
    let Some(mut r) = load_request(tx, backend, code).await? else { return Err(sqlx::Error::RowNotFound) };
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
        sqlx::query("UPDATE transfers SET state = 'matched' WHERE transfer_id = $1")
            .bind(transfer_id.clone())
            .execute(&mut **tx)
            .await?;
        apply_to_stay(tx, backend, policy, &mut r, transfer_id, *amount, SUSPENSE, fx, at_ms).await?;
    }
    if held.is_empty() {
        // Unchanged money, but a new lane may be waiting: tell it where the
        // stay stands if anything was paid.
        settle_if_paid(tx, backend, policy, &mut r, fx, at_ms).await?;
        store_request(tx, &r, at_ms).await?;
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
    let mut tx = db.pool.begin().await?;
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
            let Some(mut r) = load_request(&mut tx, db.backend, payment_code).await? else {
                return Err(ResolveError::Conflict(format!("no lane has asked for payment code {payment_code}")));
            };
            let d = apply_to_stay(&mut tx, db.backend, policy, &mut r, transfer_id, amount, SUSPENSE, &mut fx, now_ms)
                .await?;
            (d, note)
        }
        Resolution::Account { account_id, note } => {
            let d = match top_up(&mut tx, db.backend, transfer_id, None, account_id, amount, SUSPENSE, &mut fx, now_ms)
                .await
            {
                Err(sqlx::Error::RowNotFound) => {
                    return Err(ResolveError::Conflict(format!("account {account_id} not found")));
                }
                other => other?,
            };
            (d, note)
        }
        Resolution::Refund { note } => {
            let entry = Entry::new(format!("apply:{transfer_id}"), now_ms, format!("transfer {transfer_id} to refund"))
                .line(SUSPENSE, amount)
                .line(REFUNDS, -amount);
            ledger::post(&mut tx, db.backend, &entry).await?;
            sqlx::query("UPDATE transfers SET target = 'refund', refund_vnd = $1 WHERE transfer_id = $2")
                .bind(amount)
                .bind(transfer_id.to_owned())
                .execute(&mut *tx)
                .await?;
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
    let mut tx = db.pool.begin().await?;
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
    ledger::post(&mut tx, db.backend, &entry).await?;
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
        let mut tx = db.pool.begin().await?;
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
