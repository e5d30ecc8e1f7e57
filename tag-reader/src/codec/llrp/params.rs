//! LLRP parameters: walking a list of TV and TLV parameters, and the ones
//! a client reads: tag reports (TagReportData with EPC-96 or EPCData,
//! antenna, peak RSSI, first-seen time, seen count), the LLRPStatus of a
//! response, and the connection attempt event. Everything else, vendor
//! Custom parameters included, is skipped by its length.

use parking_core::Epc;

use crate::codec::{FrameError, TagReport};

/// TLV parameter types read here.
mod tlv {
    pub(super) const READER_EVENT_NOTIFICATION_DATA: u16 = 246;
    pub(super) const CONNECTION_ATTEMPT_EVENT: u16 = 256;
    pub(super) const TAG_REPORT_DATA: u16 = 240;
    pub(super) const EPC_DATA: u16 = 241;
    pub(super) const LLRP_STATUS: u16 = 287;
}

/// TV parameter types read here.
mod tv {
    pub(super) const ANTENNA_ID: u8 = 1;
    pub(super) const FIRST_SEEN_UTC: u8 = 2;
    pub(super) const PEAK_RSSI: u8 = 6;
    pub(super) const TAG_SEEN_COUNT: u8 = 8;
    pub(super) const EPC_96: u8 = 13;
}

/// The value length of each TV parameter type (LLRP 1.0.1, 16.2.7.3 and
/// 16.3.1); a TV parameter carries no length of its own.
fn tv_len(kind: u8) -> Option<usize> {
    Some(match kind {
        6 => 1,
        1 | 7 | 8 | 10 | 11 | 12 | 14 | 15 | 17 | 19 | 20 => 2,
        9 | 16 | 18 => 4,
        2..=5 => 8,
        13 => 12,
        _ => return None,
    })
}

/// One parameter.
#[derive(Debug)]
enum Param<'a> {
    Tv { kind: u8, value: &'a [u8] },
    Tlv { kind: u16, body: &'a [u8] },
}

/// The parameters of a message body or of a parameter's body.
struct Params<'a>(&'a [u8]);

impl<'a> Params<'a> {
    fn next_param(&mut self) -> Result<Param<'a>, FrameError> {
        let rest = self.0;
        let first = rest[0];
        if first & 0x80 != 0 {
            let kind = first & 0x7F;
            let len = tv_len(kind).ok_or_else(|| FrameError::Contents(format!("unknown TV parameter type {kind}")))?;
            let value = rest.get(1..=len).ok_or(FrameError::Truncated { expected: 1 + len, got: rest.len() })?;
            self.0 = &rest[1 + len..];
            return Ok(Param::Tv { kind, value });
        }
        let head = rest.get(..4).ok_or(FrameError::Truncated { expected: 4, got: rest.len() })?;
        let kind = u16::from_be_bytes([head[0], head[1]]) & 0x3FF;
        let len = usize::from(u16::from_be_bytes([head[2], head[3]]));
        if len < 4 {
            return Err(FrameError::Contents(format!("parameter {kind}: length {len} is shorter than its header")));
        }
        let body = rest.get(4..len).ok_or(FrameError::Truncated { expected: len, got: rest.len() })?;
        self.0 = &rest[len..];
        Ok(Param::Tlv { kind, body })
    }
}

impl<'a> Iterator for Params<'a> {
    type Item = Result<Param<'a>, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.0.is_empty() {
            return None;
        }
        let p = self.next_param();
        if p.is_err() {
            self.0 = &[];
        }
        Some(p)
    }
}

fn u16_at(b: &[u8], at: usize) -> Result<u16, FrameError> {
    b.get(at..at + 2)
        .map(|x| u16::from_be_bytes([x[0], x[1]]))
        .ok_or(FrameError::Truncated { expected: at + 2, got: b.len() })
}

/// A tag as an LLRP reader reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LlrpTag {
    /// EPC, antenna (0: the reader did not say) and peak RSSI in dBm.
    pub report: TagReport,
    /// When the reader first saw it, in microseconds since 1970 (UTC).
    pub first_seen_us: Option<u64>,
    /// How many times it was read for this report.
    pub seen_count: Option<u16>,
}

