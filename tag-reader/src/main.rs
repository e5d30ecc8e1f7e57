//! `tag-reader`: the reader bridge binary, and the command-line tools that
//! decode reader frames and QR images.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use tag_reader::settings::{Protocol, Settings};

#[derive(Parser, Debug)]
#[command(version, about = "UHF reader and QR camera bridge onto MQTT")]
struct Cli {
    #[command(subcommand)]
    command: Command,
    #[command(flatten)]
    log: parking_runtime::logging::LogArgs,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Bridge the configured reader (and camera frames) onto MQTT.
    Run {
        /// TOML files, later ones overriding earlier ones.
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Load and validate the configuration, then print what it says.
    CheckConfig {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Decode hex frames from stdin, one per line, into JSON lines.
    DecodeFrames {
        #[arg(long, value_enum)]
        protocol: CliProtocol,
    },
    /// Decode the QR codes in image files, one JSON line per file.
    #[cfg(feature = "qr")]
    DecodeQr {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Decode rate and time over every image under DIR that has a sibling .txt.
    #[cfg(feature = "qr")]
    BenchQr { dir: PathBuf },
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum CliProtocol {
    R2000,
    Chafon,
    Scanner,
    Llrp,
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let log = cli.log;
    let stdout = std::io::stdout();
    match cli.command {
        Command::CheckConfig { config } => match Settings::load(&config) {
            Ok(s) => {
                println!(
                    "config ok: lot {} reader {} for gate {}: {:?} on {} at {} baud, dedup window {} ms",
                    s.lot.id,
                    s.reader.node,
                    s.reader.gate,
                    s.reader.protocol,
                    s.reader.port,
                    s.reader.baud,
                    s.reader.dedup_window_ms
                );
                ExitCode::SUCCESS
            }
            Err(e) => fail(e),
        },
        Command::DecodeFrames { protocol } => {
            let input = std::io::stdin().lock();
            let decoded = match protocol {
                CliProtocol::R2000 => tag_reader::cli::decode_frames(Protocol::R2000, input, stdout.lock()),
                CliProtocol::Chafon => tag_reader::cli::decode_frames(Protocol::Chafon, input, stdout.lock()),
                CliProtocol::Scanner => tag_reader::cli::decode_frames(Protocol::Scanner, input, stdout.lock()),
                CliProtocol::Llrp => {
                    tag_reader::cli::decode_lines(input, stdout.lock(), tag_reader::cli::decode_llrp_line)
                }
            };
            match decoded {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(e),
            }
        }
        #[cfg(feature = "qr")]
        Command::DecodeQr { files } => match tag_reader::qr::cli::decode_qr(&files, stdout.lock()) {
            Ok(true) => ExitCode::SUCCESS,
            Ok(false) => ExitCode::from(1),
            Err(e) => fail(e),
        },
        #[cfg(feature = "qr")]
        Command::BenchQr { dir } => match tag_reader::qr::cli::bench_qr(&dir, stdout.lock()) {
            Ok(_) => ExitCode::SUCCESS,
            Err(e) => fail(format!("{}: {e}", dir.display())),
        },
        Command::Run { config } => {
            let settings = match Settings::load(&config) {
                Ok(s) => s,
                Err(e) => return fail(e),
            };
            log.init("info");
            let runtime = match tokio::runtime::Runtime::new() {
                Ok(rt) => rt,
                Err(e) => return fail(e),
            };
            let result = runtime.block_on(async {
                let shutdown = parking_runtime::shutdown::on_signal();
                tag_reader::bridge::run(settings, shutdown).await
            });
            let _ = std::io::stderr().flush();
            match result {
                Ok(stats) => {
                    tracing::info!(?stats, "bridge stopped");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(format!("{e:#}")),
            }
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
