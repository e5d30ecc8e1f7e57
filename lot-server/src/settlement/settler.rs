//! The one writer of transfers: webhook handlers and the reconciliation
//! poller hand it transfers and wait for their disposition; it applies
//! whatever is queued in one transaction (group commit), publishes the
//! lane commands after the commit, and answers each caller. One commit
//! for many notifications is what lets a burst of webhooks through at
//! thousands a second on SQLite; a caller is answered only once its
//! transfer is durable, so a provider that got `success` never needs to
//! retry, and one that did not will retry into the deduplication.

use std::sync::Arc;

use parking_core::Timestamp;
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::mqtt::commands::AfterCommit;

use super::{Disposition, Effects, Incoming, Policy, apply_transfers};
use crate::db::Db;
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
    /// Starts the writer. `after` carries lane commands to the broker and
    /// wakes the lists publisher when a balance changed what a tag may
    /// spend.
    pub fn spawn(
        db: Db,
        policy: Arc<Policy>,
        after: AfterCommit,
        metrics: SettlementMetrics,
        shutdown: CancellationToken,
    ) -> (Settler, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(16_384);
        let task = tokio::spawn(run(db, policy, rx, after, metrics, shutdown));
        (Settler { tx }, task)
    }

    /// Books a transfer, once, and returns what became of it.
    pub async fn submit(&self, t: Incoming) -> Result<Disposition, SettleError> {
        let (reply, answer) = oneshot::channel();
        self.tx.send((t, reply)).await.map_err(|_| SettleError::Stopped)?;
        answer.await.map_err(|_| SettleError::Stopped)?.map_err(SettleError::Db)
    }
}

/// The writer's shared parts.
struct Writer {
    db: Db,
    policy: Arc<Policy>,
    after: AfterCommit,
    metrics: SettlementMetrics,
}

async fn run(
    db: Db,
    policy: Arc<Policy>,
    mut rx: mpsc::Receiver<(Incoming, Reply)>,
    after: AfterCommit,
    metrics: SettlementMetrics,
    shutdown: CancellationToken,
) {
    let w = Writer { db, policy, after, metrics };
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
        if let Err(e) = w.book(&mut batch).await {
            if batch.len() > 1 {
                // One bad transfer must not hold back the others: book
                // each alone, so only the one at fault is refused.
                tracing::warn!(error = %e, transfers = batch.len(), "booking a batch failed; booking one by one");
                for one in std::mem::take(&mut batch) {
                    let mut single = vec![one];
                    if let Err(e) = w.book(&mut single).await {
                        w.refuse(&mut single, &e);
                    }
                }
            } else {
                w.refuse(&mut batch, &e);
            }
        }
        batch.clear();
    }
}

impl Writer {
    /// Commits `batch`, publishes its lane commands and answers its
    /// callers; on failure leaves the batch unanswered for the caller.
    async fn book(&self, batch: &mut Vec<(Incoming, Reply)>) -> Result<(), sqlx::Error> {
        let started = std::time::Instant::now();
        let now = self.after.clock.now();
        let (dispositions, fx, changed) = commit(&self.db, &self.policy, batch, now).await?;
        self.metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
        self.after.publish(&fx.commands, changed).await;
        for ((t, reply), d) in batch.drain(..).zip(dispositions) {
            self.metrics.transfers.with_label_values(&[t.provider.as_str(), d.name()]).inc();
            tracing::info!(transfer = %t.transfer_id(), amount = %t.amount, outcome = d.name(), "transfer booked");
            let _ = reply.send(Ok(d));
        }
        Ok(())
    }

    fn refuse(&self, batch: &mut Vec<(Incoming, Reply)>, e: &sqlx::Error) {
        for (t, reply) in batch.drain(..) {
            tracing::error!(transfer = %t.transfer_id(), error = %e, "booking a transfer failed; the provider will retry");
            let _ = reply.send(Err(e.to_string()));
        }
    }
}

async fn commit(
    db: &Db,
    policy: &Policy,
    batch: &[(Incoming, Reply)],
    now: Timestamp,
) -> Result<(Vec<Disposition>, Effects, bool), sqlx::Error> {
    let now = now.unix_millis();
    let mut tx = db.begin_write().await?;
    crate::db::lock_tx(&mut tx, db, crate::db::TxLock::Stays).await?;
    let mut fx = Effects::default();
    let transfers: Vec<Incoming> = batch.iter().map(|(t, _)| t.clone()).collect();
    let out = apply_transfers(&mut tx, db.backend, policy, &transfers, now, &mut fx).await?;
    let changed = fx.finish(&mut tx, db.backend, now).await?;
    tx.commit().await?;
    Ok((out, fx, changed))
}
