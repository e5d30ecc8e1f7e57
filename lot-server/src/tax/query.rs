//! What a report covers: the lot, the local days from and to, and
//! optionally one class or channel; parsed and checked once.

use parking_core::timestamp::Timestamp;
use time::Date;

use super::Channel;
use crate::db::ISO_DATE;

/// What to report on: local days `from` to `to`, both included.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportQuery {
    pub lot: String,
    pub from: Date,
    pub to: Date,
    pub class: Option<String>,
    pub channel: Option<Channel>,
}

/// Why a report cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl ReportQuery {
    /// Parses the dates (`YYYY-MM-DD`) and checks the period: `to` not
    /// before `from`, at most 366 days.
    pub fn new(
        lot: &str,
        from: &str,
        to: &str,
        class: Option<String>,
        channel: Option<&str>,
    ) -> Result<Self, ReportError> {
        let (from, to) = (local_date("from", from)?, local_date("to", to)?);
        if to < from {
            return Err(ReportError::Invalid(format!("to ({to}) is before from ({from})")));
        }
        if (to - from).whole_days() > 366 {
            return Err(ReportError::Invalid("a report covers at most 366 days".into()));
        }
        let channel = channel.map(str::parse).transpose().map_err(ReportError::Invalid)?;
        let class = class.filter(|c| !c.is_empty());
        if let Some(c) = &class {
            if c.len() > 40 || !c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_' || b == b'-') {
                return Err(ReportError::Invalid(format!("unknown vehicle class {c:?}")));
            }
        }
        Ok(ReportQuery { lot: lot.to_owned(), from, to, class, channel })
    }

    /// [start, end) of the period in Unix milliseconds (local midnights).
    pub fn range_ms(&self) -> (i64, i64) {
        (midnight_ms(self.from), midnight_ms(self.to.next_day().unwrap_or(self.to)))
    }
}

/// A local date given as `YYYY-MM-DD`; `name` says which in the error.
pub fn local_date(name: &str, text: &str) -> Result<Date, ReportError> {
    Date::parse(text, ISO_DATE)
        .map_err(|_| ReportError::Invalid(format!("{name} must be a date like 2026-11-01, not {text:?}")))
}

/// The local midnight that starts `day`, Unix milliseconds.
pub fn midnight_ms(day: Date) -> i64 {
    Timestamp::from_local(day.midnight()).unix_millis()
}
