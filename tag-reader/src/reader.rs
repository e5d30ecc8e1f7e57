//! The reader loop: drives a UHF reader over any byte stream (a serial
//! port, or a pseudo-terminal in tests) and reports its tags; or listens
//! to a QR scanner and reports its codes.
//!
//! R2000 readers are sent real-time inventory commands in a loop, a new one
//! after each end-of-round frame (or after a round times out). Chafon
//! readers are polled: an inventory command, the frames of its answer
//! until the status says no more follow, then a pause. A scanner is sent
//! nothing: it speaks when it reads a code, so its silence says nothing
//! about its health; an open port counts as alive.
//!
//! The device itself is opened by `parking_runtime::serial::open`, which
//! retries with back-off while it is unplugged.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parking_core::Timestamp;
use parking_runtime::Clock;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_util::codec::{Decoder, Encoder, Framed};
use tokio_util::sync::CancellationToken;

use crate::codec::chafon::{ChafonCodec, ChafonCommand, ChafonFrame};
use crate::codec::r2000::{R2000Codec, R2000Command, R2000Frame};
use crate::codec::scanner::ScannerCodec;
use crate::codec::{CodecStats, TagReport};
use crate::settings::Protocol;

/// Settings of the loop.
#[derive(Clone, Debug)]
pub struct ReaderConfig {
    /// Stamps each tag report.
    pub clock: Clock,
    pub protocol: Protocol,
    /// Reader bus address: `0x01` for R2000, `0x00` for Chafon by default.
    pub addr: u8,
    /// How long to wait for a round (or a polled answer) before asking again.
    pub round_timeout: Duration,
    /// Pause between Chafon polls.
    pub poll_interval: Duration,
    /// Rounds without any answer before the reader counts as offline.
    pub offline_after: u32,
}

impl ReaderConfig {
    pub fn new(protocol: Protocol, clock: Clock) -> Self {
        ReaderConfig {
            clock,
            protocol,
            addr: match protocol {
                Protocol::R2000 => 0x01,
                Protocol::Chafon | Protocol::Scanner => 0x00,
            },
            round_timeout: Duration::from_millis(500),
            poll_interval: Duration::from_millis(20),
            offline_after: 3,
        }
    }
}

/// What the loop reports.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReaderEvent {
    Tag {
        report: TagReport,
        at: Timestamp,
    },
    /// A scanner's code: a ticket, a phone screen, a barcode.
    Code {
        text: String,
        at: Timestamp,
    },
    /// The reader started or stopped answering.
    Alive(bool),
}

/// Tracks whether the reader answers, and reports changes once.
struct Liveness {
    silent_rounds: u32,
    alive: Option<bool>,
    offline_after: u32,
}

impl Liveness {
    fn round(&mut self, answered: bool) -> Option<ReaderEvent> {
        self.silent_rounds = if answered { 0 } else { self.silent_rounds.saturating_add(1) };
        let alive = if answered {
            true
        } else if self.silent_rounds >= self.offline_after {
            false
        } else {
            return None;
        };
        (self.alive != Some(alive)).then(|| {
            self.alive = Some(alive);
            ReaderEvent::Alive(alive)
        })
    }
}

/// How one protocol runs an inventory round.
trait Inventory {
    type Codec: Decoder<Item = Self::Frame, Error = std::io::Error> + Encoder<Self::Command, Error = std::io::Error>;
    type Frame;
    type Command;
    fn codec(addr: u8) -> Self::Codec;
    fn stats(codec: &Self::Codec) -> CodecStats;
    /// The command that starts a round.
    fn command() -> Self::Command;
    /// The tags a frame carries, and whether it ends the round.
    fn split(frame: Self::Frame) -> (Vec<TagReport>, bool);
    /// Pause between rounds.
    fn pause(config: &ReaderConfig) -> Duration;
}

/// R2000: real-time inventory in a loop, a round ends with its
/// end-of-round frame.
struct R2000;

