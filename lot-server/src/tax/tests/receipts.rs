//! A stay paid by transfer: the lane's confirmation carries the link of
//! the stay's receipt, and once the invoice is issued that link opens it
//! (and an altered one does not).

use super::*;
use crate::tax::receipts::{self, ReceiptLinks};

async fn the_lane_is_told_the_receipt_that_the_invoice_then_opens(db: &Db) {
    let links = ReceiptLinks::new(issuer().receipts, Some("https://bai-xe.example.vn/"), "hn-01");
    let policy = crate::settlement::Policy { receipts: Some(links.clone()), ..policy() };
    let code = PaymentCode::stay(90_210);
    let at = NOW;
    crate::ingest::commit(db, &policy, &[requested("hn-01", 1, at, code, 54_000, VehicleClass::Car)], ts(at))
        .await
        .unwrap();
    // Half, then the rest: only the confirmation that releases names the receipt.
    let mut commands = Vec::new();
    for (id, amount) in [("rc-1", 20_000), ("rc-2", 34_000)] {
        let mut tx = db.pool.begin().await.unwrap();
        let mut fx = Effects::default();
        apply_transfer(&mut tx, db.backend, &policy, &transfer(id, amount, code.as_str()), at, &mut fx).await.unwrap();
        commands.extend(fx.commands.clone());
        fx.finish(&mut tx, db.backend, at).await.unwrap();
        tx.commit().await.unwrap();
    }
    let receipts: Vec<Option<String>> = commands
        .iter()
        .map(|c| match &c.command {
            parking_core::wire::Command::PaymentConfirmed { receipt, .. } => receipt.clone(),
            other => panic!("{other:?}"),
        })
        .collect();
    let url = links.url(&format!("settle:{code}"));
    assert_eq!(receipts, [None, Some(url.clone())]);
    assert!(url.starts_with("https://bai-xe.example.vn/lots/hn-01/receipt/"), "{url}");

    assert_eq!(invoicing::issue_due(db, &issuer(), ts(at), 100).await.unwrap(), 1);
    let key = url.rsplit('/').next().unwrap();
    let found = receipts::find(db, key).await.unwrap().expect("the link opens the stay's invoice");
    assert!(found.xml.contains("<TgTTTBSo>54000</TgTTTBSo>"), "{}", found.xml);
    let altered = format!("{}{}", &key[..31], if key.ends_with('f') { 'e' } else { 'f' });
    assert!(receipts::find(db, &altered).await.unwrap().is_none());
}
crate::on_both_databases!(lane_receipt, the_lane_is_told_the_receipt_that_the_invoice_then_opens);
