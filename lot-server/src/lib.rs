//! `lot-server`: sessions, vehicles and accounts, settlement by VietQR bank
//! transfer, invoices and revenue reports for tax, the operator dashboard
//! and Prometheus metrics, over SQLite or PostgreSQL.
//!
//! Modules:
//! - [`bench`]: `lot-server bench-ingest`;
//! - [`db`]: SQLite or PostgreSQL through sqlx `Any`, and the migrations;
//! - [`ingest`]: exactly-once ingestion of gate events into sessions and exceptions;
//! - [`mqtt_ingest`]: gate events from MQTT, committed in batches, acknowledged after commit;
//! - [`settings`]: the typed `[server]` and `[database]` configuration;
//! - `testing`: a fresh database per test, on either backend;
//! - [`tariffs`]: the lot's tariff book, read from `lot.tariff_dir`.

#![forbid(unsafe_code)]

pub mod bench;
pub mod db;
pub mod ingest;
pub mod mqtt_ingest;
pub mod settings;
pub mod tariffs;
#[doc(hidden)]
pub mod testing;

/// Runs the lot server until `shutdown`: the database, then ingestion of
/// gate events from the broker.
pub async fn run(settings: settings::Settings, shutdown: tokio_util::sync::CancellationToken) -> anyhow::Result<()> {
    let db = db::Db::connect(settings.database.url.expose()).await?;
    db.migrate().await?;
    let registry = prometheus::Registry::new_custom(Some("parking_server".into()), None)?;
    let metrics = mqtt_ingest::IngestMetrics::new(&registry)?;
    tracing::info!(backend = ?db.backend, lot = %settings.lot.id, "lot server starting");
    if settings.broker.embedded {
        tracing::warn!(
            host = %settings.broker.host,
            port = settings.broker.port,
            "broker.embedded is set, but the embedded broker is not built yet: connecting to the broker at host:port"
        );
    }
    mqtt_ingest::run(
        db,
        settings.lot.id.clone(),
        settings.broker.clone(),
        format!("lot-server-{}", settings.lot.id),
        metrics,
        shutdown,
    )
    .await;
    Ok(())
}
