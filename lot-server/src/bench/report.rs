//! `lot-server bench-report`: fills a fresh database with a month of
//! `--stays` closed stays (sessions and their sales, as ingestion and
//! settlement write them) and times the monthly revenue report, with its
//! reconciliation, three times. The totals the report gives are checked
//! against the ones the generator computed, to the đồng. The last line is
//! JSON (`report_ms`: the slowest of the runs).
//!
//! Rows are generated inside the database (a recursive query per day), so
//! a million stays load in seconds; the mix is fixed by the row number:
//! 60% motorbikes, 30% cars, 5% bicycles, 5% buses and trucks; 40% paid
//! from accounts, 45% by transfer, 10% on passes, 5% free.

use std::time::Instant;

use anyhow::Context;
use serde_json::json;

use crate::db::Db;
use crate::tax::report::{ReportQuery, revenue};
use crate::testing::TestDb;

#[derive(clap::Args, Debug, Clone)]
pub struct ReportArgs {
    /// Stays in the month.
    #[arg(long, default_value_t = 1_000_000)]
    pub stays: u64,
    /// `sqlite` (a fresh file) or `postgres` (a fresh database on
    /// PARKING_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).
    #[arg(long, default_value = "sqlite")]
    pub db: String,
}

const LOT: &str = "bench-lot";
/// October 2026: 31 days at 8% VAT.
const MONTH_START_MS: i64 = 1_790_787_600_000; // 2026-10-01T00:00:00+07:00
const DAYS: u64 = 31;

/// The generator's formulas, in SQL (`i` is the stay's number) and in Rust.
const CLASS_SQL: &str = "CASE WHEN i % 20 < 12 THEN 'motorbike' WHEN i % 20 < 18 THEN 'car' \
    WHEN i % 20 = 18 THEN 'bicycle' ELSE 'bus_truck' END";
const CHANNEL_SQL: &str = "CASE WHEN (i / 20) % 20 < 8 THEN 'account' WHEN (i / 20) % 20 < 17 THEN 'transfer' \
    WHEN (i / 20) % 20 < 19 THEN 'pass' ELSE 'free' END";
const FEE_SQL: &str = "CASE WHEN (i / 20) % 20 >= 17 THEN 0 ELSE (CASE WHEN i % 20 < 12 THEN 5000 \
    WHEN i % 20 < 18 THEN 30000 WHEN i % 20 = 18 THEN 2000 ELSE 50000 END) * (1 + (i / 400) % 3) END";

fn fee(i: u64) -> i64 {
    if (i / 20) % 20 >= 17 {
        return 0;
    }
    let base = match i % 20 {
        0..=11 => 5_000,
        12..=17 => 30_000,
        18 => 2_000,
        _ => 50_000,
    };
    base * (1 + i64::try_from((i / 400) % 3).unwrap_or(0))
}

async fn fill_day(db: &Db, day: u64, first: u64, count: u64) -> anyhow::Result<()> {
    if count == 0 {
        return Ok(());
    }
    let day_ms = MONTH_START_MS + i64::try_from(day)? * 86_400_000;
    let day_text = crate::tax::local_day(day_ms);
    // Exits spread over the day, one every 86.4 s / (count / 1000).
    let at = format!("({day_ms} + ((i - {first}) * 86399000) / {count})");
    let numbers = format!(
        "WITH RECURSIVE n(i) AS (SELECT CAST({first} AS BIGINT) UNION ALL SELECT i + 1 FROM n WHERE i < {last})",
        last = first + count - 1
    );
    let mut tx = db.begin_write().await?;
    let sessions = format!(
        "{numbers} INSERT INTO sessions (session_id, lot, credential_key, credential, class, entered_ms, exited_ms, \
         duration_s, fee_vnd, settlement, state) SELECT 's' || i, '{LOT}', 'tag:' || i, '{{}}', {CLASS_SQL}, \
         {at} - 3600000, {at}, 3600, {FEE_SQL}, {CHANNEL_SQL}, 'closed' FROM n"
    );
    sqlx::query(&sessions).execute(&mut *tx).await.context("generating sessions")?;
    let net = format!("(({FEE_SQL}) * 20000 + 10800) / 21600");
    let sales = format!(
        "{numbers} INSERT INTO sales (sale_id, lot, kind, day, class, channel, invoice, at_ms, reference, \
         entered_ms, exited_ms, vat_bp, net_vnd, vat_vnd, total_vnd) SELECT 'sale:' || i, '{LOT}', 'stay', \
         '{day_text}', {CLASS_SQL}, {CHANNEL_SQL}, CASE WHEN ({FEE_SQL}) > 0 THEN 'issued' ELSE 'none' END, {at}, \
         'tag:' || i, {at} - 3600000, {at}, 800, {net}, ({FEE_SQL}) - {net}, {FEE_SQL} FROM n"
    );
    sqlx::query(&sales).execute(&mut *tx).await.context("generating sales")?;
    tx.commit().await?;
    Ok(())
}

