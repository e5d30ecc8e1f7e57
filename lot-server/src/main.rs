//! `lot-server`: the lot server binary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lot_server::settings::Settings;

#[derive(Parser, Debug)]
#[command(version, about = "Lot server: sessions, settlement, reports, dashboard")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Load and validate the configuration and the tariffs, then print what
    /// they say.
    CheckConfig {
        /// TOML files, later ones overriding earlier ones.
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => match check(&config) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::from(2)
            }
        },
    }
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
