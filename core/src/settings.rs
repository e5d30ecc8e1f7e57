//! Configuration sections every process shares: the lot and the broker.
//! Each binary composes these with its own sections into its `Settings`.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::ids::LotId;
use crate::secret::Secret;
use crate::vehicle::VehicleClass;

/// `[lot]`: which lot this is.
#[derive(Clone, Debug, Deserialize)]
pub struct LotSettings {
    pub id: LotId,
    /// Shown on displays, receipts and the dashboard.
    pub name: String,
    /// The tariff zone the city assigns the lot to.
    pub zone: String,
    /// Directory of tariff files (`*.toml`), relative to the working
    /// directory.
    #[serde(default = "default_tariff_dir")]
    pub tariff_dir: String,
    /// Where the lot is, for drivers finding it.
    #[serde(default)]
    pub address: Option<String>,
    /// When it is open, in words (`"24/7"`, `"6:00–22:00"`).
    #[serde(default)]
    pub opening_hours: Option<String>,
    /// `[lot.capacity]`: spaces per vehicle class (`car = 120`), so drivers
    /// can be told how many are free. A class not listed is not counted.
    #[serde(default)]
    pub capacity: BTreeMap<VehicleClass, u32>,
}

/// Where tariff files are looked for unless configured.
pub fn default_tariff_dir() -> String {
    "config/tariffs".to_owned()
}

/// `[broker]`: the MQTT broker.
#[derive(Clone, Debug, Deserialize)]
pub struct BrokerSettings {
    /// Run an in-process broker (zero setup) instead of connecting out.
    #[serde(default = "yes")]
    pub embedded: bool,
    #[serde(default = "localhost")]
    pub host: String,
    #[serde(default = "mqtt_port")]
    pub port: u16,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default)]
    pub password: Option<Secret>,
    /// A file holding the password: the node's secret, written there by
    /// the lot server on first start (`[[nodes]] secret_file`).
    #[serde(default)]
    pub password_file: Option<std::path::PathBuf>,
    #[serde(default = "keep_alive")]
    pub keep_alive_secs: u16,
    /// `[broker.tls]`: connect over TLS (e.g. Mosquitto's port 8883),
    /// checking the broker's certificate against `ca_file`.
    #[serde(default)]
    pub tls: Option<TlsSettings>,
}

/// `[broker.tls]`: how a client checks the broker, and proves itself if
/// the broker asks (`require_certificate true` in Mosquitto).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    /// PEM file of the CA certificate(s) that signed the broker's.
    pub ca_file: std::path::PathBuf,
    /// This client's certificate (PEM), with `client_key`.
    #[serde(default)]
    pub client_cert: Option<std::path::PathBuf>,
    /// The private key (PEM) of `client_cert`: a secret's file, never logged.
    #[serde(default)]
    pub client_key: Option<std::path::PathBuf>,
}

fn yes() -> bool {
    true
}
fn localhost() -> String {
    "127.0.0.1".to_owned()
}
fn mqtt_port() -> u16 {
    1883
}
fn keep_alive() -> u16 {
    15
}
