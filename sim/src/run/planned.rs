//! The day the trace planned, beside the day the lot recorded: an
//! independent check that the lanes kept up.
//!
//! - Planned revenue: the tariff on each planned stay (the trace's entry
//!   and exit times), for the drivers who pay (on an account or by
//!   transfer; passes are free). A lot whose lanes queue books more than
//!   this, because queued stays grow.
//! - Lane delay: for every vehicle, at entry and at exit, the simulated
//!   seconds it passed later than planned (at a paying exit, its planned
//!   time plus its own delay to pay); the p99 over all of them.
//! - The last exit's time.

// Figures of a run: small, non-negative numbers.
#![allow(clippy::cast_precision_loss)]

use parking_core::Timestamp;
use parking_core::tariff::TariffBook;
use serde_json::Value;

use crate::traffic::{CredentialKind, Visit};

/// What the planned day adds up to, against the recorded one.
#[derive(Clone, Debug, Default)]
pub struct Planned {
    pub revenue_vnd: i64,
    /// Simulated seconds late, one per passage (entry, exit).
    pub delays_s: Vec<f64>,
    pub last_exit_ms: Option<i64>,
}

impl Planned {
    /// Adds visit `v` and its recorded session `s` (`exited`: the run saw
    /// it leave).
    pub fn add(&mut self, v: &Visit, s: &Value, exited: bool, book: &TariffBook, zone: &str) {
        let late = |recorded: Option<i64>, planned: Timestamp| {
            recorded.map(|ms| ((ms - planned.unix_millis()) as f64 / 1000.0).max(0.0))
        };
        self.delays_s.extend(late(s["entered_ms"].as_i64(), v.entry_at));
        if !exited {
            return;
        }
        let settlement = s["settlement"].as_str().unwrap_or("");
        let pays_at_exit = settlement == "transfer";
        let exit_planned = if pays_at_exit {
            Timestamp::from_unix_millis(v.exit_at.unix_millis() + i64::from(v.pay_delay_s) * 1000).unwrap_or(v.exit_at)
        } else {
            v.exit_at
        };
        let exited_ms = s["exited_ms"].as_i64();
        self.delays_s.extend(late(exited_ms, exit_planned));
        if let Some(ms) = exited_ms {
            self.last_exit_ms = Some(self.last_exit_ms.map_or(ms, |m| m.max(ms)));
        }
        if v.credential != CredentialKind::Pass && matches!(settlement, "account" | "transfer") {
            self.revenue_vnd += book
                .in_force(zone, v.exit_at)
                .and_then(|t| parking_core::fee(t, &v.class, v.entry_at, v.exit_at).ok())
                .map_or(0, |f| f.amount.get());
        }
    }

    /// The p99 of the delays, seconds, to 0.1.
    pub fn delay_p99_s(&self) -> f64 {
        let mut d = self.delays_s.clone();
        d.sort_by(f64::total_cmp);
        (parking_runtime::histogram::percentile(&d, 0.99) * 10.0).round() / 10.0
    }

    /// The last exit in local time (`dd/mm HH:MM`), if any.
    pub fn last_exit(&self) -> Option<String> {
        Some(Timestamp::from_unix_millis(self.last_exit_ms?)?.local_short())
    }
}
