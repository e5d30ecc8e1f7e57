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
    #[command(flatten)]
    log: parking_runtime::logging::LogArgs,
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
    /// Replay a trace (or generated traffic) through a running lot with
    /// virtual devices and drivers; the summary's last line is JSON.
    Run(sim::run::RunArgs),
    /// The whole system in one process on a simulated clock: a busy day
    /// in under a minute, its summary and revenue report, then it serves
    /// until Ctrl-C.
    Demo(sim::demo::DemoArgs),
    /// Busy days on the simulated clock against the lot server and the
    /// controller as their own processes: memory, database and log sizes,
    /// and read-to-open p99 each day; fails on growth or drift. The last
    /// line is JSON.
    Soak(sim::soak::SoakArgs),
    /// Settlement through the real system: webhook-to-barrier latency and
    /// webhook throughput; the last line is JSON.
    BenchSettle(sim::bench_settle::BenchSettleArgs),
    /// Generate a seeded day of visits (`[traffic]` in the config files,
    /// else the defaults) and write it as a trace CSV.
    Generate {
        /// TOML files with a `[traffic]` section (optional).
        #[arg(long = "config")]
        config: Vec<PathBuf>,
        #[arg(long)]
        seed: Option<u64>,
        #[arg(long)]
        visits: Option<usize>,
        #[arg(long)]
        out: PathBuf,
    },
    /// Derive a day of visits from an occupancy series
    /// (`lot,capacity,occupancy,timestamp` rows) and write it as a trace.
    FromOccupancy {
        /// The series, e.g. ../shared/corpus/occupancy/birmingham-2016.csv.
        #[arg(long)]
        file: PathBuf,
        /// The lot's code in the series (SystemCodeNumber).
        #[arg(long)]
        lot: String,
        /// The local day, YYYY-MM-DD.
        #[arg(long)]
        day: String,
        /// Share of those inside who leave and are replaced between snapshots.
        #[arg(long, default_value_t = 0.1)]
        turnover: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
}

/// `[traffic]`, alone or beside other sections.
#[derive(serde::Deserialize)]
struct TrafficFile {
    #[serde(default)]
    traffic: sim::traffic::generate::TrafficSettings,
}

fn generate(config: &[PathBuf], seed: Option<u64>, visits: Option<usize>, out: &PathBuf) -> anyhow::Result<()> {
    let mut s = if config.is_empty() {
        sim::traffic::generate::TrafficSettings::default()
    } else {
        parking_core::config::Loader::new().files(config, std::fs::read_to_string)?.load::<TrafficFile>()?.traffic
    };
    s.seed = seed.unwrap_or(s.seed);
    s.visits = visits.unwrap_or(s.visits);
    let v = sim::traffic::generate::generate(&s)?;
    let file = std::fs::File::create(out).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    sim::traffic::trace::write(&v, std::io::BufWriter::new(file))?;
    eprintln!("{} visits on {} (seed {}) written to {}", v.len(), s.day, s.seed, out.display());
    Ok(())
}

fn from_occupancy(file: &PathBuf, lot: &str, day: &str, turnover: f64, seed: u64, out: &PathBuf) -> anyhow::Result<()> {
    let date = time::Date::parse(day, &time::macros::format_description!("[year]-[month]-[day]"))
        .map_err(|_| anyhow::anyhow!("--day {day:?} is not YYYY-MM-DD"))?;
    let input = std::fs::File::open(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let series = sim::traffic::occupancy::read(std::io::BufReader::new(input), lot)?;
    for (line, why) in series.skipped.iter().take(5) {
        eprintln!("{}, line {line}: skipped: {why}", file.display());
    }
    let snaps = series.day(date);
    anyhow::ensure!(!snaps.is_empty(), "no snapshots of {lot} on {day} in {}", file.display());
    let gates = sim::traffic::generate::gates;
    let v = sim::traffic::occupancy::visits(&snaps, turnover, seed, &gates("entry"), &gates("exit"))?;
    let f = std::fs::File::create(out).map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?;
    sim::traffic::trace::write(&v, std::io::BufWriter::new(f))?;
    eprintln!(
        "{lot} on {day}: {} snapshots (peak {} of {}), {} clamped and {} rows skipped in the file; {} visits written to {}",
        snaps.len(),
        snaps.iter().map(|s| s.occupancy).max().unwrap_or(0),
        snaps.first().map_or(0, |s| s.capacity),
        series.clamped,
        series.skipped.len(),
        v.len(),
        out.display()
    );
    Ok(())
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = cli.log;
    log.init("warn");
    let result = match cli.command {
        Command::BenchSettle(args) => runtime().and_then(|rt| rt.block_on(sim::bench_settle::run(args))),
        Command::Run(args) => runtime().and_then(|rt| {
            rt.block_on(sim::run::run(args)).and_then(|summary| {
                sim::run::check::print(&summary);
                if summary.ok() { Ok(()) } else { Err(anyhow::anyhow!("the books do not match the run")) }
            })
        }),
        Command::Demo(args) => runtime().and_then(|rt| rt.block_on(sim::demo::demo(args))),
        Command::Soak(args) => runtime().and_then(|rt| rt.block_on(sim::soak::soak(args))),
        Command::Generate { config, seed, visits, out } => generate(&config, seed, visits, &out),
        Command::FromOccupancy { file, lot, day, turnover, seed, out } => {
            from_occupancy(&file, &lot, &day, turnover, seed, &out)
        }
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
            ExitCode::FAILURE
        }
    }
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
