use super::*;
use crate::codec::parse_hex;

const INVENTORY: &str = "04 00 01 DB 4B";
const ONE_TAG: &str = "13 00 01 03 01 0C 00 00 00 00 00 00 00 00 00 00 03 13 3F 39";

fn hex(s: &str) -> Vec<u8> {
    parse_hex(s).unwrap()
}

fn response(addr: u8, cmd: u8, status: u8, data: &[u8]) -> Vec<u8> {
    let mut f = vec![u8::try_from(data.len() + 5).unwrap(), addr, cmd, status];
    f.extend_from_slice(data);
    let crc = crc16(&f);
    f.extend_from_slice(&crc.to_le_bytes());
    f
}

#[test]
fn domain_vectors() {
    assert_eq!(ChafonCommand::Inventory.to_frame(0), hex(INVENTORY));
    let frame = parse_frame(&hex(ONE_TAG)).unwrap();
    assert!(frame.more_follows(), "status 0x03");
    let tags = frame.tags();
    assert_eq!(tags.len(), 1);
    assert_eq!(tags[0].epc.to_string(), "000000000000000000000313");
    assert!(matches!(parse_frame(&hex(INVENTORY)).unwrap(), ChafonFrame::Command { cmd: 0x01, .. }));
}

#[test]
fn multi_frame_inventory_collects_every_tag() {
    let epc = |n: u8| [0xE2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, n];
    let first = response(0, CMD_INVENTORY, STATUS_MORE, &[[2, 12].as_slice(), &epc(1), &[12], &epc(2)].concat());
    let last = response(0, CMD_INVENTORY, STATUS_DONE, &[[1, 12].as_slice(), &epc(3)].concat());
    let mut codec = ChafonCodec::new(0);
    let mut buf = BytesMut::from(&[first, last].concat()[..]);
    let mut tags = Vec::new();
    loop {
        let frame = codec.decode(&mut buf).unwrap().unwrap();
        tags.extend(frame.tags().into_iter().map(|t| t.epc.to_string()));
        if !frame.more_follows() {
            break;
        }
    }
    assert_eq!(tags, ["E20000000000000000000001", "E20000000000000000000002", "E20000000000000000000003"]);
}

#[test]
fn corrupt_frames_are_refused_with_a_reason() {
    let mut bad = hex(ONE_TAG);
    bad[8] ^= 0x40;
    assert!(matches!(parse_frame(&bad), Err(FrameError::Checksum { .. })));
    assert!(matches!(parse_frame(&hex(ONE_TAG)[..10]), Err(FrameError::Truncated { expected: 20, got: 10 })));
    assert!(matches!(parse_frame(&hex("02 00 01")), Err(FrameError::BadLength(2))));
    let lying = response(0, CMD_INVENTORY, STATUS_DONE, &[2, 12, 0xE2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
    let err = parse_frame(&lying).unwrap_err().to_string();
    assert!(err.contains("Num says 2 tags"), "{err}");
    let odd = response(0, CMD_INVENTORY, STATUS_DONE, &[1, 3, 0xE2, 0, 1]);
    assert!(parse_frame(&odd).unwrap_err().to_string().contains("tag 0"), "odd EPC length");
}

#[test]
fn resynchronises_after_noise_and_counts_it() {
    let good = hex(ONE_TAG);
    let mut bad = good.clone();
    bad[7] ^= 1;
    let stream = [hex("00 FF 01"), good[..6].to_vec(), bad, good.clone(), hex("03"), good].concat();
    let mut codec = ChafonCodec::new(0);
    let mut buf = BytesMut::from(&stream[..]);
    let mut n = 0;
    while let Some(f) = codec.decode(&mut buf).unwrap() {
        assert_eq!(f.tags().len(), 1);
        n += 1;
    }
    assert_eq!(n, 2);
    assert!(codec.stats().discarded() >= 4, "{:?}", codec.stats());
}

mod props {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn never_panics_and_never_holds_more_than_a_frame(data in proptest::collection::vec(any::<u8>(), 0..2048),
                                                          chunk in 1usize..64) {
            let mut codec = ChafonCodec::new(0);
            let mut buf = BytesMut::new();
            for piece in data.chunks(chunk) {
                buf.extend_from_slice(piece);
                while codec.decode(&mut buf).unwrap().is_some() {}
                prop_assert!(buf.len() <= 256, "buffered {} bytes", buf.len());
            }
        }

        #[test]
        fn inventory_responses_round_trip(epcs in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..=15usize), 0..8)) {
            let epcs: Vec<Vec<u8>> = epcs.into_iter().map(|mut e| { if e.len() % 2 == 1 { e.push(0) } e }).collect();
            let mut data = vec![u8::try_from(epcs.len()).unwrap()];
            for e in &epcs {
                data.push(u8::try_from(e.len()).unwrap());
                data.extend(e);
            }
            prop_assume!(data.len() + 5 <= 255);
            let frame = parse_frame(&response(0, CMD_INVENTORY, STATUS_DONE, &data)).unwrap();
            let got: Vec<Vec<u8>> = frame.tags().iter().map(|t| t.epc.as_bytes().to_vec()).collect();
            prop_assert_eq!(got, epcs);
        }
    }
}
