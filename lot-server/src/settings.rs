//! Typed settings of the lot server: `[lot]`, `[broker]`, `[server]`,
//! `[database]`, `[settlement]`, `[tax]`, `[invoice]`, and `[[lots]]`: the
//! further lots one server serves, each resolved into a [`LotConfig`].

use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;

use parking_core::config::{ConfigError, Loader};
use parking_core::secret::Secret;
use parking_core::settings::{BrokerSettings, LotSettings};
use parking_core::vat::{VatPeriod, VatSchedule};
use parking_core::{LotId, NodeId};
use serde::Deserialize;

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
}

/// One `[[lots]]` entry: a further lot served by the same process. What it
/// does not say it takes from the top level (`[settlement]`, `[invoice]`),
/// except what must differ between lots: its database (derived from
/// `[database]` unless given) and its invoices' drop directory.
#[derive(Clone, Debug, Deserialize)]
pub struct LotEntry {
    pub id: LotId,
    pub name: String,
    pub zone: String,
    #[serde(default = "default_tariff_dir")]
    pub tariff_dir: String,
    /// Its own database, instead of the derived one.
    #[serde(default)]
    pub database: Option<Secret>,
    /// `[lots.settlement]`: keys and reconciliation of this lot's bank
    /// account, over the top level's.
    #[serde(default)]
    pub settlement: Option<SettlementSettings>,
    /// `[lots.invoice]`: what differs in this lot's invoices, over the top
    /// level's (at least `register_code`, when a seller is set).
    #[serde(default)]
    pub invoice: Option<InvoiceOverride>,
}

fn default_tariff_dir() -> String {
    "config/tariffs".to_owned()
}

/// `[lots.invoice]`: each key set replaces the top level's.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct InvoiceOverride {
    #[serde(default)]
    pub seller_name: Option<String>,
    #[serde(default)]
    pub seller_address: Option<String>,
    #[serde(default)]
    pub seller_tax_code: Option<String>,
    #[serde(default)]
    pub series_letters: Option<String>,
    #[serde(default)]
    pub register_code: Option<String>,
    #[serde(default)]
    pub topups: Option<bool>,
    #[serde(default)]
    pub drop_dir: Option<PathBuf>,
}

/// Everything one lot runs on, resolved. Lots are kept apart by their id:
/// each has its own database (a SQLite file, or a PostgreSQL schema
/// `lot_{id}` of the same database), so its registry, tokens, sessions,
/// transfers, journal and lists are its own, and its MQTT topics are
/// `parking/{id}/…`.
#[derive(Clone, Debug)]
pub struct LotConfig {
    pub lot: LotSettings,
    pub database: DatabaseTarget,
    pub settlement: SettlementSettings,
    pub invoice: InvoiceSettings,
    /// `[lot]`: served at `/` as well as at `/lots/{id}/`.
    pub primary: bool,
}

/// Where a lot's tables are.
#[derive(Clone, Debug)]
pub struct DatabaseTarget {
    pub url: Secret,
    /// PostgreSQL: the schema holding the lot's tables (`None`: the URL's
    /// own search path, `public`).
    pub schema: Option<String>,
}

impl DatabaseTarget {
    /// A name for it that carries no password, for errors.
    pub fn describe(&self) -> String {
        let url = self.url.expose();
        let shown = match url.split_once("://") {
            Some((scheme, rest)) => {
                let host = rest.rsplit_once('@').map_or(rest, |(_, h)| h);
                format!("{scheme}://{}", host.split('?').next().unwrap_or(host))
            }
            None => url.split('?').next().unwrap_or(url).to_owned(),
        };
        match &self.schema {
            Some(s) => format!("{shown} schema {s}"),
            None => shown,
        }
    }
}

