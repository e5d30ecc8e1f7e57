//! Tariffs: dated, versioned price lists, and the fee they give for a stay.
//!
//! A tariff has a version, an effective-from date and a zone, a day/night
//! split of the local day, and per vehicle class: per-turn or block prices,
//! an overnight rule, a daily cap, a free grace period and a monthly-pass
//! price. See `config/tariffs/` for an annotated example.
//!
//! Layout:
//! - `mod.rs`: the tariff types and their validation;
//! - [`fee`]: `fee(tariff, class, entered_at, exited_at) -> Fee`;
//! - [`book`]: several dated tariffs, and which one is in force.

pub mod book;
pub mod fee;

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};
use time::Date;

use crate::money::Vnd;
use crate::timestamp::TimeOfDay;
use crate::vehicle::VehicleClass;

pub use book::{BookError, TariffBook};
pub use fee::{Fee, FeeError, FeeItem, FeeItemKind, fee};

/// Why a tariff was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TariffError {
    #[error("tariff version must be 1 to 64 printable ASCII characters, got {0:?}")]
    BadVersion(String),
    #[error("zone must be 1 to 32 characters of a-z, 0-9, '-', '_', got {0:?}")]
    BadZone(String),
    #[error("day_starts ({day}) must come before night_starts ({night}) on the same local day")]
    BadWindows { day: TimeOfDay, night: TimeOfDay },
    #[error("the tariff prices no vehicle class")]
    NoClasses,
    #[error("class {class}: {reason}")]
    BadClass { class: VehicleClass, reason: String },
    #[error("two tariffs for zone {zone} take effect on {date}")]
    DuplicateDate { zone: String, date: Date },
    #[error("tariff version {0} appears twice")]
    DuplicateVersion(String),
}

/// The version string of a tariff, recorded on every fee and gate event.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TariffVersion(Box<str>);

impl TariffVersion {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for TariffVersion {
    type Error = TariffError;
    fn try_from(s: String) -> Result<Self, TariffError> {
        let ok = (1..=64).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_graphic());
        if ok { Ok(TariffVersion(s.into())) } else { Err(TariffError::BadVersion(s)) }
    }
}

impl From<TariffVersion> for String {
    fn from(v: TariffVersion) -> String {
        v.0.into()
    }
}

impl fmt::Display for TariffVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for TariffVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TariffVersion({})", self.0)
    }
}

/// How a class is priced.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pricing {
    /// A price per turn. Each local service day the stay touches costs one
    /// turn, at the night price if the stay reaches the night window (the
    /// dearer of the two if it touches both). A stay parked through the night,
    /// from before midnight until after the night ends (the next
    /// `day_starts`), pays `overnight_turns` night turns for that night.
    PerTurn { day: Vnd, night: Vnd, overnight_turns: u32 },
    /// The first `first_minutes` at `first_price`, then each started hour
    /// at the rate of the window in which that hour starts.
    Block { first_minutes: u32, first_price: Vnd, per_hour_day: Vnd, per_hour_night: Vnd },
}

/// The prices of one vehicle class.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawClassTariff", into = "RawClassTariff")]
pub struct ClassTariff {
    /// A stay no longer than this is free (a driver who turns round).
    pub grace_minutes: u32,
    pub pricing: Pricing,
    /// The most one 24-hour period from entry can cost.
    pub daily_cap: Option<Vnd>,
    /// Price of a monthly pass, if the lot sells them for this class.
    pub monthly_pass: Option<Vnd>,
}

/// The shape written in TOML: exactly one of `per_turn` and `block`.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct RawClassTariff {
    #[serde(default)]
    grace_minutes: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    per_turn: Option<RawPerTurn>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    block: Option<RawBlock>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    daily_cap: Option<Vnd>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    monthly_pass: Option<Vnd>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RawPerTurn {
    day: Vnd,
    night: Vnd,
    #[serde(default = "one")]
    overnight_turns: u32,
}

