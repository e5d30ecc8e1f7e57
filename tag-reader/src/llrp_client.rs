//! The LLRP client: runs a fixed reader's continuous inventory over TCP
//! and reports its tags as [`ReaderEvent`]s, like the serial reader loop.
//!
//! One connection: wait for the reader's connection attempt event; clear
//! the ROSpecs an earlier client left; ask for a keepalive every
//! `keepalive`; add, enable and start one ROSpec on the lane's antennas;
//! then report every tag, answer every KEEPALIVE, and count the reader
//! lost when it says nothing for three keepalive periods. On shutdown,
//! CLOSE_CONNECTION. A lost or refused connection is reported
//! (`Alive(false)`) and made again with back-off from 100 ms to 5 s.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use parking_runtime::Clock;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

use crate::codec::llrp::{Command, ConnectionStatus, LlrpCodec, Message, RoSpec, kind};
use crate::reader::ReaderEvent;

/// Where the reader is and what to ask of it.
#[derive(Clone, Debug)]
pub struct LlrpConfig {
    pub host: String,
    pub port: u16,
    /// The lane's antennas (1 and up).
    pub antennas: Vec<u16>,
    /// How often the reader is asked to say it is there.
    pub keepalive: Duration,
    /// How long each step of the set-up may take.
    pub answer_timeout: Duration,
    /// Stamps each tag.
    pub clock: Clock,
}

impl LlrpConfig {
    pub fn new(host: &str, port: u16, antennas: Vec<u16>, clock: Clock) -> Self {
        LlrpConfig {
            host: host.to_owned(),
            port,
            antennas,
            keepalive: Duration::from_secs(5),
            answer_timeout: Duration::from_secs(10),
            clock,
        }
    }
}

