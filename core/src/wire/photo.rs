//! `…/gate/{gate}/photo`: the snapshot a lane's camera took when the
//! controller decided a gate event (an entry, an exit, a vehicle held for
//! staff), sent to the lot server to keep with the stay. The image rides
//! as base64 in the JSON, so it is one message like every other; its
//! decoded size is bounded by [`PHOTO_MAX_BYTES`].

use serde::{Deserialize, Serialize};

use super::V1;
use crate::ids::{EventId, GateId};
use crate::timestamp::Timestamp;

/// The largest image a lane sends, decoded: a 1080p JPEG from a lane
/// camera is 200–600 KiB.
pub const PHOTO_MAX_BYTES: usize = 2 * 1024 * 1024;

/// What a photo's bytes are, from their first bytes: `image/jpeg` or
/// `image/png`; anything else is not a photo.
pub fn photo_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else {
        None
    }
}

/// One lane snapshot, named by the gate event it was taken for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoMsg {
    pub v: V1,
    pub gate: GateId,
    /// The event the photo shows: the stay's entry, its exit, a hold.
    pub event_id: EventId,
    /// When the camera gave the image.
    pub at: Timestamp,
    /// `image/jpeg` or `image/png`.
    pub content_type: String,
    /// The image, base64 (standard alphabet, padded).
    pub image: String,
}
