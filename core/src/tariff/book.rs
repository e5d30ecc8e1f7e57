//! A book of dated tariffs: which one is in force for a zone at an instant.

use serde::{Deserialize, Serialize};

use super::{Tariff, TariffError};
use crate::timestamp::Timestamp;

/// Every tariff a lot knows, old and new. A new price list is added with a
/// later `effective_from`; the old one stays so past stays can be re-priced
/// and audited with the version they were charged under.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Tariff>", into = "Vec<Tariff>")]
pub struct TariffBook {
    /// Sorted by (zone, effective_from); at most one per zone and date.
    tariffs: Vec<Tariff>,
}

impl TryFrom<Vec<Tariff>> for TariffBook {
    type Error = TariffError;
    fn try_from(mut tariffs: Vec<Tariff>) -> Result<Self, TariffError> {
        tariffs.sort_by(|a, b| (a.zone(), a.effective_from()).cmp(&(b.zone(), b.effective_from())));
        for pair in tariffs.windows(2) {
            if pair[0].zone() == pair[1].zone() && pair[0].effective_from() == pair[1].effective_from() {
                return Err(TariffError::DuplicateDate {
                    zone: pair[0].zone().to_owned(),
                    date: pair[0].effective_from(),
                });
            }
        }
        let mut versions: Vec<&str> = tariffs.iter().map(|t| t.version().as_str()).collect();
        versions.sort_unstable();
        if let Some(dup) = versions.windows(2).find(|w| w[0] == w[1]) {
            return Err(TariffError::DuplicateVersion(dup[0].to_owned()));
        }
        Ok(TariffBook { tariffs })
    }
}

impl From<TariffBook> for Vec<Tariff> {
    fn from(b: TariffBook) -> Self {
        b.tariffs
    }
}

impl TariffBook {
    /// The tariff of `zone` in force at `at`: the latest whose
    /// effective-from date is on or before the local date of `at`.
    pub fn in_force(&self, zone: &str, at: Timestamp) -> Option<&Tariff> {
        let date = at.local_date();
        self.tariffs.iter().rev().find(|t| t.zone() == zone && t.effective_from() <= date)
    }

    /// The tariff with this version, to re-price or audit a past stay.
    pub fn by_version(&self, version: &str) -> Option<&Tariff> {
        self.tariffs.iter().find(|t| t.version().as_str() == version)
    }

    pub fn tariffs(&self) -> &[Tariff] {
        &self.tariffs
    }

    pub fn is_empty(&self) -> bool {
        self.tariffs.is_empty()
    }
}

/// Why a directory of tariff files could not be made into a book.
#[derive(Debug, thiserror::Error)]
pub enum BookError {
    #[error("{0}")]
    File(#[from] crate::config::ConfigError),
    #[error("tariffs: {0}")]
    Book(#[from] TariffError),
    #[error("no tariff for zone {zone} in {dir}")]
    NoTariffForZone { zone: String, dir: String },
}

impl TariffBook {
    /// Builds a book from `(origin, text)` pairs, one TOML tariff each; an
    /// error names the file. `zone`, when given, must have a tariff.
    pub fn from_files<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
        zone: Option<&str>,
        dir: &str,
    ) -> Result<Self, BookError> {
        let tariffs = files
            .into_iter()
            .map(|(origin, text)| crate::config::Loader::new().file(origin, text).load::<Tariff>())
            .collect::<Result<Vec<_>, _>>()?;
        let book = TariffBook::try_from(tariffs)?;
        if let Some(zone) = zone {
            if !book.tariffs.iter().any(|t| t.zone() == zone) {
                return Err(BookError::NoTariffForZone { zone: zone.to_owned(), dir: dir.to_owned() });
            }
        }
        Ok(book)
    }
}
