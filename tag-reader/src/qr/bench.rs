//! `tag-reader bench-qr DIR`: decode rate and time over a corpus of images
//! whose expected text sits beside them (`N.png` + `N.txt`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use super::{Attempt, decode_file};

/// The figures of one bench run.
#[derive(Debug, Default)]
pub struct BenchReport {
    pub images: usize,
    pub decoded: usize,
    /// Per image: load + grayscale + decode, in milliseconds, sorted.
    pub times_ms: Vec<f64>,
    pub by_attempt: Vec<(Attempt, usize)>,
    pub misses: Vec<PathBuf>,
    pub unreadable: Vec<(PathBuf, String)>,
    pub panics: u32,
}

impl BenchReport {
    pub fn percentile_ms(&self, q: f64) -> f64 {
        parking_runtime::histogram::percentile(&self.times_ms, q)
    }

    pub fn rate(&self) -> f64 {
        #[allow(clippy::cast_precision_loss)]
        if self.images == 0 { 0.0 } else { self.decoded as f64 / self.images as f64 }
    }
}

/// Images under `dir` (recursively) that have a sibling `.txt`, sorted.
pub fn corpus(dir: &Path) -> std::io::Result<Vec<(PathBuf, PathBuf)>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
            if matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg")) {
                let txt = path.with_extension("txt");
                if txt.is_file() {
                    out.push((path, txt));
                }
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Decodes every image and compares it with its expected text, exactly.
pub fn run(dir: &Path) -> std::io::Result<BenchReport> {
    let mut report = BenchReport::default();
    for (image, txt) in corpus(dir)? {
        let want = std::fs::read_to_string(&txt)?;
        report.images += 1;
        let started = Instant::now();
        let result = decode_file(&image);
        report.times_ms.push(started.elapsed().as_secs_f64() * 1000.0);
        match result {
            Ok(d) => {
                report.panics += d.panics;
                if d.codes.contains(&want) {
                    report.decoded += 1;
                    if let Some(a) = d.attempt {
                        match report.by_attempt.iter_mut().find(|(k, _)| *k == a) {
                            Some((_, n)) => *n += 1,
                            None => report.by_attempt.push((a, 1)),
                        }
                    }
                } else {
                    report.misses.push(image);
                }
            }
            Err(e) => report.unreadable.push((image, e.to_string())),
        }
    }
    report.times_ms.sort_by(f64::total_cmp);
    Ok(report)
}
