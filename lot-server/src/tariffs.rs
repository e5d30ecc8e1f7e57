//! The lot's tariff book, read from every `*.toml` in `lot.tariff_dir`.
//! The lot server is the source of truth for tariffs: it publishes the book
//! to the controllers, which keep the last good copy.

use std::path::Path;

use anyhow::Context;
use parking_core::TariffBook;

/// Reads and validates every tariff file in `dir`, requiring one that
/// prices `zone`. Files are read in name order so errors are repeatable.
pub fn load_dir(dir: &Path, zone: &str) -> anyhow::Result<TariffBook> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read tariff directory {}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    let texts = paths
        .iter()
        .map(|p| std::fs::read_to_string(p).map(|t| (p.display().to_string(), t)))
        .collect::<Result<Vec<_>, _>>()
        .with_context(|| format!("cannot read a tariff file in {}", dir.display()))?;
    let book = TariffBook::from_files(
        texts.iter().map(|(o, t)| (o.as_str(), t.as_str())),
        Some(zone),
        &dir.display().to_string(),
    )?;
    Ok(book)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_tariffs_load() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/tariffs");
        let book = load_dir(&dir, "hanoi-zone-1").unwrap();
        assert!(book.by_version("hn-z1-2018-example").is_some());
        let err = load_dir(&dir, "nowhere").unwrap_err().to_string();
        assert!(err.contains("no tariff for zone nowhere"), "{err}");
        assert!(load_dir(Path::new("/nonexistent"), "z").is_err());
    }
}
