//! `[[nodes]]`: the processes that talk to the lot's broker, each with its
//! kind (what its topic grant is), its gates and where the lot server
//! writes its secret on first start (the node's `broker.password_file`
//! points there). docs/mqtt.md, "Who may do what on the broker".

use std::path::PathBuf;

use parking_core::wire::acl::NodeKind;
use parking_core::{GateId, LotId, NodeId};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeEntry {
    /// The node id, also its broker user name.
    pub id: NodeId,
    /// controller, reader, devices, viewer or server.
    pub kind: String,
    /// The gates a controller, reader or devices node serves.
    #[serde(default)]
    pub gates: Vec<GateId>,
    /// Its lot: `[lot]` by default, or one of `[[lots]]`.
    #[serde(default)]
    pub lot: Option<LotId>,
    /// Where its secret is written (mode 0600) when it is made.
    pub secret_file: PathBuf,
}

impl NodeEntry {
    /// The kind with its gates; an unknown kind or a lane-side node
    /// without gates is a configuration error naming the key.
    pub fn role(&self, index: usize) -> Result<NodeKind, (String, String, String)> {
        let key = |k: &str| format!("nodes[{index}].{k}");
        let role = NodeKind::from_kind(&self.kind, self.gates.clone()).ok_or_else(|| {
            (
                key("kind"),
                format!("unknown kind {:?}", self.kind),
                " (controller, reader, devices, viewer or server)".into(),
            )
        })?;
        let lane_side =
            matches!(role, NodeKind::Controller { .. } | NodeKind::Reader { .. } | NodeKind::Devices { .. });
        if lane_side && self.gates.is_empty() {
            return Err((key("gates"), format!("a {} serves at least one gate", self.kind), String::new()));
        }
        if !lane_side && !self.gates.is_empty() {
            return Err((key("gates"), format!("a {} node has no gates", self.kind), String::new()));
        }
        Ok(role)
    }
}

/// Checks every entry: kinds, gates, lots served, ids and files unique.
pub(super) fn check(entries: &[NodeEntry], lots: &[LotId]) -> Result<(), (String, String, String)> {
    let mut ids = std::collections::HashSet::new();
    let mut files = std::collections::HashSet::new();
    for (i, n) in entries.iter().enumerate() {
        n.role(i)?;
        if let Some(lot) = &n.lot {
            if !lots.contains(lot) {
                return Err((
                    format!("nodes[{i}].lot"),
                    format!("this server does not serve lot {lot}"),
                    String::new(),
                ));
            }
        }
        if !ids.insert(n.id.clone()) {
            return Err((format!("nodes[{i}].id"), format!("node {} is listed twice", n.id), String::new()));
        }
        if !files.insert(n.secret_file.clone()) {
            let file = n.secret_file.display();
            return Err((format!("nodes[{i}].secret_file"), format!("{file} is another node's too"), String::new()));
        }
    }
    Ok(())
}
