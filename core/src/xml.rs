//! Text made safe inside XML and HTML: [`escape`] and [`element`], for the
//! invoices' XML, the open parking feed and the receipt page.

/// `text` with `& < > " '` escaped, and the control characters XML 1.0
/// cannot carry dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    push_escaped(&mut out, text);
    out
}

fn push_escaped(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            c => out.push(c),
        }
    }
}

/// Appends `<name>text</name>`, the text escaped.
pub fn element(out: &mut String, name: &str, text: &str) {
    out.push('<');
    out.push_str(name);
    out.push('>');
    push_escaped(out, text);
    out.push_str("</");
    out.push_str(name);
    out.push('>');
}

#[cfg(test)]
mod tests {
    #[test]
    fn markup_and_control_characters_cannot_escape_an_element() {
        let mut out = String::new();
        super::element(&mut out, "Ten", "A & B <script>\"'\u{1}");
        assert_eq!(out, "<Ten>A &amp; B &lt;script&gt;&quot;&apos;</Ten>");
        assert_eq!(super::escape("Bãi xe 1"), "Bãi xe 1");
    }
}
