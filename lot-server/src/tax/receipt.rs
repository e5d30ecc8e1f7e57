//! A receipt, read back from the invoice's own XML (the record sent to
//! the tax authority), so what a driver sees is exactly what was issued.

use serde::Serialize;

/// One line of the invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ReceiptLine {
    pub name: String,
    pub unit: String,
    pub quantity: String,
    pub unit_price: i64,
    pub amount: i64,
    /// As the invoice writes it: `8%`, `10%`.
    pub vat_rate: String,
}

/// What a receipt shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Receipt {
    pub series: String,
    pub number: String,
    /// Local date and time of issue, `YYYY-MM-DD` and `HH:MM:SS`.
    pub date: String,
    pub time: String,
    pub seller_name: String,
    pub seller_tax_code: String,
    pub seller_address: String,
    pub payment: String,
    pub lines: Vec<ReceiptLine>,
    pub net_total: i64,
    pub vat_total: i64,
    pub total: i64,
    pub total_in_words: String,
    pub lookup_code: String,
}

/// Why an invoice's XML could not be read.
#[derive(Debug, thiserror::Error)]
#[error("the invoice's XML cannot be read: {0}")]
pub struct ReceiptError(String);

/// Reads the receipt out of an invoice's `TDiep` XML.
pub fn from_xml(xml: &str) -> Result<Receipt, ReceiptError> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| ReceiptError(e.to_string()))?;
    let root = doc.root_element();
    let text = |node: roxmltree::Node<'_, '_>, name: &str| -> Result<String, ReceiptError> {
        node.descendants()
            .find(|n| n.has_tag_name(name))
            .map(|n| n.text().unwrap_or("").to_owned())
            .ok_or_else(|| ReceiptError(format!("no <{name}>")))
    };
    let number = |node: roxmltree::Node<'_, '_>, name: &str| -> Result<i64, ReceiptError> {
        text(node, name)?.parse().map_err(|_| ReceiptError(format!("<{name}> is not a whole number")))
    };
    let seller = root.descendants().find(|n| n.has_tag_name("NBan")).ok_or_else(|| ReceiptError("no <NBan>".into()))?;
    let mut lines = Vec::new();
    for l in root.descendants().filter(|n| n.has_tag_name("HHDVu")) {
        lines.push(ReceiptLine {
            name: text(l, "THHDVu")?,
            unit: text(l, "DVTinh")?,
            quantity: text(l, "SLuong")?,
            unit_price: number(l, "DGia")?,
            amount: number(l, "ThTien")?,
            vat_rate: text(l, "TSuat")?,
        });
    }
    Ok(Receipt {
        series: text(root, "KHHDon")?,
        number: text(root, "SHDon")?,
        date: text(root, "NLap")?,
        time: text(root, "TDLap")?,
        seller_name: text(seller, "Ten")?,
        seller_tax_code: text(seller, "MST")?,
        seller_address: text(seller, "DChi")?,
        payment: text(root, "HTTToan")?,
        lines,
        net_total: number(root, "TgTCThue")?,
        vat_total: number(root, "TgTThue")?,
        total: number(root, "TgTTTBSo")?,
        total_in_words: text(root, "TgTTTBChu")?,
        lookup_code: text(root, "MCCQT")?,
    })
}

#[cfg(test)]
mod tests {
    use parking_core::invoice::{Invoice, Seller};
    use parking_core::money::Vnd;
    use parking_core::vat::VatRate;

    #[test]
    fn a_receipt_reads_back_what_the_invoice_says() {
        let seller =
            Seller { name: "Bãi xe <A & B>".into(), address: "1 Tràng Tiền".into(), tax_code: "0100000000".into() };
        let at = "2026-12-07T02:30:00Z".parse().unwrap();
        let rate = VatRate::from_basis_points(800);
        let inv = Invoice::for_stay(
            seller,
            "C26MPK",
            7,
            at,
            "Gửi xe ô tô".into(),
            Vnd::new(54_000),
            rate,
            "M1-26-00000-00000000007".into(),
        )
        .unwrap();
        let r = super::from_xml(&inv.to_xml()).unwrap();
        assert_eq!(r.seller_name, "Bãi xe <A & B>");
        assert_eq!((r.series.as_str(), r.number.as_str(), r.date.as_str()), ("C26MPK", "7", "2026-12-07"));
        assert_eq!((r.net_total, r.vat_total, r.total), (inv.net_total.get(), inv.vat_total.get(), 54_000));
        assert_eq!(r.lines.len(), 1);
        assert_eq!(r.lines[0].vat_rate, rate.to_string());
        assert_eq!(r.total_in_words, parking_core::invoice::dong_in_words(54_000));
        assert_eq!(r.lookup_code, "M1-26-00000-00000000007");
        assert!(super::from_xml("<TDiep/>").is_err());
        assert!(super::from_xml("not xml").is_err());
    }
}
