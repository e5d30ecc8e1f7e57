//! Lane devices: barriers (MQTT, simulated, or Modbus relay boards shared
//! by several lanes, whose discrete inputs are the loop detectors), and
//! the `/metrics` and `/health` endpoint. In-process readers are in
//! `readers`.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_core::gate::Input;
use parking_core::wire::{AlarmKind, BarrierState, Topics};
use parking_runtime::mqtt::OutMsg;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use super::{EngineMsg, Shared};
use crate::barrier::{Barrier, MqttBarrier, RelayBoard, SimulatedBarrier};
use crate::settings::{BarrierSettings, LoopSource, Settings};

/// A relay board being planned: its pulse queue, lanes, baud and address.
type BoardPlan = (mpsc::Sender<(usize, u16)>, Vec<BoardLane>, u32, u8);

/// Starts every barrier; returns each lane's pulse queue (`(lane, ms)`).
pub fn spawn_barriers(
    settings: &Settings,
    topics: &Topics,
    out: mpsc::Sender<OutMsg>,
    engine: mpsc::Sender<EngineMsg>,
    shared: &Arc<Shared>,
    shutdown: &CancellationToken,
) -> Vec<mpsc::Sender<(usize, u16)>> {
    let mut senders = Vec::with_capacity(settings.lanes.len());
    // Lanes on one relay board (one serial port) share its task.
    let mut boards: BTreeMap<String, BoardPlan> = BTreeMap::new();
    let mut board_rx: HashMap<String, mpsc::Receiver<(usize, u16)>> = HashMap::new();
    for (lane, l) in settings.lanes.iter().enumerate() {
        match &l.barrier {
            BarrierSettings::Mqtt => {
                let (tx, rx) = mpsc::channel(16);
                let b = MqttBarrier::new(topics, &l.gate, out.clone(), shared.clock.clone());
                tokio::spawn(barrier_task(b, rx, engine.clone(), Arc::clone(shared)));
                senders.push(tx);
            }
            BarrierSettings::Simulated => {
                let (tx, rx) = mpsc::channel(16);
                tokio::spawn(barrier_task(SimulatedBarrier::default(), rx, engine.clone(), Arc::clone(shared)));
                senders.push(tx);
            }
            BarrierSettings::Modbus { port, baud, address, coil } => {
                let input = match l.loop_detector {
                    LoopSource::Modbus { input } => Some(input),
                    _ => None,
                };
                let entry = boards.entry(port.clone()).or_insert_with(|| {
                    let (tx, rx) = mpsc::channel(32);
                    board_rx.insert(port.clone(), rx);
                    (tx, Vec::new(), *baud, *address)
                });
                entry.1.push(BoardLane { lane, coil: *coil, input });
                senders.push(entry.0.clone());
            }
        }
    }
    for (port, (_, lanes, baud, address)) in boards {
        if let Some(rx) = board_rx.remove(&port) {
            let board = Board { port, baud, address, lanes };
            tokio::spawn(board.run(rx, engine.clone(), Arc::clone(shared), shutdown.clone()));
        }
    }
    senders
}

/// Pulses one barrier per request; a failure is an alarm for its lane.
async fn barrier_task<B: Barrier>(
    mut barrier: B,
    mut rx: mpsc::Receiver<(usize, u16)>,
    engine: mpsc::Sender<EngineMsg>,
    shared: Arc<Shared>,
) {
    while let Some((lane, ms)) = rx.recv().await {
        let result = barrier.pulse(ms).await;
        report_pulse(lane, result.map_err(|e| e.to_string()), &engine, &shared).await;
    }
}

async fn report_pulse(lane: usize, result: Result<(), String>, engine: &mpsc::Sender<EngineMsg>, shared: &Shared) {
    let ok = result.is_ok();
    shared.health.update(lane, |h| {
        h.barrier_answered = ok;
        h.barrier = if ok { BarrierState::Open } else { BarrierState::Unknown };
    });
    if let Err(detail) = result {
        shared.metrics.barrier_errors.inc();
        let _ = engine.send(EngineMsg::Alarm { lane, alarm: AlarmKind::BarrierNotAnswering, detail }).await;
    }
}

/// One lane's use of a relay board.
#[derive(Clone, Copy, Debug)]
struct BoardLane {
    lane: usize,
    coil: u16,
    input: Option<u16>,
}

/// A Modbus relay board serving one or more lanes: pulses their coils and
/// polls their loop-detector inputs, on one serial line.
#[derive(Debug)]
struct Board {
    port: String,
    baud: u32,
    address: u8,
    lanes: Vec<BoardLane>,
}

const POLL: Duration = Duration::from_millis(50);

