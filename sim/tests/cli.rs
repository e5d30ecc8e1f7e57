//! `sim`'s own command line: a stay quoted from the shipped tariff, and a
//! class the tariff does not price refused by name. (Also the reason
//! `cargo test --workspace` builds the `sim` binary for the process tests.)

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::{Command, Output};

fn sim(args: &[&str]) -> Output {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    Command::new(env!("CARGO_BIN_EXE_sim")).args(args).current_dir(root).output().unwrap()
}

#[test]
fn sim_quotes_a_stay_from_the_example_tariff() {
    let out = sim(&[
        "quote",
        "--class",
        "car",
        "--entry",
        "2026-11-22T09:00:00+07:00",
        "--exit",
        "2026-11-22T13:30:00+07:00",
    ]);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let receipt = text(&out.stdout);
    assert!(receipt.contains("Total (car, tariff hn-z1-2018-example): 140,000 VND"), "{receipt}");
    let out = sim(&[
        "quote",
        "--class",
        "tractor",
        "--entry",
        "2026-11-22T09:00:00+07:00",
        "--exit",
        "2026-11-22T10:00:00+07:00",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("no price for vehicle class tractor"), "{}", text(&out.stderr));
}
