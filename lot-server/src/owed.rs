//! What a driver owes for a stay still inside, found by the ticket they
//! took, the payment code printed on it, or their plate: the fee so far,
//! worked out line by line by the tariff engine the exit lane uses, what
//! they paid ahead by transfer, what is left, and until when what they
//! paid covers the stay.
//!
//! Only an open stay is ever found, and only its own figures are told: a
//! plate shows no past stays, and nothing names the driver.

use parking_core::gate::{Ticket, stay_code_for_serial, stay_code_for_tag};
use parking_core::money::Vnd;
use parking_core::payment_code::PaymentCode;
use parking_core::plate::Plate;
use parking_core::tariff::{Fee, TariffBook, fee};
use parking_core::timestamp::Timestamp;
use parking_core::vehicle::VehicleClass;
use parking_core::wire::Credential;
use serde::Serialize;
use sqlx::Row;

use crate::db::Db;

/// What the driver gave to find their stay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The ticket's text (its QR), compared whole with the one issued.
    Ticket(String),
    /// The stay's payment code (`PK…`).
    Code(PaymentCode),
    Plate(Plate),
}

/// Why nothing could be looked up.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    #[error("not a ticket, a payment code or a plate")]
    Unreadable,
    #[error("no vehicle is inside with that ticket, code or plate")]
    NotInside,
    #[error("no tariff is in force: the fee cannot be worked out")]
    NoTariff,
    #[error("database: {0}")]
    Db(String),
}

impl From<sqlx::Error> for LookupError {
    fn from(e: sqlx::Error) -> Self {
        LookupError::Db(e.to_string())
    }
}

impl Lookup {
    /// A ticket's text, a payment code, or a plate, in that order.
    pub fn parse(text: &str) -> Result<Lookup, LookupError> {
        let text = text.trim();
        if text.is_empty() || text.len() > 128 {
            return Err(LookupError::Unreadable);
        }
        if Ticket::serial_of(text).is_some() {
            return Ok(Lookup::Ticket(text.to_owned()));
        }
        if let Ok(code) = text.parse::<PaymentCode>() {
            return Ok(Lookup::Code(code));
        }
        text.parse::<Plate>().map(Lookup::Plate).map_err(|_| LookupError::Unreadable)
    }
}

/// How the stay will be paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum How {
    /// By bank transfer, with the stay's payment code.
    Transfer,
    /// From the tag's prepaid account, at the exit.
    Account,
    /// Covered by the vehicle's monthly pass.
    Pass,
}

/// Where the stay stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Money is owed before the barrier opens.
    Owing,
    /// Paid ahead: the driver may leave (before `leave_by`).
    Paid,
    /// Nothing to pay by transfer: free so far, an account or a pass.
    NothingToPay,
}

/// One open stay's figures, as a driver sees them.
#[derive(Clone, Debug, Serialize)]
pub struct Owed {
    pub entered_at: Timestamp,
    pub class: VehicleClass,
    /// When the fee was worked out.
    pub as_of: Timestamp,
    pub fee: Fee,
    /// Paid ahead by transfer.
    pub paid_vnd: i64,
    pub owed_vnd: i64,
    pub how: How,
    pub standing: Standing,
    /// The code to put in the transfer's memo (transfers only).
    pub payment_code: Option<String>,
    /// Until when what is paid covers the stay, within a day.
    pub leave_by: Option<Timestamp>,
}

/// The open stay `lookup` finds, priced at `now`.
pub async fn find(
    db: &Db,
    lookup: &Lookup,
    tariffs: &TariffBook,
    zone: &str,
    now: Timestamp,
) -> Result<Owed, LookupError> {
    let (entered_ms, class, credential) = open_stay(db, lookup).await?.ok_or(LookupError::NotInside)?;
    let entered_at = Timestamp::from_unix_millis(entered_ms).ok_or(LookupError::NotInside)?;
    let class: VehicleClass = class.parse().map_err(|_| LookupError::NoTariff)?;
    let (how, code) = match &credential {
        Credential::Tag { epc, .. } => match tag_pays_by(db, &epc.to_string(), now).await? {
            Some(how) => (how, None),
            None => (How::Transfer, Some(stay_code_for_tag(epc, entered_at))),
        },
        Credential::Ticket { code } => (How::Transfer, Ticket::serial_of(code).map(stay_code_for_serial)),
        _ => (How::Transfer, None),
    };
    let tariff = tariffs.in_force(zone, now).ok_or(LookupError::NoTariff)?;
    let price = |at: Timestamp| fee(tariff, &class, entered_at, at).map_err(|_| LookupError::NoTariff);
    let so_far = price(now)?;
    let paid = match &code {
        Some(c) => paid_ahead(db, c).await?,
        None => 0,
    };
    let owed = if how == How::Transfer { (so_far.amount.get() - paid).max(0) } else { 0 };
    let standing = match (how, owed, paid) {
        (How::Transfer, 0, p) if p > 0 => Standing::Paid,
        (How::Transfer, o, _) if o > 0 => Standing::Owing,
        _ => Standing::NothingToPay,
    };
    let leave_by = match (how, standing) {
        (How::Transfer, Standing::Paid | Standing::NothingToPay) => covered_until(now, Vnd::new(paid), &price),
        _ => None,
    };
    Ok(Owed {
        entered_at,
        class,
        as_of: now,
        fee: so_far,
        paid_vnd: paid,
        owed_vnd: owed,
        how,
        standing,
        payment_code: code.filter(|_| how == How::Transfer).map(|c| c.as_str().to_owned()),
        leave_by,
    })
}

