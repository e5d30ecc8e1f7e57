//! How a lane behaves: its configuration, the anti-passback policy, and
//! the plate policy ("xe ra đúng xe vào").

use crate::ids::{GateId, LotId};
use crate::vehicle::VehicleClass;
use crate::wire::Direction;

/// How a lane behaves.
#[derive(Clone, Debug)]
pub struct LaneConfig {
    pub lot: LotId,
    pub gate: GateId,
    pub direction: Direction,
    /// Length of the OPEN contact pulse (300 to 500 ms: docs/devices.md).
    pub pulse_ms: u16,
    /// After an open, the vehicle must cross the loop within this.
    pub pass_timeout_ms: u32,
    /// The loop occupied longer than this: the arm is held open.
    pub arm_held_ms: u32,
    /// A passage this soon after the last, with no open for it, is a tailgater.
    pub tailgate_window_ms: u32,
    /// The class a ticket is issued for when nothing identifies the vehicle.
    pub ticket_class: VehicleClass,
    /// Plate reads below this confidence are not used.
    pub min_plate_confidence: f32,
    /// How long a plate read counts for the tag decision that follows it.
    pub plate_valid_ms: u32,
    /// The credential of the lane's last open, read again at the lane
    /// before its vehicle crossed the loop and within this, opens again
    /// (the first open may never have reached the barrier).
    pub reopen_within_ms: u32,
    /// A tag that is not inside tries to leave.
    pub exit_without_entry: ExitWithoutEntry,
    /// Plates matched at entry and exit.
    pub plates: PlatePolicy,
}

/// The lot's plate policy: the vehicle leaving must be the one that
/// entered on that ticket or tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PlatePolicy {
    pub exit_check: ExitPlateCheck,
    /// A tag read on a vehicle whose plate is not the tag's registered one.
    pub tag_on_other_vehicle: OnOtherVehicle,
    /// A decision that needs a plate and has none waits this long for the
    /// camera (0: never waits). Bounds what a slow camera can add.
    pub wait_ms: u32,
}

/// Comparing the exit plate with the plate the stay entered with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitPlateCheck {
    /// Not compared.
    Off,
    /// Compared when both are known; a mismatch holds the barrier.
    Match,
    /// As `Match`, and a plate not read at either end holds it too.
    Require,
}

/// What a tag on another vehicle does besides raising its alarm.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnOtherVehicle {
    /// The lane goes on; the alarm is for staff to follow up.
    Alarm,
    /// The lane holds the barrier until staff release or refuse.
    Hold,
}

impl Default for PlatePolicy {
    fn default() -> Self {
        PlatePolicy { exit_check: ExitPlateCheck::Match, tag_on_other_vehicle: OnOtherVehicle::Hold, wait_ms: 0 }
    }
}

/// Policy for a tag that is not inside and tries to leave (anti-passback).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitWithoutEntry {
    /// Open, raise an alarm, and let the server charge per its policy.
    OpenAndCharge,
    /// Keep the barrier down and raise an alarm.
    Refuse,
}
