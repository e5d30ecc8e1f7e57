//! The controller's Prometheus metrics, declared in one place, and the
//! lane health that `/health` and the retained lane status report.

use std::sync::Mutex;

use parking_core::Timestamp;
use parking_core::wire::BarrierState;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Every metric the controller exports.
#[derive(Debug, Clone)]
pub struct Metrics {
    pub registry: Registry,
    /// Input received → the engine decided to open, seconds.
    pub decision_seconds: Histogram,
    /// Input received → pulse handed to the barrier, after the decision's
    /// events were committed, seconds.
    pub open_seconds: Histogram,
    /// Decision → event committed to the journal, seconds: how long an
    /// event exists only in memory.
    pub journal_seconds: Histogram,
    pub events_journaled: IntCounter,
    pub events_acked: IntCounter,
    pub events_resent: IntCounter,
    pub backlog: IntGauge,
    /// Events decided while the journal failed, held in memory.
    pub events_held: IntGauge,
    /// 1 while the journal cannot be written.
    pub journal_failing: IntGauge,
    pub alarms: IntCounterVec,
    pub pulses: IntCounter,
    pub barrier_errors: IntCounter,
    /// Lane photos, by what became of them: `sent`, `failed` (no image
    /// from the camera), `dropped` (too many waiting for the broker).
    pub photos: IntCounterVec,
}

fn buckets(start: f64, factor: f64, n: usize) -> Vec<f64> {
    prometheus::exponential_buckets(start, factor, n).unwrap_or_default()
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("parking_controller".into()), None)?;
        // Prometheus' base unit, seconds; the buckets from 1 µs (decisions)
        // and 250 µs (journal commits), doubling.
        let decision_seconds = Histogram::with_opts(
            HistogramOpts::new("decision_latency_seconds", "Input received to the decision to open, seconds")
                .buckets(buckets(1e-6, 2.0, 20)),
        )?;
        let open_seconds = Histogram::with_opts(
            HistogramOpts::new(
                "open_latency_seconds",
                "Input received to the pulse handed to the barrier, its events committed first, seconds",
            )
            .buckets(buckets(1e-6, 2.0, 22)),
        )?;
        let journal_seconds = Histogram::with_opts(
            HistogramOpts::new("journal_latency_seconds", "Decision to event committed in the journal, seconds")
                .buckets(buckets(0.25e-3, 2.0, 16)),
        )?;
        let events_journaled = IntCounter::new("events_journaled_total", "Gate events committed to the journal")?;
        let events_acked = IntCounter::new("events_acked_total", "Gate events acknowledged by the lot server")?;
        let events_resent = IntCounter::new("events_resent_total", "Gate events sent again from the backlog")?;
        let backlog = IntGauge::new("events_backlog", "Gate events journaled and not yet acknowledged")?;
        let events_held = IntGauge::new("events_held", "Gate events decided while the journal failed, held in memory")?;
        let journal_failing = IntGauge::new("journal_failing", "1 while the journal cannot be written")?;
        let alarms = IntCounterVec::new(Opts::new("alarms_total", "Alarms raised, by kind"), &["kind"])?;
        let pulses = IntCounter::new("barrier_pulses_total", "OPEN pulses commanded")?;
        let barrier_errors = IntCounter::new("barrier_errors_total", "Pulses the barrier did not confirm")?;
        registry.register(Box::new(decision_seconds.clone()))?;
        registry.register(Box::new(open_seconds.clone()))?;
        registry.register(Box::new(events_held.clone()))?;
        registry.register(Box::new(journal_failing.clone()))?;
        registry.register(Box::new(journal_seconds.clone()))?;
        registry.register(Box::new(events_journaled.clone()))?;
        registry.register(Box::new(events_acked.clone()))?;
        registry.register(Box::new(events_resent.clone()))?;
        registry.register(Box::new(backlog.clone()))?;
        registry.register(Box::new(alarms.clone()))?;
        registry.register(Box::new(pulses.clone()))?;
        registry.register(Box::new(barrier_errors.clone()))?;
        let photos = IntCounterVec::new(Opts::new("photos_total", "Lane photos, by result"), &["result"])?;
        registry.register(Box::new(photos.clone()))?;
        Ok(Metrics {
            registry,
            decision_seconds,
            open_seconds,
            journal_seconds,
            events_journaled,
            events_acked,
            events_resent,
            backlog,
            events_held,
            journal_failing,
            alarms,
            pulses,
            barrier_errors,
            photos,
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        prometheus::TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }
}

/// What a lane's devices last said.
#[derive(Clone, Debug, serde::Serialize)]
pub struct LaneHealth {
    pub gate: String,
    pub reader_alive: bool,
    pub barrier: BarrierState,
    pub barrier_answered: bool,
    pub last_read_at: Option<Timestamp>,
}

/// Lane health, shared between the device tasks and the reporters. The
/// lock is never held across an await.
#[derive(Debug)]
pub struct Health(pub Mutex<Vec<LaneHealth>>);

impl Health {
    pub fn update(&self, lane: usize, f: impl FnOnce(&mut LaneHealth)) {
        let mut lanes = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(h) = lanes.get_mut(lane) {
            f(h);
        }
    }

    pub fn snapshot(&self) -> Vec<LaneHealth> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::Metrics;

    /// Durations in Prometheus' base unit: seconds, never µs or ms.
    #[test]
    fn durations_are_in_seconds() {
        let m = Metrics::new().unwrap();
        m.decision_seconds.observe(0.000_040);
        m.open_seconds.observe(0.001_2);
        m.journal_seconds.observe(0.000_9);
        let text = m.render();
        for name in ["decision_latency_seconds", "open_latency_seconds", "journal_latency_seconds"] {
            assert!(text.contains(&format!("parking_controller_{name}_bucket")), "{name}: {text}");
        }
        // 40 µs falls in the 64 µs bucket, not in the 32 µs one.
        assert!(text.contains("parking_controller_decision_latency_seconds_bucket{le=\"0.000064\"} 1"), "{text}");
        assert!(text.contains("parking_controller_decision_latency_seconds_bucket{le=\"0.000032\"} 0"), "{text}");
        let units: Vec<&str> =
            text.lines().filter(|l| !l.starts_with('#') && (l.contains("_us") || l.contains("_ms"))).collect();
        assert!(units.is_empty(), "{units:?}");
    }
}
