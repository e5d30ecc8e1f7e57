//! Any text through the Wiegand decoder: never a panic; whatever decodes
//! re-encodes to the same bits.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tag_reader::codec::wiegand::{decode, encode};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(card) = decode(text) {
        let bits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(encode(card.bits, card.facility, card.card).as_deref(), Some(bits.as_str()));
    }
});
