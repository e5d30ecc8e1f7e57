//! VAT on parking fees. Tariff prices are what the driver pays, VAT
//! included; the books need the pre-tax amount and the tax apart. The rate
//! changes by date (Vietnam cut 10% to 8% for a period, and back), so it is
//! a dated schedule, never a constant.

use serde::{Deserialize, Serialize};
use time::Date;

use crate::money::Vnd;
use crate::timestamp::Timestamp;

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// A VAT rate in basis points: 800 is 8%.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct VatRate(u32);

impl VatRate {
    pub const fn from_basis_points(bp: u32) -> Self {
        VatRate(bp)
    }

    pub const fn basis_points(self) -> u32 {
        self.0
    }

    /// Splits a VAT-inclusive amount into (pre-tax, VAT), the pre-tax part
    /// rounded half up to the đồng and the VAT the exact remainder, so the
    /// two always add back to `gross`. Negative amounts split symmetrically.
    pub fn split(self, gross: Vnd) -> (Vnd, Vnd) {
        let g = i128::from(gross.get());
        let denom = 10_000 + i128::from(self.0);
        let scaled = g.abs() * 10_000;
        let net_abs = (2 * scaled + denom) / (2 * denom);
        let net = if g < 0 { -net_abs } else { net_abs };
        // |net| <= |gross|, so it fits in i64.
        let net = Vnd::new(i64::try_from(net).unwrap_or(gross.get()));
        (net, Vnd::new(gross.get() - net.get()))
    }
}

impl std::fmt::Display for VatRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0 % 100 == 0 {
            write!(f, "{}%", self.0 / 100)
        } else {
            write!(f, "{}.{:02}%", self.0 / 100, self.0 % 100)
        }
    }
}

/// One period of the schedule: the rate from `from` (a local date) on.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VatPeriod {
    #[serde(with = "iso_date")]
    pub from: Date,
    /// Basis points: 800 is 8%.
    pub rate_bp: u32,
}

/// Why a schedule is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VatError {
    #[error("the VAT schedule is empty")]
    Empty,
    #[error("VAT periods must be in date order with distinct dates ({0} is out of order)")]
    Unordered(Date),
    #[error("VAT rate {0} basis points is above 100%")]
    TooHigh(u32),
    #[error("no VAT rate is in force on {0} (the schedule starts later)")]
    NotInForce(Date),
}

/// Dated VAT rates, in date order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VatSchedule(Vec<VatPeriod>);

impl VatSchedule {
    pub fn new(periods: Vec<VatPeriod>) -> Result<Self, VatError> {
        if periods.is_empty() {
            return Err(VatError::Empty);
        }
        for pair in periods.windows(2) {
            if pair[1].from <= pair[0].from {
                return Err(VatError::Unordered(pair[1].from));
            }
        }
        if let Some(p) = periods.iter().find(|p| p.rate_bp > 10_000) {
            return Err(VatError::TooHigh(p.rate_bp));
        }
        Ok(VatSchedule(periods))
    }

    pub fn periods(&self) -> &[VatPeriod] {
        &self.0
    }

    /// The rate in force on the local date of `at`.
    pub fn rate_at(&self, at: Timestamp) -> Result<VatRate, VatError> {
        let day = at.local_date();
        self.0.iter().rev().find(|p| p.from <= day).map(|p| VatRate(p.rate_bp)).ok_or(VatError::NotInForce(day))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn splits_round_to_the_dong_and_add_back() {
        let eight = VatRate::from_basis_points(800);
        assert_eq!(eight.split(Vnd::new(30_000)), (Vnd::new(27_778), Vnd::new(2_222)));
        assert_eq!(eight.split(Vnd::new(108_000)), (Vnd::new(100_000), Vnd::new(8_000)));
        let ten = VatRate::from_basis_points(1_000);
        assert_eq!(ten.split(Vnd::new(5_000)), (Vnd::new(4_545), Vnd::new(455)));
        assert_eq!(ten.split(Vnd::new(-5_000)), (Vnd::new(-4_545), Vnd::new(-455)));
        assert_eq!(VatRate::from_basis_points(0).split(Vnd::new(7)), (Vnd::new(7), Vnd::ZERO));
        assert_eq!(eight.to_string(), "8%");
        assert_eq!(VatRate::from_basis_points(525).to_string(), "5.25%");
    }

    #[test]
    fn the_rate_follows_the_local_date() {
        let s = VatSchedule::new(vec![
            VatPeriod { from: date!(2024 - 01 - 01), rate_bp: 1_000 },
            VatPeriod { from: date!(2025 - 07 - 01), rate_bp: 800 },
        ])
        .unwrap();
        // 2025-06-30T17:00Z is already 1 July in Hanoi.
        let at = |s: &str| s.parse::<Timestamp>().unwrap();
        assert_eq!(s.rate_at(at("2025-06-30T16:59:59Z")).unwrap().basis_points(), 1_000);
        assert_eq!(s.rate_at(at("2025-06-30T17:00:00Z")).unwrap().basis_points(), 800);
        assert!(matches!(s.rate_at(at("2023-05-01T00:00:00Z")), Err(VatError::NotInForce(_))));
        assert!(VatSchedule::new(vec![]).is_err());
        let unordered = vec![
            VatPeriod { from: date!(2025 - 07 - 01), rate_bp: 800 },
            VatPeriod { from: date!(2024 - 01 - 01), rate_bp: 1_000 },
        ];
        assert!(matches!(VatSchedule::new(unordered), Err(VatError::Unordered(_))));
    }

    proptest! {
        #[test]
        fn net_plus_vat_is_gross(gross in -10_000_000_000i64..10_000_000_000, bp in 0u32..=10_000) {
            let (net, vat) = VatRate::from_basis_points(bp).split(Vnd::new(gross));
            prop_assert_eq!(net.get() + vat.get(), gross);
            // The VAT is the rate applied to the net, to within half a đồng
            // of rounding on the net.
            let exact = net.get() as f64 * f64::from(bp) / 10_000.0;
            prop_assert!((vat.get() as f64 - exact).abs() <= 0.5 + f64::from(bp) / 20_000.0 + 1e-6);
        }
    }
}
