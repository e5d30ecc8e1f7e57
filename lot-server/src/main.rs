//! `lot-server`: the lot server binary. It parses the command line and
//! hands each subcommand to its module: `run` to [`lot_server::server`],
//! the others to [`lot_server::cli`] and [`lot_server::bench`].

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use lot_server::cli::{self, block_on, load};
use lot_server::settings::Settings;

#[derive(Parser, Debug)]
#[command(version, about = "Lot server: sessions, settlement, reports, dashboard")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    log: parking_runtime::logging::LogArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve: the HTTP API, ingestion of gate events from MQTT, the lists
    /// and tariff for the controllers (and the embedded broker, if set).
    Run {
        /// TOML files, later ones overriding earlier ones.
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Create or bring the database schema of every lot up to date, then exit.
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
    /// Copy a lot's database while the server runs, to a file `restore` brings back.
    Backup(cli::backup::BackupArgs),
    /// Put a backup in place of a lot's database (the server stopped).
    Restore(cli::backup::RestoreArgs),
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: cli::token::TokenCommand,
    },
    /// Manage the broker's users: one per controller, reader bridge, lane devices, viewer.
    Node {
        #[command(subcommand)]
        command: cli::node::NodeCommand,
    },
    /// Manage the accounts people sign in to the dashboard with.
    User {
        #[command(subcommand)]
        command: cli::user::UserCommand,
    },
    /// Make or check a VietQR payment payload.
    Vietqr {
        #[command(subcommand)]
        command: cli::vietqr::VietQrCommand,
    },
    /// The tamper-evident journal: verify it, seal a day, print the public key.
    Ledger {
        #[command(subcommand)]
        command: cli::ledger::LedgerCommand,
    },
    /// The revenue report of a period, with its reconciliation, as JSON,
    /// CSV or XLSX (to --out, or standard output).
    Report(cli::report::ReportArgs),
    /// Time the monthly revenue report over a generated month of stays;
    /// the last line is JSON with `report_ms`.
    BenchReport(lot_server::bench::report::ReportArgs),
    /// Measure a broker (the embedded one, or --broker HOST:PORT): QoS 1
    /// round trip and a connection storm; the last line is JSON.
    BenchBroker(lot_server::bench::broker::BrokerArgs),
    /// Measure sustained ingestion from MQTT through commit to acknowledgement.
    BenchIngest(lot_server::bench::ingest::IngestArgs),
    /// Verify a hash-chained journal of a million records and check that
    /// every kind of tampering is detected; the last line is JSON.
    BenchLedger(lot_server::bench::ledger::LedgerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = cli.log;
    let result = match cli.command {
        Command::CheckConfig { config } => cli::check::check(&config),
        Command::Migrate { config } => load(&config).and_then(|s| block_on(cli::check::migrate(s))),
        Command::Run { config } => load(&config).and_then(|s| {
            log.init("info");
            block_on(serve(s))
        }),
        Command::Backup(args) => block_on(cli::backup::backup(args)),
        Command::Restore(args) => block_on(cli::backup::restore(args)),
        Command::Token { command } => block_on(cli::token::run(command)),
        Command::User { command } => block_on(cli::user::run(command)),
        Command::Node { command } => block_on(cli::node::run(command)),
        Command::Vietqr { command } => cli::vietqr::run(command),
        Command::Ledger { command } => block_on(cli::ledger::run(command)),
        Command::Report(args) => block_on(cli::report::run(args)),
        Command::BenchBroker(args) => block_on(lot_server::bench::broker::run(args)),
        Command::BenchIngest(args) => block_on(lot_server::bench::ingest::run(args)),
        Command::BenchLedger(args) => lot_server::bench::ledger::run(args),
        Command::BenchReport(args) => block_on(lot_server::bench::report::run(args)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// `run`: serves until SIGINT or SIGTERM.
async fn serve(s: Settings) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(s.server.listen)
        .await
        .with_context(|| format!("cannot listen on {} (server.listen)", s.server.listen))?;
    lot_server::run(s, listener, parking_runtime::shutdown::on_signal()).await
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    /// Every subcommand's flags and the global `--log-format` fit together:
    /// clap checks ids, defaults and conflicts, which otherwise fail only
    /// when the clashing subcommand is run.
    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    /// `report --format` and the global `--log-format` are two flags.
    #[test]
    fn a_report_format_and_a_log_format_parse_together() {
        use clap::Parser;
        let cli = super::Cli::try_parse_from([
            "lot-server",
            "--log-format",
            "json",
            "report",
            "--config",
            "l.toml",
            "--from",
            "2026-12-01",
            "--to",
            "2026-12-07",
            "--format",
            "csv",
        ]);
        let cli = cli.expect("both flags parse");
        assert_eq!(cli.log.log_format, parking_runtime::logging::Format::Json);
    }
}
