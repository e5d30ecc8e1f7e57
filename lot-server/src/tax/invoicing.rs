//! E-invoices: the issuer gives every due sale the next number of its
//! series, in one transaction per batch (so numbers have no gaps: a
//! rolled-back batch gives its numbers back), builds the invoice's `TDiep`
//! XML, journals it, and queues it for an [`InvoiceSink`]. Delivery is a
//! separate step that retries with back-off; neither step is on a gate's
//! or a webhook's path, so a provider being down never holds a barrier.

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use parking_core::invoice::{Invoice, Seller};
use parking_core::money::Vnd;
use parking_core::timestamp::Timestamp;
use parking_core::vat::VatRate;
use sqlx::{Any, Row, Transaction};

use crate::db::{Backend, CHUNK, Db};
use crate::settings::InvoiceSettings;

/// Where issued invoices go: a file drop now, a licensed provider's API
/// later. A failed delivery is retried; it never loses the invoice.
pub trait InvoiceSink: Send + Sync {
    /// Delivers one invoice; `name` is `{series}-{number}`.
    fn deliver(&self, name: &str, xml: &str) -> impl Future<Output = Result<(), String>> + Send;
}

/// Writes each invoice to `{dir}/{series}-{number}.xml`, atomically (a
/// temporary file renamed into place), for a provider's agent to pick up.
#[derive(Clone, Debug)]
pub struct FileDrop {
    pub dir: PathBuf,
}

impl InvoiceSink for FileDrop {
    async fn deliver(&self, name: &str, xml: &str) -> Result<(), String> {
        let dir = self.dir.clone();
        let name = name.to_owned();
        let xml = xml.to_owned();
        tokio::task::spawn_blocking(move || {
            parking_runtime::files::write_atomically(&dir.join(format!("{name}.xml")), xml.as_bytes())
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("{}: {e}", self.dir.display()))
    }
}

/// Who issues, and how invoices are numbered.
#[derive(Clone, Debug)]
pub struct Issuer {
    pub seller: Seller,
    pub series_letters: String,
    pub register_code: String,
    /// Keys each invoice's public receipt.
    pub receipts: super::receipts::ReceiptKeys,
}

impl Issuer {
    /// The issuer `[invoice]` describes; None while the seller is not
    /// configured.
    pub fn from_settings(
        s: &InvoiceSettings,
        receipts: super::receipts::ReceiptKeys,
    ) -> Result<Option<Issuer>, String> {
        let (Some(name), Some(address), Some(tax_code)) = (&s.seller_name, &s.seller_address, &s.seller_tax_code)
        else {
            return Ok(None);
        };
        let letters_ok = s.series_letters.len() == 2 && s.series_letters.bytes().all(|b| b.is_ascii_uppercase());
        if !letters_ok {
            return Err(format!("series_letters must be 2 capital letters, not {:?}", s.series_letters));
        }
        if s.register_code.len() != 5 || !s.register_code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!("register_code must be 5 letters or digits, not {:?}", s.register_code));
        }
        let digits: Vec<u8> = tax_code.bytes().filter(u8::is_ascii_digit).collect();
        let shape_ok = tax_code.bytes().all(|b| b.is_ascii_digit() || b == b'-') && matches!(digits.len(), 10 | 13);
        if !shape_ok {
            return Err(format!("seller_tax_code must be 10 digits, or 10-3 for a branch, not {tax_code:?}"));
        }
        Ok(Some(Issuer {
            seller: Seller { name: name.clone(), address: address.clone(), tax_code: tax_code.clone() },
            series_letters: s.series_letters.clone(),
            register_code: s.register_code.clone(),
            receipts,
        }))
    }

    /// The series of invoices issued at `at`: `C{yy}M{letters}`.
    pub fn series(&self, at: Timestamp) -> String {
        format!("C{:02}M{}", at.local_date().year().rem_euclid(100), self.series_letters)
    }

    /// What the buyer looks the invoice up by: `M1-{yy}-{register}-{number}`.
    pub fn lookup_code(&self, at: Timestamp, number: u64) -> String {
        format!("M1-{:02}-{}-{number:011}", at.local_date().year().rem_euclid(100), self.register_code)
    }
}

/// A due sale, as the issuer reads it.
struct Due {
    sale_id: String,
    lot: String,
    kind: String,
    class: String,
    reference: String,
    entered_ms: Option<i64>,
    exited_ms: Option<i64>,
    rate: VatRate,
    total: i64,
}

fn class_name(class: &str) -> &str {
    match class {
        "bicycle" => "xe đạp",
        "motorbike" => "xe máy",
        "car" => "ô tô",
        "bus_truck" => "xe khách, xe tải",
        other => other,
    }
}

