//! Registry routes: create (201), read, replace (PUT), delete (204) and
//! list, for owners, accounts, vehicles, tags and passes.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;

use super::{ApiError, AppState, Body, Params};
use crate::registry::{
    Account, AccountInput, ListQuery, Owner, OwnerInput, Pass, PassInput, PassSaleInput, SoldPass, Tag, TagInput,
    TagReplacement, TopUpInput, Vehicle, VehicleInput,
};

type Created<T> = Result<(StatusCode, Json<T>), ApiError>;
type Found<T> = Result<Json<T>, ApiError>;
type Gone = Result<StatusCode, ApiError>;

pub(super) fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/owners", get(list_owners).post(create_owner))
        .route("/api/v1/owners/{id}", get(get_owner).put(update_owner).delete(delete_owner))
        .route("/api/v1/owners/{id}/verify-id", post(verify_owner_id))
        .route("/api/v1/accounts", get(list_accounts).post(create_account))
        .route("/api/v1/accounts/{id}", get(get_account).put(update_account).delete(delete_account))
        .route("/api/v1/accounts/{id}/top-ups", post(top_up))
        .route("/api/v1/accounts/{id}/top-up-qr", get(top_up_qr))
        .route("/api/v1/vehicles", get(list_vehicles).post(create_vehicle))
        .route("/api/v1/vehicles/{id}", get(get_vehicle).put(update_vehicle).delete(delete_vehicle))
        .route("/api/v1/tags", get(list_tags).post(create_tag))
        .route("/api/v1/tags/{epc}", get(get_tag).put(update_tag).delete(delete_tag))
        .route("/api/v1/tags/{epc}/replace", post(replace_tag))
        .route("/api/v1/passes", get(list_passes).post(create_pass))
        .route("/api/v1/passes/sell", post(sell_pass))
        .route("/api/v1/passes/price", get(pass_price))
        .route("/api/v1/passes/{id}", get(get_pass).put(update_pass).delete(delete_pass))
}

