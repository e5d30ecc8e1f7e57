//! The reconciliation's list of mismatches: everything in a period the
//! books do not explain by themselves (unpaid exits, exits let out as paid
//! that nothing settles, manual opens, money in suspense or held, refunds,
//! sales without their invoice), at most 1,000 of each kind.

use parking_core::timestamp::Timestamp;
use serde::{Deserialize, Serialize};
use sqlx::Row as _;

use super::query::ReportQuery;
use crate::db::Db;

/// Something the books do not explain by themselves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mismatch {
    /// `unpaid_exit`, `unsettled_exit`, `unknown_account`, `manual_open`,
    /// `vat_not_configured`, `transfer_suspense`, `transfer_held`,
    /// `refund_owed`, `refund_paid`, `invoice_missing`.
    pub kind: String,
    pub id: String,
    pub at: Option<Timestamp>,
    pub amount_vnd: Option<i64>,
    pub detail: String,
}

const MAX_LISTED: i64 = 1_000;

fn at(ms: i64) -> Option<Timestamp> {
    Timestamp::from_unix_millis(ms)
}

/// Up to `MAX_LISTED + 1` rows of `sql`, whose parameters are the
/// period's start and end, the limit, and (if given) the lot, as `$1` to
/// `$4`, each made a mismatch by `f`.
async fn listed(
    db: &Db,
    sql: &str,
    (start, end): (i64, i64),
    lot: Option<&str>,
    f: impl Fn(&sqlx::any::AnyRow) -> Result<Mismatch, sqlx::Error>,
) -> Result<Vec<Mismatch>, sqlx::Error> {
    let mut query = sqlx::query(sql).bind(start).bind(end).bind(MAX_LISTED + 1);
    if let Some(lot) = lot {
        query = query.bind(lot.to_owned());
    }
    query.fetch_all(&db.pool).await?.iter().map(f).collect()
}

fn unpaid_exit(r: &sqlx::any::AnyRow) -> Result<Mismatch, sqlx::Error> {
    let gate: Option<String> = r.try_get(4)?;
    let detail: Option<String> = r.try_get(3)?;
    Ok(Mismatch {
        kind: "unpaid_exit".into(),
        id: r.try_get(0)?,
        at: r.try_get::<Option<i64>, _>(1)?.and_then(at),
        amount_vnd: r.try_get(2)?,
        detail: format!("left by {} without paying: {}", gate.unwrap_or_default(), detail.unwrap_or_default()),
    })
}

fn raised(r: &sqlx::any::AnyRow) -> Result<Mismatch, sqlx::Error> {
    let detail: String = r.try_get(3)?;
    let state: String = r.try_get(4)?;
    Ok(Mismatch {
        kind: r.try_get(1)?,
        id: r.try_get(0)?,
        at: at(r.try_get(2)?),
        amount_vnd: None,
        detail: format!("{detail} ({state})"),
    })
}

fn unmatched_money(r: &sqlx::any::AnyRow) -> Result<Mismatch, sqlx::Error> {
    let state: String = r.try_get(1)?;
    let amount: i64 = r.try_get(3)?;
    let refund: i64 = r.try_get(4)?;
    let paid: Option<i64> = r.try_get(5)?;
    let memo: String = r.try_get(6)?;
    let (kind, amount, detail) = match state.as_str() {
        "suspense" => ("transfer_suspense", amount, format!("matches nothing: memo {memo:?}")),
        "held" => ("transfer_held", amount, format!("waits for its stay: memo {memo:?}")),
        _ if paid.is_some() => ("refund_paid", refund, "refunded".to_owned()),
        _ => ("refund_owed", refund, "to be refunded".to_owned()),
    };
    Ok(Mismatch { kind: kind.into(), id: r.try_get(0)?, at: at(r.try_get(2)?), amount_vnd: Some(amount), detail })
}

fn invoice_missing(r: &sqlx::any::AnyRow) -> Result<Mismatch, sqlx::Error> {
    Ok(Mismatch {
        kind: "invoice_missing".into(),
        id: r.try_get(0)?,
        at: at(r.try_get(1)?),
        amount_vnd: Some(r.try_get(2)?),
        detail: "sold, but no invoice issued yet (is [invoice] configured?)".into(),
    })
}

/// Every mismatch of the period, by kind, at most 1,000 of each (and
/// whether any kind had more).
pub(super) async fn mismatches(db: &Db, q: &ReportQuery, now_ms: i64) -> Result<(Vec<Mismatch>, bool), sqlx::Error> {
    let period = q.range_ms();
    let lot = Some(q.lot.as_str());
    // A sale's invoice is issued within a second; one a minute old is missing.
    let invoiced_by = (period.0, period.1.min(now_ms - 60_000));
    let lists = [
        listed(
            db,
            "SELECT session_id, exited_ms, fee_vnd, settlement_detail, exit_gate FROM sessions WHERE exited_ms >= $1 \
             AND exited_ms < $2 AND lot = $4 AND settlement = 'unpaid' ORDER BY exited_ms LIMIT $3",
            period,
            lot,
            unpaid_exit,
        )
        .await?,
        listed(
            db,
            "SELECT exception_id, kind, at_ms, detail, state FROM exceptions WHERE at_ms >= $1 AND at_ms < $2 \
             AND lot = $4 AND kind IN ('unsettled_exit', 'unknown_account', 'manual_open', 'vat_not_configured') \
             ORDER BY at_ms LIMIT $3",
            period,
            lot,
            raised,
        )
        .await?,
        listed(
            db,
            "SELECT transfer_id, state, received_ms, amount_vnd, refund_vnd, refund_paid_ms, memo FROM transfers \
             WHERE received_ms >= $1 AND received_ms < $2 AND (state IN ('suspense', 'held') OR refund_vnd > 0) \
             ORDER BY received_ms LIMIT $3",
            period,
            None,
            unmatched_money,
        )
        .await?,
        listed(
            db,
            "SELECT sale_id, at_ms, total_vnd FROM sales WHERE invoice = 'due' AND at_ms >= $1 AND at_ms < $2 \
             AND lot = $4 ORDER BY at_ms LIMIT $3",
            invoiced_by,
            lot,
            invoice_missing,
        )
        .await?,
    ];
    let max = usize::try_from(MAX_LISTED).unwrap_or(usize::MAX);
    let truncated = lists.iter().any(|l| l.len() > max);
    Ok((lists.into_iter().flat_map(|l| l.into_iter().take(max)).collect(), truncated))
}
