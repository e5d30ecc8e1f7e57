//! Where the workspace's binaries and files are, for tests that run them
//! as separate processes.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

/// The path of a workspace binary, built up to date first: cargo builds
/// only the binaries of the package under test, and an old binary left in
/// `target/` would test yesterday's code. Built once per test process.
pub fn bin(name: &str) -> PathBuf {
    static BUILT: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let profile_dir = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().and_then(Path::parent).map(Path::to_path_buf))
        .unwrap_or_else(|| repo_root().join("target/debug"));
    let path = profile_dir.join(name);
    let mut built = BUILT.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if !built.iter().any(|b| b == name) {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
        let status =
            Command::new(cargo).args(["build", "--quiet", "-p", name, "--bin", name]).current_dir(repo_root()).status();
        assert!(status.is_ok_and(|s| s.success()), "cargo build -p {name} failed");
        built.push(name.to_owned());
    }
    path
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
