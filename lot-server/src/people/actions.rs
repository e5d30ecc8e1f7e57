//! What people change, into the tamper-evident journal: each write a
//! person or a machine makes through the API (a manual open, an
//! acknowledgement, a registry change, a top-up, a refund, a user
//! created…) becomes a `person_action` record naming who, what route,
//! which thing and the outcome. The API records it once the change has
//! answered (see `api::attribute`); the command line records its own.

use serde::Serialize;

use super::Principal;
use crate::audit::{Item, queue};
use crate::db::Db;

/// One change, as recorded.
#[derive(Clone, Debug, Serialize)]
pub struct Action {
    /// Who: `user:{username}` or `token:{id}`, the name and the role.
    pub actor: String,
    pub name: String,
    pub role: String,
    /// The route's template, e.g. `POST /api/v1/tags/{epc}`, or a command.
    pub action: String,
    /// The path as called, naming the thing changed.
    pub target: String,
    /// The HTTP status it answered with (201, 204…); 0 for a command.
    pub status: u16,
}

impl Action {
    pub fn new(who: &Principal, action: impl Into<String>, target: impl Into<String>, status: u16) -> Self {
        Action {
            actor: who.id.clone(),
            name: who.name.clone(),
            role: who.role.as_str().to_owned(),
            action: action.into(),
            target: target.into(),
            status,
        }
    }
}

/// Queues `action` for the journal.
pub async fn record(db: &Db, action: &Action, at_ms: i64) -> Result<(), sqlx::Error> {
    let item = Item::new(format!("action:{}", uuid::Uuid::new_v4().simple()), at_ms, "person_action", action);
    let mut tx = db.begin_write().await?;
    queue(&mut tx, db.backend, &[item]).await?;
    tx.commit().await
}
