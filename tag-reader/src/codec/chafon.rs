//! The Chafon CF-RU5102 / "UHFReader18" serial protocol.
//!
//! Command: `Len Adr Cmd Data… CRC-LSB CRC-MSB`; response: `Len Adr ReCmd
//! Status Data… CRC-LSB CRC-MSB`. `Len` counts the bytes after itself. The
//! CRC-16 has preset `0xFFFF` and reflected polynomial `0x8408`, over `Len`
//! through the end of `Data`. Inventory (`0x01`) answers `Num` then
//! `{EPCLen, EPC}` per tag; status `0x03` means more frames follow. There
//! is no sync byte, so resynchronisation leans on the CRC.

use bytes::{BufMut, BytesMut};
use parking_core::Epc;
use tokio_util::codec::{Decoder, Encoder};

use super::{CodecStats, FrameError, Framing, Resync, Scan, TagReport};

pub const CMD_INVENTORY: u8 = 0x01;
pub const CMD_READER_INFO: u8 = 0x21;
/// Inventory finished within its scan time.
pub const STATUS_DONE: u8 = 0x01;
/// Inventory stopped when its scan time ran out.
pub const STATUS_TIMEOUT: u8 = 0x02;
/// More frames of this inventory follow.
pub const STATUS_MORE: u8 = 0x03;
/// The reader's buffer filled up.
pub const STATUS_FULL: u8 = 0x04;
/// No tag answered.
pub const STATUS_NO_TAG: u8 = 0xFB;

/// CRC-16 as the reader computes it (preset 0xFFFF, reflected 0x8408).
pub fn crc16(bytes: &[u8]) -> u16 {
    bytes.iter().fold(0xFFFF, |crc, b| (crc >> 8) ^ CRC_TABLE[usize::from(crc.to_le_bytes()[0] ^ b)])
}

#[allow(clippy::cast_possible_truncation)] // i < 256 fits a u16
const CRC_TABLE: [u16; 256] = {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u16;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0x8408 } else { crc >> 1 };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
};

/// A decoded frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ChafonFrame {
    /// An inventory response: the tags in this frame, and whether more
    /// frames of the same inventory follow.
    Inventory { addr: u8, status: u8, tags: Vec<TagReport> },
    /// Any other response.
    Response { addr: u8, cmd: u8, status: u8, data: Vec<u8> },
    /// A command frame (host to reader), as `decode-frames` may be given.
    Command { addr: u8, cmd: u8, data: Vec<u8> },
}

impl ChafonFrame {
    pub fn tags(&self) -> Vec<&TagReport> {
        match self {
            ChafonFrame::Inventory { tags, .. } => tags.iter().collect(),
            _ => Vec::new(),
        }
    }

    /// Whether more frames of this inventory follow.
    pub fn more_follows(&self) -> bool {
        matches!(self, ChafonFrame::Inventory { status: STATUS_MORE, .. })
    }
}

/// A command to the reader.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChafonCommand {
    Inventory,
    ReaderInfo,
}

impl ChafonCommand {
    /// The frame for reader `addr` (`0x00` by default, `0xFF` broadcast).
    pub fn to_frame(self, addr: u8) -> Vec<u8> {
        let cmd = match self {
            ChafonCommand::Inventory => CMD_INVENTORY,
            ChafonCommand::ReaderInfo => CMD_READER_INFO,
        };
        let mut f = vec![4, addr, cmd];
        f.extend_from_slice(&crc16(&f).to_le_bytes());
        f
    }
}

