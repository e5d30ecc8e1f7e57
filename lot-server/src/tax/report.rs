//! Revenue reports for tax officers: sales by day and by month, per
//! vehicle class and payment channel, with the reconciliation of exits,
//! settled stays, invoices and bank transfers, and every mismatch listed.
//!
//! Sums come from `sales` alone, grouped in the order of its report index
//! (lot, kind, day, class, channel, invoice), so a month of a million
//! stays is one index range read on either database.

use std::collections::BTreeMap;

use parking_core::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::Row as _;

use super::Channel;
pub use super::mismatches::Mismatch;
use super::mismatches::mismatches;
pub use super::query::{ReportError, ReportQuery, local_date, midnight_ms};
use crate::db::{Db, ISO_DATE};

/// Sales of one period (a day or a month), class and channel.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Row {
    pub period: String,
    pub class: String,
    pub channel: String,
    #[serde(flatten)]
    pub sums: Totals,
}

/// Counts and amounts.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Totals {
    pub count: i64,
    /// How many of them have their invoice issued.
    pub invoiced: i64,
    /// How many wait for their invoice.
    pub awaiting_invoice: i64,
    pub net_vnd: i64,
    pub vat_vnd: i64,
    pub total_vnd: i64,
}

impl Totals {
    fn add(&mut self, t: &Totals) {
        self.count += t.count;
        self.invoiced += t.invoiced;
        self.awaiting_invoice += t.awaiting_invoice;
        self.net_vnd += t.net_vnd;
        self.vat_vnd += t.vat_vnd;
        self.total_vnd += t.total_vnd;
    }
}

/// Exits of the period, by how they were settled.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exits {
    pub total: i64,
    pub account: i64,
    pub transfer: i64,
    pub pass: i64,
    pub free: i64,
    pub unpaid: i64,
    /// Fees of those exits, as the lanes priced them.
    pub fees_vnd: i64,
}

/// Bank transfers received in the period, by state.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transfers {
    pub count: i64,
    pub received_vnd: i64,
    /// Applied to stays' fees and to top-ups.
    pub applied_vnd: i64,
    /// Overpayments credited to drivers' accounts.
    pub credited_vnd: i64,
    /// Owed back to payers.
    pub refund_vnd: i64,
    /// Still matching nothing (suspense or held).
    pub unmatched_vnd: i64,
    pub by_state: BTreeMap<String, i64>,
}

/// The reconciliation of exits, settled stays, invoices and transfers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reconciliation {
    pub exits: Exits,
    /// Paid stays (a fee above zero) booked as sales.
    pub stays_settled: i64,
    /// Stays and top-ups that should have an invoice, and how many have one.
    pub invoices_due: i64,
    pub invoices_issued: i64,
    pub transfers: Transfers,
    pub mismatches: Vec<Mismatch>,
    /// True when a kind had more than 1,000 mismatches and the list was cut.
    pub truncated: bool,
}

/// A revenue report.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub lot: String,
    pub from: String,
    pub to: String,
    pub class: Option<String>,
    pub channel: Option<Channel>,
    pub generated_at: Timestamp,
    pub by_day: Vec<Row>,
    pub by_month: Vec<Row>,
    /// Revenue: stays.
    pub totals: Totals,
    /// Revenue by VAT rate (stays).
    pub by_vat_rate: Vec<RateRow>,
    /// Prepaid top-ups (not revenue until spent; invoiced if the policy says so).
    pub topups: Totals,
    pub reconciliation: Reconciliation,
}

/// Sales of `kind` in the period, by day, class and channel, and by VAT
/// rate (basis points).
async fn sales(db: &Db, q: &ReportQuery, kind: &str) -> Result<(Vec<Row>, BTreeMap<i64, Totals>), sqlx::Error> {
    let mut sql = String::from(
        "SELECT day, class, channel, invoice, vat_bp, COUNT(*), CAST(SUM(net_vnd) AS BIGINT), \
         CAST(SUM(vat_vnd) AS BIGINT), CAST(SUM(total_vnd) AS BIGINT) FROM sales \
         WHERE lot = $1 AND kind = $2 AND day >= $3 AND day <= $4",
    );
    let mut n = 4;
    if q.class.is_some() {
        n += 1;
        sql.push_str(&format!(" AND class = ${n}"));
    }
    if q.channel.is_some() {
        n += 1;
        sql.push_str(&format!(" AND channel = ${n}"));
    }
    sql.push_str(" GROUP BY day, class, channel, invoice, vat_bp ORDER BY day, class, channel, invoice, vat_bp");
    let mut query = sqlx::query(&sql)
        .bind(q.lot.clone())
        .bind(kind.to_owned())
        .bind(q.from.format(ISO_DATE).unwrap_or_default())
        .bind(q.to.format(ISO_DATE).unwrap_or_default());
    if let Some(c) = &q.class {
        query = query.bind(c.clone());
    }
    if let Some(c) = q.channel {
        query = query.bind(c.as_str());
    }
    let mut rows: Vec<Row> = Vec::new();
    let mut rates: BTreeMap<i64, Totals> = BTreeMap::new();
    for r in query.fetch_all(&db.pool).await? {
        let (period, class, channel): (String, String, String) = (r.try_get(0)?, r.try_get(1)?, r.try_get(2)?);
        let invoice: String = r.try_get(3)?;
        let vat_bp: i64 = r.try_get(4)?;
        let count: i64 = r.try_get(5)?;
        let sums = Totals {
            count,
            invoiced: if invoice == "issued" { count } else { 0 },
            awaiting_invoice: if invoice == "due" { count } else { 0 },
            net_vnd: r.try_get::<Option<i64>, _>(6)?.unwrap_or(0),
            vat_vnd: r.try_get::<Option<i64>, _>(7)?.unwrap_or(0),
            total_vnd: r.try_get::<Option<i64>, _>(8)?.unwrap_or(0),
        };
        rates.entry(vat_bp).or_default().add(&sums);
        let same = rows.last().is_some_and(|l| l.period == period && l.class == class && l.channel == channel);
        if !same {
            rows.push(Row { period, class, channel, ..Row::default() });
        }
        if let Some(row) = rows.last_mut() {
            row.sums.add(&sums);
        }
    }
    Ok((rows, rates))
}

