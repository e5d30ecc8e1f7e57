//! The lot's embedded MQTT 3.1.1 broker, for `broker.embedded = true`:
//! one lot-server process and its controllers make a whole lot, with
//! nothing else installed, and the default setup is as fast and as closed
//! as Mosquitto configured well.
//!
//! - TCP_NODELAY on every accepted socket: a QoS 1 hop never waits for
//!   Nagle's algorithm.
//! - Every client authenticates ([`Authenticator`]); there is no anonymous
//!   access. Each user's [`Grant`] is checked on every publish (a refused
//!   one is acknowledged and dropped, as Mosquitto does) and subscription
//!   (refused in the SUBACK).
//! - QoS 0 and 1, persistent sessions (messages kept for an absent client
//!   and unacknowledged ones sent again), retained messages, last wills,
//!   `$share/{group}/` subscriptions, keep-alive, clean shutdown.
//!
//! Parts: [`session`] (one client's queue and in-flight window),
//! [`router`] (sessions, retained messages, routing), [`connection`] (one
//! socket's reader and writer). Packets are rumqttc's v4 codec.

mod connection;
mod router;
mod session;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

pub use parking_core::wire::acl::Grant;
pub use rumqttc::mqttbytes::v4::ConnectReturnCode;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Largest packet accepted: a very large lot's lists snapshot is tens of
/// megabytes.
pub const MAX_PACKET: usize = 256 * 1024 * 1024;
/// Most connections at once; beyond it a client is told the server is
/// unavailable and retries.
pub const MAX_CONNECTIONS: usize = 10_000;

/// Who a client is once its credentials are checked, and what it may do.
#[derive(Clone, Debug)]
pub struct Login {
    pub user: String,
    pub grant: Arc<Grant>,
}

/// Checks a client's credentials (`None`: it sent none).
pub trait Authenticator: Send + Sync + 'static {
    /// The login, or the CONNACK code that refuses it
    /// (`BadUserNamePassword`, `NotAuthorized`).
    fn authenticate(&self, client_id: &str, credentials: Option<(&str, &str)>) -> Result<Login, ConnectReturnCode>;
}

/// What every connection shares.
struct Shared {
    router: Mutex<router::Router>,
    auth: Arc<dyn Authenticator>,
    open: std::sync::atomic::AtomicUsize,
}

/// A running broker; [`Broker::shutdown`] stops it.
#[derive(Debug)]
pub struct Broker {
    addr: SocketAddr,
    stop: CancellationToken,
    tasks: TaskTracker,
}

impl Broker {
    /// Serves MQTT on `listener` until [`Broker::shutdown`].
    pub fn start(listener: TcpListener, auth: Arc<dyn Authenticator>) -> std::io::Result<Broker> {
        let addr = listener.local_addr()?;
        let stop = CancellationToken::new();
        let tasks = TaskTracker::new();
        let shared = Arc::new(Shared {
            router: Mutex::new(router::Router::default()),
            auth,
            open: std::sync::atomic::AtomicUsize::new(0),
        });
        tasks.spawn(accept(listener, shared, stop.clone(), tasks.clone()));
        tracing::info!(%addr, "embedded MQTT broker started");
        Ok(Broker { addr, stop, tasks })
    }

    /// Serves MQTT on `listener` from a thread of its own, on a
    /// single-threaded runtime: the broker's hops then never queue behind
    /// the work of the process that embeds it (a lot server's ingestion).
    pub fn start_on_own_thread(
        listener: std::net::TcpListener,
        auth: Arc<dyn Authenticator>,
    ) -> std::io::Result<Broker> {
        listener.set_nonblocking(true)?;
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new().name("mqtt-broker".into()).spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(r) => r,
                Err(e) => return drop(tx.send(Err(e))),
            };
            runtime.block_on(async move {
                match TcpListener::from_std(listener).and_then(|l| Broker::start(l, auth)) {
                    Ok(b) => {
                        let (stop, tasks) = (b.stop.clone(), b.tasks.clone());
                        let _ = tx.send(Ok(b));
                        stop.cancelled().await;
                        tasks.wait().await;
                    }
                    Err(e) => drop(tx.send(Err(e))),
                }
            });
        })?;
        rx.recv().map_err(|_| std::io::Error::other("the embedded broker's thread ended at start"))?
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, ends every connection (no last wills: the broker,
    /// not the clients, went away) and waits for their tasks.
    pub async fn shutdown(self) {
        self.stop.cancel();
        self.tasks.close();
        self.tasks.wait().await;
        tracing::info!(addr = %self.addr, "embedded MQTT broker stopped");
    }
}

async fn accept(listener: TcpListener, shared: Arc<Shared>, stop: CancellationToken, tasks: TaskTracker) {
    loop {
        let accepted = tokio::select! {
            () = stop.cancelled() => break,
            a = listener.accept() => a,
        };
        match accepted {
            Ok((stream, peer)) => {
                tasks.spawn(connection::serve(stream, peer, shared.clone(), stop.clone()));
            }
            // Out of file descriptors and the like: say so, breathe, go on.
            Err(e) => {
                tracing::warn!(error = %e, "the embedded broker cannot accept a connection");
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            }
        }
    }
    if let Ok(router) = shared.router.lock() {
        router.kick_all();
    }
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}
