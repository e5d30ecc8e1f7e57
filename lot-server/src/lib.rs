//! `lot-server`: sessions, vehicles and accounts, settlement by VietQR bank
//! transfer, invoices and revenue reports for tax, the operator dashboard
//! and Prometheus metrics, over SQLite or PostgreSQL.
//!
//! Modules:
//! - [`api`]: the HTTP API (axum), its roles, its OpenAPI document, and the operator's dashboard page;
//! - [`audit`]: the stored tamper-evident journal: its outbox and chaining, daily seals, verification, export;
//! - [`bench`]: `lot-server bench-ingest`;
//! - [`bench_ledger`]: `lot-server bench-ledger`: the tamper-evident journal's verification speed and tamper detection;
//! - [`bench_report`]: `lot-server bench-report`: the monthly revenue report over a generated month;
//! - [`broker`]: the embedded MQTT broker (rumqttd);
//! - [`db`]: SQLite or PostgreSQL through sqlx `Any`, the migrations, and the locks instances sharing a database take;
//! - [`ingest`]: exactly-once ingestion of gate events into sessions and exceptions;
//! - [`journal`]: reading sessions, events and exceptions; acknowledging and resolving exceptions;
//! - [`lists`]: the versioned lists derived from the registry, and their publisher;
//! - [`live`]: the dashboard's live gate board, from the lot's MQTT topics;
//! - [`metrics`]: every Prometheus metric of the server;
//! - [`mqtt_ingest`]: gate events from MQTT, committed in batches, acknowledged after commit;
//! - [`registry`]: owners, accounts, vehicles, tags, passes;
//! - [`settings`]: the typed `[server]`, `[database]`, `[settlement]`, `[tax]` and `[invoice]` configuration;
//! - [`settlement`]: transfers matched to stays and accounts, webhooks, reconciliation, the ledger;
//! - [`tariffs`]: the lot's tariff book, read from `lot.tariff_dir`;
//! - [`tax`]: sales, e-invoices and their sink, revenue reports and exports;
//! - [`tokens`]: API tokens and roles;
//! - [`vietqr_cli`]: `lot-server vietqr encode|decode`, and QR images (PNG, SVG);
//! - `testing`: a fresh database per test, on either backend.

#![forbid(unsafe_code)]

pub mod api;
pub mod audit;
pub mod bench;
pub mod bench_ledger;
pub mod bench_report;
pub mod broker;
pub mod db;
pub mod ingest;
pub mod journal;
pub mod lists;
pub mod live;
pub mod metrics;
pub mod mqtt_ingest;
pub mod registry;
pub mod settings;
pub mod settlement;
pub mod tariffs;
pub mod tax;
#[doc(hidden)]
pub mod testing;
pub mod tokens;
pub mod vietqr_cli;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parking_core::wire::{self, LotTopic, NodeRole, NodeStatus, TariffMsg, Topics, V1};
use tag_reader::publisher::{self, OutMsg, PublisherStats};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

fn node_status(lot: &parking_core::LotId, node: &parking_core::NodeId, online: bool) -> OutMsg {
    let topics = Topics::new(lot.clone());
    let msg =
        NodeStatus { v: V1, node: node.clone(), role: NodeRole::LotServer, online, at: tag_reader::reader::now() };
    OutMsg { topic: topics.node_status(node), payload: wire::encode(&msg), retain: true }
}