async fn list_owners(State(s): State<AppState>, Params(q): Params<ListQuery>) -> Found<Vec<Owner>> {
    Ok(Json(s.0.registry.list_owners(&q).await?))
}
async fn create_owner(State(s): State<AppState>, Body(b): Body<OwnerInput>) -> Created<Owner> {
    Ok((StatusCode::CREATED, Json(s.0.registry.create_owner(b, s.0.clock.now_ms()).await?)))
}
async fn get_owner(State(s): State<AppState>, Path(id): Path<String>) -> Found<Owner> {
    Ok(Json(s.0.registry.get_owner(&id).await?))
}
async fn update_owner(State(s): State<AppState>, Path(id): Path<String>, Body(b): Body<OwnerInput>) -> Found<Owner> {
    Ok(Json(s.0.registry.update_owner(&id, b, s.0.clock.now_ms()).await?))
}
async fn delete_owner(State(s): State<AppState>, Path(id): Path<String>) -> Gone {
    s.0.registry.delete_owner(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IdNumber {
    id_number: String,
}

async fn verify_owner_id(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Body(b): Body<IdNumber>,
) -> Found<serde_json::Value> {
    let matches = s.0.registry.owner_id_matches(&id, &b.id_number).await?;
    Ok(Json(serde_json::json!({ "matches": matches })))
}

async fn list_accounts(State(s): State<AppState>, Params(q): Params<ListQuery>) -> Found<Vec<Account>> {
    Ok(Json(s.0.registry.list_accounts(&q).await?))
}
async fn create_account(State(s): State<AppState>, Body(b): Body<AccountInput>) -> Created<Account> {
    Ok((StatusCode::CREATED, Json(s.0.registry.create_account(b, s.0.clock.now_ms()).await?)))
}
async fn get_account(State(s): State<AppState>, Path(id): Path<String>) -> Found<Account> {
    Ok(Json(s.0.registry.get_account(&id).await?))
}
async fn update_account(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Body(b): Body<AccountInput>,
) -> Found<Account> {
    Ok(Json(s.0.registry.update_account(&id, b, s.0.clock.now_ms()).await?))
}
async fn delete_account(State(s): State<AppState>, Path(id): Path<String>) -> Gone {
    s.0.registry.delete_account(&id, s.0.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}
async fn top_up(State(s): State<AppState>, Path(id): Path<String>, Body(b): Body<TopUpInput>) -> Found<Account> {
    Ok(Json(s.0.registry.top_up(&id, b, s.0.clock.now_ms()).await?))
}

async fn list_vehicles(State(s): State<AppState>, Params(q): Params<ListQuery>) -> Found<Vec<Vehicle>> {
    Ok(Json(s.0.registry.list_vehicles(&q).await?))
}
async fn create_vehicle(State(s): State<AppState>, Body(b): Body<VehicleInput>) -> Created<Vehicle> {
    Ok((StatusCode::CREATED, Json(s.0.registry.create_vehicle(b, s.0.clock.now_ms()).await?)))
}
async fn get_vehicle(State(s): State<AppState>, Path(id): Path<String>) -> Found<Vehicle> {
    Ok(Json(s.0.registry.get_vehicle(&id).await?))
}
async fn update_vehicle(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Body(b): Body<VehicleInput>,
) -> Found<Vehicle> {
    Ok(Json(s.0.registry.update_vehicle(&id, b, s.0.clock.now_ms()).await?))
}
async fn delete_vehicle(State(s): State<AppState>, Path(id): Path<String>) -> Gone {
    s.0.registry.delete_vehicle(&id, s.0.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list_tags(State(s): State<AppState>, Params(q): Params<ListQuery>) -> Found<Vec<Tag>> {
    Ok(Json(s.0.registry.list_tags(&q).await?))
}
async fn create_tag(State(s): State<AppState>, Body(b): Body<TagInput>) -> Created<Tag> {
    Ok((StatusCode::CREATED, Json(s.0.registry.create_tag(b, s.0.clock.now_ms()).await?)))
}
async fn get_tag(State(s): State<AppState>, Path(epc): Path<String>) -> Found<Tag> {
    Ok(Json(s.0.registry.get_tag(&epc).await?))
}
async fn update_tag(State(s): State<AppState>, Path(epc): Path<String>, Body(b): Body<TagInput>) -> Found<Tag> {
    Ok(Json(s.0.registry.update_tag(&epc, b, s.0.clock.now_ms()).await?))
}
async fn delete_tag(State(s): State<AppState>, Path(epc): Path<String>) -> Gone {
    s.0.registry.delete_tag(&epc, s.0.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /api/v1/tags/{epc}/replace`: the old tag denied, the new one bound.
async fn replace_tag(
    State(s): State<AppState>,
    Path(epc): Path<String>,
    Body(b): Body<TagReplacement>,
) -> Found<serde_json::Value> {
    let (old, new) = s.0.registry.replace_tag(&epc, b, s.0.clock.now_ms()).await?;
    Ok(Json(serde_json::json!({ "old": old, "new": new })))
}

async fn list_passes(State(s): State<AppState>, Params(q): Params<ListQuery>) -> Found<Vec<Pass>> {
    Ok(Json(s.0.registry.list_passes(&q).await?))
}
async fn create_pass(State(s): State<AppState>, Body(b): Body<PassInput>) -> Created<Pass> {
    Ok((StatusCode::CREATED, Json(s.0.registry.create_pass(b, s.0.clock.now_ms()).await?)))
}
async fn get_pass(State(s): State<AppState>, Path(id): Path<String>) -> Found<Pass> {
    Ok(Json(s.0.registry.get_pass(&id).await?))
}
async fn update_pass(State(s): State<AppState>, Path(id): Path<String>, Body(b): Body<PassInput>) -> Found<Pass> {
    Ok(Json(s.0.registry.update_pass(&id, b, s.0.clock.now_ms()).await?))
}
async fn delete_pass(State(s): State<AppState>, Path(id): Path<String>) -> Gone {
    s.0.registry.delete_pass(&id, s.0.clock.now_ms()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The tariff in force now for the lot's zone.
fn tariff_now(s: &AppState) -> Result<&parking_core::tariff::Tariff, ApiError> {
    s.0.tariffs
        .in_force(&s.0.zone, s.0.clock.now())
        .ok_or_else(|| ApiError::Unavailable(format!("no tariff of zone {} is in force", s.0.zone)))
}

/// `POST /api/v1/passes/sell`: a monthly pass priced from the tariff in
/// force, paid from the customer's account.
async fn sell_pass(State(s): State<AppState>, Body(b): Body<PassSaleInput>) -> Created<SoldPass> {
    let tariff = tariff_now(&s)?;
    Ok((StatusCode::CREATED, Json(s.0.registry.sell_pass(b, tariff, s.0.clock.now()).await?)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceQuery {
    class: parking_core::vehicle::VehicleClass,
    months: u32,
}

/// `GET /api/v1/passes/price?class=&months=`: what a pass costs now.
async fn pass_price(State(s): State<AppState>, Params(q): Params<PriceQuery>) -> Found<serde_json::Value> {
    let tariff = tariff_now(&s)?;
    let price = tariff
        .pass_price(&q.class, q.months)
        .filter(|_| (1..=12).contains(&q.months))
        .ok_or_else(|| ApiError::coded(StatusCode::BAD_REQUEST, "no_pass_price", "no pass of that class and length"))?;
    Ok(Json(serde_json::json!({ "price_vnd": price.get(), "tariff_version": tariff.version().to_string() })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QrAmount {
    amount_vnd: i64,
}

/// `GET /api/v1/accounts/{id}/top-up-qr?amount_vnd=N`: the VietQR a
/// driver scans to top the account up: the lot's bank account, the
/// amount, and the account's top-up code as the memo.
async fn top_up_qr(
    State(s): State<AppState>,
    Path(id): Path<String>,
    Params(q): Params<QrAmount>,
) -> Found<serde_json::Value> {
    let account = s.0.registry.get_account(&id).await?;
    Ok(Json(top_up_payload(&s, &account, q.amount_vnd)?))
}

/// The VietQR that tops `account` up by `amount_vnd`, as a payload and an
/// SVG: for the desk and for the account's driver.
pub(super) fn top_up_payload(s: &AppState, account: &Account, amount_vnd: i64) -> Result<serde_json::Value, ApiError> {
    if !(1..=1_000_000_000).contains(&amount_vnd) {
        return Err(ApiError::bad("amount_vnd: 1 to 1,000,000,000 đồng"));
    }
    let id = &account.account_id;
    let code =
        account.topup_code.clone().ok_or_else(|| ApiError::Conflict(format!("account {id} has no top-up code")))?;
    let Some((bin, number)) = s.0.settlement.policy.bank.as_ref() else {
        return Err(ApiError::coded(
            StatusCode::SERVICE_UNAVAILABLE,
            "bank_not_configured",
            "set [settlement] bank_bin and bank_account to show top-up QR codes",
        ));
    };
    let payload = parking_core::vietqr::VietQr::payment(bin, number, parking_core::money::Vnd::new(amount_vnd), &code)
        .encode()
        .map_err(|e| ApiError::Unexpected(format!("VietQR of the configured bank account: {e}")))?;
    let svg = super::dashboard::qr(&payload)?;
    Ok(
        serde_json::json!({ "payload": payload, "topup_code": code, "amount_vnd": amount_vnd, "account_id": id, "qr_svg": svg, "bank_bin": bin, "bank_account": number }),
    )
}
