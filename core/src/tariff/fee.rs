//! The fee for one stay: `fee(tariff, class, entered_at, exited_at)`.
//!
//! The stay is the half-open interval `[entered_at, exited_at)`, counted in
//! whole seconds. Windows are evaluated on the lot's local clock (UTC+7).
//! A *service day* runs from one `day_starts` to the next: its day window is
//! `[day_starts, night_starts)`, its night window `[night_starts, next
//! day_starts)`. Each charge is attributed to the 24-hour period after entry
//! in which it starts; the daily cap limits each such period.
//!
//! Guarantees (property-tested in `tests/`): the fee is never negative,
//! never falls when the driver leaves later, is at most the cap per 24
//! hours, is zero within the grace period, and depends only on its inputs.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::{ClassTariff, Pricing, Tariff, TariffVersion};
use crate::money::{MoneyError, Vnd};
use crate::timestamp::{LOCAL_OFFSET_SECS, Timestamp};
use crate::vehicle::VehicleClass;

const DAY: i64 = 86_400;
const HOUR: i64 = 3_600;

/// Why no fee could be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeeError {
    #[error("tariff {version} has no price for vehicle class {class}")]
    UnknownClass { version: TariffVersion, class: VehicleClass },
    #[error("exit {exited_at} is before entry {entered_at}")]
    ExitBeforeEntry { entered_at: Timestamp, exited_at: Timestamp },
    #[error(transparent)]
    Money(#[from] MoneyError),
}

/// What a line of the breakdown charges for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeItemKind {
    /// The stay ended within the free grace period.
    Grace,
    DayTurn,
    NightTurn,
    /// A stay parked through a whole night, counted as several turns.
    Overnight,
    FirstBlock,
    ExtraHoursDay,
    ExtraHoursNight,
    /// The reduction that brings a 24-hour period down to the daily cap.
    DailyCap,
}

/// One line of an itemised fee.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeeItem {
    pub kind: FeeItemKind,
    pub from: Timestamp,
    pub to: Timestamp,
    pub quantity: u32,
    pub unit_price: Vnd,
    /// `quantity × unit_price`, except for a cap, whose amount is negative.
    pub amount: Vnd,
}

/// A computed fee: the amount, its breakdown and the tariff version used.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fee {
    pub amount: Vnd,
    pub tariff_version: TariffVersion,
    pub class: VehicleClass,
    pub items: Vec<FeeItem>,
}

impl fmt::Display for FeeItem {
    /// One receipt line a driver can read, in local time.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            FeeItemKind::Grace => "Grace period, free",
            FeeItemKind::DayTurn => "Day turn",
            FeeItemKind::NightTurn => "Night turn",
            FeeItemKind::Overnight => "Overnight",
            FeeItemKind::FirstBlock => "First block",
            FeeItemKind::ExtraHoursDay => "Extra hours (day rate)",
            FeeItemKind::ExtraHoursNight => "Extra hours (night rate)",
            FeeItemKind::DailyCap => "Daily cap",
        };
        write!(f, "{what} {} to {}", self.from.local_short(), self.to.local_short())?;
        if self.kind != FeeItemKind::DailyCap && self.kind != FeeItemKind::Grace {
            write!(f, ": {} x {}", self.quantity, self.unit_price)?;
        }
        write!(f, " = {}", self.amount)
    }
}

impl fmt::Display for Fee {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for item in &self.items {
            writeln!(f, "  {item}")?;
        }
        write!(f, "  Total ({}, tariff {}): {}", self.class, self.tariff_version, self.amount)
    }
}

/// Computes the fee for a stay of `class` under `tariff`.
pub fn fee(
    tariff: &Tariff,
    class: &VehicleClass,
    entered_at: Timestamp,
    exited_at: Timestamp,
) -> Result<Fee, FeeError> {
    let ct = tariff
        .class(class)
        .ok_or_else(|| FeeError::UnknownClass { version: tariff.version().clone(), class: class.clone() })?;
    let (entry, exit) = (entered_at.unix_seconds(), exited_at.unix_seconds());
    if exit < entry {
        return Err(FeeError::ExitBeforeEntry { entered_at, exited_at });
    }
    let windows = Windows::of(tariff);
    let mut items = Vec::new();
    if exit - entry <= i64::from(ct.grace_minutes) * 60 {
        if exit > entry {
            items.push(item(FeeItemKind::Grace, entry, exit, 0, Vnd::ZERO)?);
        }
    } else {
        match ct.pricing {
            Pricing::PerTurn { day, night, overnight_turns } => {
                per_turn(&windows, entry, exit, day, night, overnight_turns, &mut items)?
            }
            Pricing::Block { first_minutes, first_price, per_hour_day, per_hour_night } => {
                let rates = BlockRates { first_minutes, first_price, per_hour_day, per_hour_night };
                block(&windows, entry, exit, &rates, &mut items)?
            }
        }
        apply_cap(ct, entry, &mut items)?;
    }
    let amount = Vnd::checked_sum(items.iter().map(|i| i.amount))?;
    Ok(Fee { amount, tariff_version: tariff.version().clone(), class: class.clone(), items })
}

/// The day/night split in seconds, relative to local midnight.
struct Windows {
    day_starts: i64,
    night_starts: i64,
}

impl Windows {
    fn of(t: &Tariff) -> Self {
        Windows { day_starts: t.day_starts().seconds(), night_starts: t.night_starts().seconds() }
    }

    /// UTC start of the service day containing the UTC instant `t`.
    fn service_day_start(&self, t: i64) -> i64 {
        let local = t + LOCAL_OFFSET_SECS - self.day_starts;
        local.div_euclid(DAY) * DAY + self.day_starts - LOCAL_OFFSET_SECS
    }