/// Runs the lot server until `shutdown`: the embedded broker if
/// configured, then for each lot it serves (`[lot]`, then `[[lots]]`) its
/// database, its MQTT link (acknowledgements, lists, tariff), ingestion
/// and background tasks; and the HTTP API of every lot on `listener`.
pub async fn run(
    settings: settings::Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    tag_reader::clock::check_env().map_err(anyhow::Error::msg)?;
    if tag_reader::clock::speed() > 1.0 {
        tracing::warn!(now = %tag_reader::reader::now(), speed = tag_reader::clock::speed(), "simulated clock (PARKING_CLOCK)");
    }
    let lots = settings.lot_configs().map_err(|(key, message, _)| anyhow::anyhow!("{key}: {message}"))?;
    if settings.broker.embedded {
        let broker = settings.broker.clone();
        tokio::task::spawn_blocking(move || broker::start(&broker)).await??;
    }
    // One budget per client address across every lot: a guesser gains
    // nothing by spreading sign-ins over the lots.
    let limits =
        Arc::new(api::limits::RateLimits::new(settings.server.login_per_minute, settings.server.webhooks_per_second));
    let mut served = Vec::with_capacity(lots.len());
    for lot in &lots {
        let started = LotRuntime::start(&settings, lot, Arc::clone(&limits), shutdown.clone())
            .await
            .with_context(|| format!("lot {}", lot.lot.id))?;
        served.push(started);
    }
    let router = api::serve(served.iter().map(|l| l.state.clone()).collect());
    tracing::info!(listen = %listener.local_addr()?, lots = served.len(), "HTTP API listening");
    let stop = shutdown.clone();
    // The peer's address, for the rate limits.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, service).with_graceful_shutdown(async move { stop.cancelled().await }).await;
    shutdown.cancel();
    for lot in served {
        lot.stop().await;
    }
    result.context("HTTP server")?;
    Ok(())
}

/// One lot's part of the server: its API state and its running tasks.
struct LotRuntime {
    state: api::AppState,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    out: tokio::sync::mpsc::Sender<OutMsg>,
    offline: OutMsg,
    link_stop: CancellationToken,
    link: tokio::task::JoinHandle<()>,
}

