//! Where the workspace's binaries and files are, for tests that run them
//! as separate processes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The path of a workspace binary, up to date.
///
/// `cargo test --workspace` builds every binary once, with the workspace's
/// features, before any test runs (each binary's package has an
/// integration test), so a process test finds them beside its own
/// executable. A binary that is missing, or older than a source file of
/// the workspace (a test run for one package only, after an edit), is
/// built first with that same command (`cargo test --workspace
/// --no-run`), so the build matches the full run's and compiles nothing
/// twice. Checked once per test process.
pub fn bin(name: &str) -> PathBuf {
    static CHECKED: Mutex<bool> = Mutex::new(false);
    let profile_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_else(|| repo_root().join("target/debug"));
    let path = profile_dir.join(name);
    let mut checked = CHECKED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !*checked {
        let newest = newest_source();
        let fresh = BINARIES.iter().all(|b| {
            std::fs::metadata(profile_dir.join(b)).and_then(|m| m.modified()).is_ok_and(|built| built >= newest)
        });
        if !fresh {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
            let mut cmd = Command::new(cargo);
            cmd.args(["test", "--workspace", "--no-run", "--quiet"]).current_dir(repo_root());
            if profile_dir.ends_with("release") {
                cmd.arg("--release");
            }
            let status = cmd.status();
            assert!(status.is_ok_and(|s| s.success()), "cargo test --workspace --no-run failed");
        }
        *checked = true;
    }
    assert!(path.exists(), "{} was not built: is {name} a binary of the workspace?", path.display());
    path
}

/// The binaries the process tests run.
const BINARIES: [&str; 5] = ["lot-server", "controller", "tag-reader", "sim", "journal-verify"];

/// When the newest source of the workspace was written.
fn newest_source() -> std::time::SystemTime {
    let root = repo_root();
    let mut dirs: Vec<PathBuf> = vec![root.clone()];
    let mut newest = std::time::SystemTime::UNIX_EPOCH;
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name();
            let name = name.to_string_lossy();
            if p.is_dir() {
                // Sources live in the crates' folders, not in build output.
                if !name.starts_with('.') && !name.starts_with("target") && name != "fuzz" && name != "node_modules" {
                    dirs.push(p);
                }
            } else if [".rs", ".sql", ".js", ".css", ".html", ".webmanifest", ".svg"].iter().any(|x| name.ends_with(x))
                || name == "Cargo.toml"
                || name == "Cargo.lock"
            {
                // What the binaries compile in: code, migrations, pages.
                if let Ok(m) = e.metadata().and_then(|m| m.modified()) {
                    newest = newest.max(m);
                }
            }
        }
    }
    newest
}

/// A command for a workspace binary, run from the repository root so the
/// example configuration's relative paths resolve.
pub fn command(name: &str) -> Command {
    let mut cmd = Command::new(bin(name));
    cmd.current_dir(repo_root());
    // The tests set their own overrides; the developer's must not leak in.
    for (key, _) in std::env::vars().filter(|(k, _)| k.starts_with("PARKING__")) {
        cmd.env_remove(key);
    }
    cmd
}

/// A child process killed (SIGKILL) when dropped, so a failing test
/// leaves nothing running.
#[derive(Debug)]
pub struct Proc(pub std::process::Child);

impl Proc {
    /// SIGKILL, as a crash or power cut would.
    pub fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.kill();
    }
}

pub use crate::http::{api, http, http_bytes, http_full, http_get, http_with};

/// The value of a Prometheus metric line `name value` in `body`.
pub fn metric(body: &str, name: &str) -> Option<f64> {
    body.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

/// Starts `bin run --config CONFIG` with its log appended to `log`.
pub fn start_logged(bin: &str, config: &Path, log: &Path) -> std::io::Result<Proc> {
    start_logged_env(bin, config, log, &[])
}

/// [`start_logged`] with environment variables set for the child.
pub fn start_logged_env(bin: &str, config: &Path, log: &Path, env: &[(&str, &str)]) -> std::io::Result<Proc> {
    let log = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let child = command(bin)
        .args(["run", "--config"])
        .arg(config)
        .envs(env.iter().copied())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .spawn()?;
    Ok(Proc(child))
}

/// A new API token of `role`, made with `lot-server token create`.
pub fn token(config: &Path, role: &str) -> Result<String, String> {
    lot_token(config, role, None)
}

/// Creates a person's account with `lot-server user create
/// --password-stdin`.
pub fn user(config: &Path, username: &str, role: &str, name: &str, password: &str) -> Result<(), String> {
    use std::io::Write as _;
    let mut child = command("lot-server")
        .args([
            "user",
            "create",
            "--username",
            username,
            "--role",
            role,
            "--name",
            name,
            "--password-stdin",
            "--config",
        ])
        .arg(config)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("lot-server user create: {e}"))?;
    child.stdin.take().ok_or("no stdin")?.write_all(password.as_bytes()).map_err(|e| e.to_string())?;
    let done = child.wait_with_output().map_err(|e| e.to_string())?;
    if !done.status.success() {
        return Err(String::from_utf8_lossy(&done.stderr).into_owned());
    }
    Ok(())
}

