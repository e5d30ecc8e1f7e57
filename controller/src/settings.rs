//! Typed settings of a controller: `[lot]`, `[broker]`, `[controller]`,
//! `[plates]` (the lot's plate policy, in `plates`) and one `[[lanes]]`
//! table per lane (a lane's camera snapshot source in `snapshot`).
//!
//! Every device defaults to MQTT (reads, loop and barrier on the gate's
//! topics), so the example configuration runs with nothing attached; a
//! real lane names its serial reader and relay board.

use std::collections::HashSet;
use std::path::PathBuf;

use parking_core::config::{ConfigError, Loader};
use parking_core::secret::Secret;
use parking_core::settings::{BrokerSettings, LotSettings};
use parking_core::wire::Direction;
use parking_core::{GateId, NodeId, VehicleClass};
use serde::Deserialize;
use tag_reader::settings::Protocol;

mod plates;
mod snapshot;
pub use plates::PlateSettings;
pub use snapshot::SnapshotSource;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub lot: LotSettings,
    pub broker: BrokerSettings,
    /// `[device_broker]`: MQTT lane devices (readers, loop detectors,
    /// barriers, displays) on a broker of their own, typically a Mosquitto
    /// in the gate cabinet, so the lanes keep reading and opening while the
    /// lot's broker, or the network to it, is down. Its `embedded` key is
    /// ignored. Without it the devices use `[broker]`.
    #[serde(default)]
    pub device_broker: Option<BrokerSettings>,
    pub controller: ControllerSettings,
    /// `[plates]`: "xe ra đúng xe vào", the plates matched at entry and exit.
    #[serde(default)]
    pub plates: PlateSettings,
    pub lanes: Vec<LaneSettings>,
    /// The lot's bank account, for the VietQR an exit lane shows.
    #[serde(default)]
    pub bank: Option<BankSettings>,
    /// The clock (`PARKING_CLOCK`, read once at load).
    #[serde(skip)]
    pub clock: parking_runtime::Clock,
}

/// `[bank]`: where drivers' transfers go.
#[derive(Clone, Debug, Deserialize)]
pub struct BankSettings {
    /// The bank's 6-digit NAPAS BIN, e.g. `970403`.
    pub bin: String,
    pub account: String,
    #[serde(default)]
    pub account_name: Option<String>,
}

/// What to do with a tag that is not inside and tries to leave.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitPolicy {
    OpenAndCharge,
    Refuse,
}

/// `[controller]`.
#[derive(Clone, Debug, Deserialize)]
pub struct ControllerSettings {
    /// Names the controller's status topic (with its last will).
    pub node: NodeId,
    /// SQLite file of the local event journal (WAL mode).
    pub journal: PathBuf,
    /// Signs the QR tickets issued at entry, so exits check them offline.
    /// At least 16 bytes; every controller of the lot shares it.
    pub ticket_key: Secret,
    /// Events per second re-sent from the backlog after an outage; live
    /// events go at once regardless.
    #[serde(default = "default_backlog_rate")]
    pub backlog_rate: u32,
    /// An event not acknowledged within this is sent again.
    #[serde(default = "default_ack_timeout")]
    pub ack_timeout_ms: u64,
    /// Serves `/metrics` (Prometheus) and `/health` here, if set.
    #[serde(default)]
    pub metrics_listen: Option<std::net::SocketAddr>,
    #[serde(default = "default_exit_policy")]
    pub exit_without_entry: ExitPolicy,
    /// The class a ticket is issued for when nothing identifies the vehicle.
    #[serde(default = "default_ticket_class")]
    pub ticket_class: VehicleClass,
    /// This controller's number in its lot (0 to 63, each controller its
    /// own): it numbers its tickets `n × 64 + index`, so tickets and their
    /// payment codes are unique across the lot's controllers.
    #[serde(default)]
    pub index: u8,
}

