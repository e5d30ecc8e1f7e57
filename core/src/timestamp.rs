//! Instants and the lot's local time.
//!
//! Every instant is UTC and is handed in by the caller: nothing in this
//! crate reads the clock. Tariff windows are evaluated in the lot's local
//! time, Asia/Ho_Chi_Minh: UTC+7 all year, with no daylight saving, so a
//! fixed offset is exact.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::format_description::well_known::Rfc3339;
use time::{Date, OffsetDateTime, UtcOffset};

/// Asia/Ho_Chi_Minh: UTC+07:00, no daylight saving since 1975.
pub const LOCAL_OFFSET: UtcOffset = time::macros::offset!(+7);
/// Seconds the local clock is ahead of UTC.
pub const LOCAL_OFFSET_SECS: i64 = 7 * 3600;

/// An instant, stored in UTC. Sub-second precision is kept for ordering
/// and latency figures; fees count whole seconds.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(OffsetDateTime);

/// Why a timestamp could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an RFC 3339 timestamp with an offset (like 2026-11-22T08:30:00+07:00): {0:?}")]
pub struct TimestampError(String);

impl Timestamp {
    /// 1970-01-01T00:00:00Z.
    pub const UNIX_EPOCH: Timestamp = Timestamp(OffsetDateTime::UNIX_EPOCH);

    pub fn from_datetime(dt: OffsetDateTime) -> Self {
        Timestamp(dt.to_offset(UtcOffset::UTC))
    }

    /// From seconds since the Unix epoch; `None` outside time's range.
    pub fn from_unix_seconds(secs: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp(secs).ok().map(Timestamp)
    }

    /// From milliseconds since the Unix epoch; `None` outside time's range.
    pub fn from_unix_millis(ms: i64) -> Option<Self> {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok().map(Timestamp)
    }

    pub fn unix_seconds(self) -> i64 {
        self.0.unix_timestamp()
    }

    pub fn unix_millis(self) -> i64 {
        // An OffsetDateTime spans at most ±9999 years: that fits in i64 ms.
        i64::try_from(self.0.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
    }

    pub fn utc(self) -> OffsetDateTime {
        self.0
    }

    /// The same instant on the lot's local clock.
    pub fn local(self) -> OffsetDateTime {
        self.0.to_offset(LOCAL_OFFSET)
    }

    /// The instant a local date and time (UTC+7) names.
    pub fn from_local(local: time::PrimitiveDateTime) -> Self {
        Timestamp(local.assume_offset(LOCAL_OFFSET).to_offset(UtcOffset::UTC))
    }

    /// The local calendar date at this instant.
    pub fn local_date(self) -> Date {
        self.local().date()
    }

    pub fn checked_add(self, d: time::Duration) -> Option<Self> {
        self.0.checked_add(d).map(Timestamp)
    }

    /// `self - earlier`, which is negative if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> time::Duration {
        self.0 - earlier.0
    }

    /// Short local form for receipts and displays: `22/11 08:30`.
    pub fn local_short(self) -> String {
        let l = self.local();
        format!("{:02}/{:02} {:02}:{:02}", l.day(), u8::from(l.month()), l.hour(), l.minute())
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OffsetDateTime::parse(s.trim(), &Rfc3339)
            .map(Timestamp::from_datetime)
            .map_err(|_| TimestampError(s.chars().take(64).collect()))
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, e.g. `2026-11-22T01:30:00Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.format(&Rfc3339) {
            Ok(s) => f.write_str(&s),
            Err(_) => write!(f, "{}", self.0.unix_timestamp()),
        }
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Timestamp({self})")
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A time of day on the lot's local clock, `HH:MM` (minute precision).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    pub fn from_hm(hour: u8, minute: u8) -> Option<Self> {
        (hour < 24 && minute < 60).then(|| TimeOfDay(u16::from(hour) * 60 + u16::from(minute)))
    }

    /// Seconds after local midnight.
    pub fn seconds(self) -> i64 {
        i64::from(self.0) * 60
    }
}

impl FromStr for TimeOfDay {
    type Err = TimestampError;
    /// `06:00`, or `06:00:00` as TOML writes a bare local time.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || TimestampError(s.chars().take(16).collect());
        let s = s.strip_suffix(":00").filter(|r| r.len() == 5).unwrap_or(s);
        let (h, m) = s.split_once(':').ok_or_else(bad)?;
        if h.len() != 2 || m.len() != 2 {
            return Err(bad());
        }
        let h: u8 = h.parse().map_err(|_| bad())?;
        let m: u8 = m.parse().map_err(|_| bad())?;
        TimeOfDay::from_hm(h, m).ok_or_else(bad)
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl fmt::Debug for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TimeOfDay({self})")
    }
}
crate::ids::string_serde!(TimeOfDay);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_offsets_and_prints_utc() {
        let t: Timestamp = "2026-11-22T08:30:00+07:00".parse().unwrap();
        assert_eq!(t.to_string(), "2026-11-22T01:30:00Z");
        assert_eq!(t.local().hour(), 8);
        assert_eq!(t.local_short(), "22/11 08:30");
        assert!("2026-11-22 08:30".parse::<Timestamp>().is_err(), "no offset");
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), t);
    }

    #[test]
    fn local_date_rolls_at_local_midnight() {
        let before: Timestamp = "2026-11-22T16:59:59Z".parse().unwrap();
        let after: Timestamp = "2026-11-22T17:00:00Z".parse().unwrap();
        assert_eq!(before.local_date().day(), 22);
        assert_eq!(after.local_date().day(), 23);
    }

    #[test]
    fn millis_round_trip() {
        let t = Timestamp::from_unix_millis(1_763_800_000_123).unwrap();
        assert_eq!(t.unix_millis(), 1_763_800_000_123);
        assert_eq!(t.unix_seconds(), 1_763_800_000);
    }

    #[test]
    fn time_of_day_forms() {
        assert_eq!("06:00".parse::<TimeOfDay>().unwrap().seconds(), 6 * 3600);
        assert_eq!("18:00:00".parse::<TimeOfDay>().unwrap().to_string(), "18:00");
        for bad in ["6:00", "24:00", "12:60", "noon", "12:00:30"] {
            assert!(bad.parse::<TimeOfDay>().is_err(), "{bad}");
        }
    }
}
