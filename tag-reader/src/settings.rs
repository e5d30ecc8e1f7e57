//! Typed settings of a reader bridge: `[lot]`, `[broker]` and `[reader]`.

use std::path::PathBuf;

use parking_core::config::{ConfigError, Loader};
use parking_core::settings::{BrokerSettings, LotSettings};
use parking_core::{GateId, NodeId};
use serde::Deserialize;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub lot: LotSettings,
    pub broker: BrokerSettings,
    pub reader: ReaderSettings,
    /// The clock (`PARKING_CLOCK`, read once at load).
    #[serde(skip)]
    pub clock: parking_runtime::Clock,
}

/// The reader's serial protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// Impinj R2000 modules and the readers built on them.
    R2000,
    /// Chafon CF-RU5102 / "UHFReader18".
    Chafon,
    /// A fixed-mount QR or barcode scanner: a code per line.
    Scanner,
}

/// `[reader]`: one serial reader for one gate.
#[derive(Clone, Debug, Deserialize)]
pub struct ReaderSettings {
    /// Names this bridge's status topic.
    pub node: NodeId,
    /// The gate whose `read` topic this reader publishes to.
    pub gate: GateId,
    /// A reader at the registration desk, not at a lane: its reads go to
    /// `parking/{lot}/desk/{gate}/read`, where the desk's form fills in the
    /// tag it read, and no lane acts on them.
    #[serde(default)]
    pub desk: bool,
    pub protocol: Protocol,
    /// Serial device, e.g. `/dev/ttyUSB0`.
    pub port: String,
    #[serde(default = "default_baud")]
    pub baud: u32,
    /// Reader bus address; the protocol's default when absent.
    #[serde(default)]
    pub address: Option<u8>,
    /// A tag seen again within this window is the same presence.
    #[serde(default = "default_dedup")]
    pub dedup_window_ms: u32,
    /// Reads are gathered this long before a presence is assigned to a
    /// lane (antenna); zero announces on the first read.
    #[serde(default)]
    pub settle_ms: u32,
    /// Reads kept while the broker is away.
    #[serde(default = "default_outbox")]
    pub outbox_capacity: usize,
    /// Directory to watch for camera frames (PNG/JPEG) holding QR codes.
    #[serde(default)]
    pub frames_dir: Option<PathBuf>,
}

fn default_baud() -> u32 {
    115_200
}

fn default_dedup() -> u32 {
    1_500
}

fn default_outbox() -> usize {
    100_000
}

impl Settings {
    /// Reads the files in order, then `PARKING__…` overrides, once.
    pub fn load(paths: &[PathBuf]) -> Result<Self, ConfigError> {
        let mut s: Settings = Loader::new().files(paths, std::fs::read_to_string)?.env(std::env::vars()).load()?;
        s.clock = parking_runtime::Clock::from_env()?;
        #[cfg(not(feature = "qr"))]
        if s.reader.frames_dir.is_some() {
            return Err(ConfigError::Invalid {
                origin: paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
                key: "reader.frames_dir".into(),
                message: "this build decodes no QR codes".into(),
                hint: " (build tag-reader with its default feature `qr`)".into(),
            });
        }
        // The broker user is the node, unless `[broker]` names another.
        s.broker.username.get_or_insert_with(|| s.reader.node.to_string());
        Ok(s)
    }
}
