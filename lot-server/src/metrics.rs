//! Every Prometheus metric the lot server exports, in one place, under the
//! `parking_server_` prefix.

use prometheus::{Histogram, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};

use crate::mqtt::ingest::IngestMetrics;
use crate::mqtt::photos::PhotoMetrics;

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
    /// How long each took, seconds, by the same labels.
    pub http_seconds: HistogramVec,
    /// Requests refused over a rate limit, by limit (`login`, `webhooks`).
    pub rate_limited: IntCounterVec,
    /// Sign-ins refused, by reason (`wrong_password`, `locked_out`,
    /// `unknown_token`).
    pub login_refused: IntCounterVec,
    pub settlement: SettlementMetrics,
    /// Lane photos received, by result.
    pub photos: PhotoMetrics,
}

/// Transfers booked, and how long their commits take.
#[derive(Clone, Debug)]
pub struct SettlementMetrics {
    /// By provider and outcome (settled, partial, top_up, held, suspense,
    /// duplicate); webhooks refused are `webhook_rejected`.
    pub transfers: IntCounterVec,
    pub webhooks_rejected: IntCounterVec,
    pub commit_seconds: Histogram,
}

impl SettlementMetrics {
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let transfers = IntCounterVec::new(
            Opts::new("transfers_total", "Bank transfers booked, by provider and outcome"),
            &["provider", "outcome"],
        )?;
        let webhooks_rejected = IntCounterVec::new(
            Opts::new("webhooks_rejected_total", "Transfer notifications refused, by provider and reason"),
            &["provider", "reason"],
        )?;
        let commit_seconds = Histogram::with_opts(
            HistogramOpts::new("settlement_commit_seconds", "Time to commit one batch of transfers")
                .buckets(vec![0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 1.0]),
        )?;
        registry.register(Box::new(transfers.clone()))?;
        registry.register(Box::new(webhooks_rejected.clone()))?;
        registry.register(Box::new(commit_seconds.clone()))?;
        Ok(SettlementMetrics { transfers, webhooks_rejected, commit_seconds })
    }
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
        let rate_limited = IntCounterVec::new(
            Opts::new("rate_limited_total", "Requests refused over a rate limit, by limit"),
            &["limit"],
        )?;
        let http_seconds = HistogramVec::new(
            HistogramOpts::new("http_request_duration_seconds", "Time to answer an HTTP request, by route and status")
                .buckets(vec![0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0]),
            &["method", "route", "status"],
        )?;
        registry.register(Box::new(http_requests.clone()))?;
        registry.register(Box::new(http_seconds.clone()))?;
        registry.register(Box::new(rate_limited.clone()))?;
        let login_refused =
            IntCounterVec::new(Opts::new("login_refused_total", "Sign-ins refused, by reason"), &["reason"])?;
        registry.register(Box::new(login_refused.clone()))?;
        let settlement = SettlementMetrics::new(&registry)?;
        let photos = PhotoMetrics::new(&registry)?;
        Ok(ServerMetrics {
            registry,
            ingest,
            open_sessions,
            lists_version,
            http_requests,
            http_seconds,
            rate_limited,
            login_refused,
            settlement,
            photos,
        })
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        prometheus::TextEncoder::new().encode_to_string(&self.registry.gather()).unwrap_or_default()
    }
}