/// The entry time, class and credential of the open stay looked up.
async fn open_stay(db: &Db, lookup: &Lookup) -> Result<Option<(i64, String, Credential)>, LookupError> {
    let rows =
        match lookup {
            Lookup::Ticket(text) => {
                let serial = Ticket::serial_of(text).ok_or(LookupError::Unreadable)?;
                sqlx::query(
                    "SELECT entered_ms, class, credential FROM sessions \
                 WHERE state = 'open' AND credential_key LIKE $1 AND entered_ms IS NOT NULL",
                )
                .bind(format!("ticket:%:{serial}"))
                .fetch_all(&db.pool)
                .await?
            }
            Lookup::Plate(plate) => {
                sqlx::query(
                    "SELECT entered_ms, class, credential FROM sessions \
                 WHERE state = 'open' AND (plate = $1 OR credential_key = $2) AND entered_ms IS NOT NULL",
                )
                .bind(plate.compact())
                .bind(format!("plate:{}", plate.compact()))
                .fetch_all(&db.pool)
                .await?
            }
            Lookup::Code(_) => sqlx::query(
                "SELECT entered_ms, class, credential FROM sessions WHERE state = 'open' AND entered_ms IS NOT NULL \
                 AND (credential_key LIKE 'ticket:%' OR credential_key LIKE 'tag:%')",
            )
            .fetch_all(&db.pool)
            .await?,
        };
    for r in rows {
        let credential: Credential = match serde_json::from_str(&r.try_get::<String, _>("credential")?) {
            Ok(c) => c,
            Err(_) => continue,
        };
        let entered_ms: i64 = r.try_get("entered_ms")?;
        let found = match (lookup, &credential) {
            // The whole signed text: a serial alone does not find a stay.
            (Lookup::Ticket(text), Credential::Ticket { code }) => code.trim() == text.trim(),
            (Lookup::Plate(_), _) => true,
            (Lookup::Code(c), Credential::Ticket { code }) => {
                Ticket::serial_of(code).map(stay_code_for_serial).as_ref() == Some(c)
            }
            (Lookup::Code(c), Credential::Tag { epc, .. }) => {
                Timestamp::from_unix_millis(entered_ms).is_some_and(|at| &stay_code_for_tag(epc, at) == c)
            }
            _ => false,
        };
        if found {
            return Ok(Some((entered_ms, r.try_get("class")?, credential)));
        }
    }
    Ok(None)
}

/// An account or a pass that pays for this tag's stays, if any.
async fn tag_pays_by(db: &Db, epc: &str, now: Timestamp) -> Result<Option<How>, sqlx::Error> {
    let today = now.local_date().to_string();
    let row = sqlx::query(
        "SELECT v.account_id, (SELECT COUNT(*) FROM passes p WHERE p.vehicle_id = v.vehicle_id \
           AND p.state = 'active' AND p.valid_from <= $2 AND p.valid_until >= $2) AS passes \
         FROM tags t JOIN vehicles v ON v.vehicle_id = t.vehicle_id WHERE t.epc = $1",
    )
    .bind(epc)
    .bind(today)
    .fetch_optional(&db.pool)
    .await?;
    let Some(r) = row else { return Ok(None) };
    if r.try_get::<i64, _>("passes")? > 0 {
        return Ok(Some(How::Pass));
    }
    Ok(r.try_get::<Option<String>, _>("account_id")?.map(|_| How::Account))
}

/// What transfers carrying the code have paid: applied to the lane's
/// request, or held until the lane asks.
async fn paid_ahead(db: &Db, code: &PaymentCode) -> Result<i64, sqlx::Error> {
    let applied: Option<i64> = sqlx::query_scalar("SELECT paid_vnd FROM payment_requests WHERE payment_code = $1")
        .bind(code.as_str())
        .fetch_optional(&db.pool)
        .await?;
    let held: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(SUM(amount_vnd) AS BIGINT) FROM transfers WHERE payment_code = $1 AND state = 'held'",
    )
    .bind(code.as_str())
    .fetch_one(&db.pool)
    .await?;
    Ok(applied.unwrap_or(0) + held.unwrap_or(0))
}

/// The last minute within a day from `now` at which the fee is still at
/// most `paid` (the fee never falls as a stay goes on, so a binary
/// search finds it); `None` if it is not covered now.
fn covered_until(
    now: Timestamp,
    paid: Vnd,
    price: &impl Fn(Timestamp) -> Result<Fee, LookupError>,
) -> Option<Timestamp> {
    let at = |minutes: i64| now.checked_add(time::Duration::minutes(minutes));
    let covered = |minutes: i64| at(minutes).and_then(|t| price(t).ok()).is_some_and(|f| f.amount <= paid);
    if !covered(0) {
        return None;
    }
    let (mut lo, mut hi) = (0i64, 24 * 60);
    if covered(hi) {
        return at(hi);
    }
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if covered(mid) { lo = mid } else { hi = mid }
    }
    at(lo)
}

#[cfg(test)]
mod tests;
