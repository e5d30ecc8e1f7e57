//! A virtual Modbus RTU relay board on the device end of a real
//! pseudo-terminal, as a lane cabinet's 4- or 8-relay board behaves:
//! function 05 (write single coil) is echoed and logged, function 02 (read
//! discrete inputs) is answered from the loop states, and a frame with a
//! bad CRC is ignored. It keeps going when the host end closes and
//! reopens (EIO on a Linux pty while no slave is open), as a board on a
//! cable would. The simulator drives barriers through it; the end-to-end
//! tests check what the controller wrote.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use tokio_serial::SerialStream;

/// CRC-16/MODBUS, as the board computes it: the controller's own
/// function, checked against the vectors of docs/devices.md in its tests.
pub use controller::modbus::crc16 as modbus_crc;

/// One read from the device end; `None` at end of file. EIO (the host end
/// closed, between reopens) is waited out, as a device on a cable would.
pub async fn read_chunk(port: &mut SerialStream, chunk: &mut [u8]) -> Option<usize> {
    loop {
        match port.read(chunk).await {
            Ok(0) => return None,
            Ok(n) => return Some(n),
            Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
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
    /// Told of every coil switched ON: (coil, when).
    pub on_coil: Option<mpsc::UnboundedSender<(u16, Instant)>>,
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
                        let at = Instant::now();
                        b.writes.push((coil, frame[4] == 0xFF, at));
                        if frame[4] == 0xFF {
                            if let Some(tx) = &b.on_coil {
                                let _ = tx.send((coil, at));
                            }
                        }
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
