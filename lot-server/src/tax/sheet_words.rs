//! The words of the XLSX revenue report: its sheets, headers, row labels and
//! the codes in its cells (classes, channels, mismatch kinds), in
//! Vietnamese (the default: a tax officer's and a lot accountant's
//! language) or English. The dashboard says the same things in
//! `dashboard/i18n.js`. A code without words here is written as it is.
//! The reconciliation sheet's labels stand beside their values in
//! [`super::export`], so neither can move without the other.

/// The report's language.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    #[default]
    Vi,
    En,
}

/// One fixed text, in both languages.
pub type Pair = (&'static str, &'static str);

pub const SHEET_DAYS: Pair = ("Theo ngày", "By day");
pub const SHEET_MONTHS: Pair = ("Theo tháng", "By month");
pub const SHEET_RECONCILIATION: Pair = ("Đối soát", "Reconciliation");
pub const SHEET_MISMATCHES: Pair = ("Sai lệch", "Mismatches");

/// The columns of the day and month sheets.
pub const ROW_HEADER: [Pair; 9] = [
    ("Kỳ", "Period"),
    ("Loại xe", "Class"),
    ("Kênh thanh toán", "Channel"),
    ("Số lượt", "Count"),
    ("Đã xuất hoá đơn", "Invoiced"),
    ("Chờ hoá đơn", "Awaiting invoice"),
    ("Trước thuế (đồng)", "Net (VND)"),
    ("Thuế GTGT (đồng)", "VAT (VND)"),
    ("Tổng cộng (đồng)", "Total (VND)"),
];

/// The columns of the mismatch sheet.
pub const MISMATCH_HEADER: [Pair; 5] =
    [("Loại", "Kind"), ("Mã", "Id"), ("Lúc", "At"), ("Số tiền (đồng)", "Amount (VND)"), ("Chi tiết", "Detail")];

pub const TOTAL: Pair = ("Tổng cộng", "Total");
pub const TOPUPS: Pair = ("Nạp tiền", "Top-ups");
pub const VAT: Pair = ("Thuế GTGT", "VAT");

/// A fixed text in `lang`.
pub const fn say(lang: Lang, (vi, en): Pair) -> &'static str {
    match lang {
        Lang::Vi => vi,
        Lang::En => en,
    }
}

/// A vehicle class, channel or mismatch kind in `lang`; unknown codes as
/// they are.
pub fn code(lang: Lang, code: &str) -> String {
    let pair: Option<Pair> = match code {
        "motorbike" => Some(("Xe máy", "Motorbike")),
        "car" => Some(("Ô tô", "Car")),
        "bus_truck" => Some(("Xe khách, xe tải", "Bus or truck")),
        "bicycle" => Some(("Xe đạp", "Bicycle")),
        "account" => Some(("Trừ tài khoản", "Account")),
        "transfer" => Some(("Chuyển khoản", "Bank transfer")),
        "pass" => Some(("Vé tháng", "Monthly pass")),
        "free" => Some(("Miễn phí", "Free")),
        "unpaid" => Some(("Chưa thanh toán", "Unpaid")),
        "manual" => Some(("Nạp tiền thủ công", "Booked by hand")),
        "unpaid_exit" => Some(("Xe ra chưa trả tiền", "Left without paying")),
        "unsettled_exit" => Some(("Cho ra nhưng chưa nhận được tiền", "Let out before the money arrived")),
        "unknown_account" => {
            Some(("Trừ tiền vào tài khoản không tồn tại", "Charged to an account that does not exist"))
        }
        "manual_open" => Some(("Mở cổng thủ công", "Opened by hand")),
        "vat_not_configured" => Some(("Chưa cấu hình thuế GTGT", "VAT not configured")),
        "transfer_suspense" => Some(("Chuyển khoản chưa khớp", "Transfer in suspense")),
        "transfer_held" => Some(("Chuyển khoản đang giữ", "Transfer held")),
        "refund_owed" => Some(("Cần hoàn tiền", "Refund owed")),
        "refund_paid" => Some(("Đã hoàn tiền", "Refund paid")),
        "invoice_missing" => Some(("Thiếu hoá đơn", "Invoice missing")),
        _ => None,
    };
    pair.map_or_else(|| code.to_owned(), |p| say(lang, p).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_in_both_languages_and_unknown_ones_kept() {
        assert_eq!(code(Lang::Vi, "car"), "Ô tô");
        assert_eq!(code(Lang::En, "transfer_suspense"), "Transfer in suspense");
        assert_eq!(code(Lang::Vi, "something_new"), "something_new");
        assert_eq!(say(Lang::Vi, SHEET_DAYS), "Theo ngày");
        // Excel refuses sheet names over 31 characters.
        for pair in [SHEET_DAYS, SHEET_MONTHS, SHEET_RECONCILIATION, SHEET_MISMATCHES] {
            for lang in [Lang::Vi, Lang::En] {
                assert!(say(lang, pair).chars().count() <= 31);
            }
        }
    }
}
