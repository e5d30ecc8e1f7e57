//! `[[lots]]`: the further lots one server serves besides `[lot]`, each
//! resolved with what it takes from the top level into a [`LotConfig`];
//! lots that would share a database, an invoice series or a drop
//! directory are refused.

use std::path::PathBuf;

use parking_core::LotId;
use parking_core::secret::Secret;
use parking_core::settings::LotSettings;
use serde::Deserialize;

use super::{InvoiceSettings, Settings, SettlementSettings};

/// One `[[lots]]` entry: a further lot served by the same process. What it
/// does not say it takes from the top level (`[settlement]`, `[invoice]`),
/// except what must differ between lots: its database (derived from
/// `[database]` unless given) and its invoices' drop directory.
#[derive(Clone, Debug, Deserialize)]
pub struct LotEntry {
    pub id: LotId,
    pub name: String,
    pub zone: String,
    #[serde(default = "parking_core::settings::default_tariff_dir")]
    pub tariff_dir: String,
    /// As `[lot]`'s: for drivers.
    #[serde(default)]
    pub address: Option<String>,
    #[serde(default)]
    pub opening_hours: Option<String>,
    /// `[lots.capacity]`: spaces per vehicle class.
    #[serde(default)]
    pub capacity: std::collections::BTreeMap<parking_core::vehicle::VehicleClass, u32>,
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
            receipt_secret: base.receipt_secret.clone(),
            api: base.api.clone(),
        }
    }
}

impl Settings {
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
                    address: e.address.clone(),
                    opening_hours: e.opening_hours.clone(),
                    capacity: e.capacity.clone(),
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

    use parking_core::config::ConfigError;

    use super::*;

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
