//! The LLRP messages a client sends: set up a continuous inventory (clear
//! old ROSpecs, add, enable and start one), keepalives, and a clean close.

use super::{HEADER, VERSION, kind};

/// The inventory a lane runs: on its antennas, until stopped, each tag
/// reported as it is seen with its antenna, peak RSSI, first-seen time and
/// seen count.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoSpec {
    pub id: u32,
    /// Antenna ids, 1 and up (0 would mean every antenna).
    pub antennas: Vec<u16>,
}

/// A command to a reader.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Deletes an ROSpec (0: all of them, what an earlier client left).
    DeleteRoSpec(u32),
    AddRoSpec(RoSpec),
    EnableRoSpec(u32),
    StartRoSpec(u32),
    StopRoSpec(u32),
    /// Asks for a KEEPALIVE every `period_ms`.
    SetKeepalive {
        period_ms: u32,
    },
    /// Releases reports a reader holds for a reconnecting client.
    EnableEventsAndReports,
    KeepaliveAck,
    CloseConnection,
}

const ENABLE_EVENTS_AND_REPORTS: u16 = 64;

/// A TLV parameter of `parts` (also what a simulated reader writes).
pub(super) fn tlv(kind: u16, parts: &[&[u8]]) -> Vec<u8> {
    let len: usize = 4 + parts.iter().map(|p| p.len()).sum::<usize>();
    let mut out = Vec::with_capacity(len);
    out.extend_from_slice(&(kind & 0x3FF).to_be_bytes());
    out.extend_from_slice(&u16::try_from(len).unwrap_or(u16::MAX).to_be_bytes());
    for p in parts {
        out.extend_from_slice(p);
    }
    out
}

/// A whole message: the header for `kind` and `id`, then `body`.
pub(super) fn message(kind: u16, id: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + body.len());
    out.extend_from_slice(&((u16::from(VERSION) << 10) | kind).to_be_bytes());
    out.extend_from_slice(&u32::try_from(HEADER + body.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&id.to_be_bytes());
    out.extend_from_slice(body);
    out
}

impl RoSpec {
    /// The ROSpec parameter (177): disabled until ENABLE_ROSPEC, started by
    /// START_ROSPEC, never stopping by itself.
    fn to_param(&self) -> Vec<u8> {
        // ROSpecStartTrigger (179) and ROSpecStopTrigger (182): Null.
        let start = tlv(179, &[&[0]]);
        let stop = tlv(182, &[&[0], &0u32.to_be_bytes()]);
        let boundary = tlv(178, &[&start, &stop]);
        let mut ids = Vec::with_capacity(2 + 2 * self.antennas.len());
        ids.extend_from_slice(&u16::try_from(self.antennas.len()).unwrap_or(u16::MAX).to_be_bytes());
        for a in &self.antennas {
            ids.extend_from_slice(&a.to_be_bytes());
        }
        // AISpecStopTrigger (184): Null; InventoryParameterSpec (186): id 1,
        // EPCglobal Class 1 Gen 2.
        let ai_stop = tlv(184, &[&[0], &0u32.to_be_bytes()]);
        let inventory = tlv(186, &[&1u16.to_be_bytes(), &[1]]);
        let ai = tlv(183, &[&ids, &ai_stop, &inventory]);
        // TagReportContentSelector (238): antenna, peak RSSI, first seen,
        // seen count. ROReportSpec (237): upon each tag (N = 1).
        let selector: u16 = (1 << 12) | (1 << 10) | (1 << 9) | (1 << 7);
        let content = tlv(238, &[&selector.to_be_bytes()]);
        let report = tlv(237, &[&[1], &1u16.to_be_bytes(), &content]);
        // Priority 0, state Disabled.
        tlv(177, &[&self.id.to_be_bytes(), &[0, 0], &boundary, &ai, &report])
    }
}

impl Command {
    fn kind(&self) -> u16 {
        match self {
            Command::DeleteRoSpec(_) => kind::DELETE_ROSPEC,
            Command::AddRoSpec(_) => kind::ADD_ROSPEC,
            Command::EnableRoSpec(_) => kind::ENABLE_ROSPEC,
            Command::StartRoSpec(_) => kind::START_ROSPEC,
            Command::StopRoSpec(_) => kind::STOP_ROSPEC,
            Command::SetKeepalive { .. } => kind::SET_READER_CONFIG,
            Command::EnableEventsAndReports => ENABLE_EVENTS_AND_REPORTS,
            Command::KeepaliveAck => kind::KEEPALIVE_ACK,
            Command::CloseConnection => kind::CLOSE_CONNECTION,
        }
    }

    fn body(&self) -> Vec<u8> {
        match self {
            Command::DeleteRoSpec(id)
            | Command::EnableRoSpec(id)
            | Command::StartRoSpec(id)
            | Command::StopRoSpec(id) => id.to_be_bytes().to_vec(),
            Command::AddRoSpec(spec) => spec.to_param(),
            // ResetToFactoryDefault off; KeepaliveSpec (220): periodic.
            Command::SetKeepalive { period_ms } => {
                let mut body = vec![0];
                body.extend(tlv(220, &[&[1], &period_ms.to_be_bytes()]));
                body
            }
            Command::EnableEventsAndReports | Command::KeepaliveAck | Command::CloseConnection => Vec::new(),
        }
    }

    /// The whole message, with message id `id`.
    pub fn to_bytes(&self, id: u32) -> Vec<u8> {
        message(self.kind(), id, &self.body())
    }
}
