//! Barrier safety at one lane: every open expects a vehicle to cross the
//! loop; the loop tells when one did.
//!
//! The controller never commands a close (the cabinet's own logic closes
//! the arm), so safety here is watching and raising alarms: an open whose
//! vehicle never crossed, a loop held occupied too long (arm held open),
//! and passages with no open to match (tailgating when it follows another
//! passage closely).

use std::collections::VecDeque;

use super::config::LaneConfig;
use super::{Action, alarm};
use crate::timestamp::Timestamp;
use crate::wire::AlarmKind;

/// `t + ms`.
pub(super) fn ms(t: Timestamp, ms: u32) -> Timestamp {
    t.checked_add(time::Duration::milliseconds(i64::from(ms))).unwrap_or(t)
}

/// What the loop has seen since the last opens.
#[derive(Debug, Default)]
pub(super) struct Safety {
    /// Deadlines of opens whose vehicle has not crossed the loop yet.
    opens: VecDeque<Timestamp>,
    /// Since when the loop is occupied, if it is.
    loop_since: Option<Timestamp>,
    arm_alarm_raised: bool,
    last_passage: Option<Timestamp>,
}

impl Safety {
    /// An open was commanded: returns the instant by which its vehicle
    /// must have crossed.
    pub(super) fn opened(&mut self, now: Timestamp, cfg: &LaneConfig) -> Timestamp {
        let deadline = ms(now, cfg.pass_timeout_ms);
        self.opens.push_back(deadline);
        deadline
    }

    /// How many opens still wait for their vehicle to cross.
    pub(super) fn pending(&self) -> usize {
        self.opens.len()
    }

    pub(super) fn on_loop(&mut self, occupied: bool, now: Timestamp, cfg: &LaneConfig) -> Vec<Action> {
        if occupied {
            self.loop_since = Some(now);
            self.arm_alarm_raised = false;
            return vec![Action::WakeAt(ms(now, cfg.arm_held_ms))];
        }
        if self.loop_since.take().is_none() {
            return Vec::new(); // a clear without an occupy: nothing crossed
        }
        let mut out = Vec::new();
        if self.opens.pop_front().is_none() {
            let recent = self
                .last_passage
                .is_some_and(|t| now.since(t).whole_milliseconds() <= i128::from(cfg.tailgate_window_ms));
            out.push(if recent {
                alarm(AlarmKind::Tailgating, "two loop passages for one open")
            } else {
                alarm(AlarmKind::PassageWithoutOpen, "a vehicle crossed the loop with no open")
            });
        }
        self.last_passage = Some(now);
        out
    }

    pub(super) fn on_tick(&mut self, now: Timestamp, cfg: &LaneConfig) -> Vec<Action> {
        let mut out = Vec::new();
        if let Some(since) = self.loop_since {
            if !self.arm_alarm_raised && now >= ms(since, cfg.arm_held_ms) {
                self.arm_alarm_raised = true;
                out.push(alarm(AlarmKind::ArmHeldOpen, "the loop has been occupied too long"));
            }
            return out; // a vehicle on the loop is passing: no open has expired
        }
        while self.opens.front().is_some_and(|d| now >= *d) {
            self.opens.pop_front();
            out.push(alarm(AlarmKind::VehicleNeverPassed, "the barrier opened but no vehicle crossed"));
        }
        out
    }
}
