//! `controller bench`: decision latency, measured.
//!
//! In-process (the default): reader bytes go into the R2000 codec, through
//! deduplication and the engine, to the Modbus relay frame written to an
//! in-memory transport, over 8 lanes, while a real SQLite journal commits
//! every event on another thread. The latency of each read that reaches a
//! decision is the wall time from its first byte entering the codec to
//! its relay frame being written.
//!
//! `--broker HOST:PORT`: the same path through a real broker. A reader
//! bridge publishes each read, the controller runtime decides, and the
//! barrier command comes back over MQTT; the latency is publish to
//! barrier command received.
//!
//! Parts: [`broker`] (through a broker), `in_process` (the default),
//! `fixtures` (settings, lists, tags, frames and traffic they share).

pub mod broker;
mod fixtures;
mod in_process;

pub use fixtures::{Rng, bench_settings, current_rss_mb, epc_bytes, lists, peak_rss_mb, snapshot_json, tag_frame};

/// Options of `controller bench`.
#[derive(clap::Args, Debug, Clone)]
pub struct BenchArgs {
    /// Reads to feed (repeats included).
    #[arg(long, default_value_t = 400_000)]
    pub reads: usize,
    /// Registered tags in the lists (1000000 for the memory figure).
    #[arg(long, default_value_t = 10_000)]
    pub tags: usize,
    /// Measure through this MQTT broker instead of in-process.
    #[arg(long)]
    pub broker: Option<String>,
    /// The broker user (one whose grant covers the bench lot, e.g. a
    /// `server` node of lot `bench-lot`), for a broker that wants one.
    #[arg(long)]
    pub user: Option<String>,
    /// A file holding that user's secret (never on the command line).
    #[arg(long)]
    pub password_file: Option<std::path::PathBuf>,
    /// Seed of the traffic mix.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
}

/// Runs the bench `args` ask for.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.broker.clone() {
        Some(b) => broker::run(args, &b).await,
        None => in_process::run(args).await,
    }
}