fn local(ms: Option<i64>) -> String {
    ms.and_then(Timestamp::from_unix_millis).map_or_else(|| "?".to_owned(), Timestamp::local_short)
}

/// The invoice line's name (`THHDVu`): the service and the stay's times.
fn item(d: &Due) -> String {
    if d.kind == "topup" {
        format!("Nạp tiền tài khoản gửi xe {}", d.reference)
    } else {
        format!("Gửi xe {}, {} - {}", class_name(&d.class), local(d.entered_ms), local(d.exited_ms))
    }
}

/// Issues invoices for due sales, oldest first, up to `limit`; returns how
/// many were issued. Sales are read and numbered in the same transaction,
/// which locks the series row (PostgreSQL) or the database (SQLite), so
/// two issuers cannot take the same number, and a failed batch takes none.
pub async fn issue_due(db: &Db, issuer: &Issuer, now: Timestamp, limit: i64) -> Result<usize, sqlx::Error> {
    // A plain read first: with nothing due, take no write lock.
    let any: Option<String> =
        sqlx::query_scalar("SELECT sale_id FROM sales WHERE invoice = 'due' LIMIT 1").fetch_optional(&db.pool).await?;
    if any.is_none() {
        return Ok(0);
    }
    let mut tx = db.begin_write().await?;
    // The series first: a second issuer waits here until this one commits,
    // then reads the sales this one left due.
    let series = issuer.series(now);
    let mut number = lock_series(&mut tx, db.backend, &series).await?;
    let rows = sqlx::query(&format!(
        "SELECT sale_id, lot, kind, class, reference, entered_ms, exited_ms, vat_bp, total_vnd FROM sales \
         WHERE invoice = 'due' ORDER BY at_ms, sale_id LIMIT $1{}",
        db.backend.for_update()
    ))
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    let due: Vec<Due> = rows
        .iter()
        .map(|r| {
            Ok(Due {
                sale_id: r.try_get(0)?,
                lot: r.try_get(1)?,
                kind: r.try_get(2)?,
                class: r.try_get(3)?,
                reference: r.try_get(4)?,
                entered_ms: r.try_get(5)?,
                exited_ms: r.try_get(6)?,
                rate: VatRate::from_basis_points(u32::try_from(r.try_get::<i64, _>(7)?).unwrap_or(0)),
                total: r.try_get(8)?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()?;
    let now_ms = now.unix_millis();
    let mut issued = Vec::with_capacity(due.len());
    for d in &due {
        number += 1;
        let lookup = issuer.lookup_code(now, number);
        let inv =
            Invoice::for_stay(issuer.seller.clone(), &series, number, now, item(d), Vnd::new(d.total), d.rate, lookup)
                .map_err(|e| sqlx::Error::Protocol(format!("invoice for {}: {e}", d.sale_id)))?;
        issued.push((d, inv.to_xml(), inv));
    }
    for chunk in db.backend.chunks(&issued, CHUNK / 2) {
        let sql = format!(
            "INSERT INTO invoices (series, number, sale_id, lot, issued_ms, lookup_code, net_vnd, vat_vnd, \
             total_vnd, xml, delivery, attempts, next_attempt_ms, receipt_hash) VALUES {}",
            db.backend.placeholders(chunk.len(), 14)
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for (d, xml, inv) in chunk {
            q = q
                .bind(inv.series.clone())
                .bind(i64::try_from(inv.number).unwrap_or(i64::MAX))
                .bind(d.sale_id.clone())
                .bind(d.lot.clone())
                .bind(now_ms)
                .bind(inv.lookup_code.clone())
                .bind(inv.net_total.get())
                .bind(inv.vat_total.get())
                .bind(inv.total.get())
                .bind(xml.clone())
                .bind("queued")
                .bind(0i64)
                .bind(now_ms)
                .bind(issuer.receipts.hash_for(&d.sale_id));
        }
        q.execute(&mut *tx).await?;
    }
    for chunk in due.chunks(CHUNK) {
        let sql =
            format!("UPDATE sales SET invoice = 'issued' WHERE sale_id IN ({})", db.backend.params(1, chunk.len()));
        let mut q = sqlx::query(&sql).persistent(false);
        for d in chunk {
            q = q.bind(d.sale_id.clone());
        }
        q.execute(&mut *tx).await?;
    }
    let items: Vec<crate::audit::Item> = issued
        .iter()
        .map(|(d, xml, inv)| {
            use sha2::Digest as _;
            let body = serde_json::json!({
                "series": inv.series, "number": inv.number, "sale_id": d.sale_id, "lot": d.lot,
                "issued_at": inv.issued_at, "lookup_code": inv.lookup_code, "net_vnd": inv.net_total,
                "vat_vnd": inv.vat_total, "total_vnd": inv.total,
                "xml_sha256": hex::encode(sha2::Sha256::digest(xml.as_bytes())),
            });
            crate::audit::Item::new(format!("invoice:{}-{}", inv.series, inv.number), now_ms, "invoice", &body)
        })
        .collect();
    crate::audit::queue(&mut tx, db.backend, &items).await?;
    sqlx::query("UPDATE invoice_series SET last_number = $1 WHERE series = $2")
        .bind(i64::try_from(number).unwrap_or(i64::MAX))
        .bind(series)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(issued.len())
}

/// Locks `series` (creating it) and returns the last number it issued.
async fn lock_series(tx: &mut Transaction<'_, Any>, backend: Backend, series: &str) -> Result<u64, sqlx::Error> {
    sqlx::query("INSERT INTO invoice_series (series, last_number) VALUES ($1, 0) ON CONFLICT (series) DO NOTHING")
        .bind(series.to_owned())
        .execute(&mut **tx)
        .await?;
    let sql = format!("SELECT last_number FROM invoice_series WHERE series = $1{}", backend.for_update());
    let last: i64 = sqlx::query_scalar(&sql).bind(series.to_owned()).fetch_one(&mut **tx).await?;
    Ok(u64::try_from(last).unwrap_or(0))
}

/// How long a failed delivery waits before its next attempt: 2^attempts
/// seconds, at most an hour.
pub fn backoff(attempts: i64) -> Duration {
    Duration::from_secs(1u64 << attempts.clamp(0, 12).unsigned_abs()).min(Duration::from_secs(3600))
}

/// What one delivery round did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Delivered {
    pub delivered: usize,
    pub failed: usize,
}

/// Delivers queued invoices whose next attempt is due, up to `limit`.
pub async fn deliver_due<S: InvoiceSink>(db: &Db, sink: &S, now_ms: i64, limit: i64) -> Result<Delivered, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT series, number, xml, attempts FROM invoices WHERE delivery = 'queued' AND next_attempt_ms <= $1 \
         ORDER BY next_attempt_ms, series, number LIMIT $2",
    )
    .bind(now_ms)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    let mut out = Delivered::default();
    for r in rows {
        let series: String = r.try_get(0)?;
        let number: i64 = r.try_get(1)?;
        let xml: String = r.try_get(2)?;
        let attempts: i64 = r.try_get(3)?;
        let name = format!("{series}-{number:07}");
        match sink.deliver(&name, &xml).await {
            Ok(()) => {
                out.delivered += 1;
                sqlx::query(
                    "UPDATE invoices SET delivery = 'delivered', delivered_ms = $1, attempts = attempts + 1, \
                     last_error = NULL WHERE series = $2 AND number = $3",
                )
                .bind(now_ms)
                .bind(series)
                .bind(number)
                .execute(&db.pool)
                .await?;
            }
            Err(e) => {
                out.failed += 1;
                let wait = i64::try_from(backoff(attempts).as_millis()).unwrap_or(i64::MAX);
                tracing::warn!(invoice = name, attempts = attempts + 1, error = %e, "invoice delivery failed; will retry");
                sqlx::query(
                    "UPDATE invoices SET attempts = attempts + 1, next_attempt_ms = $1, last_error = $2 \
                     WHERE series = $3 AND number = $4",
                )
                .bind(now_ms.saturating_add(wait))
                .bind(e)
                .bind(series)
                .bind(number)
                .execute(&db.pool)
                .await?;
            }
        }
    }
    Ok(out)
}

/// Issues and delivers every half second until `shutdown`. Without an
/// issuer (no seller configured) sales wait, and queued invoices are
/// still delivered.
pub async fn run<S: InvoiceSink>(
    db: Db,
    issuer: Option<Issuer>,
    sink: S,
    clock: parking_runtime::Clock,
    shutdown: tokio_util::sync::CancellationToken,
) {
    if issuer.is_none() {
        tracing::warn!("[invoice] has no seller: sales wait for their invoices until one is configured");
    }
    let mut every = parking_runtime::every::Every::new(Duration::from_millis(500), &shutdown, clock);
    while let Some(now) = every.tick().await {
        if let Some(issuer) = &issuer {
            loop {
                match issue_due(&db, issuer, now, 1_000).await {
                    Ok(1_000) => {}
                    Ok(_) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "issuing invoices failed; will retry");
                        break;
                    }
                }
            }
        }
        if let Err(e) = deliver_due(&db, &sink, now.unix_millis(), 1_000).await {
            tracing::warn!(error = %e, "delivering invoices failed; will retry");
        }
    }
}
