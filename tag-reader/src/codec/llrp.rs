//! LLRP, the EPCglobal Low Level Reader Protocol (1.0.1): the binary
//! protocol of fixed enterprise UHF readers (Impinj Speedway and R700,
//! Zebra FX), spoken over TCP, port 5084.
//!
//! A message is a 10-byte header (3 reserved bits, a 3-bit version, a
//! 10-bit type; a 32-bit length that counts the header; a 32-bit id), then
//! parameters. A parameter is TLV (6 reserved bits, a 10-bit type, a
//! 16-bit length that counts its 4-byte header, then its fields and
//! sub-parameters) or TV (a first bit of 1, a 7-bit type, then a value
//! whose length the type fixes).
//!
//! Parts: this file (the header, the stream codec, [`Message`]), `params`
//! (walking parameters, tag reports, statuses, reader events), `encode`
//! (the commands a client sends), [`reader_side`] (what a reader sends,
//! for simulated readers).
//!
//! The stream codec never buffers more than [`MAX_MESSAGE`] bytes: a
//! header announcing a longer message, or one shorter than its own header,
//! cannot be resynchronised from (LLRP has no frame marker), so the codec
//! refuses it with a reason and the connection is closed and made again.
//! Vendor `Custom` parameters are skipped by their length.

mod encode;
mod params;
pub mod reader_side;

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

pub use encode::{Command, RoSpec};
pub use params::{ConnectionStatus, LlrpTag, Status};

use super::{CodecStats, FrameError};

/// The message header's length.
pub const HEADER: usize = 10;
/// LLRP 1.0.1.
pub const VERSION: u8 = 1;
/// The longest message taken: a report of thousands of tags fits.
pub const MAX_MESSAGE: usize = 1 << 20;

/// Message types used here (LLRP 1.0.1, section 16).
pub mod kind {
    pub const GET_READER_CONFIG_RESPONSE: u16 = 12;
    pub const SET_READER_CONFIG: u16 = 3;
    pub const SET_READER_CONFIG_RESPONSE: u16 = 13;
    pub const CLOSE_CONNECTION_RESPONSE: u16 = 4;
    pub const CLOSE_CONNECTION: u16 = 14;
    pub const ADD_ROSPEC: u16 = 20;
    pub const DELETE_ROSPEC: u16 = 21;
    pub const START_ROSPEC: u16 = 22;
    pub const STOP_ROSPEC: u16 = 23;
    pub const ENABLE_ROSPEC: u16 = 24;
    pub const ADD_ROSPEC_RESPONSE: u16 = 30;
    pub const DELETE_ROSPEC_RESPONSE: u16 = 31;
    pub const START_ROSPEC_RESPONSE: u16 = 32;
    pub const STOP_ROSPEC_RESPONSE: u16 = 33;
    pub const ENABLE_ROSPEC_RESPONSE: u16 = 34;
    pub const RO_ACCESS_REPORT: u16 = 61;
    pub const KEEPALIVE: u16 = 62;
    pub const READER_EVENT_NOTIFICATION: u16 = 63;
    pub const KEEPALIVE_ACK: u16 = 72;
    pub const ERROR_MESSAGE: u16 = 100;
    pub const CUSTOM_MESSAGE: u16 = 1023;
}

/// One message from a reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Tags seen.
    Report { id: u32, tags: Vec<LlrpTag> },
    /// The reader asks whether we are still there: answer KEEPALIVE_ACK.
    Keepalive { id: u32 },
    /// A reader event; `connection` is set for the connection attempt
    /// event a reader sends first on every new connection.
    ReaderEvent { id: u32, connection: Option<ConnectionStatus> },
    /// The answer to a command (`kind` is its response type), or an
    /// ERROR_MESSAGE, with the reader's status.
    Response { id: u32, kind: u16, status: Status },
    /// A message this client does not act on (a vendor's, say).
    Other { id: u32, kind: u16 },
}

