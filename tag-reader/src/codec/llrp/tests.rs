//! The LLRP codec against vectors from an independent implementation
//! (sllurp 3.0.5: `tests/fixtures/llrp/sllurp_vectors.py`), malformed
//! messages, and any bytes in any chunking.

use bytes::BytesMut;
use proptest::prelude::*;
use serde_json::Value;
use tokio_util::codec::Decoder;

use super::*;

fn vectors() -> Value {
    serde_json::from_str(include_str!("../../../tests/fixtures/llrp/sllurp-3.0.5.json")).unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    crate::codec::parse_hex(s).unwrap()
}

fn message(name: &str) -> (Vec<u8>, Value) {
    let v = vectors();
    let m = v["messages"].as_array().unwrap().iter().find(|m| m["message"] == name).unwrap().clone();
    (hex(m["hex"].as_str().unwrap()), m["sllurp"].clone())
}

#[test]
fn commands_encode_byte_for_byte_as_sllurp_does() {
    for c in vectors()["commands"].as_array().unwrap() {
        let id = u32::try_from(c["id"].as_u64().unwrap()).unwrap();
        let rospec = c["rospec"].as_u64().map(|r| u32::try_from(r).unwrap());
        let command = match c["command"].as_str().unwrap() {
            "delete_rospec" => Command::DeleteRoSpec(rospec.unwrap()),
            "add_rospec" => Command::AddRoSpec(RoSpec {
                id: rospec.unwrap(),
                antennas: c["antennas"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|a| u16::try_from(a.as_u64().unwrap()).unwrap())
                    .collect(),
            }),
            "enable_rospec" => Command::EnableRoSpec(rospec.unwrap()),
            "start_rospec" => Command::StartRoSpec(rospec.unwrap()),
            "keepalive_ack" => Command::KeepaliveAck,
            "close_connection" => Command::CloseConnection,
            other => panic!("no such command in the vectors: {other}"),
        };
        assert_eq!(command.to_bytes(id), hex(c["hex"].as_str().unwrap()), "{command:?}");
    }
}

#[test]
fn a_report_decodes_as_sllurp_decodes_it() {
    let (bytes, want) = message("report");
    let Message::Report { id, tags } = parse_message(&bytes).unwrap() else { panic!("not a report") };
    assert_eq!(u64::from(id), want["id"].as_u64().unwrap());
    let want = want["tags"].as_array().unwrap();
    assert_eq!(tags.len(), want.len());
    for (got, want) in tags.iter().zip(want) {
        assert_eq!(got.report.epc.to_string(), want["epc"].as_str().unwrap());
        assert_eq!(u64::from(got.report.antenna), want["antenna"].as_u64().unwrap());
        assert_eq!(got.report.rssi.map(i64::from), want["rssi"].as_i64());
        assert_eq!(got.first_seen_us, want["first_seen_us"].as_u64());
        assert_eq!(got.seen_count.map(u64::from), want["seen_count"].as_u64());
    }
}

#[test]
fn keepalives_events_and_statuses_decode_as_sllurp_decodes_them() {
    let (bytes, want) = message("keepalive");
    assert_eq!(
        parse_message(&bytes).unwrap(),
        Message::Keepalive { id: u32::try_from(want["id"].as_u64().unwrap()).unwrap() }
    );
    let (bytes, want) = message("connected");
    assert_eq!(want["status"], "Success");
    assert_eq!(
        parse_message(&bytes).unwrap(),
        Message::ReaderEvent { id: 0, connection: Some(ConnectionStatus::Success) }
    );
    let (bytes, want) = message("refused");
    assert!(want["status"].as_str().unwrap().starts_with("Failed"));
    assert_eq!(
        parse_message(&bytes).unwrap(),
        Message::ReaderEvent { id: 0, connection: Some(ConnectionStatus::Refused(2)) }
    );
    let (bytes, want) = message("status_ok");
    assert_eq!(want["StatusCode"], "Success");
    let Message::Response { kind: k, status, .. } = parse_message(&bytes).unwrap() else { panic!() };
    assert_eq!(k, kind::ADD_ROSPEC_RESPONSE);
    assert!(status.is_success());
    let (bytes, want) = message("status_err");
    let Message::Response { kind: k, status, .. } = parse_message(&bytes).unwrap() else { panic!() };
    assert_eq!(k, kind::ERROR_MESSAGE);
    assert!(!status.is_success());
    assert_eq!(status.description, want["ErrorDescription"].as_str().unwrap());
}

