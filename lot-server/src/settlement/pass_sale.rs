//! A monthly pass sold from a prepaid account: the price comes off the
//! balance (never into credit), is posted like an exit debited to the
//! account (the driver's liability down; revenue of the class and VAT
//! up), and booked as a sale of the `pass` channel, invoiced under the
//! same rule as an exit paid from an account.

use parking_core::timestamp::Timestamp;
use sqlx::{Any, Transaction};

use super::Policy;
use super::effects::Effects;
use super::ledger::{self, Entry, VAT_PAYABLE};
use crate::tax::{Channel, Sale, SaleKind};

/// What is sold: which pass, of which class, to be paid from which account.
#[derive(Debug)]
pub struct PassSale<'a> {
    pub pass_id: &'a str,
    pub account: &'a str,
    pub class: &'a str,
    pub price: i64,
}

/// Why a pass could not be paid from the account.
#[derive(Debug, thiserror::Error)]
pub enum PassSaleError {
    #[error("account {0} not found")]
    NoAccount(String),
    #[error("the balance is {balance} đồng, {short} short of the price")]
    Short { balance: i64, short: i64 },
    #[error("no VAT rate is in force: {0}")]
    Vat(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Debits the price and books the sale, in the caller's transaction; the
/// caller runs [`Effects::finish`] before committing.
pub async fn sell_pass(
    tx: &mut Transaction<'_, Any>,
    policy: &Policy,
    sale: &PassSale<'_>,
    fx: &mut Effects,
    now_ms: i64,
) -> Result<(), PassSaleError> {
    let balance: Option<i64> = sqlx::query_scalar("SELECT balance_vnd FROM accounts WHERE account_id = $1")
        .bind(sale.account.to_owned())
        .fetch_optional(&mut **tx)
        .await?;
    let balance = balance.ok_or_else(|| PassSaleError::NoAccount(sale.account.to_owned()))?;
    if balance < sale.price {
        return Err(PassSaleError::Short { balance, short: sale.price - balance });
    }
    let now = Timestamp::from_unix_millis(now_ms).unwrap_or(Timestamp::UNIX_EPOCH);
    let rate = policy.vat.rate_at(now).map_err(|e| PassSaleError::Vat(e.to_string()))?;
    fx.change_balance(tx, sale.account, -sale.price, now_ms).await?;
    let (net, vat) = rate.split(parking_core::money::Vnd::new(sale.price));
    let id = format!("pass:{}", sale.pass_id);
    fx.post(
        Entry::new(id.clone(), now_ms, format!("monthly pass {} paid from {}, VAT {rate}", sale.pass_id, sale.account))
            .line(ledger::driver(sale.account), sale.price)
            .line(ledger::revenue(sale.class), -net.get())
            .line(VAT_PAYABLE, -vat.get()),
    )?;
    fx.sell(Sale {
        id,
        lot: policy.lot.clone(),
        kind: SaleKind::Stay,
        class: sale.class.to_owned(),
        channel: Channel::Pass,
        at_ms: now_ms,
        reference: sale.pass_id.to_owned(),
        entered_ms: None,
        exited_ms: None,
        rate,
        total: sale.price,
        invoice: !policy.invoice_topups,
    });
    Ok(())
}
