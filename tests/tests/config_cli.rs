//! Every binary loads the shipped example configuration, and refuses a
//! broken one with an error that names the file and the key.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::path::PathBuf;
use std::process::Output;

use parking_tests::bins;

/// Writes `text` to a fresh temporary file and returns its path.
fn temp_config(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("parking-config-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

fn run(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = bins::command(bin);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

fn example(name: &str) -> String {
    std::fs::read_to_string(bins::repo_root().join("config").join(name)).unwrap()
}

#[test]
fn every_binary_accepts_the_example_config() {
    for (bin, own) in [
        ("controller", "config/controller.toml"),
        ("lot-server", "config/lot-server.toml"),
        ("tag-reader", "config/tag-reader.toml"),
    ] {
        let out = run(bin, &["check-config", "--config", "config/lot.toml", "--config", own], &[]);
        assert!(out.status.success(), "{bin}: {}", text(&out.stderr));
        assert!(text(&out.stdout).starts_with("config ok: lot hn-hoan-kiem-01"), "{bin}: {}", text(&out.stdout));
    }
}

#[test]
fn a_typo_is_refused_naming_file_and_key() {
    let typo = temp_config("typo", &example("controller.toml").replace("journal =", "jurnal ="));
    let typo_s = typo.display().to_string();
    let out = run("controller", &["check-config", "--config", "config/lot.toml", "--config", &typo_s], &[]);
    assert_eq!(out.status.code(), Some(1), "a bad configuration is a failure at run time (exit 1)");
    let err = text(&out.stderr);
    assert!(err.contains("missing key `controller.journal`"), "{err}");
    assert!(err.contains(&format!("unknown key `controller.jurnal` in {typo_s}")), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn a_wrong_value_names_the_file_and_key() {
    let bad = temp_config("bad", &example("lot-server.toml").replace("127.0.0.1:8080", "localhost-8080"));
    let bad_s = bad.display().to_string();
    let out = run("lot-server", &["check-config", "--config", "config/lot.toml", "--config", &bad_s], &[]);
    assert_eq!(out.status.code(), Some(1), "a bad configuration is a failure at run time (exit 1)");
    let err = text(&out.stderr);
    assert!(err.contains(&format!("{bad_s}: key `server.listen`")), "{err}");
}

#[test]
fn environment_overrides_apply_and_are_named_when_wrong() {
    let args = ["check-config", "--config", "config/lot.toml", "--config", "config/tag-reader.toml"];
    let out = run("tag-reader", &args, &[("PARKING__READER__BAUD", "9600")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("at 9600 baud"), "{}", text(&out.stdout));
    let out = run("tag-reader", &args, &[("PARKING__READER__PROTOCOL", "x9000")]);
    assert_eq!(out.status.code(), Some(1), "a bad configuration is a failure at run time (exit 1)");
    let err = text(&out.stderr);
    assert!(err.contains("PARKING__READER__PROTOCOL: key `reader.protocol`"), "{err}");
}

#[test]
fn a_missing_file_is_named() {
    let out = run("controller", &["check-config", "--config", "config/nope.toml"], &[]);
    assert_eq!(out.status.code(), Some(1), "a bad configuration is a failure at run time (exit 1)");
    assert!(text(&out.stderr).contains("config/nope.toml: cannot read"), "{}", text(&out.stderr));
}

#[test]
fn exit_codes_say_usage_from_failure() {
    for bin in ["controller", "lot-server", "tag-reader", "sim"] {
        // A usage error (an unknown subcommand): 2, and clap's help.
        let out = run(bin, &["no-such-command"], &[]);
        assert_eq!(out.status.code(), Some(2), "{bin}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("Usage"), "{bin}: {}", text(&out.stderr));
    }
    for bin in ["controller", "lot-server", "tag-reader"] {
        // A failure at run time (the configuration file is missing): 1.
        let out = run(bin, &["check-config", "--config", "config/nope.toml"], &[]);
        assert_eq!(out.status.code(), Some(1), "{bin}: {}", text(&out.stderr));
        // Success: 0.
        let own = format!("config/{bin}.toml");
        let out = run(bin, &["check-config", "--config", "config/lot.toml", "--config", &own], &[]);
        assert_eq!(out.status.code(), Some(0), "{bin}: {}", text(&out.stderr));
    }
}