    fn is_night(&self, t: i64) -> bool {
        let tod = (t + LOCAL_OFFSET_SECS).rem_euclid(DAY);
        tod >= self.night_starts || tod < self.day_starts
    }
}

fn ts(secs: i64) -> Result<Timestamp, FeeError> {
    Timestamp::from_unix_seconds(secs).ok_or(FeeError::Money(MoneyError::Overflow))
}

fn item(kind: FeeItemKind, from: i64, to: i64, quantity: u32, unit_price: Vnd) -> Result<FeeItem, FeeError> {
    let amount = unit_price.checked_mul(i64::from(quantity))?;
    Ok(FeeItem { kind, from: ts(from)?, to: ts(to)?, quantity, unit_price, amount })
}

fn per_turn(
    w: &Windows,
    entry: i64,
    exit: i64,
    day: Vnd,
    night: Vnd,
    overnight_turns: u32,
    items: &mut Vec<FeeItem>,
) -> Result<(), FeeError> {
    let mut day_start = w.service_day_start(entry);
    loop {
        let night_start = day_start + (w.night_starts - w.day_starts);
        let day_end = day_start + DAY;
        let midnight = day_start - w.day_starts + DAY;
        let start = entry.max(day_start);
        if start >= exit {
            return Ok(());
        }
        // Candidates for this service day; the dearest one is charged, so a
        // longer stay can only move to a dearer candidate, never a cheaper.
        let mut best: Option<(FeeItemKind, u32, Vnd)> = None;
        let mut consider = |kind, qty: u32, unit: Vnd| -> Result<(), FeeError> {
            let amount = unit.checked_mul(i64::from(qty))?;
            let better = match best {
                Some((_, q, u)) => amount >= u.checked_mul(i64::from(q))?,
                None => true,
            };
            if better {
                best = Some((kind, qty, unit));
            }
            Ok(())
        };
        if start < night_start {
            consider(FeeItemKind::DayTurn, 1, day)?;
        }
        if exit > night_start {
            consider(FeeItemKind::NightTurn, 1, night)?;
        }
        if start < midnight && exit > day_end {
            consider(FeeItemKind::Overnight, overnight_turns, night)?;
        }
        if let Some((kind, qty, unit)) = best {
            items.push(item(kind, start, exit.min(day_end), qty, unit)?);
        }
        day_start = day_end;
    }
}

struct BlockRates {
    first_minutes: u32,
    first_price: Vnd,
    per_hour_day: Vnd,
    per_hour_night: Vnd,
}

fn block(w: &Windows, entry: i64, exit: i64, r: &BlockRates, items: &mut Vec<FeeItem>) -> Result<(), FeeError> {
    let first_end = entry + i64::from(r.first_minutes) * 60;
    items.push(item(FeeItemKind::FirstBlock, entry, exit.min(first_end), 1, r.first_price)?);
    let mut t = first_end;
    while t < exit {
        let (kind, rate) = if w.is_night(t) {
            (FeeItemKind::ExtraHoursNight, r.per_hour_night)
        } else {
            (FeeItemKind::ExtraHoursDay, r.per_hour_day)
        };
        let end = exit.min(t + HOUR);
        // Merge consecutive hours at one rate within one 24-hour period, so
        // the receipt has a line per rate and day rather than per hour.
        let same_period = |from: i64| (from - entry).div_euclid(DAY) == (t - entry).div_euclid(DAY);
        match items.last_mut() {
            Some(last) if last.kind == kind && same_period(last.from.unix_seconds()) => {
                last.quantity += 1;
                last.amount = last.amount.checked_add(rate)?;
                last.to = ts(end)?;
            }
            _ => items.push(item(kind, t, end, 1, rate)?),
        }
        t += HOUR;
    }
    Ok(())
}

/// Adds a negative line for every 24-hour period (from entry) whose charges
/// exceed the daily cap. Each charge belongs to the period it starts in.
fn apply_cap(ct: &ClassTariff, entry: i64, items: &mut Vec<FeeItem>) -> Result<(), FeeError> {
    let Some(cap) = ct.daily_cap else { return Ok(()) };
    let mut capped = Vec::with_capacity(items.len() + 1);
    let mut period_items: Vec<FeeItem> = Vec::new();
    let mut period = None;
    let flush = |period_items: &mut Vec<FeeItem>, capped: &mut Vec<FeeItem>, p: i64| -> Result<(), FeeError> {
        let sum = Vnd::checked_sum(period_items.iter().map(|i| i.amount))?;
        let (first, last) = match (period_items.first(), period_items.last()) {
            (Some(f), Some(l)) => (f.from, l.to),
            _ => return Ok(()),
        };
        capped.append(period_items);
        if sum > cap {
            let from = ts(entry + p * DAY)?.max(first);
            capped.push(FeeItem {
                kind: FeeItemKind::DailyCap,
                from,
                to: last,
                quantity: 1,
                unit_price: cap,
                amount: cap.checked_sub(sum)?,
            });
        }
        Ok(())
    };
    for it in items.drain(..) {
        let p = (it.from.unix_seconds() - entry).div_euclid(DAY);
        if let Some(prev) = period.filter(|prev| *prev != p) {
            flush(&mut period_items, &mut capped, prev)?;
        }
        period = Some(p);
        period_items.push(it);
    }
    if let Some(p) = period {
        flush(&mut period_items, &mut capped, p)?;
    }
    *items = capped;
    Ok(())
}