/// `[[lanes]]`: one gate run by this controller.
#[derive(Clone, Debug, Deserialize)]
pub struct LaneSettings {
    pub gate: GateId,
    pub direction: Direction,
    #[serde(default)]
    pub reader: ReaderSource,
    #[serde(default)]
    pub barrier: BarrierSettings,
    #[serde(default, rename = "loop")]
    pub loop_detector: LoopSource,
    /// Length of the OPEN pulse (300 to 500 ms: docs/devices.md).
    #[serde(default = "default_pulse")]
    pub pulse_ms: u16,
    /// After an open, the vehicle must cross the loop within this.
    #[serde(default = "default_pass_timeout")]
    pub pass_timeout_ms: u32,
    /// The loop occupied longer than this: the arm is held open.
    #[serde(default = "default_arm_held")]
    pub arm_held_ms: u32,
    /// A passage this soon after another, with no open, is a tailgater.
    #[serde(default = "default_tailgate")]
    pub tailgate_window_ms: u32,
    /// Plate reads below this confidence are ignored.
    #[serde(default = "default_plate_confidence")]
    pub min_plate_confidence: f32,
    /// How long a plate read counts for the tag decision that follows.
    #[serde(default = "default_plate_valid")]
    pub plate_valid_ms: u32,
    /// The credential of the lane's last open, read again before its
    /// vehicle crossed the loop and within this, opens again: the first
    /// open may never have reached the barrier (a restart in between).
    #[serde(default = "default_reopen")]
    pub reopen_within_ms: u32,
    /// A tag seen again within this window is the same presence.
    #[serde(default = "default_dedup")]
    pub dedup_window_ms: u32,
    /// The lane's camera snapshot, taken at each entry, exit and hold.
    #[serde(default)]
    pub snapshot: Option<SnapshotSource>,
}

/// Where a lane's credential reads come from.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ReaderSource {
    /// `parking/{lot}/gate/{gate}/read`, from a reader bridge, a camera or ANPR.
    #[default]
    Mqtt,
    /// A UHF reader or a QR scanner on a serial line, driven in-process.
    Serial {
        protocol: Protocol,
        port: String,
        #[serde(default = "default_baud")]
        baud: u32,
        #[serde(default)]
        address: Option<u8>,
    },
    /// A fixed UHF reader over LLRP/TCP (Impinj, Zebra), driven in-process.
    Llrp {
        host: String,
        #[serde(default = "default_llrp_port")]
        port: u16,
        /// The lane's antennas on the reader.
        #[serde(default = "default_antennas")]
        antennas: Vec<u16>,
        /// The reader is asked for a keepalive this often; three missed
        /// ones count it lost.
        #[serde(default = "default_llrp_keepalive")]
        keepalive_ms: u32,
    },
}

fn default_llrp_port() -> u16 {
    5084
}
fn default_antennas() -> Vec<u16> {
    vec![1]
}
fn default_llrp_keepalive() -> u32 {
    5_000
}

/// How a lane's barrier is opened.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum BarrierSettings {
    /// A `BarrierCommand` on `parking/{lot}/gate/{gate}/barrier`.
    #[default]
    Mqtt,
    /// A coil of a Modbus RTU relay board; lanes may share a board (same port).
    Modbus {
        port: String,
        #[serde(default = "default_modbus_baud")]
        baud: u32,
        #[serde(default = "default_modbus_addr")]
        address: u8,
        coil: u16,
    },
    /// Counts pulses only (simulator, bench).
    Simulated,
}

/// Where a lane's loop detector is read.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum LoopSource {
    /// `parking/{lot}/gate/{gate}/loop`.
    #[default]
    Mqtt,
    /// A discrete input of the lane's Modbus relay board.
    Modbus { input: u16 },
    /// No loop detector: safety alarms are off for this lane.
    None,
}

fn default_backlog_rate() -> u32 {
    500
}
fn default_ack_timeout() -> u64 {
    30_000
}
fn default_exit_policy() -> ExitPolicy {
    ExitPolicy::OpenAndCharge
}
fn default_ticket_class() -> VehicleClass {
    VehicleClass::Car
}
fn default_pulse() -> u16 {
    400
}
fn default_pass_timeout() -> u32 {
    30_000
}
fn default_arm_held() -> u32 {
    60_000
}
fn default_tailgate() -> u32 {
    5_000
}
fn default_reopen() -> u32 {
    300_000
}
fn default_plate_confidence() -> f32 {
    0.8
}
fn default_plate_valid() -> u32 {
    10_000
}
fn default_dedup() -> u32 {
    1_500
}
fn default_baud() -> u32 {
    115_200
}
fn default_modbus_baud() -> u32 {
    9_600
}
fn default_modbus_addr() -> u8 {
    1
}