pub async fn run(args: ReportArgs) -> anyhow::Result<()> {
    let test_db = match args.db.as_str() {
        "sqlite" => TestDb::sqlite().await?,
        "postgres" => TestDb::postgres().await?,
        other => anyhow::bail!("--db must be sqlite or postgres, not {other}"),
    };
    let db = test_db.db.clone();
    let n = args.stays.max(DAYS);
    let started = Instant::now();
    let (per_day, extra) = (n / DAYS, n % DAYS);
    let mut first = 0;
    for day in 0..DAYS {
        let count = per_day + u64::from(day < extra);
        fill_day(&db, day, first, count).await?;
        first += count;
        eprint!("\rgenerating: {first}/{n} stays");
    }
    // What autovacuum would have done to a month-old table on PostgreSQL
    // (statistics, and the visibility map index-only scans need).
    let analyze = if db.backend == crate::db::Backend::Postgres { "VACUUM ANALYZE" } else { "ANALYZE" };
    sqlx::query(analyze).execute(&db.pool).await?;
    let generate_s = started.elapsed().as_secs_f64();
    eprintln!("\rgenerated {n} stays in {generate_s:.1} s ({:?})", db.backend);

    let expected_total: i64 = (0..n).map(fee).sum();
    let expected_paid = (0..n).filter(|i| fee(*i) > 0).count();
    let q = ReportQuery::new(LOT, "2026-10-01", "2026-10-31", None, None)?;
    let mut runs = Vec::new();
    let mut last = None;
    for _ in 0..3 {
        let t = Instant::now();
        let r = revenue(&db, &q, parking_runtime::Clock::wall().now()).await?;
        runs.push(t.elapsed().as_secs_f64() * 1e3);
        last = Some(r);
    }
    let r = last.context("no run")?;
    let report_ms = runs.iter().copied().fold(0.0, f64::max);
    for (i, ms) in runs.iter().enumerate() {
        eprintln!("report run {}: {ms:.1} ms", i + 1);
    }
    let net_plus_vat = r.totals.net_vnd + r.totals.vat_vnd;
    let ok = r.totals.total_vnd == expected_total
        && net_plus_vat == expected_total
        && r.totals.count == i64::try_from(n)?
        && r.reconciliation.stays_settled == i64::try_from(expected_paid)?
        && r.reconciliation.exits.total == i64::try_from(n)?
        && r.by_day.iter().map(|d| d.period.as_str()).collect::<std::collections::BTreeSet<_>>().len() == 31;
    eprintln!(
        "month: {} stays, {} rows by day, {} by month, {} đồng with VAT ({} VAT), {} paid, {} exits",
        r.totals.count,
        r.by_day.len(),
        r.by_month.len(),
        r.totals.total_vnd,
        r.totals.vat_vnd,
        r.reconciliation.stays_settled,
        r.reconciliation.exits.total
    );
    println!(
        "{}",
        json!({
            "db": args.db,
            "stays": n,
            "generate_s": (generate_s * 10.0).round() / 10.0,
            "report_ms": (report_ms * 10.0).round() / 10.0,
            "runs_ms": runs.iter().map(|m| (m * 10.0).round() / 10.0).collect::<Vec<_>>(),
            "total_vnd": r.totals.total_vnd,
            "expected_total_vnd": expected_total,
            "ok": ok,
        })
    );
    test_db.drop_db().await;
    if !ok {
        anyhow::bail!("the report's totals do not match the generated month");
    }
    Ok(())
}
