//! The Mosquitto ACL block of one controller: what its broker user may
//! publish and read, exactly its own lanes' topics and the lot's lists and
//! tariff. Given per controller (each with its own `broker.username`), it
//! is what stops one gate from posing as another: an event published for
//! another controller's gate is dropped by the broker and never reaches
//! the lot server. The rules are `parking_core::wire::acl`'s, the ones the
//! embedded broker enforces.

use parking_core::wire::Topics;
use parking_core::wire::acl::{Grant, NodeKind};

use crate::settings::Settings;

/// The `user …` block for `mosquitto.conf`'s `acl_file`. The user is
/// `broker.username`, else the controller's node id.
pub fn mosquitto_acl(s: &Settings) -> String {
    let topics = Topics::new(s.lot.id.clone());
    let user = s.broker.username.clone().unwrap_or_else(|| s.controller.node.to_string());
    let role = NodeKind::Controller { gates: s.lanes.iter().map(|l| l.gate.clone()).collect() };
    let comment =
        format!("controller {} of lot {}: its lanes' topics, the lot's lists and tariff", s.controller.node, s.lot.id);
    Grant::for_node(&topics, &s.controller.node, &role).mosquitto(&user, &comment)
}
