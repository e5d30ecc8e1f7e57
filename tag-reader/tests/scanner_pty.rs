//! A QR scanner on the other end of a real pseudo-terminal: codes written
//! as a scanner sends them (CR, LF or CRLF, split across writes with
//! pauses, line noise and an over-long line between them) come out of the
//! reader loop as codes, in order, and what was dropped is counted.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::time::Duration;

use tag_reader::codec::scanner::MAX_LINE;
use tag_reader::reader::{self, ReaderConfig, ReaderEvent};
use tag_reader::settings::Protocol;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use tokio_serial::SerialStream;
use tokio_util::sync::CancellationToken;

const TICKET: &str = "PT1.hn-01.entry-1.64.1796669801.car.2B887BD5F81AA5D401A6";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scanner_over_a_pty() {
    let (mut device, host) = SerialStream::pair().expect("a pty pair");
    let stop = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel(64);
    let config = ReaderConfig::new(Protocol::Scanner, parking_runtime::Clock::wall());
    let reader = tokio::spawn(reader::run(host, config, tx, stop.clone()));
    let overlong = vec![b'Z'; MAX_LINE + 200];
    let writes: Vec<&[u8]> = vec![
        &TICKET.as_bytes()[..20],
        &TICKET.as_bytes()[20..],
        b"\r\n",
        b"\xFF\x00\xFE noise\r",
        b"\n\n",
        &overlong[..700],
        &overlong[700..],
        b"\rA-2\n",
        b"B-3\r",
    ];
    for w in writes {
        device.write_all(w).await.unwrap();
        device.flush().await.unwrap();
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut codes = Vec::new();
    let mut alive = false;
    let collect = async {
        while let Some(event) = rx.recv().await {
            match event {
                ReaderEvent::Code { text, .. } => codes.push(text),
                ReaderEvent::Alive(a) => alive = a,
                ReaderEvent::Tag { report, .. } => panic!("a scanner sent a tag: {report:?}"),
            }
            if codes.len() == 3 {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), collect).await.expect("three codes within 10 s");
    assert_eq!(codes, [TICKET, "A-2", "B-3"]);
    assert!(alive, "an open scanner port is alive");
    stop.cancel();
    let stats = reader.await.unwrap().unwrap();
    assert_eq!(stats.frames, 3);
    assert_eq!(stats.rejected_frames, 1, "the over-long line: {stats:?}");
    assert_eq!(stats.garbage_bytes, 9, "the noisy line: {stats:?}");
}
