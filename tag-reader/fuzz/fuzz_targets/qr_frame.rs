//! Any bytes as a camera frame: as an encoded image (PNG, JPEG…) or as raw
//! grayscale pixels. Decoding answers codes or an error, never a panic
//! that escapes (the QR decoder's own panics are caught and counted by
//! `tag_reader::qr`, so the panic hook is quietened for them; a panic that
//! escapes still fails the run).
#![no_main]

use libfuzzer_sys::fuzz_target;
use tag_reader::qr::{decode_encoded, decode_raw};

fuzz_target!(|data: &[u8]| {
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Some((&mode, rest)) = data.split_first() else { return };
    if mode & 1 == 0 {
        let _ = decode_encoded(rest);
        return;
    }
    let Some((&w, luma)) = rest.split_first() else { return };
    let width = u32::from(w).max(1);
    let height = u32::try_from(luma.len()).unwrap_or(0) / width;
    let used = usize::try_from(width * height).unwrap_or(0);
    if let Ok(decoded) = decode_raw(width, height, &luma[..used]) {
        assert!(decoded.codes.len() <= 64, "{} codes in a {width}x{height} frame", decoded.codes.len());
    }
});
