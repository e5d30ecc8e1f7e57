//! `sim quote`: what a stay costs under the lot's tariff in force at exit,
//! with the itemised breakdown a driver would see.

use std::path::Path;

use anyhow::Context;
use parking_core::{Fee, Timestamp, VehicleClass, fee};

use crate::settings::Settings;

/// Prices one stay with the tariff of the lot's zone in force at `exit`.
pub fn quote(settings: &Settings, class: &VehicleClass, entry: Timestamp, exit: Timestamp) -> anyhow::Result<Fee> {
    let book = parking_runtime::tariffs::load_dir(Path::new(&settings.lot.tariff_dir), &settings.lot.zone)?;
    let tariff = book
        .in_force(&settings.lot.zone, exit)
        .with_context(|| format!("no tariff for zone {} is in force at {exit}", settings.lot.zone))?;
    Ok(fee(tariff, class, entry, exit)?)
}
