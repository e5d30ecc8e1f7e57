//! The command-line contracts acceptance checks rely on: keep their output
//! stable.
//!
//! - `decode-frames --protocol r2000|chafon`: one hex frame per stdin line
//!   → one JSON line: `{"ok":true,"tags":[{"epc":…,"antenna":0,"rssi":69}]}`
//!   or `{"ok":false,"error":"…"}`;
//! - `decode-qr FILE…`: one JSON line per file: `{"file":…,"codes":[…],"ms":1.7}`;
//! - `bench-qr DIR`: decode rate and time percentiles; the last line is JSON.

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::{Value, json};

use crate::codec::{TagReport, chafon, parse_hex, r2000};
use crate::qr;
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

/// `decode-qr`: returns false if any file could not be read.
pub fn decode_qr(files: &[PathBuf], mut out: impl Write) -> std::io::Result<bool> {
    let mut all_read = true;
    for file in files {
        let started = Instant::now();
        let result = qr::decode_file(file);
        let ms = (started.elapsed().as_secs_f64() * 1000.0 * 100.0).round() / 100.0;
        let line = match result {
            Ok(d) => json!({"file": file.display().to_string(), "codes": d.codes, "ms": ms}),
            Err(e) => {
                all_read = false;
                json!({"file": file.display().to_string(), "codes": [], "ms": ms, "error": e.to_string()})
            }
        };
        writeln!(out, "{line}")?;
    }
    Ok(all_read)
}

/// `bench-qr`: prints the figures, last line JSON.
pub fn bench_qr(dir: &Path, mut out: impl Write) -> std::io::Result<qr::bench::BenchReport> {
    let r = qr::bench::run(dir)?;
    writeln!(out, "QR corpus {}: {} images with expected text", dir.display(), r.images)?;
    for miss in &r.misses {
        writeln!(out, "  missed   {}", miss.display())?;
    }
    for (file, e) in &r.unreadable {
        writeln!(out, "  unreadable {}: {e}", file.display())?;
    }
    for (attempt, n) in &r.by_attempt {
        writeln!(out, "  decoded by {attempt:?}: {n}")?;
    }
    let pct = r.rate() * 100.0;
    let (p50, p90, p99) = (r.percentile_ms(0.5), r.percentile_ms(0.9), r.percentile_ms(0.99));
    let max = r.times_ms.last().copied().unwrap_or(0.0);
    writeln!(out, "decoded {}/{} = {pct:.1}% exactly", r.decoded, r.images)?;
    writeln!(
        out,
        "time per image (load + grayscale + decode): p50 {p50:.2} ms, p90 {p90:.2} ms, p99 {p99:.2} ms, max {max:.2} ms"
    )?;
    writeln!(out, "decoder panics caught: {}", r.panics)?;
    let round = |v: f64| (v * 1000.0).round() / 1000.0;
    let summary = json!({
        "images": r.images, "decoded": r.decoded, "rate": round(r.rate()),
        "p50_ms": round(p50), "p90_ms": round(p90), "p99_ms": round(p99), "max_ms": round(max),
        "panics": r.panics,
    });
    writeln!(out, "{summary}")?;
    Ok(r)
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
