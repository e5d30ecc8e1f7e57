//! Logging setup: every binary logs through `tracing` to standard error,
//! filtered by `RUST_LOG`, else by the binary's default, as text for a
//! person or as JSON lines for a log shipper ([`Format`]: `--log-format`
//! from [`LogArgs`], which every binary's command line flattens, or
//! [`FORMAT_ENV`]). A JSON line carries the event's fields and those of
//! the spans it happened in (the lot, the gate event, the batch).

use std::str::FromStr;

/// The environment variable every binary's `--log-format` reads.
pub const FORMAT_ENV: &str = "PARKING_LOG_FORMAT";

/// How log lines are written.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Format {
    /// One line per event, for a person.
    #[default]
    Text,
    /// One JSON object per line: `timestamp`, `level`, `target`,
    /// `fields`, and `spans` with each enclosing span's fields.
    Json,
}

impl FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(Format::Text),
            "json" => Ok(Format::Json),
            other => Err(format!("log format {other:?}: write text or json")),
        }
    }
}

/// `--log-format`, in every binary's command line (`#[command(flatten)]`).
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct LogArgs {
    /// Log lines as `text` (for a person) or `json` (one object a line,
    /// for a log shipper); also from PARKING_LOG_FORMAT.
    #[arg(long = "log-format", global = true, env = FORMAT_ENV, default_value = "text")]
    pub log_format: Format,
}

impl LogArgs {
    /// [`init`] in the format asked for.
    pub fn init(self, default: &str) {
        init(default, self.log_format);
    }
}

/// Installs the process's subscriber; `default` applies when `RUST_LOG`
/// is unset or malformed (e.g. `"info"`, `"warn,sqlx=error"`). A second
/// call in one process is ignored.
pub fn init(default: &str, format: Format) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        Format::Text => builder.try_init(),
        Format::Json => builder.json().with_current_span(false).with_span_list(true).try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_name() {
        assert_eq!("json".parse(), Ok(Format::Json));
        assert_eq!(" Text ".parse(), Ok(Format::Text));
        let e = "xml".parse::<Format>().unwrap_err();
        assert!(e.contains("text or json"), "{e}");
    }
}
