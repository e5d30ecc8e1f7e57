//! Simulated lane devices on the device end of a real pseudo-terminal: an
//! R2000 UHF reader that answers inventory commands with the tags now in
//! its field, and a Modbus RTU relay board that echoes coil writes (and
//! logs them) and answers discrete-input reads with the loop states.
//!
//! Both keep going when the host end closes and reopens (EIO on a Linux
//! pty while no slave is open), as a real device on a cable would.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_serial::SerialStream;

/// CRC-16/MODBUS (preset 0xFFFF, reflected 0xA001), as the board computes it.
pub fn modbus_crc(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for b in bytes {
        crc ^= u16::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xA001 } else { crc >> 1 };
        }
    }
    crc
}

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

/// One read from the device end; `None` at end of file. EIO (the host end
/// closed, between reopens) is waited out, as a device on a cable would.
async fn read_chunk(port: &mut SerialStream, chunk: &mut [u8]) -> Option<usize> {
    loop {
        match port.read(chunk).await {
            Ok(0) => return None,
            Ok(n) => return Some(n),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
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

/// What the relay board saw and what its inputs read.
#[derive(Debug, Default)]
pub struct BoardState {
    /// Every coil write: (coil, on, when).
    pub writes: Vec<(u16, bool, Instant)>,
    /// Discrete inputs (loop detectors), by index.
    pub inputs: Vec<bool>,
    /// Frames refused for a bad CRC.
    pub bad_frames: u64,
    /// While true, the board stays silent (a dead board).
    pub mute: bool,
}

pub type Board = Arc<Mutex<BoardState>>;

/// Plays a Modbus RTU relay board at `addr`: function 05 is echoed and
/// logged, function 02 answered from `inputs`; a frame with a bad CRC is
/// ignored, as a real board does. Frames are delimited by silence, as in
/// RTU: bytes left over from a master that died mid-frame are dropped
/// when the line has been quiet.
pub async fn play_relay_board(mut port: SerialStream, addr: u8, board: Board) {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 256];
    let mut last_rx = Instant::now();
    loop {
        let Some(n) = read_chunk(&mut port, &mut chunk).await else { return };
        if last_rx.elapsed() > Duration::from_millis(20) {
            buf.clear();
        }
        last_rx = Instant::now();
        buf.extend_from_slice(&chunk[..n]);
        // Requests of both functions are 8 bytes.
        while buf.len() >= 8 {
            let frame: Vec<u8> = buf.drain(..8).collect();
            let crc = modbus_crc(&frame[..6]).to_le_bytes();
            if frame[6..] != crc || frame[0] != addr {
                if let Ok(mut b) = board.lock() {
                    b.bad_frames += 1;
                }
                buf.clear(); // resynchronise on the next request
                break;
            }
            let reply = {
                let Ok(mut b) = board.lock() else { return };
                if b.mute {
                    continue;
                }
                match frame[1] {
                    0x05 => {
                        let coil = u16::from_be_bytes([frame[2], frame[3]]);
                        b.writes.push((coil, frame[4] == 0xFF, Instant::now()));
                        frame.clone()
                    }
                    0x02 => {
                        let start = usize::from(u16::from_be_bytes([frame[2], frame[3]]));
                        let count = usize::from(u16::from_be_bytes([frame[4], frame[5]]));
                        let nbytes = count.div_ceil(8);
                        let mut r = vec![addr, 0x02, u8::try_from(nbytes).unwrap_or(0)];
                        let mut bytes = vec![0u8; nbytes];
                        for i in 0..count {
                            if b.inputs.get(start + i).copied().unwrap_or(false) {
                                bytes[i / 8] |= 1 << (i % 8);
                            }
                        }
                        r.extend(bytes);
                        let c = modbus_crc(&r).to_le_bytes();
                        r.extend_from_slice(&c);
                        r
                    }
                    f => {
                        let mut r = vec![addr, f | 0x80, 0x01];
                        let c = modbus_crc(&r).to_le_bytes();
                        r.extend_from_slice(&c);
                        r
                    }
                }
            };
            if port.write_all(&reply).await.is_err() {
                break;
            }
        }
    }
}

/// Pulses seen on `coil`: each an ON write followed by an OFF write, with
/// the time the relay was held closed.
pub fn pulses(board: &Board, coil: u16) -> Vec<Duration> {
    let Ok(b) = board.lock() else { return Vec::new() };
    let mut out = Vec::new();
    let mut on: Option<Instant> = None;
    for (c, state, at) in &b.writes {
        if *c != coil {
            continue;
        }
        match (state, on) {
            (true, None) => on = Some(*at),
            (false, Some(t)) => {
                out.push(at.duration_since(t));
                on = None;
            }
            _ => {}
        }
    }
    out
}