/// The tags of an RO_ACCESS_REPORT's body.
pub(super) fn tag_reports(body: &[u8]) -> Result<Vec<LlrpTag>, FrameError> {
    let mut tags = Vec::new();
    for p in Params(body) {
        if let Param::Tlv { kind: tlv::TAG_REPORT_DATA, body } = p? {
            tags.push(tag(body)?);
        }
    }
    Ok(tags)
}

fn tag(body: &[u8]) -> Result<LlrpTag, FrameError> {
    let (mut epc, mut antenna, mut rssi, mut first_seen_us, mut seen_count) = (None, 0u8, None, None, None);
    for p in Params(body) {
        match p? {
            Param::Tv { kind: tv::EPC_96, value } => epc = Some(value),
            Param::Tlv { kind: tlv::EPC_DATA, body } => {
                let bits = usize::from(u16_at(body, 0)?);
                let bytes = body
                    .get(2..2 + bits.div_ceil(8))
                    .ok_or(FrameError::Truncated { expected: 2 + bits.div_ceil(8), got: body.len() })?;
                epc = Some(bytes);
            }
            Param::Tv { kind: tv::ANTENNA_ID, value } => {
                antenna = u8::try_from(u16::from_be_bytes([value[0], value[1]])).unwrap_or(u8::MAX);
            }
            Param::Tv { kind: tv::PEAK_RSSI, value } => rssi = Some(i16::from(i8::from_be_bytes([value[0]]))),
            Param::Tv { kind: tv::FIRST_SEEN_UTC, value } => {
                first_seen_us = value.try_into().ok().map(u64::from_be_bytes);
            }
            Param::Tv { kind: tv::TAG_SEEN_COUNT, value } => {
                seen_count = Some(u16::from_be_bytes([value[0], value[1]]))
            }
            _ => {}
        }
    }
    let epc = epc.ok_or_else(|| FrameError::Contents("a tag report without an EPC".into()))?;
    let epc = Epc::from_bytes(epc).map_err(|e| FrameError::Contents(format!("tag report: {e}")))?;
    Ok(LlrpTag { report: TagReport { epc, antenna, rssi }, first_seen_us, seen_count })
}

/// A response's LLRPStatus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Status {
    /// 0 is success (`M_Success`).
    pub code: u16,
    /// The reader's own words, when it fails.
    pub description: String,
}

impl Status {
    pub fn is_success(&self) -> bool {
        self.code == 0
    }
}

/// The LLRPStatus parameter of a response or ERROR_MESSAGE body.
pub(super) fn status(body: &[u8]) -> Result<Status, FrameError> {
    for p in Params(body) {
        if let Param::Tlv { kind: tlv::LLRP_STATUS, body } = p? {
            let code = u16_at(body, 0)?;
            let n = usize::from(u16_at(body, 2)?);
            let text = body.get(4..4 + n).ok_or(FrameError::Truncated { expected: 4 + n, got: body.len() })?;
            return Ok(Status { code, description: String::from_utf8_lossy(text).into_owned() });
        }
    }
    Err(FrameError::Contents("a response without its LLRPStatus".into()))
}

/// How a connection attempt went, as the reader says on connecting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionStatus {
    Success,
    /// Another client holds the reader (codes 1 to 4).
    Refused(u16),
}

/// The connection attempt event of a READER_EVENT_NOTIFICATION body.
pub(super) fn connection_event(body: &[u8]) -> Result<Option<ConnectionStatus>, FrameError> {
    for p in Params(body) {
        if let Param::Tlv { kind: tlv::READER_EVENT_NOTIFICATION_DATA, body } = p? {
            for q in Params(body) {
                if let Param::Tlv { kind: tlv::CONNECTION_ATTEMPT_EVENT, body } = q? {
                    return Ok(Some(match u16_at(body, 0)? {
                        0 => ConnectionStatus::Success,
                        n => ConnectionStatus::Refused(n),
                    }));
                }
            }
        }
    }
    Ok(None)
}
