use proptest::prelude::*;

use super::*;

const STATIC_CARD: &str =
    "00020101021138600010A00000072701300006970403011697040311012345670208QRIBFTTC53037045802VN63044F52";
const DYNAMIC: &str = "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA530370454061800005802VN62340107NPS68690819thanh toan don hang63042E2E";
const STATIC_ACCOUNT: &str =
    "00020101021138540010A00000072701240006970423011000999999990208QRIBFTTA53037045802VN6304CBB4";

/// Recomputes the CRC of an edited payload, so only the edit is wrong.
fn with_crc(body_with_6304: &str) -> String {
    format!("{body_with_6304}{:04X}", crc16(body_with_6304.as_bytes()))
}

#[test]
fn crc_check_value() {
    assert_eq!(crc16(b"123456789"), 0x29B1);
}

#[test]
fn domain_vectors_decode() {
    let q = VietQr::decode(STATIC_CARD).unwrap();
    assert_eq!(
        (q.kind, q.bin.as_str(), q.account.as_str(), q.service),
        (Kind::Static, "970403", "9704031101234567", Service::Card)
    );
    assert_eq!((q.amount, q.memo.as_deref()), (None, None));

    let q = VietQr::decode(DYNAMIC).unwrap();
    assert_eq!(q.kind, Kind::Dynamic);
    assert_eq!((q.bin.as_str(), q.account.as_str()), ("970403", "0011012345678"));
    assert_eq!(q.amount, Some(Vnd::new(180_000)));
    assert_eq!(q.memo.as_deref(), Some("thanh toan don hang"));
    assert_eq!(q.bill_number.as_deref(), Some("NPS6869"));

    let q = VietQr::decode(STATIC_ACCOUNT).unwrap();
    assert_eq!((q.bin.as_str(), q.account.as_str(), q.service), ("970423", "0099999999", Service::Account));
}

#[test]
fn domain_vectors_encode_exactly() {
    for v in [STATIC_CARD, DYNAMIC, STATIC_ACCOUNT] {
        assert_eq!(VietQr::decode(v).unwrap().encode().unwrap(), v);
    }
    let built = VietQr {
        bill_number: Some("NPS6869".into()),
        ..VietQr::payment("970403", "0011012345678", Vnd::new(180_000), "thanh toan don hang")
    };
    assert_eq!(built.encode().unwrap(), DYNAMIC);
}

#[test]
fn a_wrong_crc_is_refused() {
    let bad = DYNAMIC.replace("2E2E", "2E2F");
    assert!(matches!(VietQr::decode(&bad), Err(VietQrError::Crc { .. })), "{:?}", VietQr::decode(&bad));
    // An altered amount with the old CRC.
    let bad = DYNAMIC.replace("5406180000", "5406980000");
    assert!(matches!(VietQr::decode(&bad), Err(VietQrError::Crc { .. })));
}

#[test]
fn a_length_that_does_not_match_its_field_is_refused() {
    // 62 says 35 where its content is 34, with a CRC that matches the defect.
    let body = DYNAMIC.strip_suffix("2E2E").unwrap().replace("6234", "6235");
    let err = VietQr::decode(&with_crc(&body)).unwrap_err();
    assert!(matches!(&err, VietQrError::Length { .. }), "{err}");
    // 59 says 10 where its content is 9: the next field starts too soon.
    let body = STATIC_ACCOUNT.strip_suffix("CBB4").unwrap().replace("5802VN", "5802VN5910PARKINGHN");
    let err = VietQr::decode(&with_crc(&body)).unwrap_err();
    assert!(matches!(&err, VietQrError::Length { .. }), "{err}");
    // Nested: the beneficiary's account length is one short.
    let body = STATIC_ACCOUNT.strip_suffix("CBB4").unwrap().replace("01100099999999", "01090099999999");
    let err = VietQr::decode(&with_crc(&body)).unwrap_err();
    assert!(matches!(&err, VietQrError::Length { .. }), "{err}");
}

#[test]
fn missing_mandatory_fields_are_named() {
    let body = STATIC_ACCOUNT.strip_suffix("CBB4").unwrap().replace("5802VN", "");
    assert_eq!(VietQr::decode(&with_crc(&body)), Err(VietQrError::Missing("58")));
    let body = STATIC_ACCOUNT.strip_suffix("CBB4").unwrap().replace("5303704", "");
    assert_eq!(VietQr::decode(&with_crc(&body)), Err(VietQrError::Missing("53")));
    let no_crc = STATIC_ACCOUNT.strip_suffix("6304CBB4").unwrap();
    assert!(matches!(VietQr::decode(no_crc), Err(VietQrError::Missing(_)) | Err(VietQrError::Length { .. })));
}

#[test]
fn truncated_payloads_are_refused() {
    for cut in [10, 40, DYNAMIC.len() - 3, DYNAMIC.len() - 9] {
        let err = VietQr::decode(&DYNAMIC[..cut]).unwrap_err();
        assert!(matches!(err, VietQrError::Truncated(_) | VietQrError::Missing(_)), "cut at {cut}: {err}");
    }
    assert!(matches!(VietQr::decode(""), Err(VietQrError::Truncated(_))));
}

#[test]
fn the_encoder_refuses_what_a_bank_would_not_carry() {
    assert!(VietQr::payment("970403", "123", Vnd::new(5_000), "phí gửi xe").encode().is_err(), "diacritics");
    assert!(VietQr::payment("970403", "123", Vnd::new(5_000), &"X".repeat(26)).encode().is_err(), "memo too long");
    assert!(VietQr::payment("97040", "123", Vnd::new(5_000), "PK").encode().is_err(), "short BIN");
    assert!(VietQr::payment("970403", "123", Vnd::new(0), "PK").encode().is_err(), "zero amount");
}

proptest! {
    #[test]
    fn encode_then_decode_gives_back_the_request(
        bin in "[0-9]{6}",
        account in "[0-9A-Z]{6,19}",
        card in any::<bool>(),
        amount in proptest::option::of(1i64..10_000_000_000),
        memo in proptest::option::of("[ -~]{0,25}"),
        name in proptest::option::of("[A-Z ]{1,25}"),
    ) {
        let q = VietQr {
            kind: if amount.is_some() { Kind::Dynamic } else { Kind::Static },
            service: if card { Service::Card } else { Service::Account },
            amount: amount.map(Vnd::new),
            memo,
            merchant_name: name,
            ..VietQr::static_account(&bin, &account)
        };
        let payload = q.encode().unwrap();
        prop_assert_eq!(VietQr::decode(&payload).unwrap(), q);
    }

    #[test]
    fn any_single_character_change_is_caught(pos in 0usize..DYNAMIC.len(), c in proptest::char::range(' ', '~')) {
        let mut bytes = DYNAMIC.as_bytes().to_vec();
        prop_assume!(bytes[pos] != c as u8);
        // Case changes in the CRC's hex digits are the same number.
        prop_assume!(!(pos >= DYNAMIC.len() - 4 && bytes[pos].eq_ignore_ascii_case(&(c as u8))));
        bytes[pos] = c as u8;
        let altered = String::from_utf8(bytes).unwrap();
        prop_assert!(VietQr::decode(&altered).is_err(), "{} passed", altered);
    }

    #[test]
    fn garbage_never_panics(s in "\\PC{0,200}") {
        let _ = VietQr::decode(&s);
    }
}
