//! Typed settings of the lot server: `[lot]`, `[broker]`, `[server]`,
//! `[database]`, `[settlement]`, `[tax]`, `[invoice]`, `[retention]`,
//! `[photos]`, and `[[lots]]`.
//!
//! Layout:
//! - this file: [`Settings`], read once, and each section's type;
//! - `lots`: the `[[lots]]` entries one server serves, each resolved
//!   into a [`LotConfig`], and the collisions refused between them;
//! - `drivers`: `[drivers]`, their sign-in and their notices;
//! - `nodes`: `[[nodes]]`, the broker's users;
//! - `invoice`: `[invoice]`;
//! - `settlement`: `[settlement]` and its poller;
//! - `outbound`: the URLs called out to, checked at load.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use parking_core::NodeId;
use parking_core::config::{ConfigError, Loader};
use parking_core::secret::Secret;
use parking_core::settings::{BrokerSettings, LotSettings};
use parking_core::vat::{VatPeriod, VatSchedule};
use serde::Deserialize;

mod drivers;
mod invoice;
mod lots;
mod nodes;
mod outbound;
mod retention;
mod settlement;

pub use invoice::{InvoiceApi, InvoiceSettings};
pub use settlement::{SepayPoll, SettlementSettings};

pub use drivers::DriverSettings;
pub use lots::{DatabaseTarget, InvoiceOverride, LotConfig, LotEntry};
pub use nodes::NodeEntry;
pub use retention::RetentionSettings;

#[derive(Clone, Debug, Deserialize)]
pub struct Settings {
    pub lot: LotSettings,
    pub broker: BrokerSettings,
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    #[serde(default)]
    pub settlement: SettlementSettings,
    #[serde(default)]
    pub tax: TaxSettings,
    #[serde(default)]
    pub invoice: InvoiceSettings,
    /// `[[lots]]`: further lots this server serves besides `[lot]`, each
    /// kept apart by its id (see [`LotConfig`]).
    #[serde(default)]
    pub lots: Vec<LotEntry>,
    #[serde(default)]
    pub drivers: DriverSettings,
    /// `[retention]`: how long raw gate events, sign-ins and photos are kept.
    #[serde(default)]
    pub retention: RetentionSettings,
    /// `[photos]`: where lane photos are kept.
    #[serde(default)]
    pub photos: PhotoSettings,
    /// `[[nodes]]`: the broker's users, their grants and secret files.
    #[serde(default)]
    pub nodes: Vec<NodeEntry>,
    /// The clock (`PARKING_CLOCK`, read once at load).
    #[serde(skip)]
    pub clock: parking_runtime::Clock,
}

/// `[photos]`: lane photos are files under `dir` (`{dir}/{lot}/…`), or,
/// with no `dir`, kept in the database (a small setup).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhotoSettings {
    #[serde(default)]
    pub dir: Option<PathBuf>,
}

impl PhotoSettings {
    /// Where `lot`'s photo files go, if photos are files.
    pub fn lot_dir(&self, lot: &parking_core::LotId) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(lot.as_str()))
    }
}

/// `[tax]`: VAT by date. Tariff prices include VAT; the ledger splits it
/// out at the rate in force on the day of the sale.
#[derive(Clone, Debug, Deserialize)]
pub struct TaxSettings {
    #[serde(default = "default_vat")]
    pub vat: Vec<VatPeriod>,
    /// The Ed25519 seed (64 hex digits) that seals the journal each day;
    /// `lot-server ledger public-key` prints the key officers verify with.
    /// Without it the journal is kept but not sealed.
    #[serde(default)]
    pub journal_key: Option<Secret>,
}

impl Default for TaxSettings {
    fn default() -> Self {
        TaxSettings { vat: default_vat(), journal_key: None }
    }
}

/// Vietnam's standard 10%, and the 8% reduction for most services in
/// force 2022, mid-2023 to 2026 (Decrees 15/2022, 44/2023, 94/2023,
/// 72/2024, 174/2025). The lot's accountant confirms it in config.
fn default_vat() -> Vec<VatPeriod> {
    use time::macros::date;
    vec![
        VatPeriod { from: date!(2020 - 01 - 01), rate_bp: 1_000 },
        VatPeriod { from: date!(2022 - 02 - 01), rate_bp: 800 },
        VatPeriod { from: date!(2023 - 01 - 01), rate_bp: 1_000 },
        VatPeriod { from: date!(2023 - 07 - 01), rate_bp: 800 },
        VatPeriod { from: date!(2027 - 01 - 01), rate_bp: 1_000 },
    ]
}

