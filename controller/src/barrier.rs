//! Barrier drivers behind one trait: a Modbus RTU relay board on a serial
//! line, a barrier driven over MQTT, and a simulated barrier.
//!
//! The only command is a pulse on the OPEN contact. A relay left closed
//! would hold the arm up, so the Modbus driver insists on switching the
//! relay off again (retrying) even if the pulse itself reported an error.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_core::wire::{self, BarrierCommand, GateTopic, Topics, V1};
use parking_core::{GateId, Timestamp};
use parking_runtime::Clock;
use parking_runtime::mqtt::OutMsg;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

use crate::modbus::{self, ModbusError};

/// Why a pulse failed.
#[derive(Debug, thiserror::Error)]
pub enum BarrierError {
    #[error("serial line: {0}")]
    Io(#[from] std::io::Error),
    #[error("the relay board did not answer within {0:?}")]
    Timeout(Duration),
    #[error(transparent)]
    Modbus(#[from] ModbusError),
    #[error("the barrier's command channel is closed")]
    Closed,
}

/// Something that can open a barrier.
pub trait Barrier: Send {
    /// Closes the OPEN contact for `ms` milliseconds.
    fn pulse(&mut self, ms: u16) -> impl Future<Output = Result<(), BarrierError>> + Send;
}

/// A Modbus RTU relay board: one coil per barrier, discrete inputs for the
/// loop detectors.
#[derive(Debug)]
pub struct RelayBoard<T> {
    io: T,
    addr: u8,
    coil: u16,
    reply_timeout: Duration,
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> RelayBoard<T> {
    pub fn new(io: T, addr: u8, coil: u16) -> Self {
        RelayBoard { io, addr, coil, reply_timeout: Duration::from_millis(200) }
    }

    /// Sends `request` and reads the reply whole.
    async fn transact(&mut self, request: &[u8]) -> Result<Vec<u8>, BarrierError> {
        // Drop whatever is already waiting (a late reply to an earlier,
        // timed-out request, or line noise): it is not this reply.
        let mut stale = [0u8; 64];
        while let Ok(Ok(n)) = tokio::time::timeout(Duration::ZERO, self.io.read(&mut stale)).await {
            if n == 0 {
                break;
            }
        }
        self.io.write_all(request).await?;
        self.io.flush().await?;
        let read = async {
            let mut reply = Vec::with_capacity(16);
            let mut chunk = [0u8; 64];
            loop {
                if let Some(len) = modbus::reply_len(request, &reply) {
                    if reply.len() >= len {
                        reply.truncate(len);
                        return Ok::<_, BarrierError>(reply);
                    }
                }
                let n = self.io.read(&mut chunk).await?;
                if n == 0 {
                    return Err(BarrierError::Io(std::io::ErrorKind::UnexpectedEof.into()));
                }
                reply.extend_from_slice(&chunk[..n]);
                if reply.len() > 260 {
                    return Err(ModbusError::Malformed("reply longer than any Modbus frame").into());
                }
            }
        };
        tokio::time::timeout(self.reply_timeout, read).await.map_err(|_| BarrierError::Timeout(self.reply_timeout))?
    }

    async fn set_coil(&mut self, on: bool) -> Result<(), BarrierError> {
        self.set_coil_at(self.coil, on).await
    }

    /// Switches any coil of the board (a board may serve several lanes).
    pub async fn set_coil_at(&mut self, coil: u16, on: bool) -> Result<(), BarrierError> {
        let request = modbus::write_coil(self.addr, coil, on);
        let reply = self.transact(&request).await?;
        modbus::check_echo(&request, &reply)?;
        Ok(())
    }

    /// The states of `count` discrete inputs from `start` (loop detectors).
    pub async fn read_inputs(&mut self, start: u16, count: u16) -> Result<Vec<bool>, BarrierError> {
        let request = modbus::read_inputs(self.addr, start, count);
        let reply = self.transact(&request).await?;
        Ok(modbus::parse_inputs(&request, &reply, count)?)
    }
}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Barrier for RelayBoard<T> {
    async fn pulse(&mut self, ms: u16) -> Result<(), BarrierError> {
        let on = self.set_coil(true).await;
        tokio::time::sleep(Duration::from_millis(u64::from(ms))).await;
        // Whatever the ON reply said, the relay must not stay closed.
        let mut off = self.set_coil(false).await;
        for _ in 0..2 {
            if off.is_ok() {
                break;
            }
            off = self.set_coil(false).await;
        }
        on.and(off)
    }
}

/// A barrier driven over MQTT: publishes a `BarrierCommand` on the gate's
/// `barrier` topic through the publisher's outbox.
#[derive(Debug)]
pub struct MqttBarrier {
    topic: String,
    out: mpsc::Sender<OutMsg>,
    started: Timestamp,
    next: u64,
    clock: Clock,
}

impl MqttBarrier {
    pub fn new(topics: &Topics, gate: &GateId, out: mpsc::Sender<OutMsg>, clock: Clock) -> Self {
        let started = clock.now();
        MqttBarrier { topic: topics.gate(gate, GateTopic::Barrier), out, started, next: 0, clock }
    }
}

impl Barrier for MqttBarrier {
    async fn pulse(&mut self, ms: u16) -> Result<(), BarrierError> {
        self.next += 1;
        let at = self.clock.now();
        // Unique within the run: this process's start time and a counter.
        let command_id = uuid::Uuid::from_u64_pair(self.started.unix_millis().unsigned_abs(), self.next);
        let cmd = BarrierCommand { v: V1, command_id, at, pulse_ms: ms };
        let msg = OutMsg { topic: self.topic.clone(), payload: wire::encode(&cmd), retain: false };
        self.out.send(msg).await.map_err(|_| BarrierError::Closed)
    }
}

/// A barrier that only counts its pulses (for the simulator and tests).
#[derive(Clone, Debug, Default)]
pub struct SimulatedBarrier {
    pulses: Arc<AtomicU64>,
}

impl SimulatedBarrier {
    pub fn pulses(&self) -> u64 {
        self.pulses.load(Ordering::Relaxed)
    }
}

impl Barrier for SimulatedBarrier {
    async fn pulse(&mut self, _ms: u16) -> Result<(), BarrierError> {
        self.pulses.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
}
