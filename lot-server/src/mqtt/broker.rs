//! The embedded MQTT broker (rumqttd), for `broker.embedded = true`: one
//! lot-server process plus its controllers make a whole lot, with nothing
//! else installed.
//!
//! rumqttd never sets TCP_NODELAY on its sockets (docs/mqtt.md, "TCP_NODELAY on every hop"), so a QoS 1
//! round trip through it costs ~44 ms. Nothing that opens a barrier waits
//! on one: controllers decide from local state, and what the server sends
//! a lane (acknowledgements, lists, payment confirmations) is one-way. For
//! the lowest latency run Mosquitto with `set_tcp_nodelay true` and set
//! `broker.embedded = false`.

use std::collections::HashMap;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};

use anyhow::Context;
use parking_core::settings::BrokerSettings;
use rumqttd::{Broker, Config, ConnectionSettings, RouterConfig, ServerSettings};

/// Largest message the broker accepts: a lists snapshot of a very large
/// lot is tens of megabytes.
const MAX_PAYLOAD: usize = 256 * 1024 * 1024;

fn config(listen: SocketAddr, broker: &BrokerSettings) -> Config {
    let auth = match (&broker.username, &broker.password) {
        (Some(user), Some(pass)) => Some(HashMap::from([(user.clone(), pass.expose().to_owned())])),
        _ => None,
    };
    let server = ServerSettings {
        name: "v4-1".into(),
        listen,
        tls: None,
        next_connection_delay_ms: 1,
        connections: ConnectionSettings {
            connection_timeout_ms: 60_000,
            max_payload_size: MAX_PAYLOAD,
            max_inflight_count: 1_000,
            auth,
            external_auth: None,
            dynamic_filters: true,
        },
    };
    Config {
        id: 0,
        router: RouterConfig {
            max_connections: 10_010,
            max_outgoing_packet_count: 1_000,
            max_segment_size: MAX_PAYLOAD * 2,
            max_segment_count: 10,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([("1".to_owned(), server)])),
        ..Config::default()
    }
}

/// Starts the broker on `broker.host:broker.port`. It runs on its own
/// threads for the life of the process; the server's clients connect with
/// their usual retries, so nothing waits here for the listener.
pub fn start(broker: &BrokerSettings) -> anyhow::Result<SocketAddr> {
    let listen = (broker.host.as_str(), broker.port)
        .to_socket_addrs()
        .with_context(|| format!("broker.host {} does not resolve", broker.host))?
        .next()
        .with_context(|| format!("broker.host {} has no address", broker.host))?;
    // rumqttd would only log a failed bind from its own thread: check first,
    // so the operator gets a clear error instead of a server with no broker.
    drop(TcpListener::bind(listen).with_context(|| {
        format!(
            "cannot listen on {listen} for the embedded MQTT broker; is another broker (Mosquitto?) running \
             there? Use it with broker.embedded = false, or set broker.port"
        )
    })?);
    let mut rumqttd = Broker::new(config(listen, broker));
    std::thread::Builder::new()
        .name("mqtt-broker".into())
        .spawn(move || {
            if let Err(e) = rumqttd.start() {
                tracing::error!(error = %e, "embedded MQTT broker stopped");
            }
        })
        .context("cannot start the embedded broker's thread")?;
    tracing::info!(%listen, "embedded MQTT broker started");
    Ok(listen)
}
