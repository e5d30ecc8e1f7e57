//! Any bytes, in any chunking, through the QR scanner's line codec: it must
//! never panic, never hold more than one line, never yield an empty or
//! over-long code, and find the same codes as when it gets them all at once.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tag_reader::codec::scanner::{MAX_LINE, ScannerCodec, decode_all};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&chunk, stream)) = data.split_first() else { return };
    let (whole, _) = decode_all(stream);
    let chunk = usize::from(chunk).max(1);
    let mut codec = ScannerCodec::new();
    let mut buf = BytesMut::new();
    let mut codes = Vec::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Ok(Some(code)) = codec.decode(&mut buf) {
            codes.push(code);
        }
        assert!(buf.len() <= MAX_LINE + chunk, "held {} bytes", buf.len());
    }
    while let Ok(Some(code)) = codec.decode_eof(&mut buf) {
        codes.push(code);
    }
    assert!(buf.is_empty());
    assert!(codes.iter().all(|c| !c.is_empty() && c.len() <= MAX_LINE));
    assert_eq!(codes, whole, "chunking changed the codes");
});
