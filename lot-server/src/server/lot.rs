//! One lot's part of the server: its database, its MQTT link
//! (acknowledgements, lists, tariff, status), ingestion, settlement, the
//! journal, invoices, reconciliation and the live board, each task handed
//! the server's clock.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parking_core::wire::{self, LotTopic, TariffMsg, Topics, V1};
use parking_runtime::mqtt::{self, OutMsg, PublisherStats};
use tokio_util::sync::CancellationToken;

use super::node_status;
use crate::mqtt::commands::AfterCommit;
use crate::mqtt::{ingest as mqtt_ingest, link, lists, live};
use crate::settings::{LotConfig, Settings};
use crate::{api, audit, db, metrics, registry, settlement, tax};

/// Spawns one of the lot's tasks in the lot's span (`lot = …`), which
/// [`super::run`] starts it in: its log lines name the lot.
fn spawn_in_lot<F>(task: F) -> tokio::task::JoinHandle<F::Output>
where
    F: std::future::Future + Send + 'static,
    F::Output: Send + 'static,
{
    tokio::spawn(tracing::Instrument::in_current_span(task))
}

/// One lot's part of the server: its API state and its running tasks.
pub(super) struct LotRuntime {
    pub(super) state: api::AppState,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    out: tokio::sync::mpsc::Sender<OutMsg>,
    offline: OutMsg,
    link_stop: CancellationToken,
    link: tokio::task::JoinHandle<()>,
}

impl LotRuntime {
    pub(super) async fn start(
        settings: &Settings,
        config: &LotConfig,
        limits: Arc<api::limits::RateLimits>,
        shutdown: CancellationToken,
    ) -> anyhow::Result<LotRuntime> {
        let lot = config.lot.id.clone();
        let node = &settings.server.node;
        let clock = settings.clock.clone();
        let db = db::Db::connect_in(config.database.url.expose(), config.database.schema.as_deref())
            .await
            .with_context(|| format!("cannot open the database ({})", config.database.describe()))?;
        db.migrate().await.context("cannot bring the database schema up to date")?;
        let book = parking_runtime::tariffs::load_dir(Path::new(&config.lot.tariff_dir), &config.lot.zone)?;
        let receipts = receipt_keys(&db, config).await?;
        let issuer = tax::invoicing::Issuer::from_settings(&config.invoice, receipts.clone())
            .map_err(|e| anyhow::anyhow!("[invoice] {e}"))?;
        let links = tax::receipts::ReceiptLinks::new(receipts, settings.server.public_url.as_deref(), lot.as_str());
        let policy = Arc::new(settlement::Policy {
            lot: lot.as_str().to_owned(),
            invoice_topups: config.invoice.topups,
            bank: config.settlement.bank_bin.clone().zip(config.settlement.bank_account.clone()),
            receipts: issuer.is_some().then(|| links.clone()),
            pay_link: config.settlement.pay_link.clone(),
            ..settlement::Policy::from_tax(&settings.tax).context("[tax] vat")?
        });
        policy.vat.rate_at(clock.now()).context("[tax] vat: no rate is in force today")?;
        audit::init(&db, lot.as_str()).await.context("cannot start the journal")?;
        audit::record_tariff(&db, &config.lot.zone, &book, clock.now_ms())
            .await
            .context("cannot journal the tariff")?;
        let codes = settlement::assign_topup_codes(&db).await?;
        if codes > 0 {
            tracing::info!(%lot, accounts = codes, "gave top-up codes to accounts that had none");
        }
        let metrics = metrics::ServerMetrics::new()?;
        tracing::info!(backend = ?db.backend, %lot, "lot starting");

        // One MQTT link out: acknowledgements, lists, tariff, our status.
        let stats = Arc::new(PublisherStats::default());
        let offline = node_status(&lot, node, false, clock.now());
        let client_id = format!("{node}-{lot}-out");
        let link_stop = CancellationToken::new();
        let (out, link) = link::spawn_link(
            mqtt::mqtt_options(&settings.broker, &client_id, Some(&offline))?,
            Some(node_status(&lot, node, true, clock.now())),
            Arc::clone(&stats),
            link_stop.clone(),
        );
        let topics = Topics::new(lot.clone());
        let tariffs = Arc::new(book.clone());
        let tariff = TariffMsg { v: V1, lot: lot.clone(), zone: config.lot.zone.clone(), issued_at: clock.now(), book };
        out.send(OutMsg { topic: topics.lot(LotTopic::Tariff), payload: wire::encode(&tariff), retain: true }).await?;

        let registry = registry::Registry::new(db.clone()).with_policy(Arc::clone(&policy));
        let after =
            AfterCommit { out: out.clone(), lists_changed: Arc::clone(&registry.lists_changed), clock: clock.clone() };
        let mut tasks = vec![
            spawn_in_lot(lists::run(
                db.clone(),
                lists::PublishConfig {
                    lot: lot.clone(),
                    snapshot_every: Duration::from_secs(settings.server.lists_snapshot_secs.max(1)),
                    poll_every: Duration::from_secs(5),
                    clock: clock.clone(),
                },
                Arc::clone(&registry.lists_changed),
                out.clone(),
                shutdown.clone(),
            )),
            spawn_in_lot(mqtt_ingest::run(
                db.clone(),
                lot.clone(),
                settings.broker.clone(),
                format!("{node}-{lot}-ingest"),
                settings.server.share_group.as_ref().map(|g| g.as_str().to_owned()),
                metrics.ingest.clone(),
                mqtt_ingest::SettleLink { policy: Arc::clone(&policy), after: after.clone() },
                shutdown.clone(),
            )),
        ];
        tasks.push(spawn_in_lot(crate::mqtt::availability::run(
            db.clone(),
            config.lot.clone(),
            clock.clone(),
            Duration::from_secs(2),
            out.clone(),
            shutdown.clone(),
        )));
        let (settler, settler_task) = settlement::settler::Settler::spawn(
            db.clone(),
            Arc::clone(&policy),
            after.clone(),
            metrics.settlement.clone(),
            shutdown.clone(),
        );
        tasks.push(settler_task);
        tasks.push(spawn_in_lot(audit::run(db.clone(), clock.clone(), shutdown.clone())));
        let photos = crate::photos::Photos::new(db.clone(), settings.photos.lot_dir(&lot));
        tasks.push(spawn_in_lot(crate::mqtt::photos::run(
            photos.clone(),
            lot.clone(),
            settings.broker.clone(),
            format!("{node}-{lot}-photos"),
            settings.server.share_group.as_ref().map(|g| g.as_str().to_owned()),
            metrics.photos.clone(),
            shutdown.clone(),
        )));
        tasks.push(spawn_in_lot(crate::retention::run(
            db.clone(),
            photos.clone(),
            settings.retention,
            clock.clone(),
            shutdown.clone(),
        )));
        tasks.push(spawn_in_lot(tax::invoicing::run(
            db.clone(),
            issuer,
            tax::invoice_api::Sink::from_settings(&config.invoice)?,
            clock.clone(),
            shutdown.clone(),
        )));
        match settings.tax.journal_key().context("tax.journal_key")? {
            Some(key) => tasks.push(spawn_in_lot(audit::seal_days(db.clone(), key, clock.clone(), shutdown.clone()))),
            None => tracing::warn!(%lot, "tax.journal_key is not set: the journal is kept but not sealed"),
        }
        if let Some(p) = config.settlement.sepay_poll.as_ref() {
            let client =
                parking_runtime::https::HttpsClient::new("settlement.sepay_poll.ca_file", p.ca_file.as_deref())?;
            let feed =
                settlement::reconcile::SepayFeed::new(&p.base_url, p.token.clone(), p.account_number.clone(), client);
            let every = Duration::from_secs(p.every_secs.max(1));
            tasks.push(spawn_in_lot(settlement::reconcile::run(
                db.clone(),
                feed,
                settler.clone(),
                every,
                clock.clone(),
                shutdown.clone(),
            )));
        }

        let mut keys = config.settlement.keys();
        // A signature's window is meant in real time.
        keys.window = clock.stretch(keys.window);
        let settlement = api::settlement::SettlementState { settler, policy, keys, after };
        let journal_key = settings.tax.journal_key()?.map(|k| k.verifying_key());
        let live = Arc::new(live::LiveBoard::default());
        tasks.push(spawn_in_lot(live::run(
            Arc::clone(&live),
            lot.clone(),
            settings.broker.clone(),
            format!("{node}-{lot}-live"),
            shutdown.clone(),
        )));
        let people = settings.server.sessions();
        tasks.push(spawn_in_lot(crate::drivers::notices::run(
            db.clone(),
            settings.drivers.rules(),
            crate::drivers::notices::LogOnly,
            clock.clone(),
            Duration::from_secs(300),
            shutdown.clone(),
        )));
        let app = api::App {
            db,
            registry,
            lot,
            metrics,
            broker: stats,
            settlement,
            journal_key,
            live,
            photos,
            limits,
            clock,
            people,
            tariffs,
            zone: config.lot.zone.clone(),
            site: config.lot.clone(),
            receipts: links,
            public_url: settings.server.public_url.clone(),
            drivers: settings.drivers.sessions(settings.server.behind_tls),
            driver_rules: settings.drivers.rules(),
        };
        Ok(LotRuntime { state: api::AppState(Arc::new(app)), tasks, out, offline, link_stop, link })
    }

