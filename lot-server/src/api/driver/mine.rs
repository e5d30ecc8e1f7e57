//! What a signed-in driver sees and does, each answer scoped to them:
//! their records and notices, their stays with each receipt's link, a
//! top-up VietQR for their account, a monthly pass bought or renewed
//! from their balance (a sale like the desk's, so it is invoiced), and a
//! lost tag blocked at once (the gates refuse it within the lists' delay).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{ApiError, AppState, Body, Caller, Params};
use crate::drivers::notices;
use crate::drivers::view::{self, Owned};
use crate::registry::{PassSaleInput, TagInput, TagState};

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/driver/me", get(me))
        .route("/api/v1/driver/stays", get(stays))
        .route("/api/v1/driver/accounts/{id}/top-up-qr", get(top_up_qr))
        .route("/api/v1/driver/passes/offer", get(pass_offer))
        .route("/api/v1/driver/passes", post(buy_pass))
        .route("/api/v1/driver/tags/{epc}/lost", post(lost_tag))
}

/// The owner behind the caller (the guard admits drivers only).
fn owner(who: &Caller) -> Result<String, ApiError> {
    who.0.owner_id().map(str::to_owned).ok_or_else(|| ApiError::Forbidden("drivers only".into()))
}

/// Refuses what is not the driver's, as if it did not exist.
async fn must_own(s: &AppState, owner: &str, what: Owned<'_>) -> Result<(), ApiError> {
    if view::owns(&s.0.db, owner, what).await? {
        Ok(())
    } else {
        Err(ApiError::NotFound("nothing of yours by that id".into()))
    }
}

/// `GET /api/v1/driver/me`: their records and notices.
async fn me(State(s): State<AppState>, who: Extension<Caller>) -> Result<Json<Value>, ApiError> {
    let owner = owner(&who)?;
    let mine = view::mine(&s.0.db, &owner).await?;
    let notices = notices::due(&s.0.db, &owner, &s.0.driver_rules, s.0.clock.now()).await?;
    Ok(Json(json!({ "me": mine, "notices": notices })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Limit {
    limit: Option<i64>,
}

/// `GET /api/v1/driver/stays`: their latest stays, each invoice with its
/// receipt's link.
async fn stays(
    State(s): State<AppState>,
    who: Extension<Caller>,
    Params(q): Params<Limit>,
) -> Result<Json<Value>, ApiError> {
    let owner = owner(&who)?;
    let list = view::stays(&s.0.db, &owner, q.limit.unwrap_or(30)).await?;
    let out: Vec<Value> = list
        .into_iter()
        .map(|st| {
            let receipts: Vec<Value> = st
                .invoices
                .iter()
                .map(|i| json!({ "lookup_code": i.lookup_code, "total_vnd": i.total_vnd, "receipt_url": s.0.receipt_url(&i.sale_id) }))
                .collect();
            json!({
                "session_id": st.session.session_id, "class": st.session.class, "plate": st.session.plate,
                "entered_ms": st.session.entered_ms, "exited_ms": st.session.exited_ms, "state": st.session.state,
                "fee_vnd": st.session.fee_vnd, "settlement": st.session.settlement, "fee": st.fee, "receipts": receipts,
            })
        })
        .collect();
    Ok(Json(json!(out)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Amount {
    amount_vnd: i64,
}

/// `GET /api/v1/driver/accounts/{id}/top-up-qr?amount_vnd=`: for their own account.
async fn top_up_qr(
    State(s): State<AppState>,
    who: Extension<Caller>,
    Path(id): Path<String>,
    Params(q): Params<Amount>,
) -> Result<Json<Value>, ApiError> {
    must_own(&s, &owner(&who)?, Owned::Account(&id)).await?;
    let account = s.0.registry.get_account(&id).await?;
    Ok(Json(crate::api::registry::top_up_payload(&s, &account, q.amount_vnd)?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Offer {
    vehicle_id: String,
    months: u32,
}

/// A pass for the vehicle: its price now, and its days (after the pass it
/// has, for a renewal).
async fn offer(s: &AppState, owner: &str, vehicle_id: &str, months: u32) -> Result<(Value, time::Date), ApiError> {
    must_own(s, owner, Owned::Vehicle(vehicle_id)).await?;
    let vehicle = s.0.registry.get_vehicle(vehicle_id).await?;
    let now = s.0.clock.now();
    let tariff =
        s.0.tariffs.in_force(&s.0.zone, now).ok_or_else(|| ApiError::Unavailable("no tariff is in force".into()))?;
    let price = tariff
        .pass_price(&vehicle.class, months)
        .filter(|_| (1..=12).contains(&months))
        .ok_or_else(|| ApiError::coded(StatusCode::BAD_REQUEST, "no_pass_price", "no pass of that class and length"))?;
    let last: Option<String> = sqlx::query_scalar(
        "SELECT MAX(valid_until) FROM passes WHERE vehicle_id = $1 AND state = 'active' AND valid_until >= $2",
    )
    .bind(vehicle_id.to_owned())
    .bind(now.local_date().to_string())
    .fetch_one(&s.0.db.pool)
    .await?;
    let from = last
        .and_then(|d| time::Date::parse(&d, crate::db::ISO_DATE).ok())
        .and_then(|d| d.next_day())
        .unwrap_or_else(|| now.local_date());
    let offer = json!({ "vehicle_id": vehicle_id, "months": months, "price_vnd": price.get(), "valid_from": from.to_string(), "renewal": from > now.local_date() });
    Ok((offer, from))
}

/// `GET /api/v1/driver/passes/offer?vehicle_id=&months=`.
async fn pass_offer(
    State(s): State<AppState>,
    who: Extension<Caller>,
    Params(q): Params<Offer>,
) -> Result<Json<Value>, ApiError> {
    Ok(Json(offer(&s, &owner(&who)?, &q.vehicle_id, q.months).await?.0))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Buy {
    vehicle_id: String,
    months: u32,
    account_id: String,
}

/// `POST /api/v1/driver/passes`: bought from their account's balance.
async fn buy_pass(
    State(s): State<AppState>,
    who: Extension<Caller>,
    Body(b): Body<Buy>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let owner = owner(&who)?;
    must_own(&s, &owner, Owned::Account(&b.account_id)).await?;
    let (_, from) = offer(&s, &owner, &b.vehicle_id, b.months).await?;
    let tariff =
        s.0.tariffs
            .in_force(&s.0.zone, s.0.clock.now())
            .ok_or_else(|| ApiError::Unavailable("no tariff is in force".into()))?;
    let input =
        PassSaleInput { vehicle_id: b.vehicle_id, months: b.months, valid_from: Some(from), account_id: b.account_id };
    let sold = s.0.registry.sell_pass(input, tariff, s.0.clock.now()).await?;
    Ok((StatusCode::CREATED, Json(json!(sold))))
}

/// `POST /api/v1/driver/tags/{epc}/lost`: the tag is blocked at once.
async fn lost_tag(
    State(s): State<AppState>,
    who: Extension<Caller>,
    Path(epc): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let epc = epc.to_ascii_uppercase();
    must_own(&s, &owner(&who)?, Owned::Tag(&epc)).await?;
    let tag = s.0.registry.get_tag(&epc).await?;
    let input = TagInput { epc: tag.epc, tid: tag.tid, vehicle_id: tag.vehicle_id, state: TagState::Blocked };
    let blocked = s.0.registry.update_tag(&epc, input, s.0.clock.now_ms()).await?;
    tracing::info!(tag = %epc, "a driver reported their tag lost: blocked");
    Ok(Json(json!(blocked)))
}
