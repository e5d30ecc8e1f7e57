//! Before anything connects: every `[[nodes]]` entry gets its secret (in
//! the first lot's database, where `lot-server node` commands look too),
//! and with `broker.embedded` the broker starts, with the lot server's own
//! user (its secret in memory only, unless `[broker]` gives one) and the
//! nodes' users, read again every few seconds so that `lot-server node add`
//! and `remove` take effect without a restart.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use parking_core::secret::Secret;
use parking_core::wire::acl::Grant;
use tokio_util::sync::CancellationToken;

use crate::mqtt::broker::Running;
use crate::nodes::{self, auth::NodeAuth};
use crate::settings::{LotConfig, Settings};

/// How often the embedded broker reads its users again.
const REFRESH: Duration = Duration::from_secs(2);

/// Provisions the nodes and starts the embedded broker if configured.
pub(super) async fn start(
    settings: &mut Settings,
    lots: &[LotConfig],
    shutdown: CancellationToken,
) -> anyhow::Result<Option<Running>> {
    let first = lots.first().context("no lot configured")?;
    let db = crate::db::Db::connect_in(first.database.url.expose(), first.database.schema.as_deref())
        .await
        .with_context(|| format!("lot {}: cannot open {}", first.lot.id, first.database.describe()))?;
    db.migrate().await.context("cannot bring the database schema up to date")?;
    nodes::provision::provision(&db, &settings.nodes, &first.lot.id, settings.clock.now_ms()).await?;
    if !settings.broker.embedded {
        return Ok(None);
    }
    // The server's own user: the password `[broker]` gives, or a new one
    // each start that never leaves the process.
    let own = match parking_runtime::mqtt::password(&settings.broker)? {
        Some(p) => p,
        None => Secret::new(nodes::secret::new_secret()),
    };
    settings.broker.password = Some(own.clone());
    let user = settings.broker.username.clone().unwrap_or_else(|| settings.server.node.to_string());
    let every_lot: Vec<String> = lots.iter().map(|l| format!("parking/{}/#", l.lot.id)).collect();
    let grant = Grant { read: every_lot.clone(), write: every_lot };
    let auth = Arc::new(NodeAuth::new(&user, own.expose(), grant));
    auth.load(&nodes::list(&db).await?);
    let running = crate::mqtt::broker::start(&settings.broker, auth.clone()).await?;
    tokio::spawn(async move {
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(REFRESH) => {}
            }
            match nodes::list(&db).await {
                Ok(list) => auth.load(&list),
                Err(e) => tracing::warn!(error = %e, "cannot read the broker's users; keeping the last ones"),
            }
        }
    });
    Ok(Some(running))
}
