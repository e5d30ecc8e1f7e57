//! A TCP proxy on loopback that a test can cut: every connection through
//! it is dropped at once, and new ones are refused, until it is restored.
//! Put in front of one process's broker link, it cuts that process off
//! while everything else keeps its connections.

use std::net::SocketAddr;

use tokio::io::AsyncWriteExt as _;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A running proxy to `127.0.0.1:{upstream}`; stops when dropped.
#[derive(Debug)]
pub struct Proxy {
    /// The port to connect to instead of the upstream's.
    pub port: u16,
    cut: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: u16) -> std::io::Result<Proxy> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let (cut, watching) = watch::channel(false);
        let upstream = SocketAddr::from(([127, 0, 0, 1], upstream));
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if *watching.borrow() {
                    continue; // cut: refused (closed at once)
                }
                tokio::spawn(relay(client, upstream, watching.clone()));
            }
        });
        Ok(Proxy { port, cut, task })
    }

    /// Drops every connection and refuses new ones.
    pub fn cut(&self) {
        let _ = self.cut.send(true);
    }

    /// Lets connections through again.
    pub fn restore(&self) {
        let _ = self.cut.send(false);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
        self.task.abort();
    }
}

async fn relay(mut client: TcpStream, upstream: SocketAddr, mut cut: watch::Receiver<bool>) {
    let Ok(mut server) = TcpStream::connect(upstream).await else { return };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    tokio::select! {
        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
        () = async { drop(cut.wait_for(|cut| *cut).await) } => {
            // A cable pulled: both ends see their connection end.
            let _ = client.shutdown().await;
            let _ = server.shutdown().await;
        }
    }
}
