//! `controller run`: the engine, the journal, the MQTT link and the lane
//! devices, wired together.
//!
//! Layout:
//! - `runtime.rs`: start-up (journal, last good lists and tariff) and the
//!   wiring of the tasks;
//! - `engine_loop`: the engine task: messages in, pulses, displays and
//!   events out, and the lanes' timers;
//! - [`journal_task`]: commits events in batches, publishes them, handles
//!   acknowledgements and drains the backlog at a bounded rate;
//! - [`link`]: the MQTT subscriptions (reads, loop, commands, acks, lists,
//!   tariff) turned into engine messages;
//! - [`devices`]: barriers and relay boards, `/metrics` and `/health`;
//! - `readers`: in-process readers (serial UHF readers and QR scanners,
//!   LLRP readers over TCP) and what their events become;
//! - [`photos`]: the lanes' camera snapshots at entries, exits and holds.
//!
//! Tasks talk over bounded channels; a decision never waits for the
//! network or the disk.

pub mod devices;
mod engine_loop;
pub mod journal_task;
pub mod link;
pub mod photos;
mod readers;

use std::collections::BinaryHeap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use parking_core::gate::{Input, TicketKey};
use parking_core::wire::{
    self, AlarmKind, BarrierState, Command, GateTopic, LaneStatus, ListsDelta, ListsSnapshot, NodeRole, NodeStatus,
    TariffMsg, Topics, V1,
};
use parking_core::{GateId, Timestamp};
use parking_runtime::Clock;
use parking_runtime::mqtt::{self, OutMsg, PublisherConfig, PublisherStats};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::engine::{Engine, EventIds};
use crate::journal::Journal;
use crate::metrics::{Health, LaneHealth, Metrics};
use crate::settings::Settings;
use journal_task::JournalMsg;

/// What the engine task is told.
#[derive(Debug)]
pub enum EngineMsg {
    Input {
        lane: usize,
        input: Input,
        received: Instant,
    },
    Command {
        lane: usize,
        command: Command,
    },
    Snapshot {
        lists: ListsSnapshot,
        payload: bytes::Bytes,
    },
    Delta {
        delta: ListsDelta,
        payload: Vec<u8>,
    },
    Tariff {
        tariff: TariffMsg,
        payload: Vec<u8>,
    },
    Alarm {
        lane: usize,
        alarm: AlarmKind,
        detail: String,
    },
    /// An entry or exit at another controller's gate of the lot, with the
    /// broker's acknowledgement to send once its lot-state change is
    /// journaled.
    Peer {
        event: Box<wire::GateEvent>,
        ack: Option<parking_runtime::mqtt::Ack>,
    },
}

/// What the runtime shares with its reporters.
#[derive(Debug)]
pub struct Shared {
    pub metrics: Metrics,
    pub health: Health,
    pub publisher: Arc<PublisherStats>,
    /// The lists version decisions are made with now.
    pub lists_version: std::sync::atomic::AtomicU64,
    /// The controller's clock: lane timers, dedup windows, stamps.
    pub clock: Clock,
}

/// How long a stopping controller keeps trying to deliver what it holds.
const DRAIN: Duration = Duration::from_secs(3);

fn node_status(settings: &Settings, online: bool, at: Timestamp) -> OutMsg {
    let topics = Topics::new(settings.lot.id.clone());
    let node = &settings.controller.node;
    let msg = NodeStatus { v: V1, node: node.clone(), role: NodeRole::Controller, online, at };
    OutMsg { topic: topics.node_status(node), payload: wire::encode(&msg), retain: true }
}