/// The type, length and id a header announces.
fn header(buf: &[u8]) -> Result<(u16, usize, u32), FrameError> {
    if buf.len() < HEADER {
        return Err(FrameError::Truncated { expected: HEADER, got: buf.len() });
    }
    let word = u16::from_be_bytes([buf[0], buf[1]]);
    let version = (word >> 10) & 0x7;
    if version != u16::from(VERSION) {
        return Err(FrameError::Contents(format!("LLRP version {version}, not {VERSION}")));
    }
    let len = u32::from_be_bytes([buf[2], buf[3], buf[4], buf[5]]);
    let len = usize::try_from(len).unwrap_or(usize::MAX);
    if len < HEADER {
        return Err(FrameError::Contents(format!("message length {len} is shorter than its header")));
    }
    if len > MAX_MESSAGE {
        return Err(FrameError::Contents(format!("message length {len} is over the {MAX_MESSAGE}-byte limit")));
    }
    Ok((word & 0x3FF, len, u32::from_be_bytes([buf[6], buf[7], buf[8], buf[9]])))
}

/// Parses exactly one whole message.
pub fn parse_message(buf: &[u8]) -> Result<Message, FrameError> {
    if buf.is_empty() {
        return Err(FrameError::Empty);
    }
    let (kind, len, id) = header(buf)?;
    if buf.len() < len {
        return Err(FrameError::Truncated { expected: len, got: buf.len() });
    }
    if buf.len() > len {
        return Err(FrameError::Trailing(buf.len() - len));
    }
    let body = &buf[HEADER..];
    Ok(match kind {
        kind::RO_ACCESS_REPORT => Message::Report { id, tags: params::tag_reports(body)? },
        kind::KEEPALIVE => Message::Keepalive { id },
        kind::READER_EVENT_NOTIFICATION => Message::ReaderEvent { id, connection: params::connection_event(body)? },
        kind::ERROR_MESSAGE
        | kind::ADD_ROSPEC_RESPONSE
        | kind::DELETE_ROSPEC_RESPONSE
        | kind::START_ROSPEC_RESPONSE
        | kind::STOP_ROSPEC_RESPONSE
        | kind::ENABLE_ROSPEC_RESPONSE
        | kind::SET_READER_CONFIG_RESPONSE
        | kind::CLOSE_CONNECTION_RESPONSE => Message::Response { id, kind, status: params::status(body)? },
        _ => Message::Other { id, kind },
    })
}

/// LLRP over a byte stream.
#[derive(Debug, Default)]
pub struct LlrpCodec {
    stats: CodecStats,
}

impl LlrpCodec {
    pub fn new() -> Self {
        LlrpCodec::default()
    }

    pub fn stats(&self) -> CodecStats {
        self.stats
    }
}

fn refused(e: FrameError) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, format!("LLRP: {e}"))
}

impl Decoder for LlrpCodec {
    type Item = Message;
    type Error = std::io::Error;

    /// A whole message, or `None` until one has arrived. A bad header is
    /// an error (the stream cannot be trusted after it); a message whose
    /// parameters do not parse is counted and skipped by its length.
    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Message>, std::io::Error> {
        loop {
            if buf.len() < HEADER {
                return Ok(None);
            }
            let (_, len, _) = header(buf).map_err(refused)?;
            if buf.len() < len {
                buf.reserve(len - buf.len());
                return Ok(None);
            }
            let message = parse_message(&buf[..len]);
            buf.advance(len);
            match message {
                Ok(m) => {
                    self.stats.frames += 1;
                    return Ok(Some(m));
                }
                Err(e) => {
                    self.stats.rejected_frames += 1;
                    tracing::warn!(error = %e, "LLRP message skipped");
                }
            }
        }
    }
}

impl Encoder<(u32, Command)> for LlrpCodec {
    type Error = std::io::Error;

    fn encode(&mut self, (id, command): (u32, Command), dst: &mut BytesMut) -> Result<(), std::io::Error> {
        dst.extend_from_slice(&command.to_bytes(id));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
