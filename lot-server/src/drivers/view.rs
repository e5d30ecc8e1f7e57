//! What a signed-in driver sees: their accounts, vehicles with their tags
//! and passes, and their stays. Every query names the owner, so nothing of
//! another driver's can come back; citizen IDs are never read.

use serde::Serialize;
use sqlx::Row;

use super::DriverError;
use crate::db::Db;
use crate::journal::Session;
use crate::stay_detail;

#[derive(Debug, Serialize)]
pub struct AccountView {
    pub account_id: String,
    pub balance_vnd: i64,
    pub credit_limit_vnd: i64,
    pub state: String,
    /// What to put in a transfer's memo to top it up.
    pub topup_code: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TagView {
    pub epc: String,
    pub state: String,
}

#[derive(Debug, Serialize)]
pub struct PassView {
    pub pass_id: String,
    pub valid_from: String,
    pub valid_until: String,
    pub price_vnd: i64,
    pub state: String,
}

#[derive(Debug, Serialize)]
pub struct VehicleView {
    pub vehicle_id: String,
    /// As written on the plate: `30A-123.45`.
    pub plate: String,
    pub class: String,
    pub state: String,
    pub account_id: Option<String>,
    pub tags: Vec<TagView>,
    pub passes: Vec<PassView>,
}

/// The driver's own records.
#[derive(Debug, Serialize)]
pub struct Mine {
    pub name: String,
    pub phone: String,
    pub accounts: Vec<AccountView>,
    pub vehicles: Vec<VehicleView>,
}

fn plate_text(compact: &str) -> String {
    compact.parse::<parking_core::plate::Plate>().map_or_else(|_| compact.to_owned(), |p| p.to_string())
}

/// Everything of `owner_id`'s.
pub async fn mine(db: &Db, owner_id: &str) -> Result<Mine, DriverError> {
    let owner = sqlx::query(
        "SELECT o.name, d.phone_key FROM owners o JOIN driver_logins d ON d.owner_id = o.owner_id WHERE o.owner_id = $1",
    )
    .bind(owner_id.to_owned())
    .fetch_optional(&db.pool)
    .await?
    .ok_or_else(|| DriverError::NotFound("no such driver".into()))?;
    let accounts = sqlx::query(
        "SELECT account_id, balance_vnd, credit_limit_vnd, state, topup_code FROM accounts \
         WHERE owner_id = $1 ORDER BY created_ms, account_id",
    )
    .bind(owner_id.to_owned())
    .fetch_all(&db.pool)
    .await?
    .iter()
    .map(|r| {
        Ok(AccountView {
            account_id: r.try_get("account_id")?,
            balance_vnd: r.try_get("balance_vnd")?,
            credit_limit_vnd: r.try_get("credit_limit_vnd")?,
            state: r.try_get("state")?,
            topup_code: r.try_get("topup_code")?,
        })
    })
    .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let mut vehicles = Vec::new();
    let rows = sqlx::query(
        "SELECT vehicle_id, plate, class, state, account_id FROM vehicles WHERE owner_id = $1 ORDER BY created_ms, vehicle_id",
    )
    .bind(owner_id.to_owned())
    .fetch_all(&db.pool)
    .await?;
    for r in &rows {
        let vehicle_id: String = r.try_get("vehicle_id")?;
        let tags = sqlx::query("SELECT epc, state FROM tags WHERE vehicle_id = $1 ORDER BY created_ms, epc")
            .bind(vehicle_id.clone())
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|t| Ok(TagView { epc: t.try_get("epc")?, state: t.try_get("state")? }))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let passes = sqlx::query(
            "SELECT pass_id, valid_from, valid_until, price_vnd, state FROM passes WHERE vehicle_id = $1 \
             ORDER BY valid_from DESC, pass_id",
        )
        .bind(vehicle_id.clone())
        .fetch_all(&db.pool)
        .await?
        .iter()
        .map(|p| {
            Ok(PassView {
                pass_id: p.try_get("pass_id")?,
                valid_from: p.try_get("valid_from")?,
                valid_until: p.try_get("valid_until")?,
                price_vnd: p.try_get("price_vnd")?,
                state: p.try_get("state")?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
        vehicles.push(VehicleView {
            plate: plate_text(&r.try_get::<String, _>("plate")?),
            class: r.try_get("class")?,
            state: r.try_get("state")?,
            account_id: r.try_get("account_id")?,
            vehicle_id,
            tags,
            passes,
        });
    }
    Ok(Mine { name: owner.try_get("name")?, phone: owner.try_get("phone_key")?, accounts, vehicles })
}

/// Whether the owner's records hold this account, vehicle or tag.
pub async fn owns(db: &Db, owner_id: &str, what: Owned<'_>) -> Result<bool, DriverError> {
    let sql = match what {
        Owned::Account(_) => "SELECT COUNT(*) FROM accounts WHERE owner_id = $1 AND account_id = $2",
        Owned::Vehicle(_) => "SELECT COUNT(*) FROM vehicles WHERE owner_id = $1 AND vehicle_id = $2",
        Owned::Tag(_) => {
            "SELECT COUNT(*) FROM tags t JOIN vehicles v ON v.vehicle_id = t.vehicle_id WHERE v.owner_id = $1 AND t.epc = $2"
        }
    };
    let (Owned::Account(id) | Owned::Vehicle(id) | Owned::Tag(id)) = what;
    let n: i64 = sqlx::query_scalar(sql).bind(owner_id.to_owned()).bind(id.to_owned()).fetch_one(&db.pool).await?;
    Ok(n > 0)
}

/// A thing a driver may act on, if it is theirs.
#[derive(Clone, Copy, Debug)]
pub enum Owned<'a> {
    Account(&'a str),
    Vehicle(&'a str),
    Tag(&'a str),
}

/// One stay of theirs, with its fee line by line and its invoices' sales.
#[derive(Debug, Serialize)]
pub struct StayView {
    pub session: Session,
    pub fee: Option<serde_json::Value>,
    /// `(sale_id, lookup code, total)` of each invoice: the API turns each
    /// into its receipt's link.
    pub invoices: Vec<stay_detail::StayInvoice>,
}

/// Their latest stays (by their tags or their plates), newest first.
pub async fn stays(db: &Db, owner_id: &str, limit: i64) -> Result<Vec<StayView>, DriverError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT s.session_id FROM sessions s WHERE s.credential_key IN \
           (SELECT 'tag:' || t.epc FROM tags t JOIN vehicles v ON v.vehicle_id = t.vehicle_id WHERE v.owner_id = $1) \
         OR s.plate IN (SELECT plate FROM vehicles WHERE owner_id = $1) \
         ORDER BY COALESCE(s.entered_ms, s.exited_ms) DESC, s.session_id LIMIT $2",
    )
    .bind(owner_id.to_owned())
    .bind(limit.clamp(1, 100))
    .fetch_all(&db.pool)
    .await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let d = stay_detail::detail(db, &id).await.map_err(|e| DriverError::NotFound(e.to_string()))?;
        out.push(StayView { session: d.session, fee: d.fee, invoices: d.invoices });
    }
    Ok(out)
}
