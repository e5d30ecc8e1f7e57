//! A lane's snapshot source (`snapshot = { kind = … }` in `[[lanes]]`):
//! where the controller takes the photo of the vehicle at each entry,
//! exit and hold.
//!
//! - `http`: the camera's snapshot URL (most IP and ANPR cameras have one:
//!   a GET answers the current frame as a JPEG). Plain `http://` on the
//!   lane's own network, with `user:password@` for basic authentication.
//! - `dir`: a directory the camera (or its FTP upload) drops frames into;
//!   the newest `.jpg`/`.jpeg`/`.png` there, if recent enough.

use std::path::PathBuf;

use serde::Deserialize;

/// Where a lane's photos come from.
#[derive(Clone, Debug, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum SnapshotSource {
    Http {
        url: String,
        /// The camera must answer within this (default 2 s).
        #[serde(default = "default_timeout")]
        timeout_ms: u32,
    },
    Dir {
        dir: PathBuf,
        /// A frame older than this is not the vehicle at the lane now
        /// (default 5 s).
        #[serde(default = "default_max_age")]
        max_age_ms: u32,
    },
}

fn default_timeout() -> u32 {
    2_000
}

fn default_max_age() -> u32 {
    5_000
}

impl SnapshotSource {
    /// What is wrong with it, for `lanes.snapshot`.
    pub fn check(&self) -> Result<(), String> {
        match self {
            SnapshotSource::Http { url, timeout_ms } => {
                let uri: http::Uri = url.parse().map_err(|e| format!("{url:?} is not a URL: {e}"))?;
                if uri.scheme_str() != Some("http") || uri.host().is_none() {
                    return Err(format!(
                        "{url:?}: give the camera's snapshot address as http://host/path (cameras on the lane's network speak plain HTTP)"
                    ));
                }
                if !(100..=30_000).contains(timeout_ms) {
                    return Err(format!("timeout_ms {timeout_ms} is not between 100 and 30000"));
                }
            }
            SnapshotSource::Dir { dir, max_age_ms } => {
                if dir.as_os_str().is_empty() {
                    return Err("the frames directory is empty".into());
                }
                if *max_age_ms == 0 {
                    return Err("max_age_ms must be more than 0".into());
                }
            }
        }
        Ok(())
    }
}