/// `[invoice]`: the seller every e-invoice names, its series, and where
/// issued invoices are delivered. Without a seller, sales wait for their
/// invoices (the reconciliation lists them) until one is configured.
#[derive(Clone, Debug, Deserialize)]
pub struct InvoiceSettings {
    #[serde(default)]
    pub seller_name: Option<String>,
    #[serde(default)]
    pub seller_address: Option<String>,
    /// Mã số thuế: 10 digits, or 10-3 for a branch.
    #[serde(default)]
    pub seller_tax_code: Option<String>,
    /// The series' last two letters, chosen by the seller: `PK` makes
    /// `C26MPK` in 2026 (C: with the tax authority's code, M: cash register).
    #[serde(default = "default_series_letters")]
    pub series_letters: String,
    /// The 5 characters the tax authority gave the cash register, in
    /// each invoice's lookup code `M1-26-XXXXX-00000000123`.
    #[serde(default = "default_register_code")]
    pub register_code: String,
    /// Whether account top-ups are invoiced when paid (then stays debited
    /// from an account are not: their VAT was invoiced with the top-up).
    #[serde(default)]
    pub topups: bool,
    /// The file-drop sink: each invoice's XML is written here, for the
    /// provider's agent to pick up.
    #[serde(default = "default_drop_dir")]
    pub drop_dir: PathBuf,
}

impl Default for InvoiceSettings {
    fn default() -> Self {
        InvoiceSettings {
            seller_name: None,
            seller_address: None,
            seller_tax_code: None,
            series_letters: default_series_letters(),
            register_code: default_register_code(),
            topups: false,
            drop_dir: default_drop_dir(),
        }
    }
}

fn default_series_letters() -> String {
    "PK".to_owned()
}

fn default_register_code() -> String {
    "00000".to_owned()
}

fn default_drop_dir() -> PathBuf {
    PathBuf::from("var/invoices")
}

/// `[settlement]`: how transfers reach the lot.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SettlementSettings {
    /// `Authorization: Apikey …` that SePay sends.
    #[serde(default)]
    pub sepay_api_key: Option<Secret>,
    /// HMAC-SHA256 key for `X-SePay-Signature`.
    #[serde(default)]
    pub sepay_hmac_secret: Option<Secret>,
    /// HMAC-SHA512 key of Casso webhook v2.
    #[serde(default)]
    pub casso_secret: Option<Secret>,
    /// How far a signature's timestamp may be from now (default 300 s).
    #[serde(default)]
    pub webhook_window_secs: Option<u64>,
    /// Reconciliation against SePay's transaction list.
    #[serde(default)]
    pub sepay_poll: Option<SepayPoll>,
}

/// `[settlement.sepay_poll]`.
#[derive(Clone, Debug, Deserialize)]
pub struct SepayPoll {
    /// The API's base, e.g. an egress proxy to `https://my.sepay.vn`.
    pub base_url: String,
    pub token: Secret,
    #[serde(default)]
    pub account_number: Option<String>,
    #[serde(default = "default_poll_secs")]
    pub every_secs: u64,
}