fn interpret(frame: &[u8], response: bool) -> Result<ChafonFrame, FrameError> {
    let body = &frame[1..frame.len() - 2];
    let (addr, cmd) = (body[0], body[1]);
    if !response {
        return Ok(ChafonFrame::Command { addr, cmd, data: body[2..].to_vec() });
    }
    let status = body[2];
    let data = &body[3..];
    let inventory_status = matches!(status, STATUS_DONE | STATUS_TIMEOUT | STATUS_MORE | STATUS_FULL);
    if cmd != CMD_INVENTORY || !inventory_status {
        return Ok(ChafonFrame::Response { addr, cmd, status, data: data.to_vec() });
    }
    let (&num, mut rest) = data.split_first().ok_or_else(|| FrameError::Contents("inventory without Num".into()))?;
    let mut tags = Vec::with_capacity(usize::from(num));
    for i in 0..num {
        let (&len, after) = rest
            .split_first()
            .ok_or_else(|| FrameError::Contents(format!("Num says {num} tags, data ends after {i}")))?;
        let len = usize::from(len);
        if after.len() < len {
            return Err(FrameError::Contents(format!("tag {i}: EPCLen {len} runs past the data")));
        }
        let epc = Epc::from_bytes(&after[..len]).map_err(|e| FrameError::Contents(format!("tag {i}: {e}")))?;
        tags.push(TagReport { epc, antenna: 0, rssi: None });
        rest = &after[len..];
    }
    if !rest.is_empty() {
        return Err(FrameError::Contents(format!("{} bytes after the last tag", rest.len())));
    }
    Ok(ChafonFrame::Inventory { addr, status, tags })
}

/// The length a frame starting at `buf` would have, if it is plausible.
pub(crate) fn frame_len(buf: &[u8]) -> Option<usize> {
    buf.first().filter(|len| **len >= 5).map(|len| usize::from(*len) + 1)
}

/// Looks for one response frame at the start of `buf`.
pub(crate) fn scan(buf: &[u8]) -> Scan<ChafonFrame> {
    let Some(&len) = buf.first() else { return Scan::Incomplete };
    if len < 5 {
        return Scan::NoHead; // Adr, ReCmd, Status and the CRC at the least
    }
    let total = usize::from(len) + 1;
    if buf.len() < total {
        return Scan::Incomplete;
    }
    let frame = &buf[..total];
    let carried = u16::from_le_bytes([frame[total - 2], frame[total - 1]]);
    if crc16(&frame[..total - 2]) != carried {
        return Scan::BadChecksum;
    }
    match interpret(frame, true) {
        Ok(f) => Scan::Frame(f, total),
        Err(e) => Scan::Rejected(total, e),
    }
}

/// Parses exactly one frame, command or response: no bytes around it.
pub fn parse_frame(bytes: &[u8]) -> Result<ChafonFrame, FrameError> {
    let len = *bytes.first().ok_or(FrameError::Empty)?;
    if len < 4 {
        return Err(FrameError::BadLength(len));
    }
    let total = usize::from(len) + 1;
    if bytes.len() < total {
        return Err(FrameError::Truncated { expected: total, got: bytes.len() });
    }
    if bytes.len() > total {
        return Err(FrameError::Trailing(bytes.len() - total));
    }
    let carried = u16::from_le_bytes([bytes[total - 2], bytes[total - 1]]);
    let computed = crc16(&bytes[..total - 2]);
    if computed != carried {
        return Err(FrameError::Checksum { computed, carried });
    }
    interpret(bytes, len >= 5)
}

/// The Chafon codec: decodes responses, encodes commands.
#[derive(Debug, Default)]
pub struct ChafonCodec {
    /// Reader address commands are sent to.
    pub addr: u8,
    resync: Resync,
}

impl ChafonCodec {
    pub fn new(addr: u8) -> Self {
        ChafonCodec { addr, resync: Resync::default() }
    }

    /// What the codec decoded and dropped so far.
    pub fn stats(&self) -> CodecStats {
        self.resync.stats
    }
}

struct ChafonFraming;

impl Framing for ChafonFraming {
    type Frame = ChafonFrame;

    fn scan(buf: &[u8]) -> Scan<ChafonFrame> {
        scan(buf)
    }

    fn frame_len(buf: &[u8]) -> Option<usize> {
        frame_len(buf)
    }
}

impl Decoder for ChafonCodec {
    type Item = ChafonFrame;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<ChafonFrame>, std::io::Error> {
        Ok(self.resync.decode::<ChafonFraming>(buf))
    }

    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<ChafonFrame>, std::io::Error> {
        Ok(self.resync.decode_eof::<ChafonFraming>(buf))
    }
}

impl Encoder<ChafonCommand> for ChafonCodec {
    type Error = std::io::Error;

    fn encode(&mut self, cmd: ChafonCommand, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        dst.put_slice(&cmd.to_frame(self.addr));
        Ok(())
    }
}

#[cfg(test)]
#[path = "chafon/tests.rs"]
mod tests;
