//! Typed settings of a controller: `[lot]`, `[broker]`, `[controller]` and
//! one `[[lanes]]` table per lane.

use std::collections::HashSet;
use std::path::PathBuf;

use parking_core::config::{ConfigError, Loader};
use parking_core::settings::{BrokerSettings, LotSettings};
use parking_core::wire::Direction;
use parking_core::{GateId, NodeId};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub lot: LotSettings,
    pub broker: BrokerSettings,
    pub controller: ControllerSettings,
    pub lanes: Vec<LaneSettings>,
}

/// `[controller]`.
#[derive(Clone, Debug, Deserialize)]
pub struct ControllerSettings {
    /// Names the controller's status topic (with its last will).
    pub node: NodeId,
    /// SQLite file of the local event journal.
    pub journal: PathBuf,
}

/// `[[lanes]]`: one gate run by this controller.
#[derive(Clone, Debug, Deserialize)]
pub struct LaneSettings {
    pub gate: GateId,
    pub direction: Direction,
}

impl Settings {
    /// Reads the files in order, then `PARKING__…` overrides, once, and
    /// checks what types alone cannot: at least one lane, no gate twice.
    pub fn load(paths: &[PathBuf]) -> Result<Self, ConfigError> {
        let s: Settings = Loader::new().files(paths, std::fs::read_to_string)?.env(std::env::vars()).load()?;
        let origin = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        let invalid = |message: String| ConfigError::Invalid {
            origin: origin.clone(),
            key: "lanes".into(),
            message,
            hint: String::new(),
        };
        if s.lanes.is_empty() {
            return Err(invalid("a controller needs at least one [[lanes]] entry".into()));
        }
        let mut seen = HashSet::new();
        if let Some(dup) = s.lanes.iter().find(|l| !seen.insert(&l.gate)) {
            return Err(invalid(format!("gate {} appears twice", dup.gate)));
        }
        Ok(s)
    }
}