fn one() -> u32 {
    1
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RawBlock {
    first_minutes: u32,
    first_price: Vnd,
    per_hour_day: Vnd,
    /// Defaults to the day rate.
    #[serde(default)]
    per_hour_night: Option<Vnd>,
}

impl TryFrom<RawClassTariff> for ClassTariff {
    type Error = String;
    fn try_from(raw: RawClassTariff) -> Result<Self, String> {
        let pricing = match (raw.per_turn, raw.block) {
            (Some(t), None) => {
                if t.overnight_turns == 0 {
                    return Err("per_turn.overnight_turns must be at least 1".into());
                }
                Pricing::PerTurn { day: t.day, night: t.night, overnight_turns: t.overnight_turns }
            }
            (None, Some(b)) => {
                if b.first_minutes == 0 {
                    return Err("block.first_minutes must be at least 1".into());
                }
                Pricing::Block {
                    first_minutes: b.first_minutes,
                    first_price: b.first_price,
                    per_hour_day: b.per_hour_day,
                    per_hour_night: b.per_hour_night.unwrap_or(b.per_hour_day),
                }
            }
            (Some(_), Some(_)) => return Err("give either per_turn or block, not both".into()),
            (None, None) => return Err("give its prices as per_turn = {…} or block = {…}".into()),
        };
        let class = ClassTariff {
            grace_minutes: raw.grace_minutes,
            pricing,
            daily_cap: raw.daily_cap,
            monthly_pass: raw.monthly_pass,
        };
        if class.prices().any(Vnd::is_negative) {
            return Err("prices must not be negative".into());
        }
        if raw.grace_minutes > 24 * 60 {
            return Err("grace_minutes must not exceed a day".into());
        }
        Ok(class)
    }
}

impl From<ClassTariff> for RawClassTariff {
    fn from(c: ClassTariff) -> Self {
        let (per_turn, block) = match c.pricing {
            Pricing::PerTurn { day, night, overnight_turns } => {
                (Some(RawPerTurn { day, night, overnight_turns }), None)
            }
            Pricing::Block { first_minutes, first_price, per_hour_day, per_hour_night } => (
                None,
                Some(RawBlock { first_minutes, first_price, per_hour_day, per_hour_night: Some(per_hour_night) }),
            ),
        };
        RawClassTariff {
            grace_minutes: c.grace_minutes,
            per_turn,
            block,
            daily_cap: c.daily_cap,
            monthly_pass: c.monthly_pass,
        }
    }
}

impl ClassTariff {
    fn prices(&self) -> impl Iterator<Item = Vnd> + '_ {
        let p: [Vnd; 4] = match self.pricing {
            Pricing::PerTurn { day, night, .. } => [day, night, Vnd::ZERO, Vnd::ZERO],
            Pricing::Block { first_price, per_hour_day, per_hour_night, .. } => {
                [first_price, per_hour_day, per_hour_night, Vnd::ZERO]
            }
        };
        p.into_iter().chain(self.daily_cap).chain(self.monthly_pass)
    }
}

/// One dated, versioned tariff for one zone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawTariff", into = "RawTariff")]
pub struct Tariff {
    version: TariffVersion,
    effective_from: Date,
    zone: String,
    description: String,
    day_starts: TimeOfDay,
    night_starts: TimeOfDay,
    classes: BTreeMap<VehicleClass, ClassTariff>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct RawTariff {
    version: TariffVersion,
    #[serde(with = "iso_date")]
    effective_from: Date,
    zone: String,
    #[serde(default)]
    description: String,
    day_starts: TimeOfDay,
    night_starts: TimeOfDay,
    classes: BTreeMap<VehicleClass, ClassTariff>,
}

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

impl TryFrom<RawTariff> for Tariff {
    type Error = TariffError;
    fn try_from(r: RawTariff) -> Result<Self, TariffError> {
        let zone_ok = (1..=32).contains(&r.zone.len())
            && r.zone.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if !zone_ok {
            return Err(TariffError::BadZone(r.zone));
        }
        if r.day_starts >= r.night_starts {
            return Err(TariffError::BadWindows { day: r.day_starts, night: r.night_starts });
        }
        if r.classes.is_empty() {
            return Err(TariffError::NoClasses);
        }
        Ok(Tariff {
            version: r.version,
            effective_from: r.effective_from,
            zone: r.zone,
            description: r.description,
            day_starts: r.day_starts,
            night_starts: r.night_starts,
            classes: r.classes,
        })
    }
}

impl From<Tariff> for RawTariff {
    fn from(t: Tariff) -> Self {
        RawTariff {
            version: t.version,
            effective_from: t.effective_from,
            zone: t.zone,
            description: t.description,
            day_starts: t.day_starts,
            night_starts: t.night_starts,
            classes: t.classes,
        }
    }
}

impl Tariff {
    /// Parses and validates a tariff from TOML text (one file of
    /// `config/tariffs/`). Unknown keys are refused, so a typo in a price
    /// list cannot pass unnoticed.
    pub fn from_toml(text: &str) -> Result<Self, crate::config::ConfigError> {
        crate::config::Loader::new().file("<tariff>", text).load()
    }

    pub fn version(&self) -> &TariffVersion {
        &self.version
    }

    pub fn effective_from(&self) -> Date {
        self.effective_from
    }

    pub fn zone(&self) -> &str {
        &self.zone
    }

    pub fn description(&self) -> &str {
        &self.description
    }

    /// Start of the day window (end of the night window), local time.
    pub fn day_starts(&self) -> TimeOfDay {
        self.day_starts
    }

    /// Start of the night window, local time.
    pub fn night_starts(&self) -> TimeOfDay {
        self.night_starts
    }

    pub fn class(&self, class: &VehicleClass) -> Option<&ClassTariff> {
        self.classes.get(class)
    }

    pub fn classes(&self) -> impl Iterator<Item = (&VehicleClass, &ClassTariff)> {
        self.classes.iter()
    }

    /// Price of a pass for `months` months, if the class has one.
    pub fn pass_price(&self, class: &VehicleClass, months: u32) -> Option<Vnd> {
        self.class(class)?.monthly_pass?.checked_mul(i64::from(months)).ok()
    }
}

#[cfg(test)]
mod tests;
