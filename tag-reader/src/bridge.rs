//! The bridge: a serial reader or QR scanner (and optionally a directory
//! of camera frames) for one gate, published onto MQTT as `ReadMsg`s on
//! `parking/{lot}/gate/{gate}/read`, with a retained status and last will
//! on `parking/{lot}/node/{node}/status`.

use std::sync::Arc;
use std::time::Duration;

use parking_core::Timestamp;
use parking_core::wire::{self, NodeRole, NodeStatus, Read, Topics, V1};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::dedup::{DedupConfig, DedupEvent, Deduplicator};
use parking_runtime::mqtt::{self, OutMsg, PublisherConfig, PublisherStats};

use crate::reader::{self, ReaderConfig, ReaderEvent};
use crate::reads::read_msg;
use crate::settings::Settings;

/// How long a stopping bridge keeps trying to deliver what it holds.
const DRAIN: Duration = Duration::from_secs(3);

fn status(settings: &Settings, online: bool, at: Timestamp) -> OutMsg {
    let topics = Topics::new(settings.lot.id.clone());
    let msg = NodeStatus { v: V1, node: settings.reader.node.clone(), role: NodeRole::ReaderBridge, online, at };
    OutMsg { topic: topics.node_status(&settings.reader.node), payload: wire::encode(&msg), retain: true }
}

/// Runs the bridge until `shutdown`; returns the publisher's counters.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<Arc<PublisherStats>> {
    let topics = Topics::new(settings.lot.id.clone());
    let started = settings.clock.now();
    let will = status(&settings, false, started);
    let config = PublisherConfig {
        options: mqtt::mqtt_options(&settings.broker, settings.reader.node.as_str(), Some(&will))?,
        outbox_capacity: settings.reader.outbox_capacity,
        max_inflight: 100,
        on_connect: Some(status(&settings, true, started)),
    };
    let stats = Arc::new(PublisherStats::default());
    let (out_tx, out_rx) = mpsc::channel(4096);
    let publisher_stop = CancellationToken::new();
    let publisher = tokio::spawn(mqtt::run(config, out_rx, Arc::clone(&stats), publisher_stop.clone(), DRAIN));

    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(serial_loop(settings.clone(), topics.clone(), out_tx.clone(), shutdown.clone())));
    #[cfg(feature = "qr")]
    if let Some(dir) = settings.reader.frames_dir.clone() {
        let watch =
            crate::qr::watch::Watch { dir, gate: settings.reader.gate.clone(), topics, clock: settings.clock.clone() };
        tasks.push(tokio::spawn(watch.run(out_tx.clone(), shutdown.clone())));
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
    let mut config = ReaderConfig::new(r.protocol, settings.clock.clone());
    if let Some(addr) = r.address {
        config.addr = addr;
    }
    let dedup_config = DedupConfig { window_ms: r.dedup_window_ms, settle_ms: r.settle_ms, ..DedupConfig::default() };
    let mut dedup: Deduplicator<u8> = Deduplicator::new(dedup_config);
    loop {
        let opened = parking_runtime::serial::open(&r.port, r.baud, &shutdown, |e| {
            tracing::error!(port = %r.port, error = %e, "cannot open the reader's serial port; retrying");
        });
        let Some(port) = opened.await else { break };
        tracing::info!(port = %r.port, protocol = ?r.protocol, "reader port open");
        let (tx, mut rx) = mpsc::channel(1024);
        let stop_reader = shutdown.child_token();
        let reader = tokio::spawn(reader::run(port, config.clone(), tx, stop_reader.clone()));
        loop {
            let deadline = dedup.next_deadline();
            let wait = deadline.map_or(Duration::from_secs(3600), |at| settings.clock.real_wait(at));
            let events = tokio::select! {
                event = rx.recv() => match event {
                    Some(ReaderEvent::Tag { report, at }) => dedup.observe(report.antenna, &report, at),
                    Some(ReaderEvent::Code { text, at }) => {
                        if out.send(read_msg(&topics, &r.gate, r.desk, at, Read::Qr { text })).await.is_err() {
                            return;
                        }
                        Vec::new()
                    }
                    Some(ReaderEvent::Alive(alive)) => {
                        tracing::info!(alive, "reader liveness changed");
                        Vec::new()
                    }
                    None => break,
                },
                _ = tokio::time::sleep(wait) => dedup.tick(settings.clock.now()),
            };
            for event in events {
                if let DedupEvent::Present { presence, .. } = event {
                    let msg = read_msg(&topics, &r.gate, r.desk, presence.first_seen, Read::Tag(presence));
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
            let _ = out.send(read_msg(&topics, &r.gate, r.desk, presence.first_seen, Read::Tag(presence))).await;
        }
    }
}
