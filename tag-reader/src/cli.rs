//! The command-line contracts acceptance checks rely on: keep their output
//! stable.
//!
//! - `decode-frames --protocol r2000|chafon`: one hex frame per stdin line
//!   → one JSON line: `{"ok":true,"tags":[{"epc":…,"antenna":0,"rssi":69}]}`
//!   or `{"ok":false,"error":"…"}`;
//! - with the `qr` feature, `decode-qr` and `bench-qr` (in `qr::cli`).

use std::io::{BufRead, Write};

use serde_json::{Value, json};

use crate::codec::{TagReport, chafon, parse_hex, r2000};
use crate::settings::Protocol;

fn tags_json(tags: &[&TagReport]) -> Value {
    Value::Array(tags.iter().map(|t| json!({"epc": t.epc.to_string(), "antenna": t.antenna, "rssi": t.rssi})).collect())
}

/// Decodes one hex frame into its JSON line.
pub fn decode_frame_line(protocol: Protocol, line: &str) -> Value {
    let bytes = match parse_hex(line) {
        Ok(b) => b,
        Err(e) => return json!({"ok": false, "error": e}),
    };
    let result = match protocol {
        Protocol::R2000 => r2000::parse_frame(&bytes).map(|f| tags_json(&f.tags())),
        Protocol::Chafon => chafon::parse_frame(&bytes).map(|f| tags_json(&f.tags())),
    };
    match result {
        Ok(tags) => json!({"ok": true, "tags": tags}),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    }
}

/// `decode-frames`: every stdin line, blank lines included, gets a line.
pub fn decode_frames(protocol: Protocol, input: impl BufRead, mut out: impl Write) -> std::io::Result<()> {
    for line in input.lines() {
        writeln!(out, "{}", decode_frame_line(protocol, &line?))?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(protocol: Protocol, input: &str) -> Vec<Value> {
        let mut out = Vec::new();
        decode_frames(protocol, input.as_bytes(), &mut out).unwrap();
        String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    #[test]
    fn decode_frames_contract() {
        let got = lines(
            Protocol::R2000,
            "A0 13 01 89 04 30 00 E2 00 30 16 66 13 01 21 15 50 74 EF 45 BF\nA0 04 01 89 01 D1\nA0 04 01 89 01 D2\n\nzz\n",
        );
        assert_eq!(
            got[0],
            json!({"ok": true, "tags": [{"epc": "E200301666130121155074EF", "antenna": 0, "rssi": 69}]})
        );
        assert_eq!(got[1], json!({"ok": true, "tags": []}));
        assert_eq!(got[2]["ok"], false);
        assert!(got[2]["error"].as_str().unwrap().contains("checksum"));
        assert_eq!(got[3]["ok"], false, "a blank line is an empty frame");
        assert_eq!(got[4]["ok"], false);
        let got =
            lines(Protocol::Chafon, "13 00 01 03 01 0C 00 00 00 00 00 00 00 00 00 00 03 13 3F 39\n04 00 01 DB 4B");
        assert_eq!(
            got[0],
            json!({"ok": true, "tags": [{"epc": "000000000000000000000313", "antenna": 0, "rssi": null}]})
        );
        assert_eq!(got[1], json!({"ok": true, "tags": []}));
    }
}
