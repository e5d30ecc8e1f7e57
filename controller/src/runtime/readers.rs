//! In-process lane readers: UHF readers and QR scanners on serial lines,
//! and fixed readers over LLRP/TCP. Each runs its own loop (the serial
//! reader loop, reopening its port; the LLRP client, reconnecting) and
//! hands its events to one [`Forward`]: tags collapsed into presences,
//! codes as QR reads, and a reader going silent as a `reader_offline`
//! alarm.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_core::gate::Input;
use parking_core::wire::AlarmKind;
use tag_reader::dedup::{DedupConfig, DedupEvent, Deduplicator};
use tag_reader::llrp_client::{self, LlrpConfig};
use tag_reader::reader::{self, ReaderConfig, ReaderEvent};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{EngineMsg, Shared};
use crate::settings::{ReaderSource, Settings};

/// Starts the in-process reader of each lane that has one.
pub(super) fn spawn_readers(
    settings: &Settings,
    engine: mpsc::Sender<EngineMsg>,
    shared: &Arc<Shared>,
    shutdown: &CancellationToken,
) {
    for (lane, l) in settings.lanes.iter().enumerate() {
        let dedup = Deduplicator::new(DedupConfig { window_ms: l.dedup_window_ms, ..DedupConfig::default() });
        match &l.reader {
            ReaderSource::Mqtt => {}
            ReaderSource::Serial { protocol, port, baud, address } => {
                let mut config = ReaderConfig::new(*protocol, shared.clock.clone());
                if let Some(a) = address {
                    config.addr = *a;
                }
                let forward = Forward { lane, what: format!("reader on {port}"), dedup, engine: engine.clone() };
                let task = SerialReader { port: port.clone(), baud: *baud, config };
                tokio::spawn(task.run(forward, Arc::clone(shared), shutdown.clone()));
            }
            ReaderSource::Llrp { host, port, antennas, keepalive_ms } => {
                let mut config = LlrpConfig::new(host, *port, antennas.clone(), shared.clock.clone());
                config.keepalive = Duration::from_millis(u64::from(*keepalive_ms));
                let what = format!("LLRP reader at {host}:{port}");
                let forward = Forward { lane, what, dedup, engine: engine.clone() };
                tokio::spawn(run_llrp(config, forward, Arc::clone(shared), shutdown.clone()));
            }
        }
    }
}

/// Where one lane's reader events go.
struct Forward {
    lane: usize,
    /// Names the reader in alarms.
    what: String,
    dedup: Deduplicator<u8>,
    engine: mpsc::Sender<EngineMsg>,
}

impl Forward {
    /// Hands one event on; false once the engine is gone.
    async fn event(&mut self, event: ReaderEvent, shared: &Shared) -> bool {
        let received = Instant::now();
        match event {
            ReaderEvent::Tag { report, at } => {
                for e in self.dedup.observe(report.antenna, &report, at) {
                    if let DedupEvent::Present { presence, .. } = e {
                        let msg = EngineMsg::Input { lane: self.lane, input: Input::Tag(presence), received };
                        if self.engine.send(msg).await.is_err() {
                            return false;
                        }
                    }
                }
            }
            ReaderEvent::Code { text, .. } => {
                let msg = EngineMsg::Input { lane: self.lane, input: Input::Qr(text), received };
                if self.engine.send(msg).await.is_err() {
                    return false;
                }
            }
            ReaderEvent::Alive(alive) => {
                shared.health.update(self.lane, |h| h.reader_alive = alive);
                if !alive {
                    let detail = format!("{} stopped answering", self.what);
                    let msg = EngineMsg::Alarm { lane: self.lane, alarm: AlarmKind::ReaderOffline, detail };
                    let _ = self.engine.send(msg).await;
                }
            }
        }
        // Presences end by time; a tick per event keeps memory flat.
        self.dedup.tick(shared.clock.now());
        true
    }
}

struct SerialReader {
    port: String,
    baud: u32,
    config: ReaderConfig,
}

impl SerialReader {
    async fn run(self, mut forward: Forward, shared: Arc<Shared>, shutdown: CancellationToken) {
        loop {
            let opened = parking_runtime::serial::open(&self.port, self.baud, &shutdown, |e| {
                tracing::error!(port = %self.port, error = %e, "cannot open the reader; retrying");
                shared.health.update(forward.lane, |h| h.reader_alive = false);
            });
            let Some(io) = opened.await else { return };
            let (tx, mut rx) = mpsc::channel(1024);
            let stop = shutdown.child_token();
            let reader = tokio::spawn(reader::run(io, self.config.clone(), tx, stop.clone()));
            while let Some(event) = rx.recv().await {
                if !forward.event(event, &shared).await {
                    stop.cancel();
                    return;
                }
            }
            stop.cancel();
            match reader.await {
                Ok(Ok(stats)) => tracing::info!(?stats, "reader loop ended"),
                Ok(Err(e)) => tracing::error!(port = %self.port, error = %e, "reader line failed; reopening"),
                Err(e) => tracing::error!(error = %e, "reader task failed"),
            }
        }
    }
}

async fn run_llrp(config: LlrpConfig, mut forward: Forward, shared: Arc<Shared>, shutdown: CancellationToken) {
    let (tx, mut rx) = mpsc::channel(1024);
    let stop = shutdown.child_token();
    let client = tokio::spawn(llrp_client::run(config, tx, stop.clone()));
    while let Some(event) = rx.recv().await {
        if !forward.event(event, &shared).await {
            break;
        }
    }
    stop.cancel();
    if let Err(e) = client.await {
        tracing::error!(error = %e, "LLRP client task failed");
    }
}
