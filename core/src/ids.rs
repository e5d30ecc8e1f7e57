//! Identifiers: tag memory (EPC, TID), lots, gates and gate events.
//!
//! Each is a newtype with a private field and a fallible parser, so a value
//! that exists is a value that is valid. They serialise as strings.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{what} {input:?}: {reason}")]
    Invalid { what: &'static str, input: String, reason: &'static str },
}

fn invalid(what: &'static str, input: &str, reason: &'static str) -> IdError {
    IdError::Invalid { what, input: input.chars().take(80).collect(), reason }
}

/// Parses hex made of whole 16-bit words; spaces are allowed between bytes,
/// case is ignored.
fn parse_words(what: &'static str, s: &str, max_words: usize) -> Result<Box<[u8]>, IdError> {
    let hex: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if hex.is_empty() {
        return Err(invalid(what, s, "is empty"));
    }
    if !hex.iter().all(u8::is_ascii_hexdigit) {
        return Err(invalid(what, s, "has a character that is not hex"));
    }
    if hex.len() % 4 != 0 {
        return Err(invalid(what, s, "is not a whole number of 16-bit words (4 hex digits each)"));
    }
    if hex.len() / 4 > max_words {
        return Err(invalid(what, s, "is longer than the Gen2 memory bank allows"));
    }
    Ok(hex.chunks(2).map(|pair| (nibble(pair[0]) << 4) | nibble(pair[1])).collect())
}

fn nibble(h: u8) -> u8 {
    match h {
        b'0'..=b'9' => h - b'0',
        b'a'..=b'f' => h - b'a' + 10,
        // Only called on bytes already checked with is_ascii_hexdigit.
        _ => h - b'A' + 10,
    }
}

fn write_hex(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    for b in bytes {
        write!(f, "{b:02X}")?;
    }
    Ok(())
}

macro_rules! string_serde {
    ($t:ty) => {
        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $t {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str> as serde::Deserialize>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use string_serde;

/// The EPC of a Gen2 tag: what a reader reports, whole 16-bit words.
/// The PC word allows up to 31 words (496 bits); 96 bits is usual.
///
/// EPCs of up to 176 bits are stored inline, without a heap allocation:
/// a controller holds a million of them.
#[derive(Clone)]
pub struct Epc(EpcBytes);

/// Bytes kept inline: 96- and 128-bit EPCs and more fit.
const EPC_INLINE: usize = 22;

#[derive(Clone)]
enum EpcBytes {
    Inline { len: u8, bytes: [u8; EPC_INLINE] },
    Heap(Box<[u8]>),
}

impl Epc {
    /// Largest EPC the PC word's 5-bit length field can announce.
    pub const MAX_WORDS: usize = 31;

    /// Builds an EPC from raw bytes as decoded from a reader frame.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, IdError> {
        if bytes.is_empty() || bytes.len() % 2 != 0 || bytes.len() / 2 > Self::MAX_WORDS {
            return Err(invalid("EPC", "<bytes>", "must be 1 to 31 whole 16-bit words"));
        }
        Ok(Self::from_checked(bytes))
    }

    /// `bytes` is whole words within the limit (callers check).
    fn from_checked(bytes: &[u8]) -> Self {
        match u8::try_from(bytes.len()) {
            Ok(len) if bytes.len() <= EPC_INLINE => {
                let mut inline = [0u8; EPC_INLINE];
                inline[..bytes.len()].copy_from_slice(bytes);
                Epc(EpcBytes::Inline { len, bytes: inline })
            }
            _ => Epc(EpcBytes::Heap(bytes.into())),
        }
    }

    pub fn as_bytes(&self) -> &[u8] {
        match &self.0 {
            EpcBytes::Inline { len, bytes } => &bytes[..usize::from(*len)],
            EpcBytes::Heap(b) => b,
        }
    }
}

impl PartialEq for Epc {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for Epc {}

impl std::hash::Hash for Epc {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl PartialOrd for Epc {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Epc {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl FromStr for Epc {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        parse_words("EPC", s, Self::MAX_WORDS).map(|b| Epc::from_checked(&b))
    }
}

impl fmt::Display for Epc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, self.as_bytes())
    }
}

impl fmt::Debug for Epc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Epc({self})")
    }
}
string_serde!(Epc);

/// The factory-programmed TID of a tag. It cannot be rewritten, so a clone
/// of an EPC shows up with a different TID. The first byte is the ISO/IEC
/// 15963 allocation class: `E0`, `E2` (EPCglobal) or `E3`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tid(Box<[u8]>);

impl Tid {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl FromStr for Tid {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        let bytes = parse_words("TID", s, 32)?;
        if bytes.len() < 4 {
            return Err(invalid("TID", s, "is shorter than the 32-bit class and model header"));
        }
        if !matches!(bytes[0], 0xE0 | 0xE2 | 0xE3) {
            return Err(invalid("TID", s, "does not start with allocation class E0, E2 or E3"));
        }
        Ok(Tid(bytes))
    }
}

impl fmt::Display for Tid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write_hex(f, &self.0)
    }
}

