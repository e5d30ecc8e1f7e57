//! The lot's processes in a soak: `lot-server run` and `controller run`
//! from the directory the `sim` binary is in, started with a
//! `PARKING_CLOCK`, their resident memory read from `/proc`, and stopped
//! with SIGTERM.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{Context, bail};

/// One of the lot's processes.
#[derive(Debug)]
pub struct Proc {
    pub name: &'static str,
    child: tokio::process::Child,
}

/// Where the lot's binaries are: `--bin-dir`, else beside this one.
pub fn bin_dir(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let dir = match given {
        Some(d) => d.to_path_buf(),
        None => std::env::current_exe()?.parent().context("the sim binary has no directory")?.to_path_buf(),
    };
    for name in ["lot-server", "controller"] {
        if !dir.join(name).is_file() {
            bail!(
                "{} is not there: build the lot's binaries (cargo build --release) or give --bin-dir",
                dir.join(name).display()
            );
        }
    }
    Ok(dir)
}

impl Proc {
    /// Starts `bin run --config config` with `clock` as its PARKING_CLOCK,
    /// its log in `log`.
    pub fn start(name: &'static str, bin: &Path, config: &Path, clock: &str, log: &Path) -> anyhow::Result<Proc> {
        let err = std::fs::File::create(log).with_context(|| format!("{}", log.display()))?;
        let child = tokio::process::Command::new(bin)
            .args(["run", "--config"])
            .arg(config)
            .env("PARKING_CLOCK", clock)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(err)
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        Ok(Proc { name, child })
    }

    /// Its resident memory, KiB (VmRSS), or an error if it has gone.
    pub fn rss_kib(&self) -> anyhow::Result<u64> {
        let pid = self.child.id().with_context(|| format!("the {} has exited", self.name))?;
        let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .with_context(|| format!("the {} (pid {pid}) has exited", self.name))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .with_context(|| format!("no VmRSS for the {}", self.name))
    }

    /// SIGTERM, then waits up to 30 s (SIGKILL after); whether it stopped
    /// by itself, cleanly.
    pub async fn stop(mut self) -> bool {
        if let Some(pid) = self.child.id() {
            let _ = tokio::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().await;
        }
        match tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await {
            Ok(Ok(status)) => status.success(),
            _ => {
                let _ = self.child.kill().await;
                false
            }
        }
    }
}

/// A file's size, 0 if it is not there (a write-ahead log truncated away).
pub fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}