#[test]
fn malformed_messages_are_refused_with_a_reason() {
    let (report, _) = message("report");
    let cases: Vec<(Vec<u8>, &str)> = vec![
        (Vec::new(), "empty"),
        (report[..8].to_vec(), "truncated"),
        (report[..40].to_vec(), "truncated"),
        ([report.clone(), vec![0]].concat(), "after the end"),
        // Version 2.
        ([&[0x08, 0x3D][..], &report[2..]].concat(), "version"),
        // A length shorter than the header.
        ([&report[..2], &[0, 0, 0, 4][..], &report[6..]].concat(), "shorter than its header"),
        // A TLV parameter whose length is shorter than its own header.
        ([&report[..10], &[0x00, 0xF0, 0x00, 0x02][..], &report[14..]].concat(), "shorter than its header"),
    ];
    for (bytes, why) in &cases {
        let e = parse_message(bytes).unwrap_err().to_string();
        assert!(e.contains(why), "{why:?} not in {e:?}");
    }
    // A tag report without an EPC: an antenna and an RSSI only.
    let no_epc = [0x04, 0x3D, 0, 0, 0, 19, 0, 0, 0, 1, 0x00, 0xF0, 0x00, 0x09, 0x81, 0x00, 0x01, 0x86, 0xC6];
    assert!(parse_message(&no_epc).unwrap_err().to_string().contains("without an EPC"));
    // An unknown TV parameter type inside a tag report.
    let unknown_tv = [0x04, 0x3D, 0, 0, 0, 17, 0, 0, 0, 1, 0x00, 0xF0, 0x00, 0x07, 0xFF, 0x00, 0x00];
    assert!(parse_message(&unknown_tv).unwrap_err().to_string().contains("unknown TV parameter type 127"));
}

#[test]
fn the_stream_codec_takes_messages_cut_anywhere_and_skips_one_that_does_not_parse() {
    let names = ["connected", "report", "keepalive", "status_ok", "status_err"];
    let mut stream: Vec<u8> = names.iter().flat_map(|n| message(n).0).collect();
    // A message whose header is fine but whose parameters are not.
    stream.extend([0x04, 0x3D, 0, 0, 0, 14, 0, 0, 0, 9, 0x00, 0xF0, 0x00, 0x02]);
    stream.extend(message("keepalive").0);
    for chunk in [1, 3, 7, 64, stream.len()] {
        let mut codec = LlrpCodec::new();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        for piece in stream.chunks(chunk) {
            buf.extend_from_slice(piece);
            while let Some(m) = codec.decode(&mut buf).unwrap() {
                got.push(m);
            }
        }
        assert_eq!(got.len(), 6, "chunks of {chunk}: {got:?}");
        assert!(matches!(got[1], Message::Report { ref tags, .. } if tags.len() == 2));
        assert_eq!(codec.stats().rejected_frames, 1, "the bad one was counted");
        assert!(buf.is_empty());
    }
}

#[test]
fn a_header_that_cannot_be_trusted_fails_the_stream() {
    let mut codec = LlrpCodec::new();
    let mut huge = BytesMut::from(&[0x04, 0x3D, 0x7F, 0, 0, 0, 0, 0, 0, 1][..]);
    let e = codec.decode(&mut huge).unwrap_err().to_string();
    assert!(e.contains("over the 1048576-byte limit"), "{e}");
}

proptest! {
    /// Any bytes, cut anywhere: no panic, nothing held beyond one message.
    #[test]
    fn any_bytes_are_safe(data in proptest::collection::vec(any::<u8>(), 0..2000), chunk in 1usize..300) {
        let _ = parse_message(&data);
        let mut codec = LlrpCodec::new();
        let mut buf = BytesMut::new();
        for piece in data.chunks(chunk) {
            buf.extend_from_slice(piece);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => return Ok(()),
                }
            }
            prop_assert!(buf.len() <= MAX_MESSAGE);
        }
    }

    /// Reports of any EPCs, antennas and RSSIs come back as they went in.
    #[test]
    fn reports_round_trip(tags in proptest::collection::vec((any::<[u8; 12]>(), 1u16..=64, any::<i8>()), 0..20)) {
        let mut body = Vec::new();
        for (epc, antenna, rssi) in &tags {
            let mut t = vec![0x8D];
            t.extend_from_slice(epc);
            t.push(0x81);
            t.extend_from_slice(&antenna.to_be_bytes());
            t.extend([0x86, rssi.to_be_bytes()[0]]);
            body.extend_from_slice(&0x00F0u16.to_be_bytes());
            body.extend_from_slice(&u16::try_from(4 + t.len()).unwrap().to_be_bytes());
            body.extend(t);
        }
        let mut msg = vec![0x04, 0x3D];
        msg.extend_from_slice(&u32::try_from(10 + body.len()).unwrap().to_be_bytes());
        msg.extend_from_slice(&7u32.to_be_bytes());
        msg.extend(body);
        let Ok(Message::Report { tags: got, .. }) = parse_message(&msg) else { panic!("not a report") };
        prop_assert_eq!(got.len(), tags.len());
        for (g, (epc, antenna, rssi)) in got.iter().zip(&tags) {
            prop_assert_eq!(g.report.epc.as_bytes(), &epc[..]);
            prop_assert_eq!(u16::from(g.report.antenna), *antenna);
            prop_assert_eq!(g.report.rssi, Some(i16::from(*rssi)));
        }
    }
}