impl fmt::Debug for Tid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Tid({self})")
    }
}
string_serde!(Tid);

/// Checks a slug that is used as an MQTT topic level: 1 to 32 characters of
/// `a-z`, `0-9`, `-`, `_`, starting with a letter or digit. That excludes
/// `/`, `+`, `#` and upper case, so a topic can never be ambiguous.
fn parse_slug(what: &'static str, s: &str) -> Result<Box<str>, IdError> {
    if s.is_empty() || s.len() > 32 {
        return Err(invalid(what, s, "must be 1 to 32 characters"));
    }
    if !s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_') {
        return Err(invalid(what, s, "may hold only a-z, 0-9, '-' and '_'"));
    }
    if !s.as_bytes()[0].is_ascii_alphanumeric() {
        return Err(invalid(what, s, "must start with a letter or a digit"));
    }
    Ok(s.into())
}

macro_rules! slug_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Box<str>);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                parse_slug($what, s).map($name)
            }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "({})"), self.0)
            }
        }
        string_serde!($name);
    };
}

slug_id!(
    /// A parking lot, as it appears in topics: `parking/{lot}/…`.
    LotId,
    "lot id"
);
slug_id!(
    /// A gate (one lane, entry or exit) within a lot: `parking/{lot}/gate/{gate}/…`.
    GateId,
    "gate id"
);

slug_id!(
    /// A process that publishes a status with a last will: a controller, a
    /// reader bridge, a lot server. `parking/{lot}/node/{node}/status`.
    NodeId,
    "node id"
);

/// The id of one gate event, unique across the system. The lot server
/// deduplicates on it, so a redelivered event is harmless.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct EventId(uuid::Uuid);

impl EventId {
    /// Wraps a UUID made by the caller (controllers use UUIDv7, whose time
    /// prefix keeps the journal's index ordered).
    pub fn from_uuid(id: uuid::Uuid) -> Self {
        EventId(id)
    }

    pub fn as_uuid(&self) -> uuid::Uuid {
        self.0
    }
}

impl FromStr for EventId {
    type Err = IdError;
    fn from_str(s: &str) -> Result<Self, IdError> {
        uuid::Uuid::parse_str(s).map(EventId).map_err(|_| invalid("event id", s, "is not a UUID"))
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EventId({})", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epc_parses_whole_words_only() {
        let epc: Epc = "e200 3016 6613 0121 1550 74ef".parse().unwrap();
        assert_eq!(epc.to_string(), "E200301666130121155074EF");
        assert_eq!(epc.as_bytes().len(), 12);
        assert!("E20030".parse::<Epc>().is_err(), "3 bytes is not whole words");
        assert!("".parse::<Epc>().is_err());
        assert!("E2G0".parse::<Epc>().is_err());
        assert!("00".repeat(64).parse::<Epc>().is_err(), "32 words exceed the PC length field");
        assert!("00".repeat(62).parse::<Epc>().is_ok());
        assert_eq!(Epc::from_bytes(&[0xE2, 0x00]).unwrap().to_string(), "E200");
        assert!(Epc::from_bytes(&[0xE2]).is_err());
        // Long EPCs (over the inline size) behave the same.
        let long: Epc = "AB".repeat(62).parse().unwrap();
        assert_eq!(long.as_bytes().len(), 62);
        assert_eq!(long, Epc::from_bytes(&[0xAB; 62]).unwrap());
        assert!(long < epc, "ordered by bytes: AB.. before E2..");
        assert_eq!(std::mem::size_of::<Epc>(), 24, "inline, no heap for common EPCs");
    }

    #[test]
    fn tid_checks_allocation_class() {
        let tid: Tid = "E2801105200074A5".parse().unwrap();
        assert_eq!(tid.to_string(), "E2801105200074A5");
        let err = "12801105".parse::<Tid>().unwrap_err().to_string();
        assert!(err.contains("allocation class"), "{err}");
        assert!("E280".parse::<Tid>().is_err(), "too short");
    }

    #[test]
    fn slugs_refuse_topic_characters() {
        assert!("hn-hoan-kiem-01".parse::<LotId>().is_ok());
        for bad in ["", "a/b", "a+b", "#", "Upper", "-lead", &"x".repeat(33)] {
            assert!(bad.parse::<GateId>().is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn ids_round_trip_through_json() {
        let epc: Epc = "E200301666130121155074EF".parse().unwrap();
        let json = serde_json::to_string(&epc).unwrap();
        assert_eq!(json, "\"E200301666130121155074EF\"");
        assert_eq!(serde_json::from_str::<Epc>(&json).unwrap(), epc);
        let err = serde_json::from_str::<GateId>("\"Bad/Gate\"").unwrap_err().to_string();
        assert!(err.contains("gate id"), "{err}");
        let id: EventId = "0191c2a4-7d3e-7000-8000-000000000001".parse().unwrap();
        assert_eq!(serde_json::from_str::<EventId>(&serde_json::to_string(&id).unwrap()).unwrap(), id);
    }
}
