//! The Mosquitto ACL block of one controller: what its broker user may
//! publish and read, exactly its own lanes' topics and the lot's lists and
//! tariff. Given per controller (each with its own `broker.username`), it
//! is what stops one gate from posing as another: an event published for
//! another controller's gate is dropped by the broker and never reaches
//! the lot server.

use parking_core::wire::{GateTopic, LotTopic, Topics};

use crate::settings::Settings;

/// The `user …` block for `mosquitto.conf`'s `acl_file`. The user is
/// `broker.username`, else the controller's node id.
pub fn mosquitto_acl(s: &Settings) -> String {
    let topics = Topics::new(s.lot.id.clone());
    let user = s.broker.username.clone().unwrap_or_else(|| s.controller.node.to_string());
    let mut out = format!(
        "# controller {} of lot {}: its lanes' topics, the lot's lists and tariff\nuser {user}\n",
        s.controller.node, s.lot.id
    );
    for kind in [LotTopic::Lists, LotTopic::ListsDelta, LotTopic::Tariff] {
        out.push_str(&format!("topic read {}\n", topics.lot(kind)));
    }
    out.push_str(&format!("topic write {}\n", topics.node_status(&s.controller.node)));
    // The lot's entries and exits, so a vehicle may leave by any controller.
    out.push_str(&format!("topic read {}\n", topics.all_gates(GateTopic::Event)));
    for lane in &s.lanes {
        for kind in [GateTopic::Command, GateTopic::Ack, GateTopic::Read, GateTopic::Loop] {
            out.push_str(&format!("topic read {}\n", topics.gate(&lane.gate, kind)));
        }
        for kind in [GateTopic::Event, GateTopic::Barrier, GateTopic::Display, GateTopic::Status] {
            out.push_str(&format!("topic write {}\n", topics.gate(&lane.gate, kind)));
        }
    }
    out
}