/// Loads the engine's starting point: the journal's state, the last good
/// lists and tariff it saved, else the tariff files.
async fn start_engine(
    settings: &Settings,
    journal: &mut Journal,
) -> anyhow::Result<(Engine, Vec<crate::journal::Unacked>)> {
    let key = TicketKey::new(settings.controller.ticket_key.clone()).context("controller.ticket_key")?;
    let book = tariff_book(settings)?;
    let seed = uuid::Uuid::new_v4().into_bytes();
    let mut ids_seed = [0u8; 6];
    ids_seed.copy_from_slice(&seed[..6]);
    let mut engine = Engine::new(settings, key, book, EventIds::new(ids_seed));
    let restored = journal.restore().await.context("reading the journal")?;
    engine.restore(restored.changes, &restored.seqs);
    for (kind, payload) in &restored.lists {
        let applied = match kind.as_str() {
            "snapshot" => wire::decode::<ListsSnapshot>(payload)
                .map_err(|e| e.to_string())
                .and_then(|s| engine.apply_snapshot(s).map_err(|e| e.to_string())),
            _ => wire::decode::<ListsDelta>(payload)
                .map_err(|e| e.to_string())
                .and_then(|d| engine.apply_delta(d).map_err(|e| e.to_string())),
        };
        if let Err(e) = applied {
            tracing::error!(error = %e, "a saved list version does not apply; waiting for the server's snapshot");
        }
    }
    if let Some(payload) = restored.tariff {
        match wire::decode::<TariffMsg>(&payload).map_err(|e| e.to_string()).and_then(|t| engine.apply_tariff(t)) {
            Ok(()) => {}
            Err(e) => tracing::error!(error = %e, "the saved tariff does not apply; using the tariff files"),
        }
    }
    tracing::info!(
        lists_version = engine.lists_version(),
        tags = engine.lists().tag_count(),
        inside = engine.lot().inside.len(),
        unacked = restored.unacked.len(),
        "controller state restored"
    );
    Ok((engine, restored.unacked))
}

/// The tariff book from the lot's tariff files, through the one strict
/// loader: a file that cannot be read or parsed refuses the start, naming
/// it. A lot whose tariffs come only from the server (no directory) starts
/// with an empty book, with a warning, until the server's retained tariff
/// arrives.
pub fn tariff_book(settings: &Settings) -> anyhow::Result<parking_core::TariffBook> {
    let dir = std::path::Path::new(&settings.lot.tariff_dir);
    match parking_runtime::tariffs::load_dir(dir, &settings.lot.zone) {
        Ok(book) => Ok(book),
        Err(parking_runtime::tariffs::TariffDirError::Dir { dir, error })
            if error.kind() == std::io::ErrorKind::NotFound =>
        {
            tracing::warn!(dir, "no tariff directory; exits cannot be priced until the server sends a tariff");
            Ok(parking_core::TariffBook::default())
        }
        Err(e) => Err(anyhow::Error::new(e).context("lot.tariff_dir")),
    }
}

/// Runs the controller until `shutdown`, then flushes the journal.
pub async fn run(settings: Settings, shutdown: CancellationToken) -> anyhow::Result<()> {
    let shared = Arc::new(Shared::new(&settings)?);
    run_with(settings, shutdown, shared).await
}

impl Shared {
    /// Fresh metrics and health for the configured lanes.
    pub fn new(settings: &Settings) -> anyhow::Result<Self> {
        let lanes = settings
            .lanes
            .iter()
            .map(|l| LaneHealth {
                gate: l.gate.to_string(),
                reader_alive: true,
                barrier: BarrierState::Closed,
                barrier_answered: true,
                last_read_at: None,
            })
            .collect();
        Ok(Shared {
            metrics: Metrics::new().context("metrics")?,
            health: Health(std::sync::Mutex::new(lanes)),
            publisher: Arc::new(PublisherStats::default()),
            lists_version: std::sync::atomic::AtomicU64::new(0),
            clock: settings.clock.clone(),
        })
    }
}

