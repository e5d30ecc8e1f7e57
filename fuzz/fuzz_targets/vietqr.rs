//! Any text as a scanned VietQR: decoding never panics, and what decodes
//! encodes again to a payload that decodes to the same thing.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parking_core::vietqr::VietQr;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(qr) = VietQr::decode(text) else { return };
    if let Ok(again) = qr.encode() {
        let back = VietQr::decode(&again).expect("a re-encoded VietQR decodes");
        assert_eq!(back, qr, "a VietQR changed through encode and decode");
    }
});
