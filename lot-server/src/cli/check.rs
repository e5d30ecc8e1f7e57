//! `lot-server check-config` and `migrate`: the configuration and the
//! tariffs loaded and shown, or every lot's schema brought up to date.

use std::path::{Path, PathBuf};

use anyhow::Context;

use super::{lot_configs, open};
use crate::settings::{LotConfig, Settings};

/// `migrate`: every lot's database schema brought up to date.
pub async fn migrate(s: Settings) -> anyhow::Result<()> {
    for lot in lot_configs(&s)? {
        let db = open(&lot).await?;
        println!("lot {}: database schema up to date ({:?})", lot.lot.id, db.backend);
    }
    Ok(())
}

/// `check-config`: what the configuration and tariffs say.
pub fn check(config: &[PathBuf]) -> anyhow::Result<()> {
    let s = Settings::load(config)?;
    let lots = lot_configs(&s)?;
    let further: Vec<String> = lots.iter().skip(1).map(|l| l.lot.id.to_string()).collect();
    println!(
        "config ok: lot {} ({}), zone {}, listening on {}{}",
        s.lot.id,
        s.lot.name,
        s.lot.zone,
        s.server.listen,
        if further.is_empty() { String::new() } else { format!("; further lots {}", further.join(", ")) }
    );
    let vat = s.tax.schedule().context("[tax] vat")?;
    let today = vat.rate_at(s.clock.now()).context("[tax] vat")?;
    println!("VAT {today} today ({} dated periods)", vat.periods().len());
    for lot in &lots {
        check_lot(lot, s.server.listen, s.clock.now())?;
    }
    Ok(())
}

fn check_lot(lot: &LotConfig, listen: std::net::SocketAddr, now: parking_core::Timestamp) -> anyhow::Result<()> {
    let at = if lot.primary {
        format!("http://{listen}/ and /lots/{}/", lot.lot.id)
    } else {
        format!("/lots/{}/", lot.lot.id)
    };
    println!("lot {} ({}), zone {}, served at {at}", lot.lot.id, lot.lot.name, lot.lot.zone);
    let book = parking_runtime::tariffs::load_dir(Path::new(&lot.lot.tariff_dir), &lot.lot.zone)
        .with_context(|| format!("lot {}", lot.lot.id))?;
    for t in book.tariffs() {
        println!("  tariff {} for zone {} from {}", t.version(), t.zone(), t.effective_from());
    }
    println!("  database {}", lot.database.describe());
    let k = &lot.settlement;
    let providers: Vec<&str> = [
        (k.sepay_api_key.is_some() || k.sepay_hmac_secret.is_some(), "SePay"),
        (k.casso_secret.is_some(), "Casso"),
        (k.sepay_poll.is_some(), "SePay reconciliation"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    println!(
        "  transfer notifications: {}",
        if providers.is_empty() { "none configured".into() } else { providers.join(", ") }
    );
    if let Some(p) = &k.sepay_poll {
        parking_runtime::https::HttpsClient::new("settlement.sepay_poll.ca_file", p.ca_file.as_deref())?;
        println!("  reconciliation: {} every {} s", p.base_url, p.every_secs.max(1));
    }
    let sink = match crate::tax::invoice_api::Sink::from_settings(&lot.invoice)? {
        crate::tax::invoice_api::Sink::Drop(d) => d.dir.display().to_string(),
        crate::tax::invoice_api::Sink::Api(_) => {
            lot.invoice.api.as_ref().map(|a| format!("the provider's API at {}", a.url)).unwrap_or_default()
        }
    };
    use crate::tax::receipts::ReceiptKeys;
    let receipts = match &lot.invoice.receipt_secret {
        Some(secret) => {
            println!("  receipt links: keyed by [invoice] receipt_secret");
            ReceiptKeys::new(secret.clone()).map_err(|e| anyhow::anyhow!("[invoice] {e}"))?
        }
        None => {
            println!(
                "  receipt links: keyed by a secret the server keeps in the database ([invoice] receipt_secret unset)"
            );
            ReceiptKeys::new(parking_core::secret::Secret::new("only checking the configuration"))
                .map_err(|e| anyhow::anyhow!("[invoice] {e}"))?
        }
    };
    match crate::tax::invoicing::Issuer::from_settings(&lot.invoice, receipts)
        .map_err(|e| anyhow::anyhow!("[invoice] {e}"))?
    {
        Some(i) => println!(
            "  invoices: series {} by {} (MST {}), delivered to {}{}",
            i.series(now),
            i.seller.name,
            i.seller.tax_code,
            sink,
            if lot.invoice.topups { "; top-ups invoiced" } else { "" }
        ),
        None => println!("  invoices: no seller configured ([invoice]): sales wait for their invoices"),
    }
    Ok(())
}
