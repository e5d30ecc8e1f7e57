//! `GET /lots/{lot}/receipt/{key}`: an invoice's receipt as a page made
//! here, Vietnamese with English beneath, that needs no JavaScript and
//! prints on one sheet; `…/{key}/xml` the invoice's XML itself. A key that
//! opens nothing (wrong, altered or made up) answers 404, and every try
//! counts against the address's lookups.

use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use parking_core::xml::escape;

use crate::api::{ApiError, AppState};
use crate::tax::receipt::{self, Receipt};
use crate::tax::receipts;

pub(super) async fn page(State(s): State<AppState>, Path(key): Path<String>) -> Result<Response, ApiError> {
    let Some(found) = receipts::find(&s.0.db, &key).await? else {
        return Ok(html(StatusCode::NOT_FOUND, "Không tìm thấy biên lai · Receipt not found", NOT_FOUND));
    };
    let r = receipt::from_xml(&found.xml).map_err(|e| ApiError::Unexpected(e.to_string()))?;
    let title = format!("Biên lai {} số {} · Receipt", r.series, r.number);
    Ok(html(StatusCode::OK, &title, &body(&r, &key)))
}

pub(super) async fn xml(State(s): State<AppState>, Path(key): Path<String>) -> Result<Response, ApiError> {
    let Some(found) = receipts::find(&s.0.db, &key).await? else {
        return Err(ApiError::NotFound("no receipt has this link".into()));
    };
    let disposition = format!("attachment; filename=\"{}-{}.xml\"", found.series, found.number);
    Ok((
        [
            (header::CONTENT_TYPE, "application/xml; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff".to_owned()),
        ],
        found.xml,
    )
        .into_response())
}

const NOT_FOUND: &str = "<h1>Không tìm thấy biên lai <span lang=\"en\">Receipt not found</span></h1>\
<p>Đường liên kết này không mở biên lai nào. Nếu bạn vừa ra khỏi bãi, hóa đơn có thể đang được lập: hãy thử lại sau một phút.</p>\
<p lang=\"en\">This link opens no receipt. If you have just left, the invoice may still be being issued: try again in a minute.</p>";

/// Whole đồng, grouped the Vietnamese way: `54.000 đ`.
fn dong(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push('.');
        }
        out.push(c);
    }
    format!("{}{out} đ", if n < 0 { "-" } else { "" })
}

/// A label in Vietnamese with its English beneath.
fn label(vi: &str, en: &str) -> String {
    format!("{vi} <span lang=\"en\">{en}</span>")
}

fn body(r: &Receipt, key: &str) -> String {
    let e = |t: &str| escape(t);
    let mut rows = String::new();
    for l in &r.lines {
        let cell = |vi: &str, en: &str, class: &str, text: String| {
            format!("<td{class} data-label=\"{vi} · {en}\">{text}</td>")
        };
        rows.push_str(&format!(
            "<tr>{}{}{}{}{}{}</tr>",
            cell("Tên", "Item", "", e(&l.name)),
            cell("ĐVT", "Unit", "", e(&l.unit)),
            cell("SL", "Qty", " class=\"n\"", e(&l.quantity)),
            cell("Đơn giá", "Unit price", " class=\"n\"", dong(l.unit_price)),
            cell("Thuế suất", "VAT rate", " class=\"n\"", e(&l.vat_rate)),
            cell("Thành tiền", "Amount", " class=\"n\"", dong(l.amount)),
        ));
    }
    let pair = |k: String, v: String| format!("<div><dt>{k}</dt><dd>{v}</dd></div>");
    let seller = [
        pair(label("Đơn vị bán", "Seller"), e(&r.seller_name)),
        pair(label("Mã số thuế", "Tax code"), e(&r.seller_tax_code)),
        pair(label("Địa chỉ", "Address"), e(&r.seller_address)),
    ]
    .concat();
    let invoice = [
        pair(label("Ký hiệu", "Series"), e(&r.series)),
        pair(label("Số", "Number"), e(&r.number)),
        pair(label("Ngày lập", "Issued"), format!("{} {}", e(&r.date), e(&r.time))),
        pair(
            label("Hình thức thanh toán", "Paid by"),
            format!("{} <span lang=\"en\">bank transfer</span>", e(&r.payment)),
        ),
        pair(label("Mã tra cứu", "Lookup code"), format!("<code>{}</code>", e(&r.lookup_code))),
    ]
    .concat();
    let totals = [
        pair(label("Cộng tiền hàng", "Net"), dong(r.net_total)),
        pair(label("Tiền thuế GTGT", "VAT"), dong(r.vat_total)),
        pair(label("Tổng cộng", "Total"), format!("<strong>{}</strong>", dong(r.total))),
        pair(label("Bằng chữ", "In words"), e(&r.total_in_words)),
    ]
    .concat();
    format!(
        "<h1>{}</h1><dl class=\"facts\">{seller}</dl><dl class=\"facts\">{invoice}</dl>\
         <div class=\"scroll\" tabindex=\"0\" role=\"region\" aria-label=\"Hàng hóa, dịch vụ\"><table class=\"lines\"><caption>{}</caption><thead><tr><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
         <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\
         <tbody>{rows}</tbody></table></div><dl class=\"facts totals\">{totals}</dl>\
         <p class=\"noprint\"><a class=\"button\" href=\"{key}/xml\" download>{}</a></p>\
         <p class=\"small\">{}</p>",
        label("Hóa đơn giá trị gia tăng", "VAT invoice"),
        label("Hàng hóa, dịch vụ", "Items"),
        label("Tên", "Item"),
        label("ĐVT", "Unit"),
        label("SL", "Qty"),
        label("Đơn giá", "Unit price"),
        label("Thuế suất", "VAT rate"),
        label("Thành tiền", "Amount"),
        label("Tải hóa đơn (XML)", "Download the invoice (XML)"),
        label(
            "Tra cứu hóa đơn trên trang của cơ quan thuế bằng mã tra cứu.",
            "Look the invoice up on the tax authority's site with its lookup code."
        ),
    )
}

fn html(status: StatusCode, title: &str, main: &str) -> Response {
    let page = format!(
        "<!doctype html><html lang=\"vi\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <meta name=\"robots\" content=\"noindex\"><title>{}</title>\
         <link rel=\"stylesheet\" href=\"/driver/app.css\"></head>\
         <body class=\"receipt\"><main>{main}</main></body></html>",
        escape(title)
    );
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
            (
                header::HeaderName::from_static("content-security-policy"),
                "default-src 'none'; style-src 'self'; frame-ancestors 'none'",
            ),
        ],
        page,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    #[test]
    fn dong_groups_thousands_with_dots() {
        assert_eq!(super::dong(54_000), "54.000 đ");
        assert_eq!(super::dong(1_234_567), "1.234.567 đ");
        assert_eq!(super::dong(0), "0 đ");
        assert_eq!(super::dong(-5_000), "-5.000 đ");
    }
}
