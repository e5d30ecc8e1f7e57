//! Account top-ups: by transfer (a `TK…` code), by an operator assigning a
//! transfer in suspense, or booked by hand; each credited, posted and
//! booked as a sale (invoiced if the policy says top-ups are).

use parking_core::money::Vnd;
use parking_core::payment_code::PaymentCode;
use parking_core::timestamp::Timestamp;
use sqlx::{Any, Transaction};

use super::effects::Effects;
use super::ledger::{self, BANK, Entry};
use super::rows::{Applied, insert_transfers};
use super::{Disposition, Incoming, Policy, Provider};
use crate::db::Backend;
use crate::tax::{Channel, Sale, SaleKind};

/// A top-up: which transfer, under which code, to which account, how much.
pub(super) struct TopUp<'a> {
    pub(super) transfer_id: &'a str,
    pub(super) code: Option<&'a PaymentCode>,
    pub(super) account: &'a str,
    pub(super) amount: i64,
}

/// Credits a top-up to its prepaid account from `source` (`bank`, or
/// `suspense` when an operator assigns a transfer), and books it as a sale
/// (invoiced if the policy says top-ups are).
pub(super) async fn top_up(
    tx: &mut Transaction<'_, Any>,
    policy: &Policy,
    t: &TopUp<'_>,
    source: &str,
    channel: Channel,
    fx: &mut Effects,
    now_ms: i64,
) -> Result<(Disposition, Applied), sqlx::Error> {
    let TopUp { transfer_id, code, account, amount } = *t;
    if !fx.change_balance(tx, account, amount, now_ms).await? {
        return Err(sqlx::Error::RowNotFound);
    }
    let now = Timestamp::from_unix_millis(now_ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let rate = policy.vat.rate_at(now).map_err(|e| sqlx::Error::Protocol(format!("cannot book top-up: {e}")))?;
    fx.post(
        Entry::new(format!("apply:{transfer_id}"), now_ms, format!("top-up of account {account}"))
            .line(source, amount)
            .line(ledger::driver(account), -amount),
    )?;
    fx.sell(Sale {
        id: format!("apply:{transfer_id}"),
        lot: policy.lot.clone(),
        kind: SaleKind::TopUp,
        class: "-".to_owned(),
        channel,
        at_ms: now_ms,
        reference: account.to_owned(),
        entered_ms: None,
        exited_ms: None,
        rate,
        total: amount,
        invoice: policy.invoice_topups,
    });
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
#[allow(clippy::too_many_arguments)]
pub async fn manual_top_up(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    policy: &Policy,
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
        transferred_at: Timestamp::from_unix_millis(now_ms).unwrap_or(Timestamp::UNIX_EPOCH),
    };
    let id = t.transfer_id();
    let known: Option<String> = sqlx::query_scalar("SELECT transfer_id FROM transfers WHERE transfer_id = $1")
        .bind(id.clone())
        .fetch_optional(&mut **tx)
        .await?;
    if known.is_some() {
        return Ok(false);
    }
    let to = TopUp { transfer_id: &id, code: None, account, amount };
    let (_, row) = top_up(tx, policy, &to, BANK, Channel::Manual, fx, now_ms).await?;
    insert_transfers(tx, backend, &[(&t, row)], now_ms).await?;
    Ok(true)
}
