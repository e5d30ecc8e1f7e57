//! Fixed-mount 2D scanners (QR tickets, phone screens, barcodes) on RS-232
//! or USB-CDC serial: each decoded code arrives as one line of text, ended
//! by CR, LF or CRLF, unasked (the host sends nothing).
//!
//! Empty lines (the LF of a CRLF, a scanner's keep-alive) are skipped.
//! Line noise is dropped and counted: a line that is not UTF-8 or holds a
//! control character. So is a line longer than [`MAX_LINE`] bytes: the
//! codec keeps at most that much while it waits for the end of a line,
//! then discards up to the next line end and counts one over-long line.
//!
//! Counted in [`CodecStats`]: `frames` (codes), `garbage_bytes` (bytes of
//! noisy lines), `rejected_frames` (over-long lines).

use bytes::BytesMut;
use tokio_util::codec::Decoder;

use super::CodecStats;

/// The longest code kept. A ticket is under 100 bytes, a VietQR payload
/// under 300; 1 KiB leaves room for a scanner's prefix and suffix.
pub const MAX_LINE: usize = 1024;

/// Splits a scanner's byte stream into codes.
#[derive(Debug, Default)]
pub struct ScannerCodec {
    stats: CodecStats,
    /// Bytes already searched for a line end.
    scanned: usize,
    /// Inside an over-long line: drop everything up to its end.
    discarding: bool,
}

impl ScannerCodec {
    pub fn new() -> Self {
        ScannerCodec::default()
    }

    pub fn stats(&self) -> CodecStats {
        self.stats
    }

    /// The code in one line's bytes (its end excluded), if it is one.
    fn accept(&mut self, line: &[u8]) -> Option<String> {
        // Counted as received, blanks included, as while it was arriving.
        if line.len() > MAX_LINE {
            self.stats.rejected_frames += 1;
            return None;
        }
        let text = line.trim_ascii();
        if text.is_empty() {
            return None;
        }
        match std::str::from_utf8(text) {
            Ok(code) if !code.chars().any(char::is_control) => {
                self.stats.frames += 1;
                Some(code.to_owned())
            }
            _ => {
                self.stats.garbage_bytes += line.len() as u64;
                None
            }
        }
    }
}

impl Decoder for ScannerCodec {
    type Item = String;
    type Error = std::io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<String>, std::io::Error> {
        loop {
            let from = self.scanned.min(buf.len());
            let Some(end) = buf[from..].iter().position(|b| matches!(b, b'\r' | b'\n')).map(|p| from + p) else {
                if buf.len() > MAX_LINE {
                    if !self.discarding {
                        self.stats.rejected_frames += 1;
                        self.discarding = true;
                    }
                    buf.clear();
                }
                self.scanned = buf.len();
                return Ok(None);
            };
            let line = buf.split_to(end + 1);
            self.scanned = 0;
            if std::mem::take(&mut self.discarding) {
                continue; // the tail of an over-long line
            }
            if let Some(code) = self.accept(&line[..end]) {
                return Ok(Some(code));
            }
        }
    }

    /// At the end of the stream, a last line without its end still counts.
    fn decode_eof(&mut self, buf: &mut BytesMut) -> Result<Option<String>, std::io::Error> {
        if let Some(code) = self.decode(buf)? {
            return Ok(Some(code));
        }
        let rest = buf.split();
        self.scanned = 0;
        if std::mem::take(&mut self.discarding) {
            return Ok(None);
        }
        Ok(self.accept(&rest))
    }
}

/// Every code in `bytes`, taken as the whole stream, and what was dropped.
pub fn decode_all(bytes: &[u8]) -> (Vec<String>, CodecStats) {
    let mut codec = ScannerCodec::new();
    let mut buf = BytesMut::from(bytes);
    let mut codes = Vec::new();
    while let Ok(Some(code)) = codec.decode_eof(&mut buf) {
        codes.push(code);
    }
    (codes, codec.stats())
}

#[cfg(test)]
mod tests;
