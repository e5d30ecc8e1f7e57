//! Money: whole Vietnamese đồng in an `i64`, with checked arithmetic.
//!
//! The đồng has no minor unit in circulation, so every amount is an integer
//! and no float ever touches money. Overflow is an error, never a wrap.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// An amount of Vietnamese đồng. Negative amounts exist (ledger postings,
/// refunds); prices are checked to be non-negative where they are parsed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Vnd(i64);

/// Why an amount could not be parsed or computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("amount overflowed the range of i64 đồng")]
    Overflow,
    #[error("not an amount of đồng: {0:?} (whole đồng, digits with optional 3-digit grouping)")]
    Invalid(String),
}

impl Vnd {
    pub const ZERO: Vnd = Vnd(0);

    pub const fn new(dong: i64) -> Self {
        Vnd(dong)
    }

    pub const fn get(self) -> i64 {
        self.0
    }

    pub const fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn checked_add(self, other: Vnd) -> Result<Vnd, MoneyError> {
        self.0.checked_add(other.0).map(Vnd).ok_or(MoneyError::Overflow)
    }

    pub fn checked_sub(self, other: Vnd) -> Result<Vnd, MoneyError> {
        self.0.checked_sub(other.0).map(Vnd).ok_or(MoneyError::Overflow)
    }

    pub fn checked_mul(self, factor: i64) -> Result<Vnd, MoneyError> {
        self.0.checked_mul(factor).map(Vnd).ok_or(MoneyError::Overflow)
    }

    /// Sums amounts, failing on overflow instead of wrapping.
    pub fn checked_sum<I: IntoIterator<Item = Vnd>>(iter: I) -> Result<Vnd, MoneyError> {
        iter.into_iter().try_fold(Vnd::ZERO, Vnd::checked_add)
    }
}

impl fmt::Display for Vnd {
    /// `1234567` prints as `1,234,567 VND`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let digits = self.0.unsigned_abs().to_string();
        let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
        for (i, ch) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(f, "{sign}{grouped} VND")
    }
}

impl FromStr for Vnd {
    type Err = MoneyError;

    /// Accepts `50000`, `50,000`, `50.000`, `50_000` and `-5000`; a grouping
    /// separator must split the digits into groups of exactly three, so
    /// `50.5` is refused rather than read as a fraction.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let invalid = || MoneyError::Invalid(s.to_owned());
        let t = s.trim();
        let t = t.strip_suffix("VND").or_else(|| t.strip_suffix('đ')).unwrap_or(t).trim_end();
        let (negative, body) = match t.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let groups: Vec<&str> = body.split([',', '.', '_']).collect();
        let well_grouped = groups.iter().enumerate().all(|(i, g)| {
            let len_ok = if i == 0 { (1..=3).contains(&g.len()) || groups.len() == 1 } else { g.len() == 3 };
            len_ok && !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit())
        });
        if !well_grouped {
            return Err(invalid());
        }
        let digits: String = groups.concat();
        let value: i64 = digits.parse().map_err(|_| MoneyError::Overflow)?;
        Ok(Vnd(if negative { -value } else { value }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_with_grouping() {
        assert_eq!(Vnd::new(0).to_string(), "0 VND");
        assert_eq!(Vnd::new(999).to_string(), "999 VND");
        assert_eq!(Vnd::new(50_000).to_string(), "50,000 VND");
        assert_eq!(Vnd::new(-1_234_567).to_string(), "-1,234,567 VND");
    }

    #[test]
    fn parses_grouped_and_plain() {
        assert_eq!("50000".parse::<Vnd>(), Ok(Vnd::new(50_000)));
        assert_eq!("50.000".parse::<Vnd>(), Ok(Vnd::new(50_000)));
        assert_eq!("1,234,567 VND".parse::<Vnd>(), Ok(Vnd::new(1_234_567)));
        assert_eq!("-5_000".parse::<Vnd>(), Ok(Vnd::new(-5_000)));
        assert!(matches!("50.5".parse::<Vnd>(), Err(MoneyError::Invalid(_))));
        assert!(matches!("".parse::<Vnd>(), Err(MoneyError::Invalid(_))));
        assert!(matches!("12a".parse::<Vnd>(), Err(MoneyError::Invalid(_))));
        assert_eq!("99999999999999999999".parse::<Vnd>(), Err(MoneyError::Overflow));
    }

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(Vnd::new(i64::MAX).checked_add(Vnd::new(1)), Err(MoneyError::Overflow));
        assert_eq!(Vnd::new(i64::MIN).checked_sub(Vnd::new(1)), Err(MoneyError::Overflow));
        assert_eq!(Vnd::new(i64::MAX / 2 + 1).checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(Vnd::new(8_000).checked_mul(3), Ok(Vnd::new(24_000)));
        assert_eq!(Vnd::checked_sum([Vnd::new(1), Vnd::new(2)]), Ok(Vnd::new(3)));
    }
}
