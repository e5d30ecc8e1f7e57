//! The reader loop against a simulated reader on the other end of a real
//! pseudo-terminal: real bytes, real framing, real timing. The simulated
//! reader answers the commands the host really sends, splits its frames
//! across writes with pauses between them, and adds line noise.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use std::collections::HashMap;
use std::time::Duration;

use bytes::BytesMut;
use tag_reader::codec::chafon::{self, ChafonCodec};
use tag_reader::codec::r2000::{self, R2000Codec, R2000Frame};
use tag_reader::reader::{self, ReaderConfig, ReaderEvent};
use tag_reader::settings::Protocol;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_serial::SerialStream;
use tokio_util::codec::Decoder;
use tokio_util::sync::CancellationToken;

const EPCS: [[u8; 12]; 2] = [
    [0xE2, 0x00, 0x30, 0x16, 0x66, 0x13, 0x01, 0x21, 0x15, 0x50, 0x74, 0xEF],
    [0xE2, 0x80, 0x11, 0x05, 0x20, 0x00, 0x74, 0xA5, 0x00, 0x00, 0x00, 0x01],
];

fn r2000_tag(epc: &[u8; 12], rssi: u8) -> Vec<u8> {
    let mut f = vec![0xA0, 0x13, 0x01, 0x89, 0x04, 0x30, 0x00];
    f.extend_from_slice(epc);
    f.push(rssi);
    f.push(r2000::checksum(&f));
    f
}

fn r2000_end_of_round() -> Vec<u8> {
    let mut f = vec![0xA0, 0x0A, 0x01, 0x89, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x02];
    f.push(r2000::checksum(&f));
    f
}

fn chafon_inventory(status: u8, epcs: &[&[u8; 12]]) -> Vec<u8> {
    let mut body = vec![0x00, chafon::CMD_INVENTORY, status, u8::try_from(epcs.len()).unwrap()];
    for e in epcs {
        body.push(12);
        body.extend_from_slice(*e);
    }
    let mut f = vec![u8::try_from(body.len() + 2).unwrap()];
    f.extend(body);
    let crc = chafon::crc16(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}

/// Writes `frame` in two pieces with a pause between, as a slow UART does.
async fn write_split(port: &mut SerialStream, frame: &[u8], at: usize) -> std::io::Result<()> {
    let at = at.min(frame.len());
    port.write_all(&frame[..at]).await?;
    port.flush().await?;
    tokio::time::sleep(Duration::from_millis(3)).await;
    port.write_all(&frame[at..]).await?;
    port.flush().await
}

/// One read from the device end. The host closing its end shows here as
/// EIO (Linux ptys) or end of file: the player stops, as a reader that
/// lost its cable would.
async fn read_some(port: &mut SerialStream, chunk: &mut [u8], stop: &CancellationToken) -> Option<usize> {
    tokio::select! {
        _ = stop.cancelled() => None,
        n = port.read(chunk) => n.ok().filter(|n| *n > 0),
    }
}

/// Plays an R2000 reader: answers each inventory command with line noise,
/// both tags (split mid-frame) and an end-of-round frame.
async fn play_r2000(mut port: SerialStream, stop: CancellationToken) -> u32 {
    let mut codec = R2000Codec::new(1);
    let mut buf = BytesMut::new();
    let mut commands = 0;
    let mut chunk = [0u8; 256];
    loop {
        let Some(n) = read_some(&mut port, &mut chunk, &stop).await else { return commands };
        buf.extend_from_slice(&chunk[..n]);
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            if !matches!(frame, R2000Frame::Other { cmd: r2000::CMD_REALTIME_INVENTORY, .. }) {
                continue;
            }
            commands += 1;
            let mut corrupt = r2000_tag(&EPCS[1], 0x30);
            corrupt[9] ^= 0x55; // a bit error on the line: must be dropped
            let answered = async {
                port.write_all(&[0xFF, 0x13, 0xA0, 0x02, 0x00]).await?; // noise
                write_split(&mut port, &r2000_tag(&EPCS[0], 0x45), 7).await?;
                write_split(&mut port, &r2000_tag(&EPCS[1], 0x30), 15).await?;
                port.write_all(&corrupt).await?;
                write_split(&mut port, &r2000_end_of_round(), 4).await
            };
            if answered.await.is_err() {
                return commands; // the host closed its end
            }
        }
    }
}

