//! The controller refuses to start on what would make it decide wrongly,
//! and names the cause: a malformed `PARKING_CLOCK`, a tariff file it
//! cannot read. (Also the reason `cargo test --workspace` builds the
//! `controller` binary for the process tests.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn controller(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_controller"));
    cmd.args(args).current_dir(root()).env_remove("PARKING_CLOCK");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Writes a controller config of `[controller]` and `rest` in `dir`, runs
/// `check-config` on it, and returns whether it passed and what it said.
fn check_config(dir: &Path, rest: &str) -> (bool, String) {
    let file = dir.join("controller.toml");
    let head = format!(
        "[controller]\nnode = \"ctl-1\"\njournal = \"{}\"\nticket_key = \"a ticket key of 32 bytes, or so.\"\n",
        dir.join("journal.sqlite").display()
    );
    std::fs::write(&file, head + rest).unwrap();
    let file = file.display().to_string();
    let out = controller(&["check-config", "--config", "config/lot.toml", "--config", &file], &[]);
    (out.status.success(), format!("{}{}", text(&out.stdout), text(&out.stderr)))
}

#[test]
fn a_malformed_clock_is_refused_by_name() {
    let args = ["check-config", "--config", "config/lot.toml", "--config", "config/controller.toml"];
    let out = controller(&args, &[("PARKING_CLOCK", "tomorrow@1*2")]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("environment variable PARKING_CLOCK"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    let out = controller(&args, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn an_unreadable_tariff_file_refuses_the_start_naming_it() {
    let dir = std::env::temp_dir().join(format!("parking-ctl-tariffs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tariffs")).unwrap();
    for e in std::fs::read_dir(root().join("config/tariffs")).unwrap() {
        let p = e.unwrap().path();
        std::fs::copy(&p, dir.join("tariffs").join(p.file_name().unwrap())).unwrap();
    }
    std::fs::write(dir.join("tariffs/zz-broken.toml"), "version = ").unwrap();
    let tariffs = dir.join("tariffs").display().to_string();
    let journal = dir.join("journal.sqlite").display().to_string();
    let out = controller(
        &["run", "--config", "config/lot.toml", "--config", "config/controller.toml"],
        &[("PARKING__LOT__TARIFF_DIR", &tariffs), ("PARKING__CONTROLLER__JOURNAL", &journal)],
    );
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("zz-broken.toml"), "{err}");
    assert!(err.contains("lot.tariff_dir"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn an_llrp_lane_is_checked_and_its_mistakes_named() {
    let dir = std::env::temp_dir().join(format!("parking-ctl-llrp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let check = |reader: &str| {
        check_config(&dir, &format!("[[lanes]]\ngate = \"entry-1\"\ndirection = \"entry\"\nreader = {reader}\n"))
    };
    let (ok, said) = check("{ kind = \"llrp\", host = \"192.168.1.50\", antennas = [1, 2] }");
    assert!(ok, "{said}");
    let (ok, said) = check("{ kind = \"llrp\", host = \" \" }");
    assert!(!ok && said.contains("lanes.reader.host"), "{said}");
    let (ok, said) = check("{ kind = \"llrp\", host = \"r1\", antennas = [0] }");
    assert!(!ok && said.contains("lanes.reader.antennas"), "{said}");
    let (ok, said) = check("{ kind = \"llrp\", host = \"r1\", antenas = [1] }");
    assert!(!ok && said.contains("antenas"), "a misspelt key is named: {said}");
    assert!(!said.contains("panicked"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_plate_policy_is_checked_and_its_mistakes_named() {
    let dir = std::env::temp_dir().join(format!("parking-ctl-plates-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let check = |plates: &str| {
        check_config(&dir, &format!("[plates]\n{plates}\n[[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\n"))
    };
    let (ok, said) = check("exit_check = \"require\"\ntag_on_other_vehicle = \"alarm\"\nwait_ms = 1500");
    assert!(ok, "{said}");
    let (ok, said) = check("exit_check = \"sometimes\"");
    assert!(!ok && said.contains("plates.exit_check"), "{said}");
    let (ok, said) = check("wait = 1500");
    assert!(!ok && said.contains("wait"), "a misspelt key is named: {said}");
    assert!(!said.contains("panicked"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn check_config_names_what_is_wrong_with_a_lane_camera() {
    let dir = std::env::temp_dir().join(format!("ctl-snapshot-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let check = |snapshot: &str| {
        check_config(&dir, &format!("[[lanes]]\ngate = \"exit-1\"\ndirection = \"exit\"\nsnapshot = {snapshot}\n"))
    };
    let (ok, said) =
        check("{ kind = \"http\", url = \"http://admin:pw@192.168.1.64/ISAPI/Streaming/channels/101/picture\" }");
    assert!(ok, "{said}");
    let (ok, said) = check("{ kind = \"dir\", dir = \"/var/lib/parking/frames/exit-1\", max_age_ms = 3000 }");
    assert!(ok, "{said}");
    let (ok, said) = check("{ kind = \"http\", url = \"ftp://192.168.1.64/snap.jpg\" }");
    assert!(!ok && said.contains("lanes.snapshot") && said.contains("http://host/path"), "{said}");
    let (ok, said) = check("{ kind = \"http\", url = \"http://cam/snap.jpg\", timeout_ms = 50 }");
    assert!(!ok && said.contains("timeout_ms"), "{said}");
    let (ok, said) = check("{ kind = \"ftp\", dir = \"/x\" }");
    assert!(!ok && said.contains("ftp"), "an unknown kind is named: {said}");
    let (ok, said) = check("{ kind = \"dir\", folder = \"/x\" }");
    assert!(!ok && said.contains("folder"), "a misspelt key is named: {said}");
    assert!(!said.contains("panicked"), "{said}");
    let _ = std::fs::remove_dir_all(&dir);
}
