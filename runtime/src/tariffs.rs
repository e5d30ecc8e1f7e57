//! The one loader of a tariff directory: every `*.toml` in it, read in
//! name order (so errors repeat), each validated, and one required for
//! the lot's zone. Strict: a file that cannot be read is an error naming
//! it, never skipped. The lot server and the controller both load their
//! tariff book here.

use std::path::Path;

use parking_core::TariffBook;
use parking_core::tariff::BookError;

/// Why a tariff directory gave no book.
#[derive(Debug, thiserror::Error)]
pub enum TariffDirError {
    #[error("cannot read tariff directory {dir}: {error}")]
    Dir { dir: String, error: std::io::Error },
    #[error("cannot read tariff file {file}: {error}")]
    File { file: String, error: std::io::Error },
    #[error(transparent)]
    Book(#[from] BookError),
}

/// Reads and validates every tariff file in `dir`, requiring one that
/// prices `zone`.
pub fn load_dir(dir: &Path, zone: &str) -> Result<TariffBook, TariffDirError> {
    let entries =
        std::fs::read_dir(dir).map_err(|error| TariffDirError::Dir { dir: dir.display().to_string(), error })?;
    let mut paths = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|error| TariffDirError::Dir { dir: dir.display().to_string(), error })?;
        let path = entry.path();
        if path.extension().is_some_and(|e| e == "toml") {
            paths.push(path);
        }
    }
    paths.sort();
    let texts = paths
        .iter()
        .map(|p| {
            std::fs::read_to_string(p)
                .map(|t| (p.display().to_string(), t))
                .map_err(|error| TariffDirError::File { file: p.display().to_string(), error })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let book = TariffBook::from_files(
        texts.iter().map(|(o, t)| (o.as_str(), t.as_str())),
        Some(zone),
        &dir.display().to_string(),
    )?;
    Ok(book)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_shipped_tariffs_load_and_every_fault_is_named() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/tariffs");
        let book = load_dir(&dir, "hanoi-zone-1").unwrap();
        assert!(book.by_version("hn-z1-2018-example").is_some());
        let err = load_dir(&dir, "nowhere").unwrap_err().to_string();
        assert!(err.contains("no tariff for zone nowhere"), "{err}");
        let err = load_dir(Path::new("/nonexistent"), "z").unwrap_err().to_string();
        assert!(err.contains("cannot read tariff directory /nonexistent"), "{err}");
    }

    #[test]
    fn a_file_that_cannot_be_read_is_an_error_not_skipped() {
        let tmp = std::env::temp_dir().join(format!("parking-tariffs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).unwrap();
        let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("../config/tariffs");
        for e in std::fs::read_dir(&shipped).unwrap() {
            let p = e.unwrap().path();
            std::fs::copy(&p, tmp.join(p.file_name().unwrap())).unwrap();
        }
        // Not UTF-8: unreadable as text.
        std::fs::write(tmp.join("zz-broken.toml"), [0xff, 0xfe, 0x00]).unwrap();
        let err = load_dir(&tmp, "hanoi-zone-1").unwrap_err().to_string();
        assert!(err.contains("zz-broken.toml"), "{err}");
        std::fs::write(tmp.join("zz-broken.toml"), "version = ").unwrap();
        let err = load_dir(&tmp, "hanoi-zone-1").unwrap_err().to_string();
        assert!(err.contains("zz-broken.toml"), "{err}");
        let _ = std::fs::remove_dir_all(&tmp);
    }
}
