//! Staff commanding a lane: opening its barrier by hand, with a reason,
//! and deciding a vehicle the lane holds for a plate check (released to
//! its fee, or refused). Both go to the lane's command topic; the lane's
//! own event (`manual_open`, `hold_decided`) carries the operator and the
//! note into the journal.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Extension, Json, Router};
use parking_core::GateId;
use parking_core::wire::{self, Command, GateCommand, GateTopic, ManualOpenReason, Topics, V1};
use parking_runtime::mqtt::OutMsg;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ApiError, AppState, Body, Caller};

/// For operators and admins.
pub(super) fn ops_routes() -> Router<AppState> {
    Router::new()
        .route("/api/v1/gates/{gate}/open", post(open_gate))
        .route("/api/v1/gates/{gate}/hold", post(decide_hold))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct OpenRequest {
    /// `emergency_vehicle`, `equipment_fault`, `payment_problem`,
    /// `unreadable_credential` or `other`.
    reason: ManualOpenReason,
    /// What happened, in the operator's words (3 to 500 characters).
    note: String,
}

/// `POST /api/v1/gates/{gate}/open`: the lane opens for whoever waits; the
/// lane's `manual_open` event carries the operator, the reason and the
/// note into the journal and the tax reports.
async fn open_gate(
    State(s): State<AppState>,
    Extension(Caller(who)): Extension<Caller>,
    Path(gate): Path<String>,
    Body(b): Body<OpenRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let note = note(&b.note)?;
    let command = Command::ManualOpen { operator: who.name.clone(), reason: b.reason, note };
    let (gate, command_id) = send(&s, &gate, command).await?;
    tracing::info!(operator = %who.id, %gate, reason = ?b.reason, "manual open sent to the lane");
    Ok((StatusCode::ACCEPTED, Json(json!({ "command_id": command_id, "gate": gate, "operator": who.name }))))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct HoldRequest {
    /// `true`: the vehicle goes on to its fee; `false`: it is refused.
    release: bool,
    /// What staff checked, in their words (3 to 500 characters).
    note: String,
}

/// `POST /api/v1/gates/{gate}/hold`: decides the vehicle the lane holds
/// (a plate that is not the entry's, a tag on another vehicle). A lane
/// holding nothing ignores it.
async fn decide_hold(
    State(s): State<AppState>,
    Extension(Caller(who)): Extension<Caller>,
    Path(gate): Path<String>,
    Body(b): Body<HoldRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let note = note(&b.note)?;
    let command = Command::HoldDecision { operator: who.name.clone(), release: b.release, note };
    let (gate, command_id) = send(&s, &gate, command).await?;
    tracing::info!(operator = %who.id, %gate, release = b.release, "hold decision sent to the lane");
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({ "command_id": command_id, "gate": gate, "operator": who.name, "release": b.release })),
    ))
}

fn note(text: &str) -> Result<String, ApiError> {
    crate::people::note(text)
        .map(str::to_owned)
        .ok_or_else(|| ApiError::bad("note: say what happened, in 3 to 500 characters"))
}

/// Sends `command` to the lane `gate`, if it has been heard from.
async fn send(s: &AppState, gate: &str, command: Command) -> Result<(GateId, uuid::Uuid), ApiError> {
    let gate: GateId = gate.parse().map_err(|e| ApiError::bad(format!("gate: {e}")))?;
    if !s.0.live.knows(gate.as_str()) {
        return Err(ApiError::NotFound(format!("no lane {gate} has been heard from")));
    }
    let command_id = uuid::Uuid::new_v4();
    let cmd = GateCommand { v: V1, command_id, issued_at: s.0.clock.now(), command };
    let topic = Topics::new(s.0.lot.clone()).gate(&gate, GateTopic::Command);
    s.0.settlement
        .after
        .out
        .send(OutMsg { topic, payload: wire::encode(&cmd), retain: false })
        .await
        .map_err(|_| ApiError::Unavailable("the broker link is down".into()))?;
    Ok((gate, command_id))
}
