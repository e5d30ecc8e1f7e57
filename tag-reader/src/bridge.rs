//! The bridge: a serial reader (and optionally a directory of camera
//! frames) for one gate, published onto MQTT as `ReadMsg`s on
//! `parking/{lot}/gate/{gate}/read`, with a retained status and last will
//! on `parking/{lot}/node/{node}/status`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_core::wire::{self, GateTopic, NodeRole, NodeStatus, Read, ReadMsg, Topics, V1};
use parking_core::{GateId, Timestamp};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::dedup::{DedupConfig, DedupEvent, Deduplicator};
use crate::publisher::{self, OutMsg, PublisherConfig, PublisherStats};
use crate::reader::{self, ReaderConfig, ReaderEvent, now};
use crate::settings::Settings;

/// How long a stopping bridge keeps trying to deliver what it holds.
const DRAIN: Duration = Duration::from_secs(3);

fn status(settings: &Settings, online: bool, at: Timestamp) -> OutMsg {
    let topics = Topics::new(settings.lot.id.clone());
    let msg = NodeStatus { v: V1, node: settings.reader.node.clone(), role: NodeRole::ReaderBridge, online, at };
    OutMsg { topic: topics.node_status(&settings.reader.node), payload: wire::encode(&msg), retain: true }
}

fn read_msg(topics: &Topics, gate: &GateId, at: Timestamp, read: Read) -> OutMsg {
    let msg = ReadMsg { v: V1, gate: gate.clone(), at, read };
    OutMsg { topic: topics.gate(gate, GateTopic::Read), payload: wire::encode(&msg), retain: false }
}

/// Runs the bridge until `shutdown`; returns the publisher's counters.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Arc<PublisherStats>> {
    let topics = Topics::new(settings.lot.id.clone());
    let started = now();
    let will = status(&settings, false, started);
    let config = PublisherConfig {
        options: publisher::mqtt_options(&settings.broker, settings.reader.node.as_str(), Some(&will))?,
        outbox_capacity: settings.reader.outbox_capacity,
        max_inflight: 100,
        on_connect: Some(status(&settings, true, started)),
    };
    let stats = Arc::new(PublisherStats::default());
    let (out_tx, out_rx) = mpsc::channel(4096);
    let publisher_stop = CancellationToken::new();
    let publisher = tokio::spawn(publisher::run(config, out_rx, Arc::clone(&stats), publisher_stop.clone(), DRAIN));

    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(serial_loop(settings.clone(), topics.clone(), out_tx.clone(), shutdown.clone())));
    if let Some(dir) = settings.reader.frames_dir.clone() {
        let gate = settings.reader.gate.clone();
        tasks.push(tokio::spawn(frames_loop(dir, gate, topics, out_tx.clone(), shutdown.clone())));
    }
    drop(out_tx);
    for t in tasks {
        if let Err(e) = t.await {
            tracing::error!(error = %e, "a bridge task failed");
        }
    }
    // Everything read is queued; now let the publisher deliver it.
    publisher_stop.cancel();
    publisher.await?;
    Ok(stats)
}

/// Opens the serial port (again and again if it is unplugged), runs the
/// reader loop, deduplicates, and queues each new presence.
async fn serial_loop(settings: Settings, topics: Topics, out: mpsc::Sender<OutMsg>, shutdown: CancellationToken) {
    let r = &settings.reader;
    let mut config = ReaderConfig::new(r.protocol);
    if let Some(addr) = r.address {
        config.addr = addr;
    }
    let dedup_config = DedupConfig { window_ms: r.dedup_window_ms, settle_ms: r.settle_ms, ..DedupConfig::default() };
    let mut dedup: Deduplicator<u8> = Deduplicator::new(dedup_config);
    loop {
        let opened = reader::open_serial(&r.port, r.baud, &shutdown, |e| {
            tracing::error!(port = %r.port, error = %e, "cannot open the reader's serial port; retrying");
        });
        let Some(port) = opened.await else { break };
        tracing::info!(port = %r.port, protocol = ?r.protocol, "reader port open");
        let (tx, mut rx) = mpsc::channel(1024);
        let stop_reader = shutdown.child_token();
        let reader = tokio::spawn(reader::run(port, config, tx, stop_reader.clone()));
        loop {
            let deadline = dedup.next_deadline();
            let wait = deadline.map_or(Duration::from_secs(3600), crate::clock::real_wait);
            let events = tokio::select! {
                event = rx.recv() => match event {
                    Some(ReaderEvent::Tag { report, at }) => dedup.observe(report.antenna, &report, at),
                    Some(ReaderEvent::Alive(alive)) => {
                        tracing::info!(alive, "reader liveness changed");
                        Vec::new()
                    }
                    None => break,
                },
                _ = tokio::time::sleep(wait) => dedup.tick(now()),
            };
            for event in events {
                if let DedupEvent::Present { presence, .. } = event {
                    let msg = read_msg(&topics, &r.gate, presence.first_seen, Read::Tag(presence));
                    if out.send(msg).await.is_err() {
                        return;
                    }
                }
            }
        }
        stop_reader.cancel();
        match reader.await {
            Ok(Ok(stats)) => tracing::info!(?stats, "reader loop ended"),
            Ok(Err(e)) => tracing::error!(error = %e, "reader port failed; reopening"),
            Err(e) => tracing::error!(error = %e, "reader task failed"),
        }
    }
    // Presences still settling are announced before the bridge stops.
    for event in dedup.tick(Timestamp::from_unix_millis(i64::MAX / 4).unwrap_or(Timestamp::UNIX_EPOCH)) {
        if let DedupEvent::Present { presence, .. } = event {
            let _ = out.send(read_msg(&topics, &r.gate, presence.first_seen, Read::Tag(presence))).await;
        }
    }
}

fn is_frame(p: &Path) -> bool {
    let ext = p.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    matches!(ext.as_deref(), Some("png" | "jpg" | "jpeg"))
}

/// Watches `dir` for camera frames; each is decoded, its codes queued, and
/// the frame moved to `dir/processed/`.
pub async fn frames_loop(
    dir: PathBuf,
    gate: GateId,
    topics: Topics,
    out: mpsc::Sender<OutMsg>,
    shutdown: CancellationToken,
) {
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
            let decoded = tokio::task::spawn_blocking(move || crate::qr::decode_file(&path)).await;
            match decoded {
                Ok(Ok(d)) => {
                    let at = now();
                    for text in d.codes {
                        if out.send(read_msg(&topics, &gate, at, Read::Qr { text })).await.is_err() {
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
