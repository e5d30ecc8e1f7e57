//! Tax against a real database, on SQLite and on PostgreSQL: invoices for
//! what settlement books, numbered without gaps (also by concurrent
//! issuers), well-formed XML with every mandatory field, delivery retried;
//! reports whose totals are the settled fees to the đồng under random
//! traffic; the exports.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::atomic::{AtomicUsize, Ordering};

use parking_core::money::Vnd;
use parking_core::payment_code::PaymentCode;
use parking_core::vat::VatRate;
use parking_core::wire::{Credential, GateEvent, GateEventKind, Settlement};
use parking_core::{Timestamp, VehicleClass};
use proptest::strategy::{Strategy, ValueTree};

use super::invoicing::{self, FileDrop, InvoiceSink, Issuer};
use super::report::{self, ReportQuery};
use super::*;
use crate::db::Db;
use crate::on_both_databases;
use crate::settlement::tests::{NOW, account_tag, event_in, fee, policy, tag, transfer, ts};
use crate::settlement::{Effects, apply_transfer};

const DAY: i64 = 86_400_000;

fn issuer() -> Issuer {
    Issuer::from_settings(
        &crate::settings::InvoiceSettings {
            seller_name: Some("Công ty TNHH Bãi đỗ xe Hoàn Kiếm".into()),
            seller_address: Some("1 Tràng Tiền, Hoàn Kiếm, Hà Nội".into()),
            seller_tax_code: Some("0101234567".into()),
            register_code: "ABCDE".into(),
            ..Default::default()
        },
        crate::tax::receipts::ReceiptKeys::new(parking_core::secret::Secret::new("test receipt secret 0123")).unwrap(),
    )
    .unwrap()
    .unwrap()
}

async fn ingest(db: &Db, events: &[GateEvent], at_ms: i64) {
    crate::ingest::commit(db, &policy(), events, ts(at_ms)).await.unwrap();
}

async fn pay(db: &Db, id: &str, amount: i64, code: PaymentCode, at_ms: i64) {
    pay_memo(db, id, amount, code.as_str(), at_ms).await;
}

async fn pay_memo(db: &Db, id: &str, amount: i64, memo: &str, at_ms: i64) {
    let mut tx = db.pool.begin().await.unwrap();
    let mut fx = Effects::default();
    apply_transfer(&mut tx, db.backend, &policy(), &transfer(id, amount, memo), at_ms, &mut fx).await.unwrap();
    fx.finish(&mut tx, db.backend, at_ms).await.unwrap();
    tx.commit().await.unwrap();
}

fn requested(lot: &str, n: u64, at_ms: i64, code: PaymentCode, amount: i64, class: VehicleClass) -> GateEvent {
    event_in(
        lot,
        n,
        at_ms,
        GateEventKind::PaymentRequested {
            credential: Credential::None,
            class: class.clone(),
            entered_at: ts(at_ms - 7_200_000),
            fee: fee(amount, class),
            payment_code: code,
            owed: Vnd::new(amount),
        },
    )
}

fn exit(lot: &str, n: u64, at_ms: i64, class: VehicleClass, amount: i64, settlement: Settlement) -> GateEvent {
    event_in(
        lot,
        n,
        at_ms,
        GateEventKind::Exit {
            credential: tag("E20000000000000000000077"),
            class: class.clone(),
            plate: None,
            entered_at: Some(ts(at_ms - 3_600_000)),
            fee: Some(fee(amount, class)),
            settlement,
        },
    )
}

mod invoice_api;
mod invoices;
mod receipts;
mod reports;