impl Settings {
    /// The MQTT client id of one of the controller's links (`in`, `out`,
    /// `devices-in`, `devices-out`): `{lot}-{node}-{link}`. The lot is in
    /// it because a broker shared by many lots (a city's) holds one session
    /// per client id: two lots' `controller-1` would otherwise take each
    /// other's session over, again and again.
    pub fn client_id(&self, link: &str) -> String {
        format!("{}-{}-{link}", self.lot.id, self.controller.node)
    }

    /// Reads the files in order, then `PARKING__…` overrides, once, and
    /// checks what types alone cannot: at least one lane, no gate twice, a
    /// usable ticket key, a loop on the board only with a board barrier.
    pub fn load(paths: &[PathBuf]) -> Result<Self, ConfigError> {
        let loader = Loader::new().files(paths, std::fs::read_to_string)?.env(std::env::vars());
        let mut s: Settings = loader.load()?;
        s.clock = parking_runtime::Clock::from_env()?;
        let origin = paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ");
        s.check().map_err(|(key, message)| ConfigError::Invalid {
            origin: origin.clone(),
            key: key.to_owned(),
            message,
            hint: String::new(),
        })?;
        // The broker user is the node, unless `[broker]` names another.
        s.broker.username.get_or_insert_with(|| s.controller.node.to_string());
        Ok(s)
    }

    fn check(&self) -> Result<(), (&'static str, String)> {
        if self.lanes.is_empty() {
            return Err(("lanes", "a controller needs at least one [[lanes]] entry".into()));
        }
        let mut seen = HashSet::new();
        if let Some(dup) = self.lanes.iter().find(|l| !seen.insert(&l.gate)) {
            return Err(("lanes", format!("gate {} appears twice", dup.gate)));
        }
        if u64::from(self.controller.index) >= parking_core::gate::TICKET_SERIES {
            return Err((
                "controller.index",
                format!("{} is not between 0 and {}", self.controller.index, parking_core::gate::TICKET_SERIES - 1),
            ));
        }
        if self.controller.ticket_key.expose().len() < 16 {
            return Err(("controller.ticket_key", "must be at least 16 bytes".into()));
        }
        for l in &self.lanes {
            if matches!(l.loop_detector, LoopSource::Modbus { .. })
                && !matches!(l.barrier, BarrierSettings::Modbus { .. })
            {
                return Err(("lanes.loop", format!("gate {}: a Modbus loop input needs a Modbus barrier", l.gate)));
            }
            if let ReaderSource::Llrp { host, antennas, keepalive_ms, .. } = &l.reader {
                if host.trim().is_empty() {
                    return Err(("lanes.reader.host", format!("gate {}: the LLRP reader needs a host", l.gate)));
                }
                if antennas.is_empty() || antennas.contains(&0) {
                    let why = format!("gate {}: list the lane's antennas, numbered from 1: {antennas:?}", l.gate);
                    return Err(("lanes.reader.antennas", why));
                }
                if *keepalive_ms < 100 {
                    let why = format!("gate {}: {keepalive_ms} ms is too short a keepalive", l.gate);
                    return Err(("lanes.reader.keepalive_ms", why));
                }
            }
            if let Some(Err(why)) = l.snapshot.as_ref().map(SnapshotSource::check) {
                return Err(("lanes.snapshot", format!("gate {}: {why}", l.gate)));
            }
            if !(100..=2_000).contains(&l.pulse_ms) {
                return Err(("lanes.pulse_ms", format!("gate {}: {} ms is not a sane pulse", l.gate, l.pulse_ms)));
            }
        }
        if let Some(bank) = &self.bank {
            if bank.bin.len() != 6 || !bank.bin.bytes().all(|b| b.is_ascii_digit()) {
                return Err(("bank.bin", format!("{:?} is not a 6-digit bank BIN", bank.bin)));
            }
        }
        Ok(())
    }
}
