//! Typed settings of the simulator: the lot it drives and its broker.

use std::path::PathBuf;

use parking_core::config::{ConfigError, Loader};
use parking_core::settings::{BrokerSettings, LotSettings};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub lot: LotSettings,
    pub broker: BrokerSettings,
}

impl Settings {
    /// Reads the files in order, then `PARKING__…` overrides, once.
    pub fn load(paths: &[PathBuf]) -> Result<Self, ConfigError> {
        Loader::new().files(paths, std::fs::read_to_string)?.env(std::env::vars()).load()
    }
}