/// Sales at one VAT rate: what a VAT declaration asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateRow {
    /// Basis points: 800 is 8%.
    pub vat_bp: i64,
    #[serde(flatten)]
    pub sums: Totals,
}

fn rate_rows(rates: BTreeMap<i64, Totals>) -> Vec<RateRow> {
    rates.into_iter().map(|(vat_bp, sums)| RateRow { vat_bp, sums }).collect()
}

/// Day rows summed by month.
fn by_month(days: &[Row]) -> Vec<Row> {
    let mut months: BTreeMap<(String, String, String), Row> = BTreeMap::new();
    for d in days {
        let month = d.period.get(..7).unwrap_or(&d.period).to_owned();
        let key = (month.clone(), d.class.clone(), d.channel.clone());
        let m = months.entry(key).or_insert_with(|| Row {
            period: month,
            class: d.class.clone(),
            channel: d.channel.clone(),
            ..Row::default()
        });
        m.sums.add(&d.sums);
    }
    months.into_values().collect()
}

async fn exits(db: &Db, q: &ReportQuery) -> Result<Exits, sqlx::Error> {
    let (start, end) = q.range_ms();
    let count = |s: &str| format!("CAST(COALESCE(SUM(CASE WHEN settlement = '{s}' THEN 1 ELSE 0 END), 0) AS BIGINT)");
    let sql = format!(
        "SELECT COUNT(*), {}, {}, {}, {}, {}, CAST(COALESCE(SUM(fee_vnd), 0) AS BIGINT) FROM sessions \
         WHERE lot = $1 AND exited_ms >= $2 AND exited_ms < $3",
        count("account"),
        count("transfer"),
        count("pass"),
        count("free"),
        count("unpaid")
    );
    let r = sqlx::query(&sql).bind(q.lot.clone()).bind(start).bind(end).fetch_one(&db.pool).await?;
    Ok(Exits {
        total: r.try_get(0)?,
        account: r.try_get(1)?,
        transfer: r.try_get(2)?,
        pass: r.try_get(3)?,
        free: r.try_get(4)?,
        unpaid: r.try_get(5)?,
        fees_vnd: r.try_get(6)?,
    })
}

async fn transfers(db: &Db, q: &ReportQuery) -> Result<Transfers, sqlx::Error> {
    let (start, end) = q.range_ms();
    let rows = sqlx::query(
        "SELECT state, COUNT(*), CAST(SUM(amount_vnd) AS BIGINT), CAST(SUM(applied_vnd) AS BIGINT), \
         CAST(SUM(credited_vnd) AS BIGINT), CAST(SUM(refund_vnd) AS BIGINT) FROM transfers \
         WHERE received_ms >= $1 AND received_ms < $2 GROUP BY state ORDER BY state",
    )
    .bind(start)
    .bind(end)
    .fetch_all(&db.pool)
    .await?;
    let mut t = Transfers::default();
    for r in rows {
        let state: String = r.try_get(0)?;
        let n: i64 = r.try_get(1)?;
        let amount = r.try_get::<Option<i64>, _>(2)?.unwrap_or(0);
        t.count += n;
        t.received_vnd += amount;
        t.applied_vnd += r.try_get::<Option<i64>, _>(3)?.unwrap_or(0);
        t.credited_vnd += r.try_get::<Option<i64>, _>(4)?.unwrap_or(0);
        t.refund_vnd += r.try_get::<Option<i64>, _>(5)?.unwrap_or(0);
        if state == "suspense" || state == "held" {
            t.unmatched_vnd += amount;
        }
        t.by_state.insert(state, n);
    }
    Ok(t)
}

/// Makes the report.
pub async fn revenue(db: &Db, q: &ReportQuery, now: Timestamp) -> Result<Report, ReportError> {
    // Independent reads, each on its own pooled connection: the two big
    // ones (sales, exits) run side by side on either database.
    let ((by_day, rates), (topup_rows, _), (mismatches, truncated), exits, transfers) = tokio::try_join!(
        sales(db, q, "stay"),
        sales(db, q, "topup"),
        mismatches(db, q, now.unix_millis()),
        exits(db, q),
        transfers(db, q),
    )?;
    let mut totals = Totals::default();
    for r in &by_day {
        totals.add(&r.sums);
    }
    let mut topups = Totals::default();
    for r in &topup_rows {
        topups.add(&r.sums);
    }
    let stays_settled =
        by_day.iter().filter(|r| r.channel == "account" || r.channel == "transfer").map(|r| r.sums.count).sum();
    let invoices_issued = totals.invoiced + topups.invoiced;
    let reconciliation = Reconciliation {
        exits,
        stays_settled,
        invoices_due: invoices_issued + totals.awaiting_invoice + topups.awaiting_invoice,
        invoices_issued,
        transfers,
        mismatches,
        truncated,
    };
    Ok(Report {
        lot: q.lot.clone(),
        from: q.from.format(ISO_DATE).unwrap_or_default(),
        to: q.to.format(ISO_DATE).unwrap_or_default(),
        class: q.class.clone(),
        channel: q.channel,
        generated_at: now,
        by_month: by_month(&by_day),
        by_day,
        totals,
        by_vat_rate: rate_rows(rates),
        topups,
        reconciliation,
    })
}
