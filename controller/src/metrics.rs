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
    /// Input received → the engine decided to open, µs.
    pub decision_us: Histogram,
    /// Input received → pulse handed to the barrier, after the decision's
    /// events were committed, µs.
    pub open_us: Histogram,
    /// Decision → event committed to the journal, ms: how long an event
    /// exists only in memory.
    pub journal_ms: Histogram,
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
}

fn buckets(start: f64, factor: f64, n: usize) -> Vec<f64> {
    prometheus::exponential_buckets(start, factor, n).unwrap_or_default()
}

impl Metrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("parking_controller".into()), None)?;
        let decision_us = Histogram::with_opts(
            HistogramOpts::new("decision_latency_us", "Input received to the decision to open, microseconds")
                .buckets(buckets(1.0, 2.0, 20)),
        )?;
        let open_us = Histogram::with_opts(
            HistogramOpts::new(
                "open_latency_us",
                "Input received to the pulse handed to the barrier, its events committed first, microseconds",
            )
            .buckets(buckets(1.0, 2.0, 22)),
        )?;
        let journal_ms = Histogram::with_opts(
            HistogramOpts::new("journal_latency_ms", "Decision to event committed in the journal, milliseconds")
                .buckets(buckets(0.25, 2.0, 16)),
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
        registry.register(Box::new(decision_us.clone()))?;
        registry.register(Box::new(open_us.clone()))?;
        registry.register(Box::new(events_held.clone()))?;
        registry.register(Box::new(journal_failing.clone()))?;
        registry.register(Box::new(journal_ms.clone()))?;
        registry.register(Box::new(events_journaled.clone()))?;
        registry.register(Box::new(events_acked.clone()))?;
        registry.register(Box::new(events_resent.clone()))?;
        registry.register(Box::new(backlog.clone()))?;
        registry.register(Box::new(alarms.clone()))?;
        registry.register(Box::new(pulses.clone()))?;
        registry.register(Box::new(barrier_errors.clone()))?;
        Ok(Metrics {
            registry,
            decision_us,
            open_us,
            journal_ms,
            events_journaled,
            events_acked,
            events_resent,
            backlog,
            events_held,
            journal_failing,
            alarms,
            pulses,
            barrier_errors,
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
