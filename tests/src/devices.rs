//! Simulated lane devices on the device end of a real pseudo-terminal: an
//! R2000 UHF reader that answers inventory commands with the tags now in
//! its field, and (from the simulator, [`sim::relay`]) a Modbus RTU relay
//! board that echoes coil writes (and logs them) and answers
//! discrete-input reads with the loop states.
//!
//! Both keep going when the host end closes and reopens (EIO on a Linux
//! pty while no slave is open), as a real device on a cable would.

use std::sync::{Arc, Mutex};

use tokio::io::AsyncWriteExt;
use tokio_serial::SerialStream;

pub use sim::relay::{Board, BoardState, modbus_crc, play_relay_board, pulses, read_chunk};

/// The two's-complement checksum of an R2000 frame.
pub fn r2000_checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |a, b| a.wrapping_add(*b)).wrapping_neg()
}

/// A 96-bit EPC `E2 00 00 00 | n (8 bytes)`, and its hex text.
pub fn epc(n: u64) -> [u8; 12] {
    let mut e = [0u8; 12];
    e[0] = 0xE2;
    e[4..].copy_from_slice(&n.to_be_bytes());
    e
}

pub fn epc_text(n: u64) -> String {
    epc(n).iter().map(|b| format!("{b:02X}")).collect()
}

fn r2000_tag(e: &[u8; 12]) -> Vec<u8> {
    let mut f = vec![0xA0, 0x13, 0x01, 0x89, 0x00, 0x30, 0x00];
    f.extend_from_slice(e);
    f.push(0x48);
    f.push(r2000_checksum(&f));
    f
}

fn r2000_end_of_round() -> Vec<u8> {
    let mut f = vec![0xA0, 0x0A, 0x01, 0x89, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x01];
    f.push(r2000_checksum(&f));
    f
}

/// The tags in the reader's field; change it to move vehicles.
pub type Field = Arc<Mutex<Vec<u64>>>;

/// Plays an R2000 reader: every real-time inventory command (`A0 04 01 89
/// ..`) is answered with one tag report per tag in the field, then an
/// end-of-round frame.
pub async fn play_r2000(mut port: SerialStream, field: Field) {
    let mut seen: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        let Some(n) = read_chunk(&mut port, &mut chunk).await else { return };
        seen.extend_from_slice(&chunk[..n]);
        while let Some(pos) = seen.windows(4).position(|w| w == [0xA0, 0x04, 0x01, 0x89]) {
            let end = (pos + 6).min(seen.len());
            if seen.len() < pos + 6 {
                break;
            }
            seen.drain(..end);
            let tags: Vec<u64> = field.lock().map(|f| f.clone()).unwrap_or_default();
            let mut out = Vec::new();
            for t in tags {
                out.extend(r2000_tag(&epc(t)));
            }
            out.extend(r2000_end_of_round());
            if port.write_all(&out).await.is_err() {
                break;
            }
        }
        if seen.len() > 1024 {
            seen.clear();
        }
    }
}
