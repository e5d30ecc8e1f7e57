//! A lot server on its embedded broker in the tests, and the broker's
//! users: the server's own password (the tests' MQTT clients sign in as
//! it), nodes added with `lot-server node add`, and a configuration
//! pointed at a secret.

use std::path::{Path, PathBuf};

use crate::bins::command;

/// The lot server's own broker password in the tests' configurations
/// on the embedded broker; the tests' MQTT clients play the server's side
/// (and lanes', as a harness) with it ([`crate::mqtt::client`]).
pub const HARNESS_PASSWORD: &str = "test-harness-broker-password";

/// Adds a broker user with `lot-server node add` and writes the secret it
/// prints once to `secrets/{node}.secret` beside `config`; that path.
pub fn add_node(config: &Path, node: &str, kind: &str, gates: &[&str], lot: Option<&str>) -> Result<PathBuf, String> {
    let mut cmd = command("lot-server");
    cmd.args(["node", "add", node, "--kind", kind, "--config"]).arg(config);
    if !gates.is_empty() {
        cmd.args(["--gates", &gates.join(",")]);
    }
    if let Some(lot) = lot {
        cmd.args(["--lot", lot]);
    }
    let made = cmd.output().map_err(|e| format!("lot-server node add: {e}"))?;
    if !made.status.success() {
        return Err(String::from_utf8_lossy(&made.stderr).into_owned());
    }
    let secret = String::from_utf8_lossy(&made.stdout).trim().to_owned();
    let dir = config.parent().unwrap_or(Path::new(".")).join("secrets");
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let path = dir.join(format!("{node}.secret"));
    std::fs::write(&path, secret).map_err(|e| e.to_string())?;
    Ok(path)
}

/// `toml` with `password_file` set in its `[broker]` section.
pub fn with_password_file(toml: &str, path: &Path) -> String {
    toml.replacen("[broker]\n", &format!("[broker]\npassword_file = \"{}\"\n", path.display()), 1)
}

/// A lot server's config on its own embedded broker: `lot_toml`, the
/// broker on `mqtt_port`, the API on `http_port`, snapshots every second,
/// SQLite in `dir`, then `extra` sections.
pub fn embedded_server_toml(lot_toml: &str, mqtt_port: u16, http_port: u16, dir: &Path, extra: &str) -> String {
    format!(
        "{lot_toml}[broker]\nembedded = true\nhost = \"127.0.0.1\"\nport = {mqtt_port}\npassword = \"{HARNESS_PASSWORD}\"\n\
         [server]\nlisten = \"127.0.0.1:{http_port}\"\nlists_snapshot_secs = 1\n\
         [database]\nurl = \"sqlite://{}?mode=rwc\"\n{extra}",
        dir.join("lot.sqlite").display()
    )
}
