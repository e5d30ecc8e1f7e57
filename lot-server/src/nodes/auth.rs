//! Who may connect to the embedded broker: the nodes of `broker_nodes`
//! (read again every few seconds, so `lot-server node add` and `remove`
//! take effect on a running server) and the lot server itself, whose
//! secret lives in memory only. Each login carries the node's grant.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use parking_core::wire::Topics;
use parking_core::wire::acl::Grant;
use rumqttc::mqttbytes::v4::ConnectReturnCode;

use super::{Node, secret};

/// A user: its secret's hash and what it may do.
#[derive(Clone, Debug)]
struct User {
    hash: String,
    grant: Arc<Grant>,
}

#[derive(Debug, Default)]
pub struct NodeAuth {
    nodes: RwLock<HashMap<String, User>>,
    /// The lot server's own user, kept apart from the table's.
    own: Option<(String, User)>,
}

impl NodeAuth {
    /// With the server's own user (`user`, its `secret`), whose grant
    /// covers every lot it serves.
    pub fn new(user: &str, secret: &str, grant: Grant) -> NodeAuth {
        let own = User { hash: secret::hash(secret), grant: Arc::new(grant) };
        NodeAuth { nodes: RwLock::default(), own: Some((user.to_owned(), own)) }
    }

    /// Replaces the nodes with those of the table.
    pub fn load(&self, nodes: &[Node]) {
        let users = nodes
            .iter()
            .map(|n| {
                let grant = Grant::for_node(&Topics::new(n.lot.clone()), &n.id, &n.role);
                (n.id.to_string(), User { hash: n.secret_hash.clone(), grant: Arc::new(grant) })
            })
            .collect();
        if let Ok(mut map) = self.nodes.write() {
            *map = users;
        }
    }

    /// The login for these credentials, or why not: none at all is not
    /// authorised, an unknown user or a wrong secret is a bad password
    /// (the two are not told apart).
    pub fn check(&self, credentials: Option<(&str, &str)>) -> Result<(String, Arc<Grant>), ConnectReturnCode> {
        let (user, pass) = credentials.ok_or(ConnectReturnCode::NotAuthorized)?;
        let found = match &self.own {
            Some((name, own)) if name == user => Some(own.clone()),
            _ => self.nodes.read().ok().and_then(|m| m.get(user).cloned()),
        };
        match found {
            Some(u) if secret::verify(pass, &u.hash) => Ok((user.to_owned(), u.grant)),
            _ => Err(ConnectReturnCode::BadUserNamePassword),
        }
    }
}

#[cfg(feature = "embedded-broker")]
impl parking_broker::Authenticator for NodeAuth {
    fn authenticate(
        &self,
        _client_id: &str,
        credentials: Option<(&str, &str)>,
    ) -> Result<parking_broker::Login, ConnectReturnCode> {
        self.check(credentials).map(|(user, grant)| parking_broker::Login { user, grant })
    }
}
