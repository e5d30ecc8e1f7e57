//! An amount of đồng in Vietnamese words, as an invoice's `TgTTTBChu`
//! says it: 54,000 is "Năm mươi bốn nghìn đồng".
//!
//! Rules: digits không, một … chín; tens "mười" and "X mươi"; a final one
//! after "X mươi" is "mốt", a final five after any ten is "lăm"; a zero ten
//! before a unit is "linh" (một trăm linh năm); a group of three after the
//! first says its hundreds even when zero (một nghìn không trăm linh năm);
//! groups are nghìn, triệu, tỷ, and then nghìn tỷ, triệu tỷ.

const DIGITS: [&str; 10] = ["không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín"];

/// Words for a group of three digits (0..=999). `full` says the hundreds
/// even when they are zero (every group after the leading one).
fn group(n: u64, full: bool) -> Vec<&'static str> {
    let (h, t, u) = ((n / 100) as usize, ((n / 10) % 10) as usize, (n % 10) as usize);
    let mut w = Vec::new();
    if h > 0 || full {
        w.push(DIGITS[h]);
        w.push("trăm");
    }
    match (t, u) {
        (0, 0) => {}
        (0, u) => {
            if h > 0 || full {
                w.push("linh");
            }
            w.push(DIGITS[u]);
        }
        (1, u) => {
            w.push("mười");
            match u {
                0 => {}
                5 => w.push("lăm"),
                u => w.push(DIGITS[u]),
            }
        }
        (t, u) => {
            w.push(DIGITS[t]);
            w.push("mươi");
            match u {
                0 => {}
                1 => w.push("mốt"),
                5 => w.push("lăm"),
                u => w.push(DIGITS[u]),
            }
        }
    }
    w
}

/// The amount in words, capitalised, ending in "đồng"; negative amounts
/// start with "Âm".
pub fn dong_in_words(amount: i64) -> String {
    let mut n = amount.unsigned_abs();
    if n == 0 {
        return "Không đồng".to_owned();
    }
    // Groups of three digits, least significant first.
    let mut groups = Vec::new();
    while n > 0 {
        groups.push(n % 1000);
        n /= 1000;
    }
    const SCALES: [&str; 7] = ["", "nghìn", "triệu", "tỷ", "nghìn tỷ", "triệu tỷ", "tỷ tỷ"];
    let mut words: Vec<&str> = Vec::new();
    let top = groups.len() - 1;
    for (i, g) in groups.iter().enumerate().rev() {
        if *g == 0 {
            // A whole zero group is silent, except that "tỷ" is said
            // when a higher group exists and this one carries the tỷ.
            if i == 3 && top > 3 {
                words.push("tỷ");
            }
            continue;
        }
        words.extend(group(*g, i != top));
        if !SCALES[i].is_empty() {
            words.extend(SCALES[i].split(' '));
        }
    }
    words.push("đồng");
    let mut text = words.join(" ");
    if amount < 0 {
        text = format!("âm {text}");
    }
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_read_as_an_invoice_says_them() {
        for (n, w) in [
            (0, "Không đồng"),
            (5, "Năm đồng"),
            (15, "Mười lăm đồng"),
            (21, "Hai mươi mốt đồng"),
            (25, "Hai mươi lăm đồng"),
            (105, "Một trăm linh năm đồng"),
            (2_000, "Hai nghìn đồng"),
            (5_000, "Năm nghìn đồng"),
            (30_000, "Ba mươi nghìn đồng"),
            (54_000, "Năm mươi bốn nghìn đồng"),
            (108_000, "Một trăm linh tám nghìn đồng"),
            (1_005, "Một nghìn không trăm linh năm đồng"),
            (1_050_000, "Một triệu không trăm năm mươi nghìn đồng"),
            (2_277_000, "Hai triệu hai trăm bảy mươi bảy nghìn đồng"),
            (1_000_000_000, "Một tỷ đồng"),
            (-8_000, "Âm tám nghìn đồng"),
        ] {
            assert_eq!(dong_in_words(n), w, "{n}");
        }
    }
}