impl LotRuntime {
    async fn start(
        settings: &settings::Settings,
        config: &settings::LotConfig,
        limits: Arc<api::limits::RateLimits>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<LotRuntime> {
        let lot = config.lot.id.clone();
        let node = &settings.server.node;
        let db = db::Db::connect_in(config.database.url.expose(), config.database.schema.as_deref())
            .await
            .with_context(|| format!("cannot open the database ({})", config.database.describe()))?;
        db.migrate().await.context("cannot bring the database schema up to date")?;
        let book = tariffs::load_dir(Path::new(&config.lot.tariff_dir), &config.lot.zone)?;
        let policy = Arc::new(settlement::Policy {
            lot: lot.as_str().to_owned(),
            invoice_topups: config.invoice.topups,
            ..settlement::Policy::from_tax(&settings.tax).context("[tax] vat")?
        });
        policy.vat.rate_at(tag_reader::reader::now()).context("[tax] vat: no rate is in force today")?;
        audit::init(&db, lot.as_str()).await.context("cannot start the journal")?;
        audit::record_tariff(&db, &config.lot.zone, &book, db::now_ms()).await.context("cannot journal the tariff")?;
        let codes = settlement::assign_topup_codes(&db).await?;
        if codes > 0 {
            tracing::info!(%lot, accounts = codes, "gave top-up codes to accounts that had none");
        }
        let metrics = metrics::ServerMetrics::new()?;
        tracing::info!(backend = ?db.backend, %lot, "lot starting");

        // One MQTT link out: acknowledgements, lists, tariff, our status.
        let stats = Arc::new(PublisherStats::default());
        let offline = node_status(&lot, node, false);
        let client_id = format!("{node}-{lot}-out");
        let link_stop = CancellationToken::new();
        let (out, link) = mqtt_ingest::spawn_link(
            publisher::mqtt_options(&settings.broker, &client_id, Some(&offline))?,
            Some(node_status(&lot, node, true)),
            Arc::clone(&stats),
            link_stop.clone(),
        );
        let topics = Topics::new(lot.clone());
        let tariff = TariffMsg {
            v: V1,
            lot: lot.clone(),
            zone: config.lot.zone.clone(),
            issued_at: tag_reader::reader::now(),
            book,
        };
        out.send(OutMsg { topic: topics.lot(LotTopic::Tariff), payload: wire::encode(&tariff), retain: true }).await?;

        let registry = registry::Registry::new(db.clone()).with_policy(Arc::clone(&policy));
        let mut tasks = vec![
            tokio::spawn(lists::publish::run(
                db.clone(),
                lists::publish::PublishConfig {
                    lot: lot.clone(),
                    snapshot_every: Duration::from_secs(settings.server.lists_snapshot_secs.max(1)),
                    poll_every: Duration::from_secs(5),
                },
                Arc::clone(&registry.lists_changed),
                out.clone(),
                shutdown.clone(),
            )),
            tokio::spawn(mqtt_ingest::run(
                db.clone(),
                lot.clone(),
                settings.broker.clone(),
                format!("{node}-{lot}-ingest"),
                settings.server.share_group.as_ref().map(|g| g.as_str().to_owned()),
                metrics.ingest.clone(),
                mqtt_ingest::SettleLink {
                    policy: Arc::clone(&policy),
                    lists_changed: Arc::clone(&registry.lists_changed),
                },
                out.clone(),
                shutdown.clone(),
            )),
        ];
        let (settler, settler_task) = settlement::settler::Settler::spawn(
            db.clone(),
            Arc::clone(&policy),
            out.clone(),
            Arc::clone(&registry.lists_changed),
            metrics.settlement.clone(),
            shutdown.clone(),
        );
        tasks.push(settler_task);
        tasks.push(tokio::spawn(audit::run(db.clone(), shutdown.clone())));
        let issuer =
            tax::invoicing::Issuer::from_settings(&config.invoice).map_err(|e| anyhow::anyhow!("[invoice] {e}"))?;
        tasks.push(tokio::spawn(tax::invoicing::run(
            db.clone(),
            issuer,
            tax::invoicing::FileDrop { dir: config.invoice.drop_dir.clone() },
            shutdown.clone(),
        )));
        match settings.tax.journal_key().context("tax.journal_key")? {
            Some(key) => tasks.push(tokio::spawn(audit::seal_days(db.clone(), key, shutdown.clone()))),
            None => tracing::warn!(%lot, "tax.journal_key is not set: the journal is kept but not sealed"),
        }
        if let Some(p) = config.settlement.sepay_poll.as_ref() {
            let feed = settlement::reconcile::SepayFeed::new(&p.base_url, p.token.clone(), p.account_number.clone());
            let every = Duration::from_secs(p.every_secs.max(1));
            tasks.push(tokio::spawn(settlement::reconcile::run(
                db.clone(),
                feed,
                settler.clone(),
                every,
                shutdown.clone(),
            )));
        }

        let settlement =
            api::settlement::SettlementState { settler, policy, keys: config.settlement.keys(), out: out.clone() };
        let journal_key = settings.tax.journal_key()?.map(|k| k.verifying_key());
        let live = Arc::new(live::LiveBoard::default());
        tasks.push(tokio::spawn(live::run(
            Arc::clone(&live),
            lot.clone(),
            settings.broker.clone(),
            format!("{node}-{lot}-live"),
            shutdown.clone(),
        )));
        let app = api::App { db, registry, lot, metrics, broker: stats, settlement, journal_key, live, limits };
        Ok(LotRuntime { state: api::AppState(Arc::new(app)), tasks, out, offline, link_stop, link })
    }

    /// Waits for its tasks (already told to stop), says it is offline, and
    /// closes its MQTT link.
    async fn stop(self) {
        for task in self.tasks {
            let _ = task.await;
        }
        let _ = self.out.send(self.offline).await;
        drop(self.out);
        self.link_stop.cancel();
        let _ = self.link.await;
    }
}

/// The timer of a background task: a tick every `period` (a late tick is
/// not made up for), until `shutdown`.
#[derive(Debug)]
pub(crate) struct Every {
    tick: tokio::time::Interval,
    shutdown: CancellationToken,
}

impl Every {
    pub(crate) fn new(period: Duration, shutdown: &CancellationToken) -> Self {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        Every { tick, shutdown: shutdown.clone() }
    }

    /// Waits for the next tick: true, or false once shut down.
    pub(crate) async fn tick(&mut self) -> bool {
        tokio::select! {
            _ = self.tick.tick() => true,
            () = self.shutdown.cancelled() => false,
        }
    }
}
