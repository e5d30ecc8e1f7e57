//! A revenue report as JSON, CSV or XLSX.
//!
//! CSV is one table with a `section` column: `day` and `month` rows, the
//! `total` of stays, `topups`, `vat_rate` rows (the channel column names
//! the rate), then `mismatch` rows (period = when,
//! class = kind, channel = id, total_vnd = amount, detail = what).
//! XLSX has a sheet each: by day, by month, reconciliation, mismatches,
//! in Vietnamese or English ([`super::sheet_words`]): its sheet names,
//! headers, labels, classes, channels and mismatch kinds. CSV and JSON
//! keep the codes, for programs.

use rust_xlsxwriter::{Format as CellFormat, Workbook, Worksheet, XlsxError};

use super::report::{Report, Row, Totals};
use super::sheet_words::{self as words, Lang, say};

/// An export format.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    Json,
    Csv,
    Xlsx,
}

impl ExportFormat {
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Json => "application/json",
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Json => "json",
            ExportFormat::Csv => "csv",
            ExportFormat::Xlsx => "xlsx",
        }
    }
}

/// Why an export failed (never the caller's fault).
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("xlsx: {0}")]
    Xlsx(#[from] XlsxError),
    #[error("json: {0}")]
    Json(#[from] serde_json::Error),
}

/// The report in `format`; an XLSX workbook's words in `lang`.
pub fn export(report: &Report, format: ExportFormat, lang: Lang) -> Result<Vec<u8>, ExportError> {
    match format {
        ExportFormat::Json => {
            let mut v = serde_json::to_vec_pretty(report)?;
            v.push(b'\n');
            Ok(v)
        }
        ExportFormat::Csv => csv_bytes(report),
        ExportFormat::Xlsx => xlsx_bytes(report, lang),
    }
}

const HEADER: [&str; 11] = [
    "section",
    "period",
    "class",
    "channel",
    "count",
    "invoiced",
    "awaiting_invoice",
    "net_vnd",
    "vat_vnd",
    "total_vnd",
    "detail",
];

fn row_fields(section: &str, r: &Row) -> Vec<String> {
    vec![
        section.to_owned(),
        r.period.clone(),
        r.class.clone(),
        r.channel.clone(),
        r.sums.count.to_string(),
        r.sums.invoiced.to_string(),
        r.sums.awaiting_invoice.to_string(),
        r.sums.net_vnd.to_string(),
        r.sums.vat_vnd.to_string(),
        r.sums.total_vnd.to_string(),
        String::new(),
    ]
}

fn totals_row(period: &str, t: &Totals) -> Row {
    Row { period: period.to_owned(), class: String::new(), channel: String::new(), sums: *t }
}

/// Basis points as a percentage with two decimals: 800 is `8.00%`.
fn percent(bp: i64) -> String {
    format!("{}.{:02}%", bp / 100, bp % 100)
}

/// UTF-8's byte order mark: Excel reads a CSV without it in the
/// Windows code page, which garbles every Vietnamese diacritic.
pub const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

fn csv_bytes(report: &Report) -> Result<Vec<u8>, ExportError> {
    let mut w = csv::Writer::from_writer(UTF8_BOM.to_vec());
    w.write_record(HEADER)?;
    for r in &report.by_day {
        w.write_record(row_fields("day", r))?;
    }
    for r in &report.by_month {
        w.write_record(row_fields("month", r))?;
    }
    let period = format!("{}..{}", report.from, report.to);
    w.write_record(row_fields("total", &totals_row(&period, &report.totals)))?;
    w.write_record(row_fields("topups", &totals_row(&period, &report.topups)))?;
    for r in &report.by_vat_rate {
        let rate = format!("vat {}", percent(r.vat_bp));
        w.write_record(row_fields("vat_rate", &Row { channel: rate, ..totals_row(&period, &r.sums) }))?;
    }
    for m in &report.reconciliation.mismatches {
        w.write_record([
            "mismatch".to_owned(),
            m.at.map(|t| t.to_string()).unwrap_or_default(),
            m.kind.clone(),
            m.id.clone(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            String::new(),
            m.amount_vnd.map(|a| a.to_string()).unwrap_or_default(),
            m.detail.clone(),
        ])?;
    }
    w.into_inner().map_err(|e| ExportError::Csv(e.into_error().into()))
}

fn write_rows(
    sheet: &mut Worksheet,
    rows: &[Row],
    lang: Lang,
    bold: &CellFormat,
    money: &CellFormat,
) -> Result<(), XlsxError> {
    for (c, h) in (0u16..).zip(words::ROW_HEADER) {
        sheet.write_string_with_format(0, c, say(lang, h), bold)?;
    }
    for (r, row) in (1u32..).zip(rows) {
        sheet.write_string(r, 0, &row.period)?;
        sheet.write_string(r, 1, words::code(lang, &row.class))?;
        sheet.write_string(r, 2, words::code(lang, &row.channel))?;
        for (c, v) in (3u16..).zip([row.sums.count, row.sums.invoiced, row.sums.awaiting_invoice]) {
            sheet.write_number(r, c, v as f64)?;
        }
        for (c, v) in (6u16..).zip([row.sums.net_vnd, row.sums.vat_vnd, row.sums.total_vnd]) {
            sheet.write_number_with_format(r, c, v as f64, money)?;
        }
    }
    sheet.autofit();
    Ok(())
}

fn xlsx_bytes(report: &Report, lang: Lang) -> Result<Vec<u8>, ExportError> {
    let mut book = Workbook::new();
    let bold = CellFormat::new().set_bold();
    let money = CellFormat::new().set_num_format("#,##0");
    let total = say(lang, words::TOTAL);
    let mut days = report.by_day.clone();
    days.push(totals_row(total, &report.totals));
    write_rows(book.add_worksheet().set_name(say(lang, words::SHEET_DAYS))?, &days, lang, &bold, &money)?;
    let mut months = report.by_month.clone();
    months.push(totals_row(total, &report.totals));
    months.push(totals_row(say(lang, words::TOPUPS), &report.topups));
    for r in &report.by_vat_rate {
        months.push(totals_row(&format!("{} {}", say(lang, words::VAT), percent(r.vat_bp)), &r.sums));
    }
    write_rows(book.add_worksheet().set_name(say(lang, words::SHEET_MONTHS))?, &months, lang, &bold, &money)?;

    let rec = &report.reconciliation;
    let t = &rec.transfers;
    // Each label beside its value, in both languages.
    let facts: [(words::Pair, String); 22] = [
        (("Bãi xe", "Lot"), report.lot.clone()),
        (("Từ ngày", "From"), report.from.clone()),
        (("Đến ngày", "To"), report.to.clone()),
        (("Lập lúc", "Generated at"), report.generated_at.to_string()),
        (("Lượt xe ra", "Exits"), rec.exits.total.to_string()),
        (("Ra, trừ tài khoản", "Exits by account"), rec.exits.account.to_string()),
        (("Ra, chuyển khoản", "Exits by transfer"), rec.exits.transfer.to_string()),
        (("Ra, vé tháng", "Exits on a pass"), rec.exits.pass.to_string()),
        (("Ra, miễn phí", "Exits free"), rec.exits.free.to_string()),
        (("Ra, chưa thanh toán", "Exits unpaid"), rec.exits.unpaid.to_string()),
        (("Phí tính khi ra (đồng)", "Fees priced at exits (VND)"), rec.exits.fees_vnd.to_string()),
        (("Lượt đã thanh toán", "Stays settled"), rec.stays_settled.to_string()),
        (("Doanh thu gồm thuế GTGT (đồng)", "Revenue with VAT (VND)"), report.totals.total_vnd.to_string()),
        (("Hoá đơn chờ xuất", "Invoices due"), rec.invoices_due.to_string()),
        (("Hoá đơn đã xuất", "Invoices issued"), rec.invoices_issued.to_string()),
        (("Giao dịch chuyển khoản", "Transfers"), t.count.to_string()),
        (("Tiền chuyển khoản nhận (đồng)", "Transfers received (VND)"), t.received_vnd.to_string()),
        (("Đã áp vào lượt gửi (đồng)", "Applied (VND)"), t.applied_vnd.to_string()),
        (("Đã ghi có tài khoản (đồng)", "Credited to accounts (VND)"), t.credited_vnd.to_string()),
        (("Phải hoàn (đồng)", "To refund (VND)"), t.refund_vnd.to_string()),
        (("Chưa khớp (đồng)", "Unmatched (VND)"), t.unmatched_vnd.to_string()),
        (("Sai lệch", "Mismatches"), rec.mismatches.len().to_string()),
    ];
    let sheet = book.add_worksheet().set_name(say(lang, words::SHEET_RECONCILIATION))?;
    for (r, (k, v)) in (0u32..).zip(&facts) {
        sheet.write_string_with_format(r, 0, say(lang, *k), &bold)?;
        match v.parse::<i64>() {
            Ok(n) => sheet.write_number_with_format(r, 1, n as f64, &money)?,
            Err(_) => sheet.write_string(r, 1, v)?,
        };
    }
    sheet.autofit();

    let sheet = book.add_worksheet().set_name(say(lang, words::SHEET_MISMATCHES))?;
    for (c, h) in (0u16..).zip(words::MISMATCH_HEADER) {
        sheet.write_string_with_format(0, c, say(lang, h), &bold)?;
    }
    for (r, m) in (1u32..).zip(&rec.mismatches) {
        sheet.write_string(r, 0, words::code(lang, &m.kind))?;
        sheet.write_string(r, 1, &m.id)?;
        sheet.write_string(r, 2, m.at.map(|t| t.to_string()).unwrap_or_default())?;
        if let Some(a) = m.amount_vnd {
            sheet.write_number_with_format(r, 3, a as f64, &money)?;
        }
        sheet.write_string(r, 4, &m.detail)?;
    }
    sheet.autofit();
    Ok(book.save_to_buffer()?)
}
