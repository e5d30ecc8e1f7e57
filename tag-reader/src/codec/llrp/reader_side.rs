//! What a reader sends, for the simulated readers of tests and `sim`: the
//! connection attempt event, a response with its status, tag reports and
//! keepalives. The inverse of `params`, written with `encode`'s message and
//! parameter writers after the same sections of LLRP 1.0.1 (and checked
//! against it by the round-trip tests).

use super::encode::{message, tlv};
use super::kind;

/// READER_EVENT_NOTIFICATION with a connection attempt event of `status`
/// (0: success), stamped `now_us`.
pub fn connection_event(status: u16, now_us: u64) -> Vec<u8> {
    let stamp = tlv(128, &[&now_us.to_be_bytes()]);
    let event = tlv(256, &[&status.to_be_bytes()]);
    message(kind::READER_EVENT_NOTIFICATION, 0, &tlv(246, &[&stamp, &event]))
}

/// The response of type `kind` to message `id`, with status `code`.
pub fn response(kind: u16, id: u32, code: u16, description: &str) -> Vec<u8> {
    let text = description.as_bytes();
    let mut status = code.to_be_bytes().to_vec();
    status.extend_from_slice(&u16::try_from(text.len()).unwrap_or(u16::MAX).to_be_bytes());
    status.extend_from_slice(text);
    message(kind, id, &tlv(287, &[&status]))
}

/// One tag of a report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenTag {
    /// 12 bytes go as EPC-96, any other length as EPCData.
    pub epc: Vec<u8>,
    pub antenna: u16,
    pub rssi: i8,
    pub first_seen_us: u64,
}

/// RO_ACCESS_REPORT of `tags`.
pub fn report(id: u32, tags: &[SeenTag]) -> Vec<u8> {
    let mut body = Vec::new();
    for t in tags {
        let mut data = Vec::new();
        if t.epc.len() == 12 {
            data.push(0x80 | 13);
            data.extend_from_slice(&t.epc);
        } else {
            let bits = u16::try_from(t.epc.len() * 8).unwrap_or(u16::MAX);
            data.extend(tlv(241, &[&bits.to_be_bytes(), &t.epc]));
        }
        data.push(0x80 | 1);
        data.extend_from_slice(&t.antenna.to_be_bytes());
        data.push(0x80 | 6);
        data.extend_from_slice(&t.rssi.to_be_bytes());
        data.push(0x80 | 2);
        data.extend_from_slice(&t.first_seen_us.to_be_bytes());
        body.extend(tlv(240, &[&data]));
    }
    message(kind::RO_ACCESS_REPORT, id, &body)
}

/// KEEPALIVE.
pub fn keepalive(id: u32) -> Vec<u8> {
    message(kind::KEEPALIVE, id, &[])
}

/// The response type a reader answers command type `kind` with, if any.
pub fn response_kind(command: u16) -> Option<u16> {
    Some(match command {
        kind::DELETE_ROSPEC => kind::DELETE_ROSPEC_RESPONSE,
        kind::ADD_ROSPEC => kind::ADD_ROSPEC_RESPONSE,
        kind::ENABLE_ROSPEC => kind::ENABLE_ROSPEC_RESPONSE,
        kind::START_ROSPEC => kind::START_ROSPEC_RESPONSE,
        kind::STOP_ROSPEC => kind::STOP_ROSPEC_RESPONSE,
        kind::SET_READER_CONFIG => kind::SET_READER_CONFIG_RESPONSE,
        kind::CLOSE_CONNECTION => kind::CLOSE_CONNECTION_RESPONSE,
        _ => return None,
    })
}
