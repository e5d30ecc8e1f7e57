//! Wire messages: every message that crosses MQTT or HTTP between the
//! parts, as serde types encoded in JSON, each with a schema version `v`.
//!
//! Layout:
//! - [`topics`]: the topic scheme `parking/{lot}/…`, built and parsed;
//! - [`gate`]: reader reads, loop events, gate events and their acks,
//!   commands to a lane, the barrier, the lane display;
//! - [`status`]: a lane's status and a process's online flag;
//! - [`photo`]: a lane snapshot taken for a gate event;
//! - [`lists`]: the allow/deny lists, passes and tariff the server
//!   publishes to controllers, as retained snapshots and increments;
//! - [`acl`]: who may publish and read which topics, per kind of node.
//!
//! A receiver refuses a message whose `v` it does not know rather than
//! guess at its meaning; see [`V1`].

pub mod acl;
pub mod gate;
pub mod lists;
pub mod photo;
pub mod status;
pub mod topics;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use gate::*;
pub use lists::*;
pub use photo::*;
pub use status::*;
pub use topics::{GateTopic, LotTopic, Topic, TopicError, Topics};

/// The schema version field, `"v": 1`. It serialises as the number 1 and
/// refuses any other number with a message that names the version seen.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct V1;

impl Serialize for V1 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(1)
    }
}

impl<'de> Deserialize<'de> for V1 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u64::deserialize(d)? {
            1 => Ok(V1),
            other => Err(serde::de::Error::custom(format!(
                "schema version {other} is not supported (this build speaks version 1)"
            ))),
        }
    }
}

/// Why a payload could not be decoded.
#[derive(Debug, thiserror::Error)]
#[error("{what}: {source}")]
pub struct DecodeError {
    what: &'static str,
    source: serde_json::Error,
}

/// Decodes a JSON payload into a wire type, naming the type in the error.
pub fn decode<T: serde::de::DeserializeOwned>(payload: &[u8]) -> Result<T, DecodeError> {
    serde_json::from_slice(payload).map_err(|source| DecodeError { what: std::any::type_name::<T>(), source })
}

/// Encodes a wire type as compact JSON.
pub fn encode<T: Serialize>(msg: &T) -> Vec<u8> {
    // Serialising these types cannot fail: every map key is a string and
    // no type has a fallible Serialize impl.
    serde_json::to_vec(msg).unwrap_or_default()
}

#[cfg(test)]
mod tests;
