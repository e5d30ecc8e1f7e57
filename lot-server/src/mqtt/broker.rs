//! The embedded MQTT broker, for `broker.embedded = true`: one lot-server
//! process plus its controllers make a whole lot, with nothing else
//! installed. It is `parking-broker` (TCP_NODELAY on every socket, no
//! anonymous clients, each node's topic grant enforced), behind the
//! `embedded-broker` cargo feature; the users are [`crate::nodes`].

use std::net::{SocketAddr, ToSocketAddrs};
use std::sync::Arc;

use anyhow::Context;
use parking_core::settings::BrokerSettings;

use crate::nodes::auth::NodeAuth;

/// The address `[broker]` names.
fn listen_addr(broker: &BrokerSettings) -> anyhow::Result<SocketAddr> {
    (broker.host.as_str(), broker.port)
        .to_socket_addrs()
        .with_context(|| format!("broker.host {} does not resolve", broker.host))?
        .next()
        .with_context(|| format!("broker.host {} has no address", broker.host))
}

/// A running embedded broker.
#[cfg(feature = "embedded-broker")]
pub type Running = parking_broker::Broker;
#[cfg(not(feature = "embedded-broker"))]
#[derive(Debug)]
pub struct Running;

/// Starts the broker on `broker.host:broker.port`, its users checked by `auth`.
#[cfg(feature = "embedded-broker")]
pub async fn start(broker: &BrokerSettings, auth: Arc<NodeAuth>) -> anyhow::Result<Running> {
    let listen = listen_addr(broker)?;
    let listener = std::net::TcpListener::bind(listen).with_context(|| {
        format!(
            "cannot listen on {listen} for the embedded MQTT broker; is another broker (Mosquitto?) running \
             there? Use it with broker.embedded = false, or set broker.port"
        )
    })?;
    serve(listener, auth)
}

/// Serves the broker on a bound listener, from a thread of its own.
#[cfg(feature = "embedded-broker")]
pub fn serve(listener: std::net::TcpListener, auth: Arc<NodeAuth>) -> anyhow::Result<Running> {
    Ok(parking_broker::Broker::start_on_own_thread(listener, auth)?)
}

#[cfg(not(feature = "embedded-broker"))]
pub fn serve(_listener: std::net::TcpListener, _auth: Arc<NodeAuth>) -> anyhow::Result<Running> {
    anyhow::bail!("this lot-server was built without its embedded broker (cargo feature embedded-broker)")
}

/// Without the `embedded-broker` feature there is no broker to start.
#[cfg(not(feature = "embedded-broker"))]
pub async fn start(broker: &BrokerSettings, _auth: Arc<NodeAuth>) -> anyhow::Result<Running> {
    let listen = listen_addr(broker)?;
    anyhow::bail!(
        "broker.embedded = true, but this lot-server was built without its embedded broker (cargo feature \
         embedded-broker); run Mosquitto on {listen} and set broker.embedded = false"
    )
}

/// Stops the broker, if one runs.
pub async fn stop(running: Running) {
    #[cfg(feature = "embedded-broker")]
    running.shutdown().await;
    #[cfg(not(feature = "embedded-broker"))]
    let _ = running;
}