impl Inventory for R2000 {
    type Codec = R2000Codec;
    type Frame = R2000Frame;
    type Command = R2000Command;
    fn codec(addr: u8) -> R2000Codec {
        R2000Codec::new(addr)
    }
    fn stats(codec: &R2000Codec) -> CodecStats {
        codec.stats()
    }
    fn command() -> R2000Command {
        R2000Command::RealTimeInventory { rounds: 1 }
    }
    fn split(frame: R2000Frame) -> (Vec<TagReport>, bool) {
        match frame {
            R2000Frame::Tag { report, .. } => (vec![report], false),
            R2000Frame::EndOfRound { .. } => (Vec::new(), true),
            R2000Frame::Other { .. } => (Vec::new(), false),
        }
    }
    fn pause(_: &ReaderConfig) -> Duration {
        Duration::ZERO
    }
}

/// Chafon: polled; a round ends with the first frame that does not say
/// more frames follow.
struct Chafon;

impl Inventory for Chafon {
    type Codec = ChafonCodec;
    type Frame = ChafonFrame;
    type Command = ChafonCommand;
    fn codec(addr: u8) -> ChafonCodec {
        ChafonCodec::new(addr)
    }
    fn stats(codec: &ChafonCodec) -> CodecStats {
        codec.stats()
    }
    fn command() -> ChafonCommand {
        ChafonCommand::Inventory
    }
    fn split(frame: ChafonFrame) -> (Vec<TagReport>, bool) {
        let more = frame.more_follows();
        match frame {
            ChafonFrame::Inventory { tags, .. } => (tags, !more),
            _ => (Vec::new(), true),
        }
    }
    fn pause(config: &ReaderConfig) -> Duration {
        config.poll_interval
    }
}

/// Runs until `shutdown`, the stream ends, or the receiver goes away.
/// Returns what the codec counted.
pub async fn run<T>(
    io: T,
    config: ReaderConfig,
    events: mpsc::Sender<ReaderEvent>,
    shutdown: CancellationToken,
) -> std::io::Result<CodecStats>
where
    T: AsyncRead + AsyncWrite + Unpin,
{
    match config.protocol {
        Protocol::R2000 => drive::<R2000, T>(io, config, events, shutdown).await,
        Protocol::Chafon => drive::<Chafon, T>(io, config, events, shutdown).await,
        Protocol::Scanner => listen(io, config, events, shutdown).await,
    }
}

/// A scanner: every code it sends, until the stream ends.
async fn listen<T: AsyncRead + Unpin>(
    io: T,
    config: ReaderConfig,
    events: mpsc::Sender<ReaderEvent>,
    shutdown: CancellationToken,
) -> std::io::Result<CodecStats> {
    let mut framed = tokio_util::codec::FramedRead::new(io, ScannerCodec::new());
    let _ = events.send(ReaderEvent::Alive(true)).await;
    loop {
        let code = tokio::select! {
            _ = shutdown.cancelled() => break,
            code = framed.next() => code,
        };
        let Some(code) = code else { break };
        let event = ReaderEvent::Code { text: code?, at: config.clock.now() };
        if events.send(event).await.is_err() {
            break;
        }
    }
    Ok(framed.decoder().stats())
}

async fn drive<P: Inventory, T: AsyncRead + AsyncWrite + Unpin>(
    io: T,
    config: ReaderConfig,
    events: mpsc::Sender<ReaderEvent>,
    shutdown: CancellationToken,
) -> std::io::Result<CodecStats> {
    let mut live = Liveness { silent_rounds: 0, alive: None, offline_after: config.offline_after };
    let mut framed = Framed::new(io, P::codec(config.addr));
    loop {
        framed.send(P::command()).await?;
        let deadline = tokio::time::sleep(config.round_timeout);
        tokio::pin!(deadline);
        let mut answered = false;
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(P::stats(framed.codec())),
                _ = &mut deadline => break,
                frame = framed.next() => {
                    let frame = match frame {
                        None => return Ok(P::stats(framed.codec())),
                        Some(frame) => frame?,
                    };
                    answered = true;
                    let (tags, round_over) = P::split(frame);
                    for report in tags {
                        if events.send(ReaderEvent::Tag { report, at: config.clock.now() }).await.is_err() {
                            return Ok(P::stats(framed.codec()));
                        }
                    }
                    if round_over {
                        break;
                    }
                }
            }
        }
        if let Some(e) = live.round(answered) {
            let _ = events.send(e).await;
        }
        let pause = P::pause(&config);
        if !pause.is_zero() {
            tokio::select! {
                _ = shutdown.cancelled() => return Ok(P::stats(framed.codec())),
                _ = tokio::time::sleep(pause) => {}
            }
        }
    }
}
