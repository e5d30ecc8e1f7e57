#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use super::*;

fn seller() -> Seller {
    Seller {
        name: "Công ty Bãi đỗ xe Hoàn Kiếm & Cộng sự".into(),
        address: "1 Đinh Tiên Hoàng, Hoàn Kiếm, Hà Nội".into(),
        tax_code: "0101234567".into(),
    }
}

fn invoice(gross: i64) -> Invoice {
    Invoice::for_stay(
        seller(),
        "C26MPK",
        123,
        "2026-11-22T04:30:00Z".parse().unwrap(),
        "Gửi xe ô tô 29A-123.45, 09:00 - 11:30 22/11/2026 <ticket>".into(),
        Vnd::new(gross),
        VatRate::from_basis_points(800),
        "M1-26-ABCDE-00000000123".into(),
    )
    .unwrap()
}

/// The text of the first `<name>` element.
fn field<'a>(xml: &'a str, name: &str) -> Option<&'a str> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(&xml[start..end])
}

#[test]
fn a_stay_invoice_has_every_mandatory_field_and_agreeing_totals() {
    let inv = invoice(54_000);
    assert!(inv.totals_agree());
    assert_eq!((inv.net_total.get(), inv.vat_total.get()), (50_000, 4_000));
    let xml = inv.to_xml();
    for (name, want) in [
        ("KHMSHDon", "1"),
        ("KHHDon", "C26MPK"),
        ("SHDon", "123"),
        ("NLap", "2026-11-22"),
        ("TDLap", "11:30:00"),
        ("MST", "0101234567"),
        ("DVTinh", "lượt"),
        ("SLuong", "1"),
        ("DGia", "50000"),
        ("ThTien", "50000"),
        ("TSuat", "8%"),
        ("TgTCThue", "50000"),
        ("TgTThue", "4000"),
        ("TgTTTBSo", "54000"),
        ("TgTTTBChu", "Năm mươi bốn nghìn đồng"),
        ("MCCQT", "M1-26-ABCDE-00000000123"),
    ] {
        assert_eq!(field(&xml, name), Some(want), "{name} in {xml}");
    }
    // Text is escaped, so the document stays well formed.
    assert_eq!(field(&xml, "Ten"), Some("Công ty Bãi đỗ xe Hoàn Kiếm &amp; Cộng sự"));
    assert!(field(&xml, "THHDVu").unwrap().ends_with("&lt;ticket&gt;"));
    assert!(xml.starts_with("<?xml") && xml.contains("<TDiep><DLieu><HDon><DLHDon><TTChung>"));
    // A real XML parser takes it, and finds the structure the providers expect.
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let path: Vec<&str> = doc
        .descendants()
        .find(|n| n.has_tag_name("TToan"))
        .unwrap()
        .ancestors()
        .filter(|n| n.is_element())
        .map(|n| n.tag_name().name())
        .collect();
    assert_eq!(path, ["TToan", "NDHDon", "DLHDon", "HDon", "DLieu", "TDiep"]);
    let name = doc.descendants().find(|n| n.has_tag_name("Ten")).unwrap().text();
    assert_eq!(name, Some("Công ty Bãi đỗ xe Hoàn Kiếm & Cộng sự"));
}

#[test]
fn bad_series_or_seller_are_refused() {
    let make = |series: &str, s: Seller| {
        Invoice::for_stay(
            s,
            series,
            1,
            "2026-11-22T04:30:00Z".parse().unwrap(),
            "x".into(),
            Vnd::new(1),
            VatRate::from_basis_points(800),
            "M1".into(),
        )
    };
    for bad in ["1C26MPK", "C26MP", "X26MPK", "C2xMPK", "C26NPK", "C26Mpk"] {
        assert!(matches!(make(bad, seller()), Err(InvoiceError::Series(_))), "{bad}");
    }
    assert_eq!(make("K26MAB", Seller { tax_code: " ".into(), ..seller() }), Err(InvoiceError::Seller));
    assert!(make("K26MAB", seller()).is_ok());
}

proptest! {
    #[test]
    fn totals_always_agree(gross in 0i64..100_000_000, bp in prop::sample::select(vec![0u32, 500, 800, 1_000])) {
        let inv = Invoice::for_stay(seller(), "C26MPK", 1, "2026-11-22T04:30:00Z".parse().unwrap(), "x".into(), Vnd::new(gross), VatRate::from_basis_points(bp), "M1".into()).unwrap();
        prop_assert!(inv.totals_agree());
        prop_assert_eq!(inv.total.get(), gross);
        let xml = inv.to_xml();
        let text = gross.to_string();
        prop_assert_eq!(field(&xml, "TgTTTBSo"), Some(text.as_str()));
    }
}