/// Plays a Chafon reader: answers each poll with noise, then two frames
/// (status 0x03 "more follows", then 0x01), the first split mid-frame.
async fn play_chafon(mut port: SerialStream, stop: CancellationToken) -> u32 {
    let mut polls = 0;
    let mut chunk = [0u8; 64];
    let command = chafon::ChafonCommand::Inventory.to_frame(0);
    let mut seen = Vec::new();
    loop {
        let Some(n) = read_some(&mut port, &mut chunk, &stop).await else { return polls };
        seen.extend_from_slice(&chunk[..n]);
        while let Some(pos) = seen.windows(command.len()).position(|w| w == command.as_slice()) {
            seen.drain(..pos + command.len());
            polls += 1;
            let answered = async {
                port.write_all(&[0x00, 0xFF, 0x07]).await?; // noise
                write_split(&mut port, &chafon_inventory(chafon::STATUS_MORE, &[&EPCS[0]]), 9).await?;
                write_split(&mut port, &chafon_inventory(chafon::STATUS_DONE, &[&EPCS[1]]), 3).await
            };
            if answered.await.is_err() {
                return polls; // the host closed its end
            }
        }
    }
}

async fn run_against(protocol: Protocol) -> (HashMap<String, u32>, tag_reader::codec::CodecStats, u32) {
    let (device, host) = SerialStream::pair().expect("a pty pair");
    let stop = CancellationToken::new();
    let player = match protocol {
        Protocol::R2000 => tokio::spawn(play_r2000(device, stop.clone())),
        Protocol::Chafon => tokio::spawn(play_chafon(device, stop.clone())),
        Protocol::Scanner => panic!("scanners are played in scanner_pty.rs"),
    };
    let (tx, mut rx) = mpsc::channel(64);
    let reader =
        tokio::spawn(reader::run(host, ReaderConfig::new(protocol, parking_runtime::Clock::wall()), tx, stop.clone()));
    let mut seen: HashMap<String, u32> = HashMap::new();
    let mut alive = false;
    let collect = async {
        while let Some(event) = rx.recv().await {
            match event {
                ReaderEvent::Tag { report, .. } => *seen.entry(report.epc.to_string()).or_default() += 1,
                ReaderEvent::Alive(a) => alive = a,
                ReaderEvent::Code { text, .. } => panic!("a UHF reader sent a code: {text}"),
            }
            if seen.len() == 2 && seen.values().all(|n| *n >= 5) {
                break;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(20), collect).await.expect("tags within 20 s");
    stop.cancel();
    let stats = reader.await.unwrap().unwrap();
    let rounds = player.await.unwrap();
    assert!(alive, "the reader was reported alive");
    (seen, stats, rounds)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn r2000_over_a_pty() {
    let (seen, stats, rounds) = run_against(Protocol::R2000).await;
    assert!(seen.contains_key("E200301666130121155074EF"), "{seen:?}");
    assert!(seen.contains_key("E2801105200074A500000001"), "{seen:?}");
    assert!(rounds >= 5, "the host kept sending inventory commands: {rounds}");
    assert!(stats.garbage_bytes > 0, "noise was counted: {stats:?}");
    assert!(stats.bad_checksums > 0, "the corrupted frame was dropped: {stats:?}");
    // Every tag frame the host decoded was a good one: the corrupt copy
    // never surfaced as a third EPC.
    assert_eq!(seen.len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chafon_over_a_pty() {
    let (seen, stats, polls) = run_against(Protocol::Chafon).await;
    assert_eq!(seen.len(), 2, "both frames of each answer were read: {seen:?}");
    assert!(polls >= 5);
    assert!(stats.garbage_bytes > 0, "{stats:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_reader_is_reported_offline() {
    let (_device, host) = SerialStream::pair().expect("a pty pair");
    let stop = CancellationToken::new();
    let (tx, mut rx) = mpsc::channel(8);
    let mut config = ReaderConfig::new(Protocol::R2000, parking_runtime::Clock::wall());
    config.round_timeout = Duration::from_millis(50);
    let reader = tokio::spawn(reader::run(host, config, tx, stop.clone()));
    let event = tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap();
    assert_eq!(event, Some(ReaderEvent::Alive(false)));
    stop.cancel();
    reader.await.unwrap().unwrap();
}

/// The codec stays sane even when the host side reads the stream one byte
/// at a time, as a slow port delivers it.
#[test]
fn chafon_codec_frames_byte_by_byte() {
    let frame = chafon_inventory(chafon::STATUS_DONE, &[&EPCS[0], &EPCS[1]]);
    let mut codec = ChafonCodec::new(0);
    let mut buf = BytesMut::new();
    let mut tags = 0;
    for b in frame {
        buf.extend_from_slice(&[b]);
        while let Some(f) = codec.decode(&mut buf).unwrap() {
            tags += f.tags().len();
        }
    }
    assert_eq!(tags, 2);
}
