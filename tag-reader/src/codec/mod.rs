//! Serial reader protocols as tokio-util codecs, plus the Wiegand decoder
//! and the line codec of QR scanners.
//!
//! Each protocol has a strict parser for one frame (used by the codec and
//! by `tag-reader decode-frames`) and a codec over a byte stream. The codec
//! resynchronises after garbage, a truncated frame or a bad checksum by
//! dropping one byte and looking for the next plausible frame head; it
//! counts what it dropped. A frame is at most 257 bytes (one length byte),
//! so the codec never buffers more than that while waiting, and never
//! panics on any input (fuzzed).
//!
//! Layout:
//! - [`r2000`]: Impinj R2000-family readers;
//! - [`chafon`]: Chafon CF-RU5102 / "UHFReader18";
//! - [`llrp`]: LLRP, the fixed readers' binary protocol over TCP (its
//!   messages are length-framed, not resynchronised);
//! - [`scanner`]: fixed-mount QR and barcode scanners, a code per line;
//! - [`wiegand`]: Wiegand 26 and 34 bit strings.

pub mod chafon;
pub mod llrp;
pub mod r2000;
pub mod scanner;
pub mod wiegand;

use bytes::{Buf, BytesMut};
use parking_core::Epc;

/// One tag as a reader reported it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagReport {
    pub epc: Epc,
    pub antenna: u8,
    /// The reader's RSSI figure, in its own units; `None` where the
    /// protocol does not report one.
    pub rssi: Option<i16>,
}

/// What a codec dropped while resynchronising, by cause.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CodecStats {
    /// Frames decoded.
    pub frames: u64,
    /// Bytes skipped because no plausible frame started there.
    pub garbage_bytes: u64,
    /// Frame heads whose checksum failed (one byte dropped each).
    pub bad_checksums: u64,
    /// Frames with a good checksum but contents that make no sense (an EPC
    /// length that disagrees with its PC word, say), dropped whole.
    pub rejected_frames: u64,
}

impl CodecStats {
    /// Everything dropped, in bytes or frames.
    pub fn discarded(&self) -> u64 {
        self.garbage_bytes + self.bad_checksums + self.rejected_frames
    }
}

/// Outcome of looking for one frame at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scan<F> {
    /// A frame of `len` bytes.
    Frame(F, usize),
    /// The start looks like a frame that has not fully arrived.
    Incomplete,
    /// No frame starts here; drop one byte and look again.
    NoHead,
    /// The checksum failed; drop one byte and look again.
    BadChecksum,
    /// A checked frame with meaningless contents; drop `len` bytes.
    Rejected(usize, FrameError),
}

/// When the frame at the start of `buf` is incomplete, the offset of a
/// later complete frame with a good checksum, if any. A false head (noise
/// that reads as a head with a large length) would otherwise hold up the
/// real frames behind it until enough bytes arrived to disprove it, and a
/// reader that waits for its next command never sends them.
///
/// Each candidate is checked once, in the call in which its last byte
/// arrives (`checked` is the buffer length at the previous call), so the
/// work per received byte is bounded by one frame's checksum.
pub(crate) fn later_frame<F>(
    buf: &[u8],
    checked: usize,
    frame_len: impl Fn(&[u8]) -> Option<usize>,
    scan: impl Fn(&[u8]) -> Scan<F>,
) -> Option<usize> {
    (1..buf.len()).find(|&p| {
        let Some(end) = frame_len(&buf[p..]).map(|len| p + len) else { return false };
        end <= buf.len() && end > checked && matches!(scan(&buf[p..]), Scan::Frame(..) | Scan::Rejected(..))
    })
}

/// How a protocol's frames are found in a stream.
pub(crate) trait Framing {
    type Frame;
    /// Looks for one frame at the start of the buffer.
    fn scan(buf: &[u8]) -> Scan<Self::Frame>;
    /// The length a frame starting here would have, if it is plausible.
    fn frame_len(buf: &[u8]) -> Option<usize>;
    /// How many bytes to drop when no frame starts at the first one.
    fn garbage_run(buf: &[u8]) -> usize {
        buf.len().min(1)
    }
}

/// The resynchronising decode loop every protocol shares.
#[derive(Debug, Default)]
pub(crate) struct Resync {
    pub(crate) stats: CodecStats,
    /// Buffer length already searched for a later frame (see `later_frame`).
    checked: usize,
}

impl Resync {
    fn advance(&mut self, buf: &mut BytesMut, n: usize) {
        self.checked = self.checked.saturating_sub(n);
        buf.advance(n);
    }

    pub(crate) fn decode<P: Framing>(&mut self, buf: &mut BytesMut) -> Option<P::Frame> {
        loop {
            match P::scan(buf) {
                Scan::Frame(frame, len) => {
                    self.advance(buf, len);
                    self.stats.frames += 1;
                    return Some(frame);
                }
                Scan::Incomplete => match later_frame(buf, self.checked, P::frame_len, P::scan) {
                    Some(skip) => {
                        self.advance(buf, skip);
                        self.stats.garbage_bytes += skip as u64;
                    }
                    None => {
                        self.checked = buf.len();
                        return None;
                    }
                },
                Scan::NoHead => {
                    let skip = P::garbage_run(buf).max(1);
                    self.advance(buf, skip);
                    self.stats.garbage_bytes += skip as u64;
                }
                Scan::BadChecksum => {
                    self.advance(buf, 1);
                    self.stats.bad_checksums += 1;
                }
                Scan::Rejected(len, _) => {
                    self.advance(buf, len);
                    self.stats.rejected_frames += 1;
                }
            }
        }
    }

    /// At the end of the stream, what is left cannot become a frame: count
    /// it as garbage instead of failing the stream.
    pub(crate) fn decode_eof<P: Framing>(&mut self, buf: &mut BytesMut) -> Option<P::Frame> {
        if let Some(frame) = self.decode::<P>(buf) {
            return Some(frame);
        }
        self.stats.garbage_bytes += buf.len() as u64;
        buf.clear();
        self.checked = 0;
        None
    }
}

/// Why a single frame was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("empty frame")]
    Empty,
    #[error("does not start with the frame head {0:#04X}")]
    NoHead(u8),
    #[error("length byte {0} is too small for a frame")]
    BadLength(u8),
    #[error("truncated: the length byte says {expected} bytes, got {got}")]
    Truncated { expected: usize, got: usize },
    #[error("{0} bytes after the end of the frame")]
    Trailing(usize),
    #[error("checksum mismatch: computed {computed:#06X}, frame carries {carried:#06X}")]
    Checksum { computed: u16, carried: u16 },
    #[error("{0}")]
    Contents(String),
}

/// Parses hex with optional spaces (`A0 04 01 89 01 D1`).
pub fn parse_hex(line: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = line.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err("odd number of hex digits".into());
    }
    digits
        .chunks(2)
        .map(|pair| {
            std::str::from_utf8(pair)
                .ok()
                .and_then(|s| u8::from_str_radix(s, 16).ok())
                .ok_or_else(|| format!("not hex: {:?}", String::from_utf8_lossy(pair)))
        })
        .collect()
}
