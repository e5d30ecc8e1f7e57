//! `parking-core` stays pure: no I/O crate in its dependency tree, and no
//! clock read, file or socket in its sources.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::path::Path;
use std::process::Command;

use parking_tests::bins::repo_root;

const IO_CRATES: &[&str] = &[
    "tokio",
    "tokio-serial",
    "tokio-util",
    "mio",
    "sqlx",
    "rumqttc",
    "rumqttd",
    "axum",
    "hyper",
    "reqwest",
    "socket2",
];

#[test]
fn no_io_crate_in_the_dependency_tree() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args(["tree", "-p", "parking-core", "-e", "normal", "--prefix", "none", "--offline"])
        .current_dir(repo_root())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8(out.stdout).unwrap();
    let crates: Vec<&str> = tree.lines().filter_map(|l| l.split_whitespace().next()).collect();
    assert!(crates.contains(&"parking-core") && crates.contains(&"serde"), "unexpected tree:\n{tree}");
    for bad in IO_CRATES {
        assert!(!crates.contains(bad), "parking-core depends on {bad}:\n{tree}");
    }
}

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_clock_file_or_socket_in_the_sources() {
    let mut files = Vec::new();
    rust_files(&repo_root().join("core/src"), &mut files);
    assert!(files.len() > 10, "found only {} files", files.len());
    for file in files {
        let src = std::fs::read_to_string(&file).unwrap();
        // Tests may read fixtures; the shipped code may not.
        let shipped = src.split("#[cfg(test)]").next().unwrap_or_default();
        for needle in ["now_utc", "now_local", "SystemTime", "Instant::now", "std::fs", "std::net", "std::env"] {
            assert!(!shipped.contains(needle), "{} uses {needle}", file.display());
        }
    }
}
