//! Camera frames dropped into a directory, decoded and published as QR
//! reads of a gate; each frame is then moved to `processed/`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use parking_core::GateId;
use parking_core::wire::{Read, Topics};
use parking_runtime::Clock;
use parking_runtime::mqtt::OutMsg;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::reads::read_msg;

fn is_frame(p: &Path) -> bool {
    let ext = p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg"))
}

/// Where camera frames arrive for one gate.
#[derive(Debug)]
pub struct Watch {
    pub dir: PathBuf,
    pub gate: GateId,
    pub topics: Topics,
    pub clock: Clock,
}

impl Watch {
    /// Watches the directory for camera frames; each is decoded, its codes
    /// queued, and the frame moved to `dir/processed/`.
    pub async fn run(self, out: mpsc::Sender<OutMsg>, shutdown: CancellationToken) {
        let Watch { dir, gate, topics, clock } = self;
        let done = dir.join("processed");
        if let Err(e) = tokio::fs::create_dir_all(&done).await {
            tracing::error!(dir = %done.display(), error = %e, "cannot create the processed-frames directory");
            return;
        }
        // Frames that failed to decode, with the number of tries so far.
        let mut failed: HashMap<PathBuf, u8> = HashMap::new();
        while !shutdown.is_cancelled() {
            let mut frames: Vec<PathBuf> = match std::fs::read_dir(&dir) {
                Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| is_frame(p)).collect(),
                Err(e) => {
                    tracing::error!(dir = %dir.display(), error = %e, "cannot list the frames directory");
                    Vec::new()
                }
            };
            frames.sort();
            frames.retain(|f| failed.get(f).is_none_or(|tries| *tries < 3));
            for frame in frames {
                let path = frame.clone();
                let decoded = tokio::task::spawn_blocking(move || super::decode_file(&path)).await;
                match decoded {
                    Ok(Ok(d)) => {
                        let at = clock.now();
                        for text in d.codes {
                            if out.send(read_msg(&topics, &gate, false, at, Read::Qr { text })).await.is_err() {
                                return;
                            }
                        }
                        if let Some(name) = frame.file_name() {
                            if let Err(e) = std::fs::rename(&frame, done.join(name)) {
                                tracing::error!(frame = %frame.display(), error = %e, "cannot move a processed frame");
                                failed.insert(frame, u8::MAX);
                            }
                        }
                    }
                    Ok(Err(e)) => {
                        // A frame still being written may not parse yet: it is
                        // tried on three rounds, then left in place.
                        tracing::warn!(frame = %frame.display(), error = %e, "frame not decodable (yet)");
                        *failed.entry(frame).or_default() += 1;
                    }
                    Err(e) => tracing::error!(error = %e, "QR decoding task failed"),
                }
            }
            failed.retain(|f, _| f.exists());
            tokio::select! {
                _ = shutdown.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_millis(200)) => {}
            }
        }
    }
}
