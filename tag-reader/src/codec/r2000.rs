//! The R2000-family serial protocol (Impinj R2000 modules: IND903, YR903
//! and many fixed readers).
//!
//! Frame: `A0 | Len | Addr | Cmd | Data… | Check`, where `Len` counts every
//! byte after itself and `Check` is the two's complement of the byte sum of
//! everything before it. Real-time inventory (`0x89`) answers with one tag
//! report per tag seen and an end-of-round frame.

use bytes::{BufMut, BytesMut};
use parking_core::Epc;
use tokio_util::codec::{Decoder, Encoder};

use super::{CodecStats, FrameError, Framing, Resync, Scan, TagReport};

pub const HEAD: u8 = 0xA0;
pub const CMD_REALTIME_INVENTORY: u8 = 0x89;
pub const CMD_SESSION_INVENTORY: u8 = 0x8B;
pub const CMD_SET_ANTENNA: u8 = 0x74;
pub const CMD_FIRMWARE_VERSION: u8 = 0x72;

/// `(!sum + 1) & 0xFF` over `bytes`.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |acc, b| acc.wrapping_add(*b)).wrapping_neg()
}

/// A decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum R2000Frame {
    /// One tag from an inventory (`0x89` or `0x8B`).
    Tag { addr: u8, freq: u8, pc: u16, report: TagReport },
    /// The end of an inventory round.
    EndOfRound { addr: u8, antenna: u8, read_rate: u16, total_reads: u32 },
    /// Any other frame: a command echo, an error code, a reply to a
    /// command this crate does not interpret.
    Other { addr: u8, cmd: u8, data: Vec<u8> },
}

impl R2000Frame {
    pub fn tags(&self) -> Vec<&TagReport> {
        match self {
            R2000Frame::Tag { report, .. } => vec![report],
            _ => Vec::new(),
        }
    }
}

/// A command to the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum R2000Command {
    /// Inventory in real time for this many rounds.
    RealTimeInventory {
        rounds: u8,
    },
    SetWorkingAntenna {
        antenna: u8,
    },
    FirmwareVersion,
}

impl R2000Command {
    /// The frame for reader `addr` (`0x01` by default, `0xFF` broadcast).
    pub fn to_frame(self, addr: u8) -> Vec<u8> {
        let (cmd, data): (u8, &[u8]) = match self {
            R2000Command::RealTimeInventory { rounds } => (CMD_REALTIME_INVENTORY, &[rounds][..]),
            R2000Command::SetWorkingAntenna { antenna } => (CMD_SET_ANTENNA, &[antenna][..]),
            R2000Command::FirmwareVersion => (CMD_FIRMWARE_VERSION, &[][..]),
        };
        let mut f = vec![HEAD, u8::try_from(data.len() + 3).unwrap_or(u8::MAX), addr, cmd];
        f.extend_from_slice(data);
        f.push(checksum(&f));
        f
    }
}

/// The length a frame starting at `buf` would have, if it starts with a head.
pub(crate) fn frame_len(buf: &[u8]) -> Option<usize> {
    match buf {
        [HEAD, len, ..] if *len >= 3 => Some(usize::from(*len) + 2),
        _ => None,
    }
}

/// Looks for one frame at the start of `buf`.
pub(crate) fn scan(buf: &[u8]) -> Scan<R2000Frame> {
    let Some(&head) = buf.first() else { return Scan::Incomplete };
    if head != HEAD {
        return Scan::NoHead;
    }
    let Some(&len) = buf.get(1) else { return Scan::Incomplete };
    if len < 3 {
        return Scan::NoHead; // Addr, Cmd and Check at the least
    }
    let total = usize::from(len) + 2;
    if buf.len() < total {
        return Scan::Incomplete;
    }
    let frame = &buf[..total];
    if checksum(&frame[..total - 1]) != frame[total - 1] {
        return Scan::BadChecksum;
    }
    match interpret(frame[2], frame[3], &frame[4..total - 1]) {
        Ok(f) => Scan::Frame(f, total),
        Err(e) => Scan::Rejected(total, e),
    }
}

