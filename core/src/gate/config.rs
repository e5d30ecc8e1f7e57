//! How a lane behaves: its configuration, and the anti-passback policy.

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
}

/// Policy for a tag that is not inside and tries to leave (anti-passback).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitWithoutEntry {
    /// Open, raise an alarm, and let the server charge per its policy.
    OpenAndCharge,
    /// Keep the barrier down and raise an alarm.
    Refuse,
}
