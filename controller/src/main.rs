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
    #[command(flatten)]
    log: parking_runtime::logging::LogArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the lanes: decide, pulse the barriers, journal every event.
    Run {
        /// TOML files, later ones overriding earlier ones.
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Load and validate the configuration, then print what it says.
    CheckConfig {
        /// TOML files, later ones overriding earlier ones.
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Print this controller's block of a Mosquitto ACL file: exactly its
    /// lanes' topics, so that it cannot pose as another controller's gates.
    MosquittoAcl {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Measure decision latency in-process, or through a broker.
    Bench(controller::bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = cli.log;
    match cli.command {
        Command::MosquittoAcl { config } => match Settings::load(&config) {
            Ok(s) => {
                print!("{}", controller::acl::mosquitto_acl(&s));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
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
                ExitCode::FAILURE
            }
        },
        Command::Run { config } => {
            let settings = match Settings::load(&config) {
                Ok(s) => s,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            log.init("info");
            match runtime().and_then(|rt| rt.block_on(serve(settings))) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("error: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Bench(args) => match runtime().and_then(|rt| rt.block_on(controller::bench::run(args))) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Runs until SIGINT or SIGTERM, then flushes the journal.
async fn serve(settings: Settings) -> anyhow::Result<()> {
    controller::runtime::run(settings, parking_runtime::shutdown::on_signal()).await
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
}
