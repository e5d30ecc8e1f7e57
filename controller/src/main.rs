//! `controller`: the edge controller binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use controller::settings::Settings;

#[derive(Parser, Debug)]
#[command(version, about = "Edge controller for a lot's lanes")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Load and validate the configuration, then print what it says.
    CheckConfig {
        /// TOML files, later ones overriding earlier ones.
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { config } => match Settings::load(&config) {
            Ok(s) => {
                let lanes: Vec<String> = s.lanes.iter().map(|l| format!("{} ({:?})", l.gate, l.direction)).collect();
                println!(
                    "config ok: lot {} controller {}, journal {}, lanes: {}",
                    s.lot.id,
                    s.controller.node,
                    s.controller.journal.display(),
                    lanes.join(", ")
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}
