//! `sim`: the simulator binary.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use parking_core::{Timestamp, VehicleClass};
use sim::settings::Settings;

#[derive(Parser, Debug)]
#[command(version, about = "Gate traffic simulator and demo")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Price a stay under the lot's tariff, itemised.
    Quote {
        /// TOML files, later ones overriding earlier ones.
        #[arg(long = "config", default_value = "config/lot.toml")]
        config: Vec<PathBuf>,
        /// bicycle, motorbike, car, bus_truck, or a configured class.
        #[arg(long)]
        class: VehicleClass,
        /// Entry time, RFC 3339 with an offset: 2026-11-22T08:00:00+07:00.
        #[arg(long)]
        entry: Timestamp,
        /// Exit time, RFC 3339 with an offset.
        #[arg(long)]
        exit: Timestamp,
        /// Print the fee as JSON instead of a receipt.
        #[arg(long)]
        json: bool,
    },
    /// Settlement through the real system: webhook-to-barrier latency and
    /// webhook throughput; the last line is JSON.
    BenchSettle(sim::bench_settle::BenchSettleArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::BenchSettle(args) => tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .map_err(anyhow::Error::from)
            .and_then(|rt| rt.block_on(sim::bench_settle::run(args))),
        Command::Quote { config, class, entry, exit, json } => Settings::load(&config)
            .map_err(anyhow::Error::from)
            .and_then(|s| sim::quote::quote(&s, &class, entry, exit))
            .map(|fee| {
                if json {
                    println!("{}", serde_json::to_string(&fee).unwrap_or_default());
                } else {
                    println!("Stay {} to {} (local time):", entry.local_short(), exit.local_short());
                    println!("{fee}");
                }
            }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
