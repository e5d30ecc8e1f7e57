//! The broker's users: one per node, with its kind, lot and gates (from
//! which its topic grant is built, `parking_core::wire::acl`) and its
//! secret's hash. The secret itself leaves the server once: into the
//! node's secret file, or on the terminal of `lot-server node add`.
//!
//! Parts:
//! - this file: the `broker_nodes` table;
//! - [`secret`]: making, hashing and checking a secret, secret files;
//! - [`provision`]: `[[nodes]]` on start-up: each gets its secret once;
//! - [`auth`]: who may connect to the embedded broker, and their grants;
//! - [`export`]: the same users and grants for Mosquitto.

use parking_core::wire::acl::NodeKind;
use parking_core::{GateId, LotId, NodeId};
use sqlx::Row as _;

use crate::db::Db;

pub mod auth;
pub mod export;
pub mod provision;
pub mod secret;

/// One broker user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub id: NodeId,
    pub lot: LotId,
    pub role: NodeKind,
    pub secret_hash: String,
    pub created_ms: i64,
}

fn decode(e: impl std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(e.to_string().into())
}

/// Every node, by id.
pub async fn list(db: &Db) -> Result<Vec<Node>, sqlx::Error> {
    let rows = sqlx::query("SELECT node, lot_id, kind, gates, secret_hash, created_ms FROM broker_nodes ORDER BY node")
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            let gates: String = r.try_get("gates")?;
            let gates = gates.split(',').filter(|g| !g.is_empty()).map(str::parse).collect::<Result<Vec<GateId>, _>>();
            let kind: String = r.try_get("kind")?;
            let role = NodeKind::from_kind(&kind, gates.map_err(decode)?).ok_or_else(|| decode(kind))?;
            let id: String = r.try_get("node")?;
            let lot: String = r.try_get("lot_id")?;
            Ok(Node {
                id: id.parse().map_err(decode)?,
                lot: lot.parse().map_err(decode)?,
                role,
                secret_hash: r.try_get("secret_hash")?,
                created_ms: r.try_get("created_ms")?,
            })
        })
        .collect()
}

/// Adds a node or replaces what is known of it (kind, lot, gates, hash).
pub async fn put(db: &Db, node: &Node) -> Result<(), sqlx::Error> {
    let gates: Vec<&str> = node.role.gates().iter().map(GateId::as_str).collect();
    sqlx::query(
        "INSERT INTO broker_nodes (node, lot_id, kind, gates, secret_hash, created_ms) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (node) DO UPDATE SET lot_id = excluded.lot_id, kind = excluded.kind, gates = excluded.gates, \
         secret_hash = excluded.secret_hash",
    )
    .bind(node.id.to_string())
    .bind(node.lot.to_string())
    .bind(node.role.kind())
    .bind(gates.join(","))
    .bind(node.secret_hash.clone())
    .bind(node.created_ms)
    .execute(&db.pool)
    .await?;
    Ok(())
}

/// Removes a node: its secret stops working within the broker's refresh.
pub async fn remove(db: &Db, id: &NodeId) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM broker_nodes WHERE node = $1").bind(id.to_string()).execute(&db.pool).await?;
    Ok(done.rows_affected() == 1)
}

/// Makes `id` a node (or gives it a new secret): the secret, to be shown
/// or written once.
pub async fn add(db: &Db, id: NodeId, lot: LotId, role: NodeKind, now_ms: i64) -> Result<String, sqlx::Error> {
    let s = secret::new_secret();
    put(db, &Node { id, lot, role, secret_hash: secret::hash(&s), created_ms: now_ms }).await?;
    Ok(s)
}

#[cfg(test)]
mod tests;
