//! The lot's staff as the simulator plays them: a lane that holds a
//! vehicle for a plate check is decided through the operator's API, as an
//! operator would from the dashboard. A thief's car is refused; a car
//! carrying a moved tag is let go on (its owner explains, and the alarm
//! stays on record); any other hold is a false one, let go on and
//! counted.

use parking_core::GateId;
use serde_json::json;

use crate::http::Http;
use crate::traffic::{Actor, Visit};

/// Whether staff let `v` go on.
pub fn releases(v: &Visit) -> bool {
    v.actor != Actor::Thief
}

/// Decides the vehicle `gate` holds.
pub async fn decide(http: &Http, gate: &GateId, v: &Visit) -> anyhow::Result<()> {
    let release = releases(v);
    let note = if release { "Đã kiểm tra giấy tờ xe" } else { "Không phải xe đã gửi" };
    let path = format!("/api/v1/gates/{gate}/hold");
    http.api("POST", &path, Some(json!({ "release": release, "note": note }))).await?;
    Ok(())
}
