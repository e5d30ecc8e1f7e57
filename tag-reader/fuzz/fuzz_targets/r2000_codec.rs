//! Any bytes, in any chunking, through the R2000 codec: it must never panic,
//! never buffer more than one frame, and parse_frame must agree with it.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tag_reader::codec::r2000::{R2000Codec, parse_frame};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let _ = parse_frame(data);
    let Some((&chunk, stream)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let mut codec = R2000Codec::new(0);
    let mut buf = BytesMut::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Ok(Some(_)) = codec.decode(&mut buf) {}
        assert!(buf.len() <= 257, "buffered {} bytes", buf.len());
    }
    let _ = codec.decode_eof(&mut buf);
    assert!(buf.is_empty());
});