/// [`token`] of one lot of a server of many (`--lot`).
pub fn lot_token(config: &Path, role: &str, lot: Option<&str>) -> Result<String, String> {
    let mut cmd = command("lot-server");
    cmd.args(["token", "create", "--role", role, "--label", "test", "--config"]).arg(config);
    if let Some(lot) = lot {
        cmd.args(["--lot", lot]);
    }
    let made = cmd.output().map_err(|e| format!("lot-server token create: {e}"))?;
    if !made.status.success() {
        return Err(String::from_utf8_lossy(&made.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&made.stdout).trim().to_owned())
}

/// Starts `lot-server run` and waits until `/health/ready` on `http_port`
/// answers 200; the error carries its log if it never does within 15 s.
pub async fn start_server(config: &Path, log: &Path, http_port: u16) -> Result<Proc, String> {
    start_server_env(config, log, http_port, &[]).await
}

/// [`start_server`] with environment variables set for the server.
pub async fn start_server_env(config: &Path, log: &Path, http_port: u16, env: &[(&str, &str)]) -> Result<Proc, String> {
    let server = start_logged_env("lot-server", config, log, env).map_err(|e| format!("start lot-server: {e}"))?;
    for _ in 0..300 {
        if http(http_port, "GET", "/health/ready", None, None).await.is_some_and(|(s, _)| s == 200) {
            return Ok(server);
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Err(format!("the lot server never became ready: {}", std::fs::read_to_string(log).unwrap_or_default()))
}

/// Waits until a controller's `/health` on `port` reports lists `version`;
/// false if it never does within 15 s.
pub async fn wait_for_lists(port: u16, version: u64) -> bool {
    let want = format!("\"lists_version\":{version}");
    for _ in 0..300 {
        if http_get(port, "/health").await.is_some_and(|b| b.contains(&want)) {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    false
}

/// The `[lot]` section every test process shares: `lot`, zone
/// `hanoi-zone-1`, the repository's example tariffs.
pub fn lot_toml(lot: &str) -> String {
    lot_toml_with_tariffs(lot, &repo_root().join("config/tariffs"))
}

/// [`lot_toml`] with the tariffs of `dir`.
pub fn lot_toml_with_tariffs(lot: &str, dir: &Path) -> String {
    format!(
        "[lot]\nid = \"{lot}\"\nname = \"Bãi xe Tràng Tiền\"\nzone = \"hanoi-zone-1\"\ntariff_dir = \"{}\"\n",
        dir.display()
    )
}

/// A controller's whole configuration for a test: the lot, an external
/// broker on `broker_port`, `[controller]` (node, journal, test ticket key,
/// metrics on `metrics_port`, then `controller_extra` keys) and `lanes`.
pub fn controller_toml(
    lot: &str,
    broker_port: u16,
    node: &str,
    journal: &Path,
    metrics_port: u16,
    controller_extra: &str,
    lanes: &str,
) -> String {
    controller_toml_with(&lot_toml(lot), broker_port, node, journal, metrics_port, controller_extra, lanes)
}

/// [`controller_toml`] with its own `[lot]` section (e.g. from
/// [`test_dir_with_tariff`]).
pub fn controller_toml_with(
    lot_toml: &str,
    broker_port: u16,
    node: &str,
    journal: &Path,
    metrics_port: u16,
    controller_extra: &str,
    lanes: &str,
) -> String {
    format!(
        "{lot_toml}[broker]\nembedded = false\nhost = \"127.0.0.1\"\nport = {broker_port}\n\
         [controller]\nnode = \"{node}\"\njournal = \"{}\"\nticket_key = \"test-ticket-key-0123456789\"\n\
         metrics_listen = \"127.0.0.1:{metrics_port}\"\n{controller_extra}{lanes}",
        journal.display()
    )
}

/// The lot's bank account and the example's four lanes, two each way.
pub const BANK_AND_FOUR_LANES: &str = "[bank]\nbin = \"970403\"\naccount = \"0011012345678\"\n\
    [[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\n[[lanes]]\ngate = \"entry-2\"\ndirection = \"entry\"\n\
    [[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n[[lanes]]\ngate = \"exit-2\"\ndirection = \"exit\"\n";

/// A fresh working directory `parking-{name}-{pid}` for one test, holding
/// `tariff` as the lot's only tariff file; returns it and the `[lot]`
/// TOML that names that tariff directory.
pub fn test_dir_with_tariff(name: &str, lot: &str, tariff: &str) -> std::io::Result<(PathBuf, String)> {
    let dir = fresh_dir(name)?;
    std::fs::create_dir_all(dir.join("tariffs"))?;
    std::fs::write(dir.join("tariffs/tariff.toml"), tariff)?;
    let lot_toml = lot_toml_with_tariffs(lot, &dir.join("tariffs"));
    Ok((dir, lot_toml))
}

/// An empty working directory `parking-{name}-{pid}` for one test,
/// whatever an earlier run of it left there.
pub fn fresh_dir(name: &str) -> std::io::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("parking-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A lot server's config: `lot_toml`, Mosquitto on `broker_port`, the API
/// on `http_port`, SQLite in `dir`, then `extra` sections.
pub fn server_toml(lot_toml: &str, broker_port: u16, http_port: u16, dir: &Path, extra: &str) -> String {
    format!(
        "{lot_toml}[broker]\nembedded = false\nhost = \"127.0.0.1\"\nport = {broker_port}\n\
         [server]\nlisten = \"127.0.0.1:{http_port}\"\n[database]\nurl = \"sqlite://{}?mode=rwc\"\n{extra}",
        dir.join("lot.sqlite").display()
    )
}

/// Waits (10 s at most) until the lot server holds `n` closed sessions;
/// returns them as listed, or whatever it holds then.
pub async fn closed_sessions(port: u16, token: &str, n: usize) -> serde_json::Value {
    let mut found = serde_json::Value::Null;
    for _ in 0..200 {
        found = api(port, "GET", "/api/v1/sessions?state=closed", token, None).await;
        if found.as_array().is_some_and(|a| a.len() == n) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    found
}
