use super::*;
use crate::codec::parse_hex;

const INVENTORY: &str = "A0 04 01 89 01 D1";
const SET_ANTENNA: &str = "A0 04 01 74 00 E7";
const TAG: &str = "A0 13 01 89 04 30 00 E2 00 30 16 66 13 01 21 15 50 74 EF 45 BF";

fn hex(s: &str) -> Vec<u8> {
    parse_hex(s).unwrap()
}

fn decode_all(codec: &mut R2000Codec, bytes: &[u8]) -> Vec<R2000Frame> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(f) = codec.decode(&mut buf).unwrap() {
        out.push(f);
    }
    out
}

#[test]
fn domain_vectors() {
    assert_eq!(R2000Command::RealTimeInventory { rounds: 1 }.to_frame(1), hex(INVENTORY));
    assert_eq!(R2000Command::SetWorkingAntenna { antenna: 0 }.to_frame(1), hex(SET_ANTENNA));
    match parse_frame(&hex(TAG)).unwrap() {
        R2000Frame::Tag { addr, pc, report, .. } => {
            assert_eq!((addr, pc), (1, 0x3000));
            assert_eq!(report.epc.to_string(), "E200301666130121155074EF");
            assert_eq!(report.antenna, 0);
            assert_eq!(report.rssi, Some(0x45));
        }
        other => panic!("{other:?}"),
    }
    assert!(parse_frame(&hex(INVENTORY)).unwrap().tags().is_empty());
}

#[test]
fn end_of_round_is_decoded() {
    let mut f = vec![HEAD, 0x0A, 0x01, 0x89, 0x02, 0x00, 0x32, 0x00, 0x00, 0x01, 0x2C];
    f.push(checksum(&f));
    assert_eq!(
        parse_frame(&f).unwrap(),
        R2000Frame::EndOfRound { addr: 1, antenna: 2, read_rate: 50, total_reads: 300 }
    );
}

#[test]
fn corrupt_frames_are_refused_with_a_reason() {
    let mut bad = hex(TAG);
    bad[10] ^= 0x01;
    assert!(matches!(parse_frame(&bad), Err(FrameError::Checksum { .. })));
    assert!(matches!(parse_frame(&hex(TAG)[..15]), Err(FrameError::Truncated { expected: 21, got: 15 })));
    assert!(matches!(parse_frame(&hex("00 A0 04")), Err(FrameError::NoHead(0xA0))));
    assert!(matches!(parse_frame(&[hex(TAG), vec![0]].concat()), Err(FrameError::Trailing(1))));
    assert!(matches!(parse_frame(&hex("A0 02 01 89")), Err(FrameError::BadLength(2))));
    assert!(matches!(parse_frame(&[]), Err(FrameError::Empty)));
    // A good checksum around a PC that disagrees with the EPC length.
    let mut lying = hex(TAG);
    lying[5] = 0x28; // PC 0x2800: 5 words, but 6 are carried
    let n = lying.len();
    lying[n - 1] = checksum(&lying[..n - 1]);
    let err = parse_frame(&lying).unwrap_err().to_string();
    assert!(err.contains("announces 5 EPC words"), "{err}");
}

#[test]
fn resynchronises_after_garbage_truncation_and_bad_checksums() {
    let tag = hex(TAG);
    let mut bad = tag.clone();
    bad[12] ^= 0xFF;
    let stream = [
        hex("FF 00 13 A0"), // noise, ending in a false head
        tag[..9].to_vec(),  // a truncated frame
        tag.clone(),        // good
        bad,                // checksum fails
        hex("A0 01"),       // impossible length
        tag.clone(),        // good
    ]
    .concat();
    let mut codec = R2000Codec::new(1);
    let frames = decode_all(&mut codec, &stream);
    assert_eq!(frames.len(), 2, "{frames:?}");
    assert!(frames.iter().all(|f| f.tags().len() == 1));
    assert_eq!(codec.stats().frames, 2);
    assert!(codec.stats().discarded() > 0);
    assert!(codec.stats().bad_checksums >= 1 && codec.stats().garbage_bytes >= 9, "{:?}", codec.stats());
}

#[test]
fn frames_split_across_reads_decode_once_whole() {
    let stream = [hex(TAG), hex(TAG)].concat();
    let mut codec = R2000Codec::new(1);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for byte in &stream {
        buf.put_u8(*byte);
        while let Some(f) = codec.decode(&mut buf).unwrap() {
            frames.push(f);
        }
    }
    assert_eq!(frames.len(), 2);
    assert_eq!(codec.stats().discarded(), 0);
}

mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn never_panics_and_never_holds_more_than_a_frame(data in proptest::collection::vec(any::<u8>(), 0..2048),
                                                          chunk in 1usize..64) {
            let mut codec = R2000Codec::new(1);
            let mut buf = BytesMut::new();
            for piece in data.chunks(chunk) {
                buf.extend_from_slice(piece);
                while codec.decode(&mut buf).unwrap().is_some() {}
                prop_assert!(buf.len() <= 257, "buffered {} bytes", buf.len());
            }
        }

        #[test]
        fn a_good_frame_after_any_noise_is_found(noise in proptest::collection::vec(any::<u8>(), 0..300)) {
            let mut stream = noise;
            // Longest frame possible, so noise that announces any length is
            // resolved before the stream ends.
            for _ in 0..13 {
                stream.extend(hex(TAG));
            }
            let mut codec = R2000Codec::new(1);
            let frames = decode_all(&mut codec, &stream);
            prop_assert!(frames.iter().filter(|f| !f.tags().is_empty()).count() >= 1);
        }
    }
}
