//! Applying transfers: to a stay by its `PK…` code, to an account by its
//! `TK…` code, held until its stay is asked for, or into suspense.

use std::collections::{HashMap, HashSet};

use parking_core::money::Vnd;
use parking_core::payment_code::PaymentCode;
use parking_core::timestamp::Timestamp;
use parking_core::wire::Command;
use sqlx::{Any, Row, Transaction};

use crate::tax::{Channel, Sale, SaleKind};

use super::effects::{Effects, Request};
use super::ledger::{self, BANK, Entry, REFUNDS, STAY_DEPOSITS, SUSPENSE, VAT_PAYABLE};
use super::rows::{Applied, insert_transfers};
use super::topup::{TopUp, top_up};
use super::{Disposition, Incoming, LaneCommand, Policy};
use crate::db::{Backend, CHUNK};

/// Where money that a stay does not need goes: the tag's account, or the
/// refund queue. Returns the ledger account and a label.
pub(super) async fn excess_target(
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

/// Tells the request's lane where the stay stands after `paid` more
/// arrived; once nothing remains, with the link of the stay's receipt
/// (its sale is `settle:{code}`), when invoices are issued.
pub(super) fn confirmed(policy: &Policy, r: &Request, paid: i64) -> LaneCommand {
    let receipt = policy.receipts.as_ref().filter(|_| r.remaining() == 0).map(|l| l.url(&format!("settle:{}", r.code)));
    LaneCommand {
        lot: r.lot.clone(),
        gate: r.gate.clone(),
        command: Command::PaymentConfirmed {
            payment_code: r.code,
            paid: Vnd::new(paid),
            remaining: Vnd::new(r.remaining()),
            receipt,
        },
    }
}

/// Settles a request whose transfers cover its fee: the fee becomes
/// revenue and VAT, and anything paid past it goes to the driver.
pub(super) async fn settle_if_paid(
    tx: &mut Transaction<'_, Any>,
    policy: &Policy,
    r: &mut Request,
    fx: &mut Effects,
    now_ms: i64,
) -> Result<bool, sqlx::Error> {
    if r.state == "paid" || r.paid < r.fee {
        return Ok(false);
    }
    let now = Timestamp::from_unix_millis(now_ms).unwrap_or(Timestamp::UNIX_EPOCH);
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
    fx.sell(Sale {
        id: format!("settle:{}", r.code),
        lot: r.lot.as_str().to_owned(),
        kind: SaleKind::Stay,
        class: r.class.clone(),
        channel: Channel::Transfer,
        at_ms: now_ms,
        reference: r.code.to_string(),
        entered_ms: Some(r.entered_ms),
        exited_ms: Some(r.requested_ms),
        rate,
        total: r.fee,
        invoice: true,
    });
    r.paid = r.fee;
    r.state = "paid".into();
    r.settled_ms = Some(now_ms);
    Ok(true)
}

/// Applies `amount` from a transfer to a stay. `source` is the ledger
/// account the money sits in now: `bank` for a fresh transfer, `suspense`
/// for one that was held.
#[allow(clippy::too_many_arguments)]
pub(super) async fn apply_to_stay(
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
    fx.commands.push(confirmed(policy, r, amount));
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
    insert_transfers(tx, backend, &rows, now_ms).await?;
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
                    let to = TopUp { transfer_id: id, code: Some(code), account, amount: t.amount.get() };
                    return top_up(tx, policy, &to, BANK, Channel::Transfer, fx, now_ms).await;
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
