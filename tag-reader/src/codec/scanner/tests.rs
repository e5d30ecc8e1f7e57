use bytes::BytesMut;
use proptest::prelude::*;
use tokio_util::codec::Decoder;

use super::*;

const TICKET: &str = "PT1.hn-01.entry-1.64.1796669801.car.2B887BD5F81AA5D401A6";

/// Feeds `chunks` one after another, as a UART delivers them.
fn feed(chunks: &[&[u8]]) -> (Vec<String>, CodecStats) {
    let mut codec = ScannerCodec::new();
    let mut buf = BytesMut::new();
    let mut codes = Vec::new();
    for chunk in chunks {
        buf.extend_from_slice(chunk);
        while let Some(code) = codec.decode(&mut buf).unwrap() {
            codes.push(code);
        }
        assert!(buf.len() <= MAX_LINE + chunk.len(), "the codec holds at most one line");
    }
    (codes, codec.stats())
}

#[test]
fn every_line_end_ends_a_code() {
    let (codes, stats) = decode_all(format!("{TICKET}\rA-1\nB-2\r\nC-3").as_bytes());
    assert_eq!(codes, [TICKET, "A-1", "B-2", "C-3"]);
    assert_eq!(stats.frames, 4);
    assert_eq!(stats.discarded(), 0);
}

#[test]
fn a_code_split_across_reads_is_whole() {
    let (codes, _) = feed(&[b"PT1.hn-01.en", b"try-1.64", b".x\r", b"\nnext", b"\r\n"]);
    assert_eq!(codes, ["PT1.hn-01.entry-1.64.x", "next"]);
}

#[test]
fn empty_lines_and_surrounding_blanks_are_skipped() {
    let (codes, stats) = decode_all(b"\r\n\r\n  A-1  \r\n\n\n\t\r");
    assert_eq!(codes, ["A-1"]);
    assert_eq!(stats.discarded(), 0, "an empty line is not an error");
}

#[test]
fn line_noise_is_dropped_and_counted() {
    let (codes, stats) = decode_all(b"\xFF\xFE\x80\r\nA\x00B\r\nok\r\n\x1B[2J\n");
    assert_eq!(codes, ["ok"]);
    assert_eq!(stats.garbage_bytes, 3 + 3 + 4);
    assert_eq!(stats.frames, 1);
}

#[test]
fn a_vietnamese_text_code_passes() {
    let (codes, _) = decode_all("Vé xe: Nguyễn Văn An\r\n".as_bytes());
    assert_eq!(codes, ["Vé xe: Nguyễn Văn An"]);
}

#[test]
fn an_overlong_line_is_dropped_once_and_the_next_code_comes_through() {
    let long = vec![b'x'; MAX_LINE + 10];
    // Arriving in pieces: dropped while it grows, its tail up to the end too.
    let (codes, stats) = feed(&[&long[..600], &long[600..], &long[..300], b"\r\nA-1\r\n"]);
    assert_eq!(codes, ["A-1"]);
    assert_eq!(stats.rejected_frames, 1);
    // Arriving whole, with its end.
    let mut whole = long.clone();
    whole.extend_from_slice(b"\nB-2\n");
    let (codes, stats) = decode_all(&whole);
    assert_eq!(codes, ["B-2"]);
    assert_eq!(stats.rejected_frames, 1);
    // A line of exactly the limit is a code.
    let mut limit = vec![b'y'; MAX_LINE];
    limit.push(b'\r');
    assert_eq!(decode_all(&limit).0.len(), 1);
}

proptest! {
    /// Codes joined with any line ends and cut anywhere come out whole and
    /// in order.
    #[test]
    fn codes_survive_any_cuts(
        codes in proptest::collection::vec("[ -~]{0,80}", 0..12),
        ends in proptest::collection::vec(prop_oneof![Just("\r"), Just("\n"), Just("\r\n")], 12),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..6),
    ) {
        let mut stream = Vec::new();
        for (code, end) in codes.iter().zip(&ends) {
            stream.extend_from_slice(code.as_bytes());
            stream.extend_from_slice(end.as_bytes());
        }
        let mut at: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        at.sort_unstable();
        let mut chunks = Vec::new();
        let mut from = 0;
        for cut in at {
            chunks.push(&stream[from..cut]);
            from = cut;
        }
        chunks.push(&stream[from..]);
        let (got, stats) = feed(&chunks);
        let want: Vec<String> = codes.iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
        prop_assert_eq!(got, want);
        prop_assert_eq!(stats.discarded(), 0);
    }

    /// Any bytes at all, lines of blanks and line ends among them: no
    /// panic, nothing held beyond one line, and the same codes however the
    /// bytes were cut.
    #[test]
    fn any_bytes_are_safe(chunks in proptest::collection::vec(
        proptest::collection::vec(prop_oneof![any::<u8>(), Just(b' '), Just(b'\r'), Just(b'\n')], 0..700), 0..8)
    ) {
        let slices: Vec<&[u8]> = chunks.iter().map(Vec::as_slice).collect();
        let mut whole = chunks.concat();
        // A last line without its end counts only at the end of the stream.
        whole.push(b'\n');
        let (codes, _) = feed(&slices);
        prop_assert!(codes.iter().all(|c| !c.is_empty() && c.len() <= MAX_LINE));
        let (all, _) = decode_all(&whole);
        prop_assert!(all.starts_with(&codes) && all.len() <= codes.len() + 1, "{:?} vs {:?}", codes, all);
    }
}
