//! The one after-commit publisher: what a committed transaction asks of
//! the lanes (a barrier to open, a payment confirmed) goes out only once
//! the commit has returned, and the lists publisher is woken when the
//! commit changed what tags may spend. Ingestion, the settlement writer
//! and resolutions by hand all finish through [`AfterCommit::publish`].

use std::sync::Arc;

use parking_core::Timestamp;
use parking_core::wire::{self, GateCommand, GateTopic, Topics, V1};
use parking_runtime::Clock;
use parking_runtime::mqtt::OutMsg;
use tokio::sync::{Notify, mpsc};

use crate::settlement::LaneCommand;

/// Where a lot's committed work is announced.
#[derive(Clone, Debug)]
pub struct AfterCommit {
    /// The lot's outgoing link.
    pub out: mpsc::Sender<OutMsg>,
    /// Wakes the lists publisher.
    pub lists_changed: Arc<Notify>,
    /// Stamps each command.
    pub clock: Clock,
}

impl AfterCommit {
    /// Publishes `commands` (already committed) and wakes the lists
    /// publisher if `lists_changed`. A stopped link is logged, not fatal:
    /// the lane's own timeout and the driver's retry cover a lost command.
    pub async fn publish(&self, commands: &[LaneCommand], lists_changed: bool) {
        let now = self.clock.now();
        for cmd in commands {
            if self.out.send(message(cmd, now)).await.is_err() {
                tracing::warn!(gate = %cmd.gate, "the MQTT link has stopped; lane command not sent");
            }
        }
        if lists_changed {
            self.lists_changed.notify_one();
        }
    }
}

/// A lane command as published on its gate's `cmd` topic.
pub fn message(cmd: &LaneCommand, now: Timestamp) -> OutMsg {
    let msg = GateCommand { v: V1, command_id: uuid::Uuid::new_v4(), issued_at: now, command: cmd.command.clone() };
    OutMsg {
        topic: Topics::new(cmd.lot.clone()).gate(&cmd.gate, GateTopic::Command),
        payload: wire::encode(&msg),
        retain: false,
    }
}
