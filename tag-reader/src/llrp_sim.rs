//! A simulated LLRP reader, for tests and `sim`: over a real TCP
//! connection it greets the client with a successful connection attempt
//! event, answers every command with success, and once an ROSpec is
//! started reports the tags in its field every `every` and sends a
//! KEEPALIVE every `keepalive`, until the client closes or `kick` fires
//! (a reader that drops the connection). [`SimReader::accept_all`] serves
//! every connection of a listener in turn. With `drain`, each tag put in
//! the field is reported once and leaves it (the simulator's vehicles,
//! whose time runs too fast for a reader's real-time report interval).

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::{BytesCodec, Framed};
use tokio_util::sync::CancellationToken;

use crate::codec::llrp::reader_side::{self, SeenTag};
use crate::codec::llrp::{LlrpCodec, Message, kind};

/// What the simulated reader saw of its clients.
#[derive(Debug, Default)]
pub struct SimStats {
    /// Command types received, in order, across connections.
    pub commands: Mutex<Vec<u16>>,
    pub keepalive_acks: AtomicU32,
    pub reports: AtomicU32,
}

/// The simulated reader's behaviour.
#[derive(Clone, Debug)]
pub struct SimReader {
    /// The tags in the field, reported while the inventory runs.
    pub field: Arc<Mutex<Vec<SeenTag>>>,
    pub every: Duration,
    pub keepalive: Duration,
    pub stats: Arc<SimStats>,
    /// Report each tag once, then take it out of the field.
    pub drain: bool,
}

impl SimReader {
    pub fn new(every: Duration, keepalive: Duration) -> Self {
        SimReader { field: Arc::default(), every, keepalive, stats: Arc::default(), drain: false }
    }

    /// Serves each connection `listener` accepts, one after another; the
    /// token returned drops the current one when cancelled.
    pub fn accept_all(&self, listener: TcpListener) -> Arc<Mutex<CancellationToken>> {
        let kick = Arc::new(Mutex::new(CancellationToken::new()));
        let (reader, current) = (self.clone(), Arc::clone(&kick));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let token = CancellationToken::new();
                *current.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = token.clone();
                if let Err(e) = reader.serve(stream, token).await {
                    tracing::debug!(error = %e, "simulated LLRP connection ended");
                }
            }
        });
        kick
    }

    /// Serves one client until it closes or `kick` fires.
    pub async fn serve(&self, stream: TcpStream, kick: CancellationToken) -> std::io::Result<()> {
        let _ = stream.set_nodelay(true);
        // Commands come in as messages the codec reads as `Other`; replies
        // go out as raw bytes.
        let (read, write) = stream.into_split();
        let mut commands = tokio_util::codec::FramedRead::new(read, LlrpCodec::new());
        let mut out = Framed::new(write, BytesCodec::new());
        out.send(bytes::Bytes::from(reader_side::connection_event(0, 0))).await?;
        let (mut running, mut id) = (false, 0u32);
        let mut report = tokio::time::interval(self.every);
        let mut keepalive = tokio::time::interval(self.keepalive);
        loop {
            tokio::select! {
                _ = kick.cancelled() => return Ok(()),
                m = commands.next() => {
                    let (command_id, command) = match m {
                        None => return Ok(()),
                        Some(m) => match m? {
                            Message::Other { id, kind } => (id, kind),
                            other => return Err(std::io::Error::other(format!("not a command: {other:?}"))),
                        },
                    };
                    self.stats.commands.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(command);
                    match command {
                        kind::KEEPALIVE_ACK => {
                            self.stats.keepalive_acks.fetch_add(1, Ordering::Relaxed);
                        }
                        kind::START_ROSPEC => running = true,
                        kind::STOP_ROSPEC => running = false,
                        _ => {}
                    }
                    if let Some(answer) = reader_side::response_kind(command) {
                        out.send(bytes::Bytes::from(reader_side::response(answer, command_id, 0, ""))).await?;
                    }
                    if command == kind::CLOSE_CONNECTION {
                        return Ok(());
                    }
                }
                _ = report.tick(), if running => {
                    let tags = {
                        let mut field = self.field.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                        if self.drain { std::mem::take(&mut *field) } else { field.clone() }
                    };
                    if !tags.is_empty() {
                        id = id.wrapping_add(1);
                        out.send(bytes::Bytes::from(reader_side::report(id, &tags))).await?;
                        self.stats.reports.fetch_add(1, Ordering::Relaxed);
                    }
                }
                _ = keepalive.tick() => {
                    id = id.wrapping_add(1);
                    out.send(bytes::Bytes::from(reader_side::keepalive(id))).await?;
                }
            }
        }
    }
}
