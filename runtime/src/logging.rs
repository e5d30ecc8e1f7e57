//! Logging setup: every binary logs through `tracing` to standard error,
//! filtered by `RUST_LOG`, else by the binary's default.

/// Installs the process's subscriber; `default` applies when `RUST_LOG`
/// is unset or malformed (e.g. `"info"`, `"warn,sqlx=error"`). A second
/// call in one process is ignored.
pub fn init(default: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
}