/// [`run`] with metrics and health the caller can read (the bench does).
pub async fn run_with(settings: Settings, shutdown: CancellationToken, shared: Arc<Shared>) -> anyhow::Result<()> {
    let mut journal = Journal::open(&settings.controller.journal, shared.clock.clone())
        .await
        .with_context(|| format!("opening the journal {}", settings.controller.journal.display()))?;
    let (engine, unacked) = start_engine(&settings, &mut journal).await?;
    shared.lists_version.store(engine.lists_version(), std::sync::atomic::Ordering::Relaxed);
    let started = shared.clock.now();
    let will = node_status(&settings, false, started);
    let client_id = settings.client_id("out");
    let pub_config = PublisherConfig {
        options: mqtt::mqtt_options(&settings.broker, &client_id, Some(&will)).context("[broker]")?,
        outbox_capacity: 100_000,
        max_inflight: 200,
        on_connect: Some(node_status(&settings, true, started)),
    };
    let (out_tx, out_rx) = mpsc::channel::<OutMsg>(8192);
    let pub_stop = CancellationToken::new();
    let publisher_task =
        tokio::spawn(mqtt::run(pub_config, out_rx, Arc::clone(&shared.publisher), pub_stop.clone(), DRAIN));

    let (engine_tx, engine_rx) = mpsc::channel::<EngineMsg>(8192);
    let (journal_tx, journal_rx) = mpsc::channel::<JournalMsg>(65_536);
    let (ack_tx, ack_rx) = mpsc::channel(4096);
    let topics = Topics::new(settings.lot.id.clone());
    let gates: Vec<GateId> = settings.lanes.iter().map(|l| l.gate.clone()).collect();

    // Barrier commands and displays for MQTT devices: on their own broker
    // if the lanes have one, else with everything else.
    let device_out = match &settings.device_broker {
        Some(broker) => {
            let (tx, rx) = mpsc::channel::<OutMsg>(8192);
            let config = PublisherConfig {
                options: mqtt::mqtt_options(broker, &settings.client_id("devices-out"), None)
                    .context("[device_broker]")?,
                outbox_capacity: 10_000,
                max_inflight: 200,
                on_connect: None,
            };
            let stats = Arc::new(PublisherStats::default());
            tokio::spawn(mqtt::run(config, rx, stats, pub_stop.clone(), DRAIN));
            tx
        }
        None => out_tx.clone(),
    };
    let barriers =
        devices::spawn_barriers(&settings, &topics, device_out.clone(), engine_tx.clone(), &shared, &shutdown);
    readers::spawn_readers(&settings, engine_tx.clone(), &shared, &shutdown);
    let photos = photos::spawn(&settings, &topics, out_tx.clone(), &shared, &shutdown);
    let link_task = tokio::spawn(link::run(settings.clone(), engine_tx.clone(), ack_tx, shutdown.clone()));
    let journal_handle = tokio::spawn(journal_task::run(
        journal,
        journal_rx,
        ack_rx,
        journal_task::Outputs { out: out_tx.clone(), devices: device_out, barriers, engine: engine_tx.clone() },
        topics.clone(),
        unacked,
        journal_task::Limits {
            backlog_rate: settings.controller.backlog_rate,
            ack_timeout_ms: settings.controller.ack_timeout_ms,
        },
        Arc::clone(&shared),
    ));
    if let Some(addr) = settings.controller.metrics_listen {
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
        tokio::spawn(devices::serve_metrics(listener, Arc::clone(&shared), shutdown.clone()));
    }
    tokio::spawn(report_status(gates.clone(), topics.clone(), out_tx.clone(), Arc::clone(&shared), shutdown.clone()));
    drop(engine_tx);

    let engine_loop = engine_loop::EngineLoop {
        engine,
        topics,
        gates,
        journal: journal_tx,
        shared: Arc::clone(&shared),
        wakes: BinaryHeap::new(),
        photos,
    };
    engine_loop.run(engine_rx, shutdown.clone()).await;
    // The engine is done; the journal task commits what it still holds.
    if let Err(e) = journal_handle.await {
        tracing::error!(error = %e, "journal task failed");
    }
    link_task.abort();
    // Offline on purpose: a clean disconnect sends no will, so the status
    // says it (with this process's start time, as the will would). The
    // senders go, so the publisher stops once its outbox is empty rather
    // than at the end of its drain time.
    let _ = out_tx.send(node_status(&settings, false, started)).await;
    drop(out_tx);
    pub_stop.cancel();
    let _ = publisher_task.await;
    Ok(())
}

/// Publishes each lane's retained status every few seconds.
async fn report_status(
    gates: Vec<GateId>,
    topics: Topics,
    out: mpsc::Sender<OutMsg>,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
) {
    let mut every = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = every.tick() => {}
        }
        let backlog = u64::try_from(shared.metrics.backlog.get()).unwrap_or(0);
        for (gate, h) in gates.iter().zip(shared.health.snapshot()) {
            let status = LaneStatus {
                v: V1,
                gate: gate.clone(),
                at: shared.clock.now(),
                reader_alive: h.reader_alive,
                barrier: h.barrier,
                last_read_at: h.last_read_at,
                backlog,
            };
            let msg =
                OutMsg { topic: topics.gate(gate, GateTopic::Status), payload: wire::encode(&status), retain: true };
            if out.send(msg).await.is_err() {
                return;
            }
        }
    }
}