fn interpret(addr: u8, cmd: u8, data: &[u8]) -> Result<R2000Frame, FrameError> {
    let inventory = cmd == CMD_REALTIME_INVENTORY || cmd == CMD_SESSION_INVENTORY;
    if inventory && data.len() == 7 {
        let read_rate = u16::from_be_bytes([data[1], data[2]]);
        let total_reads = u32::from_be_bytes([data[3], data[4], data[5], data[6]]);
        return Ok(R2000Frame::EndOfRound { addr, antenna: data[0], read_rate, total_reads });
    }
    if inventory && data.len() >= 6 {
        // FreqAnt, PC(2), EPC(n), RSSI
        let freq_ant = data[0];
        let pc = u16::from_be_bytes([data[1], data[2]]);
        let epc_bytes = &data[3..data.len() - 1];
        let words = usize::from((pc >> 11) & 0x1F);
        if words * 2 != epc_bytes.len() {
            return Err(FrameError::Contents(format!(
                "PC {pc:#06X} announces {words} EPC words but the frame carries {} bytes",
                epc_bytes.len()
            )));
        }
        let epc = Epc::from_bytes(epc_bytes).map_err(|e| FrameError::Contents(e.to_string()))?;
        let rssi = Some(i16::from(data[data.len() - 1]));
        let report = TagReport { epc, antenna: freq_ant & 0x03, rssi };
        return Ok(R2000Frame::Tag { addr, freq: freq_ant >> 2, pc, report });
    }
    Ok(R2000Frame::Other { addr, cmd, data: data.to_vec() })
}

/// Parses exactly one frame: no bytes before or after it.
pub fn parse_frame(bytes: &[u8]) -> Result<R2000Frame, FrameError> {
    let head = *bytes.first().ok_or(FrameError::Empty)?;
    if head != HEAD {
        return Err(FrameError::NoHead(HEAD));
    }
    let len = *bytes.get(1).ok_or(FrameError::Truncated { expected: 2, got: 1 })?;
    if len < 3 {
        return Err(FrameError::BadLength(len));
    }
    let total = usize::from(len) + 2;
    if bytes.len() < total {
        return Err(FrameError::Truncated { expected: total, got: bytes.len() });
    }
    if bytes.len() > total {
        return Err(FrameError::Trailing(bytes.len() - total));
    }
    let computed = checksum(&bytes[..total - 1]);
    if computed != bytes[total - 1] {
        return Err(FrameError::Checksum { computed: computed.into(), carried: bytes[total - 1].into() });
    }
    interpret(bytes[2], bytes[3], &bytes[4..total - 1])
}

/// The R2000 codec: decodes reader frames, encodes commands.
#[derive(Debug, Default)]
pub struct R2000Codec {
    /// Reader address commands are sent to.
    pub addr: u8,
    resync: Resync,
}

impl R2000Codec {
    pub fn new(addr: u8) -> Self {
        R2000Codec { addr, resync: Resync::default() }
    }

    /// What the codec decoded and dropped so far.
    pub fn stats(&self) -> CodecStats {
        self.resync.stats
    }
}

struct R2000Framing;

impl Framing for R2000Framing {
    type Frame = R2000Frame;

    fn scan(buf: &[u8]) -> Scan<R2000Frame> {
        scan(buf)
    }

    fn frame_len(buf: &[u8]) -> Option<usize> {
        frame_len(buf)
    }
    fn garbage_run(buf: &[u8]) -> usize {
        // Skip the whole run of bytes that cannot start a frame.
        buf.iter().skip(1).position(|b| *b == HEAD).map_or(buf.len(), |p| p + 1)
    }
}

impl Decoder for R2000Codec {
    type Item = R2000Frame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<R2000Frame>, std::io::Error> {
        Ok(self.resync.decode::<R2000Framing>(buf))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<R2000Frame>, std::io::Error> {
        Ok(self.resync.decode_eof::<R2000Framing>(buf))
    }
}

impl Encoder<R2000Command> for R2000Codec {
    type Error = std::io::Error;

    fn encode(&mut self, cmd: R2000Command, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        dst.put_slice(&cmd.to_frame(self.addr));
        Ok(())
    }
}

#[cfg(test)]
#[path = "r2000/tests.rs"]
mod tests;
