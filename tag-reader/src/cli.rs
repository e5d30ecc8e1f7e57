//! The command-line contracts acceptance checks rely on: keep their output
//! stable.
//!
//! - `decode-frames --protocol r2000|chafon`: one hex frame per stdin line
//!   → one JSON line: `{"ok":true,"tags":[{"epc":…,"antenna":0,"rssi":69}]}`
//!   or `{"ok":false,"error":"…"}`;
//! - `decode-frames --protocol llrp`: one LLRP message per line as hex →
//!   `{"ok":true,"tags":[{"epc","antenna","rssi"}]}` (no tags for a message
//!   that carries none, a keepalive say) or `{"ok":false,"error":"…"}`;
//! - `decode-frames --protocol scanner`: a scanner's raw bytes as hex per
//!   line, taken as a whole stream → `{"ok":true,"codes":[…],"dropped":
//!   {"noise_bytes":0,"overlong_lines":0}}`, or `{"ok":false,…}` for bad hex;
//! - with the `qr` feature, `decode-qr` and `bench-qr` (in `qr::cli`).

use std::io::{BufRead, Write};

use serde_json::{Value, json};

use crate::codec::llrp::{self, Message};
use crate::codec::{TagReport, chafon, parse_hex, r2000, scanner};
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
        Protocol::Scanner => {
            let (codes, stats) = scanner::decode_all(&bytes);
            let dropped = json!({"noise_bytes": stats.garbage_bytes, "overlong_lines": stats.rejected_frames});
            return json!({"ok": true, "codes": codes, "dropped": dropped});
        }
    };
    match result {
        Ok(tags) => json!({"ok": true, "tags": tags}),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    }
}

/// Decodes one hex LLRP message into its JSON line.
pub fn decode_llrp_line(line: &str) -> Value {
    let bytes = match parse_hex(line) {
        Ok(b) => b,
        Err(e) => return json!({"ok": false, "error": e}),
    };
    match llrp::parse_message(&bytes) {
        Ok(Message::Report { tags, .. }) => {
            json!({"ok": true, "tags": tags_json(&tags.iter().map(|t| &t.report).collect::<Vec<_>>())})
        }
        Ok(_) => json!({"ok": true, "tags": []}),
        Err(e) => json!({"ok": false, "error": e.to_string()}),
    }
}

/// `decode-frames`: every stdin line, blank lines included, gets a line.
pub fn decode_frames(protocol: Protocol, input: impl BufRead, out: impl Write) -> std::io::Result<()> {
    decode_lines(input, out, |line| decode_frame_line(protocol, line))
}

/// Each stdin line through `decode`, one JSON line out per line in.
pub fn decode_lines(input: impl BufRead, mut out: impl Write, decode: impl Fn(&str) -> Value) -> std::io::Result<()> {
    for line in input.lines() {
        writeln!(out, "{}", decode(&line?))?;
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

    #[test]
    fn decode_frames_contract_for_llrp() {
        let mut out = Vec::new();
        // A report of one tag, a keepalive, a truncated message, bad hex.
        let input = "043d0000002c000003e900f000228de200301666130121155074ef81000286c6820006620fc9464e80880003\n\
                     043e0000000a000003ea\n043e0000000a0000\nzz\n";
        decode_lines(input.as_bytes(), &mut out, decode_llrp_line).unwrap();
        let got: Vec<Value> =
            String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(
            got[0],
            json!({"ok": true, "tags": [{"epc": "E200301666130121155074EF", "antenna": 2, "rssi": -58}]})
        );
        assert_eq!(got[1], json!({"ok": true, "tags": []}));
        assert_eq!(got[2]["ok"], false);
        assert!(got[2]["error"].as_str().unwrap().contains("truncated"), "{}", got[2]);
        assert_eq!(got[3]["ok"], false);
    }

    #[test]
    fn decode_frames_contract_for_scanners() {
        // "PT1.x\r\n", then noise and a code without its line end, then
        // nothing, then bad hex.
        let got = lines(Protocol::Scanner, "50 54 31 2E 78 0D 0A\nFF FE 0D 41 2D 31\n\n4\n");
        assert_eq!(got[0], json!({"ok": true, "codes": ["PT1.x"], "dropped": {"noise_bytes": 0, "overlong_lines": 0}}));
        assert_eq!(got[1], json!({"ok": true, "codes": ["A-1"], "dropped": {"noise_bytes": 2, "overlong_lines": 0}}));
        assert_eq!(got[2]["codes"], json!([]));
        assert_eq!(got[3]["ok"], false);
    }
}
