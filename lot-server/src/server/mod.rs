//! The process wiring of `lot-server run`: the broker's users, the
//! embedded broker, then each lot's runtime, then the HTTP API of every lot.
//!
//! Parts:
//! - this file: [`run`], until shutdown;
//! - `broker`: `[[nodes]]` given their secrets, and the embedded broker
//!   with its users read again as they change;
//! - `lot`: one lot's database, MQTT link, ingestion and background tasks,
//!   each handed the server's clock.

mod broker;
mod lot;

use lot::LotRuntime;

use std::sync::Arc;

use anyhow::Context;
use parking_core::Timestamp;
use parking_core::wire::{self, NodeRole, NodeStatus, Topics, V1};
use parking_runtime::mqtt::OutMsg;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

fn node_status(lot: &parking_core::LotId, node: &parking_core::NodeId, online: bool, at: Timestamp) -> OutMsg {
    let topics = Topics::new(lot.clone());
    let msg = NodeStatus { v: V1, node: node.clone(), role: NodeRole::LotServer, online, at };
    OutMsg { topic: topics.node_status(node), payload: wire::encode(&msg), retain: true }
}

/// Runs the lot server until `shutdown`: the embedded broker if
/// configured, then for each lot it serves (`[lot]`, then `[[lots]]`) its
/// database, its MQTT link (acknowledgements, lists, tariff), ingestion
/// and background tasks; and the HTTP API of every lot on `listener`.
pub async fn run(
    mut settings: crate::settings::Settings,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> anyhow::Result<()> {
    let clock = settings.clock.clone();
    if clock.is_simulated() {
        tracing::warn!(now = %clock.now(), speed = clock.speed(), "simulated clock (PARKING_CLOCK)");
    }
    let lots = settings.lot_configs().map_err(|(key, message, _)| anyhow::anyhow!("{key}: {message}"))?;
    let broker = broker::start(&mut settings, &lots, shutdown.clone()).await?;
    // One budget per client address across every lot: a guesser gains
    // nothing by spreading sign-ins over the lots.
    let limits = Arc::new(
        crate::api::limits::RateLimits::new(settings.server.login_per_minute, settings.server.webhooks_per_second)
            .with_public(settings.server.public_per_minute, settings.server.lookups_per_minute),
    );
    let mut served = Vec::with_capacity(lots.len());
    for lot in &lots {
        let span = tracing::info_span!("lot", lot = %lot.lot.id);
        let started = LotRuntime::start(&settings, lot, Arc::clone(&limits), shutdown.clone())
            .instrument(span)
            .await
            .with_context(|| format!("lot {}", lot.lot.id))?;
        served.push(started);
    }
    let router = crate::api::serve(served.iter().map(|l| l.state.clone()).collect());
    tracing::info!(listen = %listener.local_addr()?, lots = served.len(), "HTTP API listening");
    let stop = shutdown.clone();
    // The peer's address, for the rate limits.
    let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
    let result = axum::serve(listener, service).with_graceful_shutdown(async move { stop.cancelled().await }).await;
    shutdown.cancel();
    for lot in served {
        lot.stop().await;
    }
    if let Some(b) = broker {
        crate::mqtt::broker::stop(b).await;
    }
    result.context("HTTP server")?;
    Ok(())
}
