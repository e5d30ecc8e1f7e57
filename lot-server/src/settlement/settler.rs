//! The one writer of transfers: webhook handlers and the reconciliation
//! poller hand it transfers and wait for their disposition; it applies
//! whatever is queued in one transaction (group commit), publishes the
//! lane commands after the commit, and answers each caller. One commit
//! for many notifications is what lets a burst of webhooks through at
//! thousands a second on SQLite; a caller is answered only once its
//! transfer is durable, so a provider that got `success` never needs to
//! retry, and one that did not will retry into the deduplication.

use std::sync::Arc;

use tag_reader::publisher::OutMsg;
use tokio::sync::{Notify, mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use super::{Disposition, Effects, Incoming, Policy, apply_transfer};
use crate::db::{Db, now_ms};
use crate::metrics::SettlementMetrics;

/// Most transfers applied in one transaction.
const BATCH: usize = 256;

type Reply = oneshot::Sender<Result<Disposition, String>>;

/// A handle to the writer.
#[derive(Clone, Debug)]
pub struct Settler {
    tx: mpsc::Sender<(Incoming, Reply)>,
}

/// Why a transfer could not be booked (the provider should retry).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettleError {
    #[error("the settlement writer has stopped")]
    Stopped,
    #[error("could not book the transfer: {0}")]
    Db(String),
}

impl Settler {
    /// Starts the writer. `out` carries lane commands to the broker;
    /// `lists_changed` wakes the lists publisher when a balance changed
    /// what a tag may spend.
    pub fn spawn(
        db: Db,
        policy: Arc<Policy>,
        out: mpsc::Sender<OutMsg>,
        lists_changed: Arc<Notify>,
        metrics: SettlementMetrics,
        shutdown: CancellationToken,
    ) -> (Settler, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(16_384);
        let task = tokio::spawn(run(db, policy, rx, out, lists_changed, metrics, shutdown));
        (Settler { tx }, task)
    }

    /// Books a transfer, once, and returns what became of it.
    pub async fn submit(&self, t: Incoming) -> Result<Disposition, SettleError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send((t, reply)).await.map_err(|_| SettleError::Stopped)?;
        answer.await.map_err(|_| SettleError::Stopped)?.map_err(SettleError::Db)
    }
}

async fn run(
    db: Db,
    policy: Arc<Policy>,
    mut rx: mpsc::Receiver<(Incoming, Reply)>,
    out: mpsc::Sender<OutMsg>,
    lists_changed: Arc<Notify>,
    metrics: SettlementMetrics,
    shutdown: CancellationToken,
) {
    let mut batch: Vec<(Incoming, Reply)> = Vec::with_capacity(BATCH);
    loop {
        let first = tokio::select! {
            m = rx.recv() => m,
            () = shutdown.cancelled() => None,
        };
        let Some(first) = first else { return };
        batch.push(first);
        while batch.len() < BATCH {
            match rx.try_recv() {
                Ok(m) => batch.push(m),
                Err(_) => break,
            }
        }
        let started = std::time::Instant::now();
        match commit(&db, &policy, &batch).await {
            Ok((dispositions, mut fx, changed)) => {
                metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
                let now = tag_reader::reader::now();
                for cmd in fx.commands.drain(..) {
                    if out.send(cmd.to_out(now)).await.is_err() {
                        tracing::warn!(gate = %cmd.gate, "the MQTT link has stopped; lane command not sent");
                    }
                }
                if changed {
                    lists_changed.notify_one();
                }
                for ((t, reply), d) in batch.drain(..).zip(dispositions) {
                    metrics.transfers.with_label_values(&[t.provider.as_str(), d.name()]).inc();
                    tracing::info!(transfer = %t.transfer_id(), amount = %t.amount, outcome = d.name(), "transfer booked");
                    let _ = reply.send(Ok(d));
                }
            }
            Err(e) => {
                tracing::error!(error = %e, transfers = batch.len(), "booking transfers failed; the providers will retry");
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(e.to_string()));
                }
            }
        }
    }
}

async fn commit(
    db: &Db,
    policy: &Policy,
    batch: &[(Incoming, Reply)],
) -> Result<(Vec<Disposition>, Effects, bool), sqlx::Error> {
    let now = now_ms();
    let mut tx = db.pool.begin().await?;
    let mut fx = Effects::default();
    let mut out = Vec::with_capacity(batch.len());
    for (t, _) in batch {
        out.push(apply_transfer(&mut tx, db.backend, policy, t, now, &mut fx).await?);
    }
    let changed = fx.finish(&mut tx, db.backend).await?;
    tx.commit().await?;
    Ok((out, fx, changed))
}
