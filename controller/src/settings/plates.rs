//! `[plates]`: the lot's "xe ra đúng xe vào" policy, read into the pure
//! [`PlatePolicy`] every lane decides with.

use parking_core::gate::{ExitPlateCheck, OnOtherVehicle, PlatePolicy};
use serde::Deserialize;

/// `[plates]`, every key optional.
#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlateSettings {
    /// `off`, `match` (a mismatch holds the exit; the default) or
    /// `require` (a plate not read at entry or exit holds it too).
    #[serde(default = "default_check")]
    pub exit_check: ExitCheck,
    /// `hold` (the default) or `alarm`: a tag read on a vehicle that is
    /// not its registered one holds the lane, or only raises the alarm.
    #[serde(default = "default_other")]
    pub tag_on_other_vehicle: OtherVehicle,
    /// How long a decision that needs a plate waits for the camera
    /// (0, the default: never; set it where lanes have cameras).
    #[serde(default)]
    pub wait_ms: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExitCheck {
    Off,
    Match,
    Require,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OtherVehicle {
    Alarm,
    Hold,
}

fn default_check() -> ExitCheck {
    ExitCheck::Match
}

fn default_other() -> OtherVehicle {
    OtherVehicle::Hold
}

impl Default for PlateSettings {
    fn default() -> Self {
        PlateSettings { exit_check: default_check(), tag_on_other_vehicle: default_other(), wait_ms: 0 }
    }
}

impl PlateSettings {
    /// The policy the lanes decide with.
    pub fn policy(&self) -> PlatePolicy {
        PlatePolicy {
            exit_check: match self.exit_check {
                ExitCheck::Off => ExitPlateCheck::Off,
                ExitCheck::Match => ExitPlateCheck::Match,
                ExitCheck::Require => ExitPlateCheck::Require,
            },
            tag_on_other_vehicle: match self.tag_on_other_vehicle {
                OtherVehicle::Alarm => OnOtherVehicle::Alarm,
                OtherVehicle::Hold => OnOtherVehicle::Hold,
            },
            wait_ms: self.wait_ms,
        }
    }
}
