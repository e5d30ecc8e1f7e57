//! Every Prometheus metric the lot server exports, in one place, under the
//! `parking_server_` prefix.

use prometheus::{IntCounterVec, IntGauge, Opts, Registry};

use crate::mqtt_ingest::IngestMetrics;

#[derive(Clone, Debug)]
pub struct ServerMetrics {
    pub registry: Registry,
    /// Ingest rate (`rate(…ingest_events_total)`), commit latency, backlog.
    pub ingest: IngestMetrics,
    /// Stays open now; read from the database at each scrape.
    pub open_sessions: IntGauge,
    /// The last lists version committed; read at each scrape.
    pub lists_version: IntGauge,
    /// HTTP requests by route template and status.
    pub http_requests: IntCounterVec,
}

impl ServerMetrics {
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new_custom(Some("parking_server".into()), None)?;
        let ingest = IngestMetrics::new(&registry)?;
        let open_sessions = IntGauge::new("open_sessions", "Parking sessions open now")?;
        let lists_version = IntGauge::new("lists_version", "Last lists version committed by the registry")?;
        let http_requests = IntCounterVec::new(
            Opts::new("http_requests_total", "HTTP requests by route and status"),
            &["method", "route", "status"],
        )?;
        registry.register(Box::new(open_sessions.clone()))?;
        registry.register(Box::new(lists_version.clone()))?;
        registry.register(Box::new(http_requests.clone()))?;
        Ok(ServerMetrics { registry, ingest, open_sessions, lists_version, http_requests })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        prometheus::TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }
}
