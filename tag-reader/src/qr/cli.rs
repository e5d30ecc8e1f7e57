//! The QR command-line contracts: keep their output stable.
//!
//! - `decode-qr FILE…`: one JSON line per file: `{"file":…,"codes":[…],"ms":1.7}`;
//! - `bench-qr DIR`: decode rate and time percentiles; the last line is JSON.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use crate::qr;

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
