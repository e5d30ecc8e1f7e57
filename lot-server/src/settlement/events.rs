//! The settlement side of ingesting gate events: payment requests from
//! exit lanes, and account debits for exits on account-linked tags.

use parking_core::money::Vnd;
use parking_core::payment_code::PaymentCode;
use parking_core::timestamp::Timestamp;
use parking_core::wire::{Credential, GateEvent, GateEventKind, Settlement};
use sqlx::{Any, Row, Transaction};

use super::Policy;
use super::apply::{apply_to_stay, settle_if_paid};
use super::effects::{Effects, Request};
use super::ledger::{self, Entry, SUSPENSE, VAT_PAYABLE};
use super::rows::update_transfer;
use crate::db::Backend;
use crate::ingest::credential_key;
use crate::tax::{Channel, Sale, SaleKind};

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
    // Read once for the whole batch: which charged accounts exist, and the
    // requests of codes the batch names.
    let charged: Vec<String> = events
        .iter()
        .filter_map(|e| match &e.kind {
            GateEventKind::Exit { settlement: Settlement::Account { account }, .. } => Some(account.clone()),
            _ => None,
        })
        .collect();
    let known = fx.existing_accounts(tx, backend, &charged).await?;
    let codes: Vec<PaymentCode> = events
        .iter()
        .filter_map(|e| match &e.kind {
            GateEventKind::PaymentRequested { payment_code, .. } => Some(*payment_code),
            GateEventKind::Exit { settlement: Settlement::Transfer { payment_code, .. }, .. } => Some(*payment_code),
            _ => None,
        })
        .collect();
    fx.load_requests(tx, backend, &codes).await?;
    let mut debits: Vec<(String, i64)> = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let at_ms = e.at.unix_millis();
        match &e.kind {
            GateEventKind::PaymentRequested { credential, class, entered_at, fee, payment_code, .. } => {
                requested(tx, backend, policy, e, credential, class.as_str(), *entered_at, fee, payment_code, fx)
                    .await?;
            }
            GateEventKind::Exit { settlement: Settlement::Pass { pass }, class, entered_at, .. } => {
                fx.sell(free_exit(policy, e, class.as_str(), *entered_at, Channel::Pass, pass.clone()));
            }
            GateEventKind::Exit { settlement: Settlement::Free, class, entered_at, credential, .. } => {
                fx.sell(free_exit(
                    policy,
                    e,
                    class.as_str(),
                    *entered_at,
                    Channel::Free,
                    credential_key(e.lot.as_str(), credential),
                ));
            }
            GateEventKind::Exit {
                fee: Some(fee),
                settlement: Settlement::Account { account },
                class,
                entered_at,
                ..
            } if fee.amount > Vnd::ZERO => {
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
                if !known.contains(account) {
                    let detail = format!("exit charged {} to account {account}, which does not exist", fee.amount);
                    raised.push((i, "unknown_account", detail));
                    continue;
                }
                debits.push((account.clone(), -fee.amount.get()));
                let (net, vat) = rate.split(fee.amount);
                let memo = format!("exit debited to {account}, VAT {rate}");
                fx.post(
                    Entry::new(format!("debit:{}", e.event_id), at_ms, memo)
                        .line(ledger::driver(account), fee.amount.get())
                        .line(ledger::revenue(class.as_str()), -net.get())
                        .line(VAT_PAYABLE, -vat.get()),
                )?;
                fx.sell(Sale {
                    id: format!("debit:{}", e.event_id),
                    lot: e.lot.as_str().to_owned(),
                    kind: SaleKind::Stay,
                    class: class.as_str().to_owned(),
                    channel: Channel::Account,
                    at_ms,
                    reference: account.clone(),
                    entered_ms: entered_at.map(|t| t.unix_millis()),
                    exited_ms: Some(at_ms),
                    rate,
                    total: fee.amount.get(),
                    invoice: !policy.invoice_topups,
                });
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
    let now_ms = events.last().map_or(0, |e| e.at.unix_millis());
    fx.change_balances(tx, backend, &debits, now_ms).await?;
    Ok(raised)
}

/// An exit that owed nothing: counted as a sale of nothing, for the
/// reports' channels, with no invoice.
fn free_exit(
    policy: &Policy,
    e: &GateEvent,
    class: &str,
    entered_at: Option<Timestamp>,
    channel: Channel,
    reference: String,
) -> Sale {
    let at_ms = e.at.unix_millis();
    Sale {
        id: format!("exit:{}", e.event_id),
        lot: e.lot.as_str().to_owned(),
        kind: SaleKind::Stay,
        class: class.to_owned(),
        channel,
        at_ms,
        reference,
        entered_ms: entered_at.map(|t| t.unix_millis()),
        exited_ms: Some(at_ms),
        rate: policy.vat.rate_at(e.at).unwrap_or(parking_core::vat::VatRate::from_basis_points(0)),
        total: 0,
        invoice: false,
    }
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
            fx.commands.push(super::apply::confirmed(policy, &r, 0));
        }
    }
    Ok(())
}