    /// Waits for its tasks (already told to stop), says it is offline,
    /// closes its MQTT link, then its database (on SQLite, its log emptied
    /// first). Every sender of the link goes before (the API state's
    /// too), so the link sees its input end and stops as soon as its
    /// outbox is empty, instead of waiting out its whole drain time.
    pub(super) async fn stop(self) {
        let LotRuntime { state, tasks, out, offline, link_stop, link } = self;
        let db = state.0.db.clone();
        drop(state);
        for task in tasks {
            let _ = task.await;
        }
        let _ = out.send(offline).await;
        drop(out);
        link_stop.cancel();
        let _ = link.await;
        db.close().await;
    }
}

/// The lot's receipt keys: configured, or kept in its database; invoices
/// issued before receipts existed are keyed too.
async fn receipt_keys(db: &db::Db, config: &LotConfig) -> anyhow::Result<tax::receipts::ReceiptKeys> {
    let lot = &config.lot.id;
    let keys = tax::receipts::ReceiptKeys::load(db, config.invoice.receipt_secret.as_ref())
        .await
        .context("[invoice] receipt_secret")?;
    let keyed = tax::receipts::backfill(db, &keys).await.context("cannot key the receipts of earlier invoices")?;
    if keyed > 0 {
        tracing::info!(%lot, invoices = keyed, "gave earlier invoices their receipt links");
    }
    if config.invoice.receipt_secret.is_none() {
        tracing::info!(%lot, "receipt links keyed by a secret kept in the database ([invoice] receipt_secret unset)");
    }
    Ok(keys)
}