impl Board {
    async fn run(
        self,
        mut rx: mpsc::Receiver<(usize, u16)>,
        engine: mpsc::Sender<EngineMsg>,
        shared: Arc<Shared>,
        shutdown: CancellationToken,
    ) {
        loop {
            let opened = parking_runtime::serial::open(&self.port, self.baud, &shutdown, |e| {
                tracing::error!(port = %self.port, error = %e, "cannot open the relay board; retrying");
                for l in &self.lanes {
                    shared.health.update(l.lane, |h| h.barrier_answered = false);
                }
            });
            let Some(io) = opened.await else { return };
            let board = RelayBoard::new(io, self.address, 0);
            if self.serve(board, &mut rx, &engine, &shared, &shutdown).await.is_err() {
                return;
            }
        }
    }

    /// Serves an open board until its line fails (Ok) or the controller
    /// stops (Err).
    async fn serve<T>(
        &self,
        mut board: RelayBoard<T>,
        rx: &mut mpsc::Receiver<(usize, u16)>,
        engine: &mpsc::Sender<EngineMsg>,
        shared: &Shared,
        shutdown: &CancellationToken,
    ) -> Result<(), ()>
    where
        T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send,
    {
        let inputs = self.lanes.iter().filter_map(|l| l.input).max().map(|m| m + 1);
        let mut last: Vec<Option<bool>> = vec![None; self.lanes.len()];
        let mut offs: Vec<(Instant, u16)> = Vec::new();
        let mut poll = tokio::time::interval(POLL);
        let mut failures = 0u32;
        loop {
            let next_off = offs.iter().map(|(t, _)| *t).min();
            tokio::select! {
                _ = shutdown.cancelled() => {
                    for (_, coil) in offs.drain(..) {
                        let _ = board.set_coil_at(coil, false).await;
                    }
                    return Err(());
                }
                req = rx.recv() => {
                    let Some((lane, ms)) = req else { return Err(()) };
                    let Some(l) = self.lanes.iter().find(|l| l.lane == lane) else { continue };
                    // A lost echo is retried: switching ON twice is harmless,
                    // a vehicle left waiting is not.
                    let mut result = board.set_coil_at(l.coil, true).await;
                    for _ in 0..2 {
                        if result.is_ok() { break; }
                        result = board.set_coil_at(l.coil, true).await;
                    }
                    if result.is_ok() {
                        offs.push((Instant::now() + Duration::from_millis(u64::from(ms)), l.coil));
                    }
                    report_pulse(lane, result.map_err(|e| e.to_string()), engine, shared).await;
                }
                _ = tokio::time::sleep_until(next_off.unwrap_or_else(Instant::now).into()), if next_off.is_some() => {
                    let due: Vec<u16> = offs.iter().filter(|(t, _)| *t <= Instant::now()).map(|(_, c)| *c).collect();
                    offs.retain(|(t, _)| *t > Instant::now());
                    for coil in due {
                        // The relay must not stay closed: try hard.
                        let mut ok = false;
                        for _ in 0..3 {
                            if board.set_coil_at(coil, false).await.is_ok() { ok = true; break; }
                        }
                        if !ok {
                            tracing::error!(port = %self.port, coil, "relay did not switch off");
                        }
                    }
                }
                _ = poll.tick(), if inputs.is_some() => {
                    let Some(count) = inputs else { continue };
                    match board.read_inputs(0, count).await {
                        Ok(states) => {
                            failures = 0;
                            for (i, l) in self.lanes.iter().enumerate() {
                                let Some(input) = l.input else { continue };
                                let Some(&occupied) = states.get(usize::from(input)) else { continue };
                                if last[i] != Some(occupied) {
                                    // The first poll only learns the state.
                                    if last[i].is_some() {
                                        let msg = EngineMsg::Input {
                                            lane: l.lane,
                                            input: Input::Loop { occupied },
                                            received: Instant::now(),
                                        };
                                        if engine.send(msg).await.is_err() { return Err(()); }
                                    }
                                    last[i] = Some(occupied);
                                }
                            }
                        }
                        Err(e) => {
                            failures += 1;
                            tracing::warn!(port = %self.port, error = %e, "loop inputs unreadable");
                            if failures >= 20 {
                                return Ok(()); // reopen the line
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Serves `/metrics` (Prometheus text) and `/health` (lanes as JSON).
pub async fn serve_metrics(listener: tokio::net::TcpListener, shared: Arc<Shared>, shutdown: CancellationToken) {
    use axum::routing::get;
    let m = Arc::clone(&shared);
    let h = Arc::clone(&shared);
    let app = axum::Router::new().route("/metrics", get(move || async move { m.metrics.render() })).route(
        "/health",
        get(move || async move {
            let lists_version = h.lists_version.load(std::sync::atomic::Ordering::Relaxed);
            axum::Json(serde_json::json!({ "lists_version": lists_version, "lanes": h.health.snapshot() }))
        }),
    );
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown.cancelled_owned()).await {
        tracing::error!(error = %e, "metrics endpoint failed");
    }
}
