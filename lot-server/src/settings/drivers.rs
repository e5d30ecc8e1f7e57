//! `[drivers]`: how long a driver stays signed in, and when they are
//! given a notice.

use serde::Deserialize;

use crate::drivers::notices::Rules;
use crate::people::Policy;

#[derive(Clone, Debug, Deserialize)]
pub struct DriverSettings {
    /// A driver's sign-in lasts this many days at most.
    #[serde(default = "default_session_days")]
    pub session_days: u32,
    /// … and ends after this many days unused.
    #[serde(default = "default_idle_days")]
    pub idle_days: u32,
    /// A notice when an account's balance falls under this (đồng).
    #[serde(default = "default_low_balance")]
    pub low_balance_vnd: i64,
    /// A notice when a pass ends within this many days, none after it.
    #[serde(default = "default_pass_ending_days")]
    pub pass_ending_days: u32,
    /// A notice when a stay has lasted this many hours.
    #[serde(default = "default_long_stay_hours")]
    pub long_stay_hours: u32,
}

impl Default for DriverSettings {
    fn default() -> Self {
        DriverSettings {
            session_days: default_session_days(),
            idle_days: default_idle_days(),
            low_balance_vnd: default_low_balance(),
            pass_ending_days: default_pass_ending_days(),
            long_stay_hours: default_long_stay_hours(),
        }
    }
}

impl DriverSettings {
    /// Drivers' sessions (their cookie `Secure` behind TLS).
    pub fn sessions(&self, behind_tls: bool) -> Policy {
        let day = 86_400_000;
        Policy {
            idle_ms: i64::from(self.idle_days.max(1)) * day,
            absolute_ms: i64::from(self.session_days.max(1)) * day,
            secure_cookie: behind_tls,
        }
    }

    pub fn rules(&self) -> Rules {
        Rules {
            low_balance_vnd: self.low_balance_vnd,
            pass_ending_days: i64::from(self.pass_ending_days),
            long_stay_hours: i64::from(self.long_stay_hours.max(1)),
        }
    }
}

fn default_session_days() -> u32 {
    30
}

fn default_idle_days() -> u32 {
    7
}

fn default_low_balance() -> i64 {
    50_000
}

fn default_pass_ending_days() -> u32 {
    7
}

fn default_long_stay_hours() -> u32 {
    12
}