impl TaxSettings {
    /// The journal's signing key, if configured.
    pub fn journal_key(
        &self,
    ) -> Result<Option<parking_core::chain::JournalSigningKey>, parking_core::chain::ChainError> {
        self.journal_key.as_ref().map(|k| parking_core::chain::signing_key(k.expose())).transpose()
    }

    pub fn schedule(&self) -> Result<VatSchedule, parking_core::vat::VatError> {
        VatSchedule::new(self.vat.clone())
    }
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
    /// Sign-in attempts (`/api/v1/login`) one address may make per minute;
    /// 0 for no limit.
    #[serde(default = "default_login_per_minute")]
    pub login_per_minute: u32,
    /// Transfer notifications (`/api/v1/webhooks/*`) one address may post
    /// per second; 0 for no limit.
    #[serde(default = "default_webhooks_per_second")]
    pub webhooks_per_second: u32,
    /// Requests to the drivers' public routes (`/api/v1/public/…`, receipts)
    /// one address may make per minute; 0 for no limit.
    #[serde(default = "default_public_per_minute")]
    pub public_per_minute: u32,
    /// Of those, lookups by a key (a stay by ticket, code or plate; a
    /// receipt) per minute: what slows a guesser down; 0 for no limit.
    #[serde(default = "default_lookups_per_minute")]
    pub lookups_per_minute: u32,
    /// The address drivers reach this server at (`https://parking.example.vn`),
    /// for links printed or shown as QR codes (receipts). Unset, links are
    /// given from the site's root (`/lots/{lot}/receipt/…`).
    #[serde(default)]
    pub public_url: Option<String>,
    /// Several lot-server instances on one PostgreSQL database share the
    /// lot's gate events when they name the same group: each event goes to
    /// one of them (an MQTT shared subscription, `$share/{group}/…`). Each
    /// instance needs its own `node`. Unset: this instance takes them all.
    #[serde(default)]
    pub share_group: Option<ShareGroup>,
    /// A signed-in session ends after this many minutes without a request…
    #[serde(default = "default_session_idle_minutes")]
    pub session_idle_minutes: u32,
    /// … and this many hours after signing in, whatever happens.
    #[serde(default = "default_session_hours")]
    pub session_hours: u32,
    /// People reach the server over HTTPS (a TLS-terminating proxy in
    /// front): session cookies are marked `Secure`.
    #[serde(default)]
    pub behind_tls: bool,
}

impl ServerSettings {
    /// Sign-in sessions as configured.
    pub fn sessions(&self) -> crate::people::Policy {
        crate::people::Policy {
            idle_ms: i64::from(self.session_idle_minutes.max(1)) * 60_000,
            absolute_ms: i64::from(self.session_hours.max(1)) * 3_600_000,
            secure_cookie: self.behind_tls,
        }
    }
}

fn default_session_idle_minutes() -> u32 {
    30
}

fn default_session_hours() -> u32 {
    12
}

/// A shared-subscription group name: letters, digits, `-` and `_`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShareGroup(String);

impl ShareGroup {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ShareGroup {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() || s.len() > 64 || !s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
            return Err(format!("share_group {s:?}: 1 to 64 letters, digits, '-' or '_'"));
        }
        Ok(ShareGroup(s.to_owned()))
    }
}

impl<'de> Deserialize<'de> for ShareGroup {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

fn default_login_per_minute() -> u32 {
    10
}

fn default_webhooks_per_second() -> u32 {
    1_000
}

fn default_public_per_minute() -> u32 {
    120
}

fn default_lookups_per_minute() -> u32 {
    30
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
        let mut s: Settings = Loader::new().files(paths, std::fs::read_to_string)?.env(std::env::vars()).load()?;
        s.clock = parking_runtime::Clock::from_env()?;
        let invalid = |key: &str, message: String, hint: &str| ConfigError::Invalid {
            origin: paths.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
            key: key.into(),
            message,
            hint: hint.into(),
        };
        if s.broker.embedded && s.broker.tls.is_some() {
            return Err(invalid(
                "broker.tls",
                "the embedded broker speaks plain MQTT on this machine only".into(),
                " (for TLS, run Mosquitto with a certificate and set broker.embedded = false)",
            ));
        }
        let lots = s.lot_configs().map_err(|(key, message, hint)| invalid(&key, message, hint))?;
        outbound::check(&lots).map_err(|(key, message, hint)| invalid(&key, message, hint))?;
        let lot_ids: Vec<_> = lots.iter().map(|l| l.lot.id.clone()).collect();
        nodes::check(&s.nodes, &lot_ids).map_err(|(key, message, hint)| invalid(&key, message, &hint))?;
        s.broker.username.get_or_insert_with(|| s.server.node.to_string());
        Ok(s)
    }
}

#[cfg(test)]
mod tests;
