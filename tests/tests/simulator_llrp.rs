//! `sim demo --llrp`: the demo's day with every lane's tags read by a
//! fixed LLRP reader the simulator plays over loopback TCP. On its own
//! (not beside the other demo), at the demo's own speed: its lanes wait
//! for the camera's plate at the controller before the tag, so it is the
//! slower of the two.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use parking_tests::bins;
use parking_tests::demo::{assert_books, summary};

/// Every tag of the day reaches its lane through an LLRP reader: the
/// controller connects, sets each reader up and takes its reports; a tag
/// read any other way is not played, so a lane that did not get it would
/// leave its vehicle stuck.
#[test]
fn the_demo_reads_its_tags_from_llrp_readers() {
    let dir = std::env::temp_dir().join(format!("parking-demo-llrp-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let out = bins::command("sim")
        .args(["demo", "--exit", "--llrp", "--port", "0", "--visits", "400", "--speed", "3600", "--seed", "11"])
        .arg("--dir")
        .arg(&dir)
        .output()
        .expect("run sim demo --llrp");
    let s = summary(&out);
    assert_books(&s, 400, 0, &out);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("LLRP readers on loopback TCP"), "{stderr}");
    let ctl = std::fs::read_to_string(dir.join("controller.toml")).unwrap();
    assert_eq!(ctl.matches("kind = \"llrp\"").count(), 4, "every lane's reader is an LLRP reader: {ctl}");
    let _ = std::fs::remove_dir_all(&dir);
}
