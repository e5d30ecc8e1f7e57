//! The camera-frames watcher: a frame dropped into the directory becomes a
//! QR read on the gate's topic, and the frame moves to `processed/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::path::Path;
use std::time::Duration;

use parking_core::wire::{self, Read, ReadMsg, Topics};
use parking_runtime::Clock;
use tag_reader::qr::watch::Watch;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn a_dropped_frame_becomes_a_qr_read() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/qr");
    let expected = std::fs::read_to_string(fixtures.join("zxing-qrcode-2-1.txt")).unwrap();
    let dir = std::env::temp_dir().join(format!("parking-frames-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("not-a-frame.txt"), "ignored").unwrap();
    std::fs::write(dir.join("broken.png"), b"\x89PNG truncated").unwrap();

    let (tx, mut rx) = mpsc::channel(8);
    let stop = CancellationToken::new();
    let topics = Topics::new("hn-01".parse().unwrap());
    let at: parking_core::Timestamp = "2026-11-23T09:00:00+07:00".parse().unwrap();
    let watch = Watch { dir: dir.clone(), gate: "entry-1".parse().unwrap(), topics, clock: Clock::manual(at) };
    let task = tokio::spawn(watch.run(tx, stop.clone()));
    std::fs::copy(fixtures.join("zxing-qrcode-2-1.png"), dir.join("frame-0001.png")).unwrap();

    let out = tokio::time::timeout(Duration::from_secs(20), rx.recv()).await.unwrap().unwrap();
    assert_eq!(out.topic, "parking/hn-01/gate/entry-1/read");
    let msg: ReadMsg = wire::decode(&out.payload).unwrap();
    assert_eq!(msg.read, Read::Qr { text: expected });
    assert_eq!(msg.at, at, "stamped by the clock it was handed");
    // Moved once handled; the broken frame stays for someone to look at.
    let moved = dir.join("processed/frame-0001.png");
    tokio::time::timeout(Duration::from_secs(5), async {
        while !moved.exists() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .unwrap();
    assert!(dir.join("broken.png").exists());
    stop.cancel();
    task.await.unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
}
