//! `[[nodes]]` on start-up: a node the table does not know, or whose
//! secret file is missing or no longer matches, gets a new secret, written
//! to its `secret_file` (0600) and stored as a hash; a node whose file
//! matches keeps its secret, with its kind, lot and gates brought up to
//! date from the configuration. Nodes added on the command line are left
//! as they are.

use anyhow::Context as _;
use parking_core::LotId;

use super::{Node, list, put, secret};
use crate::db::Db;
use crate::settings::NodeEntry;

/// What happened to each configured node (for the log and tests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Provisioned {
    /// A new secret was written to its file.
    Written,
    /// Its file's secret still matches; nothing secret changed.
    Kept,
}

/// Brings every `[[nodes]]` entry into the table. `default_lot` is `[lot]`.
pub async fn provision(
    db: &Db,
    entries: &[NodeEntry],
    default_lot: &LotId,
    now_ms: i64,
) -> anyhow::Result<Vec<Provisioned>> {
    let known = list(db).await?;
    let mut done = Vec::with_capacity(entries.len());
    for (i, e) in entries.iter().enumerate() {
        let role = e.role(i).map_err(|(key, message, hint)| anyhow::anyhow!("{key}: {message}{hint}"))?;
        let lot = e.lot.clone().unwrap_or_else(|| default_lot.clone());
        let file = e.secret_file.display();
        let on_file =
            secret::read_file(&e.secret_file).with_context(|| format!("node {}: cannot read {file}", e.id))?;
        let existing = known.iter().find(|n| n.id == e.id);
        let kept = match (existing, &on_file) {
            (Some(n), Some(s)) if secret::verify(s, &n.secret_hash) => Some(n),
            _ => None,
        };
        let mut node = Node { id: e.id.clone(), lot, role, secret_hash: String::new(), created_ms: now_ms };
        if let Some(n) = kept {
            node.secret_hash = n.secret_hash.clone();
            node.created_ms = n.created_ms;
            if *n != node {
                put(db, &node).await?;
            }
            done.push(Provisioned::Kept);
        } else {
            let s = secret::new_secret();
            node.secret_hash = secret::hash(&s);
            // The file first: a secret stored but never written would lock the node out.
            secret::write_file(&e.secret_file, &s).with_context(|| format!("node {}: cannot write {file}", e.id))?;
            put(db, &node).await?;
            tracing::info!(node = %e.id, kind = %e.kind, file = %file, "broker secret written");
            done.push(Provisioned::Written);
        }
    }
    Ok(done)
}
