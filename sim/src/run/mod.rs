//! `sim run`: replays visits through a lot that is already running, as its
//! lanes' devices and its drivers would, then checks the books.
//!
//! 1. **Setup** ([`setup`]): the trace's tagged vehicles are registered
//!    through the API (fleet accounts topped up by bank transfer, tags
//!    bound to their TIDs, monthly passes, the deny-listed tag), and the
//!    run waits for the controllers to hold the new lists.
//! 2. **Replay** ([`lanes`]): one worker per gate presents each visit at
//!    its time (scaled by `--speed`, or at once with `max`) with the
//!    devices of [`devices`]: a reader publishing tag reads, the ticket
//!    button, a camera that photographs QR tickets, the loop detector, the
//!    barrier (timed from the read), and the driver's banking app paying
//!    the VietQR on the lane display through the simulated bank; a lane
//!    whose reader is an LLRP reader gets its tags over TCP ([`llrp`]).
//! 3. **Check** ([`check`]): sessions, gate events, alarms and revenue as
//!    the lot server recorded them, against what the simulator did and
//!    against the tariff applied independently to each recorded stay;
//!    and against the day the trace planned ([`planned`]): its own stays
//!    priced, and how late the lanes passed each vehicle.
//!
//! The summary's last line is JSON.

// Counts and percentiles of a run: small, non-negative numbers.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]

pub mod camera;
pub mod check;
pub mod devices;
mod hear;
pub mod lanes;
pub mod llrp;
pub mod planned;
pub mod setup;
pub mod staff;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parking_core::config::{ConfigError, Loader};
use parking_core::secret::Secret;
use parking_core::settings::{BrokerSettings, LotSettings};
use serde::Deserialize;

use crate::http::Http;
use crate::traffic::Visit;
use crate::traffic::generate::TrafficSettings;

/// How fast a trace is replayed.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Speed {
    /// `N` times faster than the trace's own times.
    Times(f64),
    /// Each lane takes its next vehicle as soon as the last has passed.
    Max,
}

impl std::str::FromStr for Speed {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("max") {
            return Ok(Speed::Max);
        }
        match s.parse::<f64>() {
            Ok(n) if n.is_finite() && (0.001..=1_000_000.0).contains(&n) => Ok(Speed::Times(n)),
            _ => Err(format!("--speed takes a factor from 0.001 to 1000000, or max; not {s:?}")),
        }
    }
}

/// `[sim]`: the running system the simulator drives.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SimSettings {
    /// The lot server's base URL, e.g. `http://127.0.0.1:8080`.
    pub server: String,
    /// An admin API token (`lot-server token create --role admin`).
    pub token: Secret,
    /// The SePay webhook secret the lot server verifies (`[settlement]`).
    pub sepay_hmac_secret: Secret,
    /// The controllers' `/health` addresses (`metrics_listen`), waited on
    /// until they hold the lists the setup made; without them the run
    /// waits `lists_settle_ms`.
    #[serde(default)]
    pub controllers: Vec<String>,
    #[serde(default = "default_settle")]
    pub lists_settle_ms: u64,
    /// API calls in flight during the setup.
    #[serde(default = "default_setup_concurrency")]
    pub setup_concurrency: usize,
    /// Vehicles sharing one fleet account.
    #[serde(default = "default_fleet")]
    pub vehicles_per_account: usize,
    /// What each fleet account is topped up with, by bank transfer.
    #[serde(default = "default_topup")]
    pub topup_vnd: i64,
    /// Real seconds to wait for a barrier, a display or a settlement.
    #[serde(default = "default_timeout")]
    pub timeout_s: u64,
    /// Share of the cameras' plate reads with one character wrong.
    #[serde(default = "camera::default_misread")]
    pub plate_misread: f64,
    /// Share of vehicles whose plate a camera does not read.
    #[serde(default = "camera::default_missed")]
    pub plate_missed: f64,
    /// Gates whose UHF reader is an LLRP reader the simulator plays, and
    /// the address it listens on (`HOST:PORT`; the lane's `reader = {
    /// kind = "llrp", … }` points there).
    #[serde(default)]
    pub llrp_readers: std::collections::BTreeMap<parking_core::GateId, String>,
}

impl std::fmt::Debug for SimSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimSettings").field("server", &self.server).finish_non_exhaustive()
    }
}

fn default_settle() -> u64 {
    2_000
}
fn default_setup_concurrency() -> usize {
    16
}
fn default_fleet() -> usize {
    20
}
fn default_topup() -> i64 {
    10_000_000
}
fn default_timeout() -> u64 {
    10
}

/// What `sim run` reads: the lot, its broker, `[sim]` and, for generated
/// traffic, `[traffic]`.
#[derive(Clone, Debug, Deserialize)]
pub struct RunSettings {
    pub lot: LotSettings,
    pub broker: BrokerSettings,
    pub sim: SimSettings,
    #[serde(default)]
    pub traffic: TrafficSettings,
    /// The clock (`PARKING_CLOCK`, read once at load): the trace's
    /// timeline when simulated.
    #[serde(skip)]
    pub clock: parking_runtime::Clock,
    /// LLRP readers already started (the demo starts them before its
    /// controller); else the run starts `[sim] llrp_readers`.
    #[serde(skip)]
    pub llrp: llrp::Readers,
}

