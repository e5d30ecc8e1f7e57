//! `lot-server`: the lot server binary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lot_server::settings::Settings;
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(version, about = "Lot server: sessions, settlement, reports, dashboard")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve: ingest gate events from MQTT into the database.
    Run {
        /// TOML files, later ones overriding earlier ones.
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Create or bring the database schema up to date, then exit.
    Migrate {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Load and validate the configuration and the tariffs, then print what
    /// they say.
    CheckConfig {
        /// TOML files, later ones overriding earlier ones.
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Measure sustained ingestion from MQTT through commit to acknowledgement.
    BenchIngest(lot_server::bench::IngestArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::CheckConfig { config } => check(&config),
        Command::Migrate { config } => load(&config).and_then(|s| block_on(migrate(s))),
        Command::Run { config } => load(&config).and_then(|s| {
            telemetry();
            block_on(serve(s))
        }),
        Command::BenchIngest(args) => block_on(lot_server::bench::run(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn load(config: &[PathBuf]) -> anyhow::Result<Settings> {
    Ok(Settings::load(config)?)
}

fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(f)
}

fn telemetry() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn migrate(s: Settings) -> anyhow::Result<()> {
    let db = lot_server::db::Db::connect(s.database.url.expose()).await?;
    db.migrate().await?;
    println!("database schema up to date ({:?})", db.backend);
    Ok(())
}

async fn serve(s: Settings) -> anyhow::Result<()> {
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    lot_server::run(s, shutdown).await
}

fn check(config: &[PathBuf]) -> anyhow::Result<()> {
    let s = Settings::load(config)?;
    let book = lot_server::tariffs::load_dir(Path::new(&s.lot.tariff_dir), &s.lot.zone)?;
    println!("config ok: lot {} ({}), zone {}, listening on {}", s.lot.id, s.lot.name, s.lot.zone, s.server.listen);
    for t in book.tariffs() {
        println!("  tariff {} for zone {} from {}", t.version(), t.zone(), t.effective_from());
    }
    Ok(())
}
