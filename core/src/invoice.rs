//! Cash-register e-invoices (docs/tax.md): the record of one sale with
//! its mandatory content, exported as the `TDiep/DLieu/HDon/DLHDon` XML the
//! tax authority's providers take. Pure: numbering, queuing and sending
//! belong to the lot server.
//!
//! Layout: `mod.rs` the invoice and its XML; `words` the total in
//! Vietnamese words (`TgTTTBChu`).

mod words;

use serde::{Deserialize, Serialize};

use crate::money::Vnd;
use crate::timestamp::Timestamp;
use crate::vat::VatRate;
pub use words::dong_in_words;

/// Who sells: from the lot's configuration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seller {
    pub name: String,
    pub address: String,
    /// Mã số thuế: 10 digits, or 10-3 for a branch.
    pub tax_code: String,
}

/// One line of goods or services.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Line {
    /// `THHDVu`, e.g. "Gửi xe ô tô 29A-123.45, 09:00 22/11/2026 - 11:30 22/11/2026".
    pub name: String,
    /// `DVTinh`, e.g. "lượt" (a stay).
    pub unit: String,
    pub quantity: u32,
    /// `DGia`: the pre-tax unit price.
    pub unit_price: Vnd,
    /// `ThTien`: the pre-tax amount.
    pub amount: Vnd,
    pub vat_rate: VatRate,
}

/// A cash-register e-invoice.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invoice {
    /// `KHMSHDon`: 1 is a VAT invoice.
    pub template: u8,
    /// `KHHDon`: 6 characters, e.g. `1C26MPK`'s last six: `C26MPK`.
    pub series: String,
    /// `SHDon`: the running number, without gaps within a series.
    pub number: u64,
    pub issued_at: Timestamp,
    pub seller: Seller,
    pub lines: Vec<Line>,
    /// `TgTCThue`.
    pub net_total: Vnd,
    /// `TgTThue`.
    pub vat_total: Vnd,
    /// `TgTTTBSo`.
    pub total: Vnd,
    /// `MCCQT`: the tax authority's code, e.g. `M1-26-ABCDE-00000000123`;
    /// what the buyer looks the invoice up by.
    pub lookup_code: String,
}

/// Why an invoice cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    #[error("series must be 6 characters: C or K, 2-digit year, M, 2 letters (e.g. C26MPK), not {0:?}")]
    Series(String),
    #[error("an invoice needs a seller name, address and tax code")]
    Seller,
    #[error("amount overflowed")]
    Overflow,
}

impl Invoice {
    /// The invoice of one paid stay: `gross` is the fee the driver paid,
    /// VAT included, split at `rate`.
    #[allow(clippy::too_many_arguments)]
    pub fn for_stay(
        seller: Seller,
        series: &str,
        number: u64,
        issued_at: Timestamp,
        item: String,
        gross: Vnd,
        rate: VatRate,
        lookup_code: String,
    ) -> Result<Invoice, InvoiceError> {
        let s = series.as_bytes();
        let ok = s.len() == 6
            && matches!(s[0], b'C' | b'K')
            && s[1].is_ascii_digit()
            && s[2].is_ascii_digit()
            && s[3] == b'M'
            && s[4].is_ascii_uppercase()
            && s[5].is_ascii_uppercase();
        if !ok {
            return Err(InvoiceError::Series(series.to_owned()));
        }
        if seller.name.trim().is_empty() || seller.address.trim().is_empty() || seller.tax_code.trim().is_empty() {
            return Err(InvoiceError::Seller);
        }
        let (net, vat) = rate.split(gross);
        let line =
            Line { name: item, unit: "lượt".into(), quantity: 1, unit_price: net, amount: net, vat_rate: rate };
        Ok(Invoice {
            template: 1,
            series: series.to_owned(),
            number,
            issued_at,
            seller,
            lines: vec![line],
            net_total: net,
            vat_total: vat,
            total: gross,
            lookup_code,
        })
    }

    /// The totals agree with the lines and with each other.
    pub fn totals_agree(&self) -> bool {
        let net: Option<i64> = self.lines.iter().try_fold(0i64, |a, l| a.checked_add(l.amount.get()));
        net == Some(self.net_total.get())
            && self.net_total.get().checked_add(self.vat_total.get()) == Some(self.total.get())
    }

    /// The invoice as `TDiep` XML.
    pub fn to_xml(&self) -> String {
        let el = crate::xml::element;
        let mut x = String::with_capacity(2048);
        x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<TDiep><DLieu><HDon><DLHDon>");
        x.push_str("<TTChung>");
        el(&mut x, "PBan", "2.1.0");
        el(&mut x, "THDon", "Hóa đơn giá trị gia tăng");
        el(&mut x, "KHMSHDon", &self.template.to_string());
        el(&mut x, "KHHDon", &self.series);
        el(&mut x, "SHDon", &self.number.to_string());
        let local = self.issued_at.local();
        el(&mut x, "NLap", &format!("{:04}-{:02}-{:02}", local.year(), u8::from(local.month()), local.day()));
        el(&mut x, "TDLap", &format!("{:02}:{:02}:{:02}", local.hour(), local.minute(), local.second()));
        el(&mut x, "DVTTe", "VND");
        el(&mut x, "HTTToan", "Chuyển khoản");
        x.push_str("</TTChung><NDHDon><NBan>");
        el(&mut x, "Ten", &self.seller.name);
        el(&mut x, "MST", &self.seller.tax_code);
        el(&mut x, "DChi", &self.seller.address);
        x.push_str("</NBan><NMua></NMua><DSHHDVu>");
        for (i, l) in self.lines.iter().enumerate() {
            x.push_str("<HHDVu>");
            el(&mut x, "TChat", "1");
            el(&mut x, "STT", &(i + 1).to_string());
            el(&mut x, "THHDVu", &l.name);
            el(&mut x, "DVTinh", &l.unit);
            el(&mut x, "SLuong", &l.quantity.to_string());
            el(&mut x, "DGia", &l.unit_price.get().to_string());
            el(&mut x, "ThTien", &l.amount.get().to_string());
            el(&mut x, "TSuat", &l.vat_rate.to_string());
            x.push_str("</HHDVu>");
        }
        x.push_str("</DSHHDVu><TToan>");
        el(&mut x, "TgTCThue", &self.net_total.get().to_string());
        el(&mut x, "TgTThue", &self.vat_total.get().to_string());
        el(&mut x, "TgTTTBSo", &self.total.get().to_string());
        el(&mut x, "TgTTTBChu", &dong_in_words(self.total.get()));
        x.push_str("</TToan></NDHDon></DLHDon>");
        el(&mut x, "MCCQT", &self.lookup_code);
        x.push_str("</HDon></DLieu></TDiep>\n");
        x
    }
}

#[cfg(test)]
mod tests;