/// Why a connection ended.
#[derive(Debug, thiserror::Error)]
pub enum LlrpError {
    #[error("cannot reach the reader: {0}")]
    Io(#[from] std::io::Error),
    #[error("the reader refused the connection (status {0}): another client holds it")]
    Refused(u16),
    #[error("the reader refused {what}: {description} (status {code})")]
    Status { what: &'static str, code: u16, description: String },
    #[error("the reader said nothing for {0:?}")]
    Silent(Duration),
    #[error("the reader closed the connection")]
    Closed,
}

/// The ROSpec every lane runs (its id is arbitrary but fixed).
const ROSPEC_ID: u32 = 1;

struct Session<T> {
    framed: Framed<T, LlrpCodec>,
    next_id: u32,
}

impl<T: AsyncRead + AsyncWrite + Unpin> Session<T> {
    async fn send(&mut self, command: Command) -> Result<u32, LlrpError> {
        self.next_id = self.next_id.wrapping_add(1);
        self.framed.send((self.next_id, command)).await?;
        Ok(self.next_id)
    }

    /// The next message, within `wait`.
    async fn next(&mut self, wait: Duration) -> Result<Message, LlrpError> {
        match tokio::time::timeout(wait, self.framed.next()).await {
            Err(_) => Err(LlrpError::Silent(wait)),
            Ok(None) => Err(LlrpError::Closed),
            Ok(Some(m)) => Ok(m?),
        }
    }

    /// Sends `command` and waits for its answer, acknowledging keepalives
    /// meanwhile (reports before the inventory starts are dropped).
    async fn ask(&mut self, command: Command, what: &'static str, wait: Duration) -> Result<(), LlrpError> {
        let id = self.send(command).await?;
        loop {
            match self.next(wait).await? {
                Message::Response { id: answered, status, kind: k } if answered == id || k == kind::ERROR_MESSAGE => {
                    return if status.is_success() {
                        Ok(())
                    } else {
                        Err(LlrpError::Status { what, code: status.code, description: status.description })
                    };
                }
                Message::Keepalive { .. } => {
                    self.send(Command::KeepaliveAck).await?;
                }
                _ => {}
            }
        }
    }
}

/// Runs one connection until shutdown (`Ok`) or until it fails; `alive`
/// is set once the inventory runs (and reported).
pub async fn session<T: AsyncRead + AsyncWrite + Unpin>(
    io: T,
    config: &LlrpConfig,
    events: &mpsc::Sender<ReaderEvent>,
    shutdown: &CancellationToken,
    alive: &mut Option<bool>,
) -> Result<(), LlrpError> {
    let mut s = Session { framed: Framed::new(io, LlrpCodec::new()), next_id: 0 };
    let wait = config.answer_timeout;
    loop {
        if let Message::ReaderEvent { connection: Some(status), .. } = s.next(wait).await? {
            match status {
                ConnectionStatus::Success => break,
                ConnectionStatus::Refused(code) => return Err(LlrpError::Refused(code)),
            }
        }
    }
    s.ask(Command::DeleteRoSpec(0), "clearing the old ROSpecs", wait).await?;
    let period_ms = u32::try_from(config.keepalive.as_millis()).unwrap_or(u32::MAX);
    s.ask(Command::SetKeepalive { period_ms }, "the keepalive setting", wait).await?;
    let spec = RoSpec { id: ROSPEC_ID, antennas: config.antennas.clone() };
    s.ask(Command::AddRoSpec(spec), "the inventory ROSpec", wait).await?;
    s.ask(Command::EnableRoSpec(ROSPEC_ID), "enabling the ROSpec", wait).await?;
    s.ask(Command::StartRoSpec(ROSPEC_ID), "starting the ROSpec", wait).await?;
    s.send(Command::EnableEventsAndReports).await?;
    *alive = Some(true);
    let _ = events.send(ReaderEvent::Alive(true)).await;
    let silent = config.keepalive * 3;
    loop {
        let message = tokio::select! {
            _ = shutdown.cancelled() => {
                // A clean goodbye, if the reader answers in time.
                let _ = tokio::time::timeout(Duration::from_secs(1), s.ask(Command::CloseConnection, "closing", wait)).await;
                return Ok(());
            }
            m = s.next(silent) => m?,
        };
        match message {
            Message::Report { tags, .. } => {
                for t in tags {
                    if events.send(ReaderEvent::Tag { report: t.report, at: config.clock.now() }).await.is_err() {
                        return Ok(());
                    }
                }
            }
            Message::Keepalive { .. } => {
                s.send(Command::KeepaliveAck).await?;
            }
            Message::Response { kind: kind::ERROR_MESSAGE, status, .. } => {
                tracing::warn!(code = status.code, description = %status.description, "the LLRP reader reported an error");
            }
            _ => {}
        }
    }
}

/// Connects, runs sessions and reconnects with back-off until `shutdown`.
pub async fn run(config: LlrpConfig, events: mpsc::Sender<ReaderEvent>, shutdown: CancellationToken) {
    let mut backoff = Duration::from_millis(100);
    let mut alive = None;
    loop {
        let connect = tokio::time::timeout(
            config.answer_timeout,
            tokio::net::TcpStream::connect((config.host.as_str(), config.port)),
        );
        let outcome = tokio::select! {
            _ = shutdown.cancelled() => return,
            c = connect => match c {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    session(stream, &config, &events, &shutdown, &mut alive).await
                }
                Ok(Err(e)) => Err(LlrpError::Io(e)),
                Err(_) => Err(LlrpError::Silent(config.answer_timeout)),
            },
        };
        match outcome {
            Ok(()) => return,
            Err(e) => {
                tracing::error!(host = %config.host, port = config.port, error = %e, "LLRP reader lost; reconnecting");
                if alive == Some(true) {
                    backoff = Duration::from_millis(100);
                }
                if alive != Some(false) {
                    alive = Some(false);
                    if events.send(ReaderEvent::Alive(false)).await.is_err() {
                        return;
                    }
                }
            }
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(5));
    }
}