fn default_poll_secs() -> u64 {
    60
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

impl SettlementSettings {
    /// These settings, with what they leave unset taken from `base`.
    pub fn over(self, base: &SettlementSettings) -> SettlementSettings {
        SettlementSettings {
            sepay_api_key: self.sepay_api_key.or_else(|| base.sepay_api_key.clone()),
            sepay_hmac_secret: self.sepay_hmac_secret.or_else(|| base.sepay_hmac_secret.clone()),
            casso_secret: self.casso_secret.or_else(|| base.casso_secret.clone()),
            webhook_window_secs: self.webhook_window_secs.or(base.webhook_window_secs),
            sepay_poll: self.sepay_poll.or_else(|| base.sepay_poll.clone()),
        }
    }

    pub fn keys(&self) -> crate::settlement::webhook::WebhookKeys {
        crate::settlement::webhook::WebhookKeys {
            sepay_api_key: self.sepay_api_key.clone(),
            sepay_hmac_secret: self.sepay_hmac_secret.clone(),
            casso_secret: self.casso_secret.clone(),
            window: std::time::Duration::from_secs(self.webhook_window_secs.unwrap_or(300)),
        }
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
    /// Several lot-server instances on one PostgreSQL database share the
    /// lot's gate events when they name the same group: each event goes to
    /// one of them (an MQTT shared subscription, `$share/{group}/…`). Each
    /// instance needs its own `node`. Unset: this instance takes them all.
    #[serde(default)]
    pub share_group: Option<ShareGroup>,
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

impl InvoiceOverride {
    fn over(&self, base: &InvoiceSettings) -> InvoiceSettings {
        let or = |mine: &Option<String>, theirs: &Option<String>| mine.clone().or_else(|| theirs.clone());
        InvoiceSettings {
            seller_name: or(&self.seller_name, &base.seller_name),
            seller_address: or(&self.seller_address, &base.seller_address),
            seller_tax_code: or(&self.seller_tax_code, &base.seller_tax_code),
            series_letters: self.series_letters.clone().unwrap_or_else(|| base.series_letters.clone()),
            register_code: self.register_code.clone().unwrap_or_else(|| base.register_code.clone()),
            topups: self.topups.unwrap_or(base.topups),
            drop_dir: self.drop_dir.clone().unwrap_or_else(|| base.drop_dir.clone()),
        }
    }
}

impl Settings {
    /// Reads the files in order, then `PARKING__…` overrides, once.
    pub fn load(paths: &[PathBuf]) -> Result<Self, ConfigError> {
        let s: Settings = Loader::new().files(paths, std::fs::read_to_string)?.env(std::env::vars()).load()?;
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
        s.lot_configs().map_err(|(key, message, hint)| invalid(&key, message, hint))?;
        Ok(s)
    }

    /// Every lot this server serves, `[lot]` first, then `[[lots]]` in
    /// order; or the key at fault, what is wrong, and a hint.
    pub fn lot_configs(&self) -> Result<Vec<LotConfig>, (String, String, &'static str)> {
        let primary = LotConfig {
            lot: self.lot.clone(),
            database: DatabaseTarget { url: self.database.url.clone(), schema: None },
            settlement: self.settlement.clone(),
            invoice: self.invoice.clone(),
            primary: true,
        };
        let mut lots = vec![primary];
        for (i, e) in self.lots.iter().enumerate() {
            let key = format!("lots[{i}]");
            let database = match &e.database {
                Some(url) => DatabaseTarget { url: url.clone(), schema: None },
                None => derived_database(self.database.url.expose(), &e.id)
                    .map_err(|m| (format!("{key}.database"), m, " (give this lot its own `database`)"))?,
            };
            let mut invoice = e.invoice.clone().unwrap_or_default();
            // Each lot's invoices in their own directory, unless told.
            invoice.drop_dir = invoice.drop_dir.or_else(|| Some(self.invoice.drop_dir.join(e.id.as_str())));
            lots.push(LotConfig {
                lot: LotSettings {
                    id: e.id.clone(),
                    name: e.name.clone(),
                    zone: e.zone.clone(),
                    tariff_dir: e.tariff_dir.clone(),
                },
                database,
                settlement: e.settlement.clone().unwrap_or_default().over(&self.settlement),
                invoice: invoice.over(&self.invoice),
                primary: false,
            });
        }
        for (i, a) in lots.iter().enumerate() {
            for (j, b) in lots.iter().enumerate().skip(i + 1) {
                let key = format!("lots[{}]", j - 1);
                if a.lot.id == b.lot.id {
                    return Err((
                        format!("{key}.id"),
                        format!("lot {} is listed twice", b.lot.id),
                        " (each lot once: [lot] and every [[lots]] entry)",
                    ));
                }
                if a.database.url.expose() == b.database.url.expose() && a.database.schema == b.database.schema {
                    return Err((
                        format!("{key}.database"),
                        format!(
                            "lots {} and {} would share one database ({})",
                            a.lot.id,
                            b.lot.id,
                            b.database.describe()
                        ),
                        " (each lot needs its own database, file or schema)",
                    ));
                }
                let (x, y) = (&a.invoice, &b.invoice);
                if x.seller_tax_code.is_some()
                    && x.seller_tax_code == y.seller_tax_code
                    && x.series_letters == y.series_letters
                    && x.register_code == y.register_code
                {
                    return Err((
                        format!("{key}.invoice.register_code"),
                        format!(
                            "lots {} and {} would number invoices in one series ({} of register {}): their numbers would collide",
                            a.lot.id, b.lot.id, x.series_letters, x.register_code
                        ),
                        " (each lot is its own cash register: give it the register code the tax authority issued)",
                    ));
                }
                if x.drop_dir == y.drop_dir {
                    return Err((
                        format!("{key}.invoice.drop_dir"),
                        format!("lots {} and {} would drop invoices in one directory", a.lot.id, b.lot.id),
                        "",
                    ));
                }
            }
        }
        Ok(lots)
    }
}

/// A further lot's database next to `[database]`'s: on SQLite a file named
/// after the lot beside it (`var/lot-server.sqlite` → `var/lot-server.{lot}.sqlite`),
/// on PostgreSQL the schema `lot_{lot}` in the same database.
fn derived_database(url: &str, lot: &LotId) -> Result<DatabaseTarget, String> {
    if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        return Ok(DatabaseTarget { url: Secret::new(url), schema: Some(format!("lot_{lot}")) });
    }
    let Some(rest) = url.strip_prefix("sqlite://") else {
        return Err("a further lot's database can be derived only from a sqlite:// file or a postgres:// URL".into());
    };
    let (path, query) = rest.split_once('?').map_or((rest, None), |(p, q)| (p, Some(q)));
    if path.is_empty() || path.contains(":memory:") {
        return Err("an in-memory SQLite database has no file to put a further lot beside".into());
    }
    let file = std::path::Path::new(path);
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or("lot-server");
    let name = match file.extension().and_then(|e| e.to_str()) {
        Some(ext) => format!("{stem}.{lot}.{ext}"),
        None => format!("{stem}.{lot}"),
    };
    let derived = file.with_file_name(name);
    let query = query.map(|q| format!("?{q}")).unwrap_or_default();
    Ok(DatabaseTarget { url: Secret::new(format!("sqlite://{}{query}", derived.display())), schema: None })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_share_group_is_a_plain_name() {
        assert_eq!("lot-servers".parse::<ShareGroup>().unwrap().as_str(), "lot-servers");
        for bad in ["", "a/b", "lots+", "#", "a b", &"x".repeat(65)] {
            let e = bad.parse::<ShareGroup>().unwrap_err();
            assert!(e.contains("share_group"), "{e}");
        }
        assert_eq!(crate::mqtt_ingest::shared(Some("g"), "parking/l/gate/+/event"), "$share/g/parking/l/gate/+/event");
        assert_eq!(crate::mqtt_ingest::shared(None, "parking/l/gate/+/event"), "parking/l/gate/+/event");
    }

    const BASE: &str = "[lot]\nid = \"lot-a\"\nname = \"A\"\nzone = \"z1\"\n\
        [broker]\n[server]\nlisten = \"127.0.0.1:0\"\n";

    fn settings(extra: &str) -> Result<Settings, ConfigError> {
        let dir = std::env::temp_dir().join(format!("lot-settings-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("s.toml");
        std::fs::write(&path, format!("{BASE}{extra}")).unwrap();
        let s = Settings::load(&[path]);
        let _ = std::fs::remove_dir_all(dir);
        s
    }

    const SELLER: &str = "[invoice]\nseller_name = \"S\"\nseller_address = \"a\"\nseller_tax_code = \"0100000000\"\n";

    #[test]
    fn further_lots_get_their_own_database_and_invoice_directory() {
        let s = settings(
            "[database]\nurl = \"sqlite://var/ls.sqlite?mode=rwc\"\n\
             [settlement]\ncasso_secret = \"top\"\n\
             [[lots]]\nid = \"lot-b\"\nname = \"B\"\nzone = \"z2\"\n\
             [lots.settlement]\nsepay_api_key = \"b-key\"\n\
             [[lots]]\nid = \"lot-c\"\nname = \"C\"\nzone = \"z1\"\ndatabase = \"sqlite:///srv/c.sqlite\"\n",
        )
        .unwrap();
        let lots = s.lot_configs().unwrap();
        let ids: Vec<&str> = lots.iter().map(|l| l.lot.id.as_str()).collect();
        assert_eq!(ids, ["lot-a", "lot-b", "lot-c"]);
        assert!(lots[0].primary && !lots[1].primary);
        assert_eq!(lots[0].database.url.expose(), "sqlite://var/ls.sqlite?mode=rwc");
        assert_eq!(lots[1].database.url.expose(), "sqlite://var/ls.lot-b.sqlite?mode=rwc");
        assert_eq!(lots[2].database.url.expose(), "sqlite:///srv/c.sqlite");
        assert_eq!(lots[1].invoice.drop_dir, PathBuf::from("var/invoices/lot-b"));
        assert_eq!(lots[0].invoice.drop_dir, PathBuf::from("var/invoices"));
        // B's own key, and the top level's for what B leaves unset.
        assert_eq!(lots[1].settlement.sepay_api_key.as_ref().map(Secret::expose), Some("b-key"));
        assert_eq!(lots[1].settlement.casso_secret.as_ref().map(Secret::expose), Some("top"));
        assert!(lots[0].settlement.sepay_api_key.is_none());
    }

    #[test]
    fn on_postgres_a_further_lot_is_a_schema_of_the_same_database() {
        let s = settings(
            "[database]\nurl = \"postgres://parking:pw@db:5432/parking\"\n\
             [[lots]]\nid = \"lot-b\"\nname = \"B\"\nzone = \"z2\"\n",
        )
        .unwrap();
        let lots = s.lot_configs().unwrap();
        assert_eq!(lots[0].database.schema, None);
        assert_eq!(lots[1].database.schema.as_deref(), Some("lot_lot-b"));
        assert_eq!(lots[1].database.url.expose(), "postgres://parking:pw@db:5432/parking");
        let shown = lots[1].database.describe();
        assert_eq!(shown, "postgres://db:5432/parking schema lot_lot-b");
    }

    #[test]
    fn lots_that_would_collide_are_config_errors() {
        let db = "[database]\nurl = \"sqlite://var/ls.sqlite\"\n";
        let lot_b = "[[lots]]\nid = \"lot-b\"\nname = \"B\"\nzone = \"z\"\n";
        for (extra, key, says) in [
            (format!("{db}[[lots]]\nid = \"lot-a\"\nname = \"A2\"\nzone = \"z\"\n"), "lots[0].id", "listed twice"),
            (format!("{db}{lot_b}database = \"sqlite://var/ls.sqlite\"\n"), "lots[0].database", "share one database"),
            (format!("{db}{SELLER}{lot_b}"), "lots[0].invoice.register_code", "one series"),
            (
                format!("{db}{lot_b}[lots.invoice]\ndrop_dir = \"var/invoices\"\n"),
                "lots[0].invoice.drop_dir",
                "one directory",
            ),
            ("[database]\nurl = \"sqlite://:memory:\"\n".to_owned() + lot_b, "lots[0].database", "in-memory"),
            ("[database]\nurl = \"sqlite::memory:\"\n".to_owned() + lot_b, "lots[0].database", "derived only"),
            (format!("{db}{lot_b}zonee = \"typo\"\n"), "lots", "zonee"),
        ] {
            let e = settings(&extra).unwrap_err().to_string();
            assert!(e.contains(key) && e.contains(says), "{extra}: {e}");
        }
        // Its own register code makes it another cash register: fine.
        let ok = settings(&format!("{db}{SELLER}{lot_b}[lots.invoice]\nregister_code = \"K0002\"\n")).unwrap();
        assert_eq!(ok.lot_configs().unwrap()[1].invoice.register_code, "K0002");
        assert_eq!(ok.lot_configs().unwrap()[1].invoice.seller_tax_code.as_deref(), Some("0100000000"));
    }
}