impl RunSettings {
    /// Reads the files in order, then `PARKING__…` overrides and
    /// `PARKING_CLOCK`, once.
    pub fn load(paths: &[PathBuf]) -> Result<Self, ConfigError> {
        let mut s: RunSettings = Loader::new().files(paths, std::fs::read_to_string)?.env(std::env::vars()).load()?;
        s.clock = parking_runtime::Clock::from_env()?;
        Ok(s)
    }
}

#[derive(clap::Args, Debug)]
pub struct RunArgs {
    /// TOML files, later ones overriding earlier ones (`[lot]`, `[broker]`, `[sim]`, `[traffic]`).
    #[arg(long = "config", required = true)]
    pub config: Vec<PathBuf>,
    /// A trace CSV to replay; without it, `[traffic]` is generated.
    #[arg(long)]
    pub trace: Option<PathBuf>,
    /// `N` (times faster than the trace) or `max`.
    #[arg(long, default_value = "1")]
    pub speed: Speed,
    /// Overrides `[traffic] seed`.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Overrides `[traffic] visits`.
    #[arg(long)]
    pub visits: Option<usize>,
}

/// The visits a run replays: the trace, or generated.
pub fn visits(traffic: &TrafficSettings, trace: Option<&PathBuf>) -> anyhow::Result<Vec<Visit>> {
    match trace {
        Some(path) => {
            let f = std::fs::File::open(path).with_context(|| format!("{}", path.display()))?;
            Ok(crate::traffic::trace::read(std::io::BufReader::new(f), &path.display().to_string())?)
        }
        None => Ok(crate::traffic::generate::generate(traffic)?),
    }
}

/// `sim run`.
pub async fn run(args: RunArgs) -> anyhow::Result<check::Summary> {
    let mut s = RunSettings::load(&args.config)?;
    s.traffic.seed = args.seed.unwrap_or(s.traffic.seed);
    s.traffic.visits = args.visits.unwrap_or(s.traffic.visits);
    let visits = visits(&s.traffic, args.trace.as_ref())?;
    replay(&s, visits, args.speed, true, None).await
}

/// Setup, replay and check, against the system `s` names.
/// Barriers on relay boards the simulator plays report their opens on
/// `relays`; the others are heard on the broker.
pub async fn replay(
    s: &RunSettings,
    visits: Vec<Visit>,
    speed: Speed,
    progress: bool,
    relays: Option<tokio::sync::mpsc::UnboundedReceiver<(parking_core::GateId, std::time::Instant)>>,
) -> anyhow::Result<check::Summary> {
    replay_with(s, visits, speed, progress, relays, async |_: &Http| Ok(())).await
}

/// [`replay`], with `between` run after the setup and before the traffic
/// (`sim soak` restarts the lot's processes on the running clock there).
pub async fn replay_with(
    s: &RunSettings,
    visits: Vec<Visit>,
    speed: Speed,
    progress: bool,
    relays: Option<tokio::sync::mpsc::UnboundedReceiver<(parking_core::GateId, std::time::Instant)>>,
    between: impl AsyncFnOnce(&Http) -> anyhow::Result<()>,
) -> anyhow::Result<check::Summary> {
    anyhow::ensure!(!visits.is_empty(), "no visits to replay");
    let http = Arc::new(Http::new(
        &s.sim.server,
        s.sim.token.expose().to_owned(),
        s.sim.sepay_hmac_secret.clone(),
        s.clock.clone(),
    ));
    http.wait_ready(30).await?;
    let book = parking_runtime::tariffs::load_dir(std::path::Path::new(&s.lot.tariff_dir), &s.lot.zone)?;
    let timeout = Duration::from_secs(s.sim.timeout_s.max(1));

    let started_clock = s.clock.now();
    let registered = setup::register(&http, &s.sim, &visits).await?;
    setup::wait_for_lists(&http, &s.sim).await?;
    between(&http).await?;
    let readers = if s.llrp.is_empty() { llrp::Readers::start(&s.sim.llrp_readers).await?.0 } else { s.llrp.clone() };
    let readers = readers.watching(&s.sim.controllers);
    readers.check(&visits)?;
    let camera = camera::Camera { plate_misread: s.sim.plate_misread, plate_missed: s.sim.plate_missed };
    let lanes = devices::LaneDevices { relays, camera, readers };
    let devices = devices::Devices::connect(&s.broker, &s.lot.id, &visits, lanes, s.clock.clone()).await?;
    // A clock held through the setup (the demo's) starts with the traffic.
    s.clock.release();
    let report = lanes::replay(&visits, &registered, &devices, &http, speed, timeout, progress).await?;
    devices.close().await;
    let summary = check::check(&http, &book, &s.lot.zone, &visits, &report, started_clock, timeout).await?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn speeds_parse_and_nonsense_is_named() {
        assert_eq!("max".parse::<Speed>().unwrap(), Speed::Max);
        assert_eq!("1440".parse::<Speed>().unwrap(), Speed::Times(1440.0));
        for bad in ["0", "-3", "fast", "NaN", "1e9"] {
            assert!(bad.parse::<Speed>().unwrap_err().contains("--speed"), "{bad}");
        }
    }
}
