//! Who may publish and read which topics: one [`Grant`] per broker user,
//! built here for each kind of node ([`NodeKind`]) and used twice, by the
//! embedded broker (it checks every publish and subscription against it)
//! and for Mosquitto (it renders as an `acl_file` block). One source, so
//! the two brokers cannot drift apart.
//!
//! Also the MQTT topic-filter rules a grant needs: whether a topic matches
//! a filter ([`matches`]), and whether every topic a subscription could
//! receive is one a grant may read ([`covers`]).

use crate::ids::{GateId, NodeId};
use crate::wire::{GateTopic, LotTopic, Topics};

/// What a node is, and for a lane-side node the gates it serves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeKind {
    /// A lot server: the whole lot, read and write.
    Server,
    /// A lane controller: its own lanes, the lot's lists and tariff, and
    /// every gate's events (a vehicle may leave by another controller).
    Controller { gates: Vec<GateId> },
    /// A reader bridge: reads (and a desk's reads) for its gates only.
    Reader { gates: Vec<GateId> },
    /// Lane devices on the broker (loop detectors, MQTT barriers and
    /// displays; the simulator plays them): they send reads and loop
    /// events for their gates only, and may watch every lane.
    Devices { gates: Vec<GateId> },
    /// A read-only watcher (a city board, a wall screen): lanes' status and
    /// displays, nodes' status, free spaces and the tariff; never the lists,
    /// which name vehicles.
    Viewer,
}

impl NodeKind {
    /// The word used in configuration and on the command line.
    pub fn kind(&self) -> &'static str {
        match self {
            NodeKind::Server => "server",
            NodeKind::Controller { .. } => "controller",
            NodeKind::Reader { .. } => "reader",
            NodeKind::Devices { .. } => "devices",
            NodeKind::Viewer => "viewer",
        }
    }

    /// The gates of a lane-side node (none for a server or viewer).
    pub fn gates(&self) -> &[GateId] {
        match self {
            NodeKind::Controller { gates } | NodeKind::Reader { gates } | NodeKind::Devices { gates } => gates,
            NodeKind::Server | NodeKind::Viewer => &[],
        }
    }

    /// A role from its kind and gates, as stored or typed.
    pub fn from_kind(kind: &str, gates: Vec<GateId>) -> Option<NodeKind> {
        Some(match kind {
            "server" => NodeKind::Server,
            "controller" => NodeKind::Controller { gates },
            "reader" => NodeKind::Reader { gates },
            "devices" => NodeKind::Devices { gates },
            "viewer" => NodeKind::Viewer,
            _ => return None,
        })
    }
}

/// Topic filters one broker user may read and write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Grant {
    pub read: Vec<String>,
    pub write: Vec<String>,
}

impl Grant {
    /// What `node` in `role` may do on the lot of `topics`.
    pub fn for_node(topics: &Topics, node: &NodeId, role: &NodeKind) -> Grant {
        let mut g = Grant::default();
        let own_status = topics.node_status(node);
        match role {
            NodeKind::Server => {
                let all = format!("parking/{}/#", topics.lot_id());
                g.read.push(all.clone());
                g.write.push(all);
            }
            NodeKind::Controller { gates } => {
                for kind in [LotTopic::Lists, LotTopic::ListsDelta, LotTopic::Tariff] {
                    g.read.push(topics.lot(kind));
                }
                g.write.push(own_status);
                g.read.push(topics.all_gates(GateTopic::Event));
                for gate in gates {
                    for kind in [GateTopic::Command, GateTopic::Ack, GateTopic::Read, GateTopic::Loop] {
                        g.read.push(topics.gate(gate, kind));
                    }
                    for kind in
                        [GateTopic::Event, GateTopic::Barrier, GateTopic::Display, GateTopic::Status, GateTopic::Photo]
                    {
                        g.write.push(topics.gate(gate, kind));
                    }
                }
            }
            NodeKind::Reader { gates } => {
                g.write.push(own_status);
                for gate in gates {
                    g.write.push(topics.gate(gate, GateTopic::Read));
                    g.write.push(topics.desk_read(gate));
                }
            }
            NodeKind::Devices { gates } => {
                for gate in gates {
                    for kind in [GateTopic::Read, GateTopic::Loop] {
                        g.write.push(topics.gate(gate, kind));
                    }
                }
                // Watching every lane's barrier and display gives away
                // nothing a driver at the lane does not see.
                for kind in [GateTopic::Barrier, GateTopic::Display, GateTopic::Status] {
                    g.read.push(topics.all_gates(kind));
                }
                g.read.push(topics.all_nodes());
            }
            NodeKind::Viewer => {
                g.read.push(topics.all_gates(GateTopic::Status));
                g.read.push(topics.all_gates(GateTopic::Display));
                g.read.push(topics.all_nodes());
                g.read.push(topics.lot(LotTopic::Availability));
                g.read.push(topics.lot(LotTopic::Tariff));
            }
        }
        g
    }

    /// May this user publish to `topic`?
    pub fn may_publish(&self, topic: &str) -> bool {
        valid_topic(topic) && self.write.iter().any(|f| matches(f, topic))
    }

    /// May this user subscribe to `filter` (a `$share/{group}/` prefix
    /// removed)? Only if every topic the filter could match is readable:
    /// `#` is refused to everyone but a grant that reads `#`.
    pub fn may_subscribe(&self, filter: &str) -> bool {
        valid_filter(filter) && self.read.iter().any(|r| covers(r, filter))
    }

    /// The grant as a Mosquitto `acl_file` block for `user`.
    pub fn mosquitto(&self, user: &str, comment: &str) -> String {
        let mut out = format!("# {comment}\nuser {user}\n");
        for f in &self.read {
            out.push_str(&format!("topic read {f}\n"));
        }
        for f in &self.write {
            out.push_str(&format!("topic write {f}\n"));
        }
        out
    }
}

/// A topic a client may publish to: not empty, no wildcards, no NUL.
pub fn valid_topic(topic: &str) -> bool {
    !topic.is_empty() && !topic.contains(['+', '#', '\0'])
}

/// A well-formed subscription filter: `#` only as the whole last level,
/// `+` only as a whole level.
pub fn valid_filter(filter: &str) -> bool {
    if filter.is_empty() || filter.contains('\0') {
        return false;
    }
    let levels: Vec<&str> = filter.split('/').collect();
    levels.iter().enumerate().all(|(i, l)| match *l {
        "#" => i + 1 == levels.len(),
        "+" => true,
        l => !l.contains(['+', '#']),
    })
}

/// Does `topic` match `filter`? Topics starting with `$` match no filter
/// starting with a wildcard (MQTT 3.1.1, 4.7.2).
pub fn matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut t = topic.split('/');
    for f in filter.split('/') {
        match (f, t.next()) {
            ("#", _) => return true,
            ("+", Some(_)) => {}
            (f, Some(level)) if f == level => {}
            _ => return false,
        }
    }
    t.next().is_none()
}

/// Does the readable filter `grant` match every topic `filter` can match?
pub fn covers(grant: &str, filter: &str) -> bool {
    let mut f = filter.split('/');
    for g in grant.split('/') {
        match (g, f.next()) {
            ("#", _) => return true,
            ("+", Some(level)) if level != "#" => {}
            (g, Some(level)) if g == level && g != "+" => {}
            _ => return false,
        }
    }
    f.next().is_none()
}

#[cfg(test)]
mod tests;
