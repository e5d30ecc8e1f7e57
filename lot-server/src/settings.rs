//! Typed settings of the lot server: `[lot]`, `[broker]`, `[server]` and
//! `[database]`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use parking_core::NodeId;
use parking_core::config::{ConfigError, Loader};
use parking_core::secret::Secret;
use parking_core::settings::{BrokerSettings, LotSettings};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub lot: LotSettings,
    pub broker: BrokerSettings,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
}

/// `[server]`.
#[derive(Clone, Debug, Deserialize)]
pub struct ServerSettings {
    /// Address the HTTP API and dashboard listen on.
    pub listen: SocketAddr,
    /// This server's node id: its status topic is
    /// `parking/{lot}/node/{node}/status`.
    #[serde(default = "default_node")]
    pub node: NodeId,
    /// Longest the retained lists snapshot lags a registry change (deltas
    /// go out at once).
    #[serde(default = "default_snapshot_secs")]
    pub lists_snapshot_secs: u64,
}

fn default_node() -> NodeId {
    NodeId::from_str("lot-server").unwrap_or_else(|_| unreachable!("a valid slug"))
}

fn default_snapshot_secs() -> u64 {
    30
}

/// `[database]`.
#[derive(Clone, Debug, Deserialize)]
pub struct DatabaseSettings {
    /// `sqlite://…` (the default) or `postgres://…`. A secret, since a
    /// PostgreSQL URL may carry a password.
    pub url: Secret,
}

impl Settings {
    /// Reads the files in order, then `PARKING__…` overrides, once.
    pub fn load(paths: &[PathBuf]) -> Result<Self, ConfigError> {
        Loader::new().files(paths, std::fs::read_to_string)?.env(std::env::vars()).load()
    }
}
