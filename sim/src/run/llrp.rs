//! Lanes whose UHF reader is a fixed LLRP reader (`[sim] llrp_readers`,
//! or `sim demo --llrp`): the simulator plays each one as a reader on
//! loopback TCP ([`tag_reader::llrp_sim::SimReader`]), which the lane's
//! controller connects to, sets up and inventories like an Impinj or
//! Zebra reader. A vehicle's tag is reported once, in the reader's next
//! report ([`EVERY`]): the clock runs thousands of times faster than real
//! time, so a real reader's repeated reports of one windshield tag, a few
//! real milliseconds apart, would be minutes of the day apart.
//!
//! A tag read over TCP overtakes what went through the broker just before
//! it (this vehicle's plate, the last vehicle's loop), which at a real
//! lane is seconds earlier: the camera's plate is waited for at the
//! controller (its `/health` shows the lane's read) before the tag is in
//! the field, and the tag comes [`APPROACH`] after the plate.
//!
//! The reports carry no TID (the LLRP client does not ask the reader for
//! the TID bank), so a cloned tag cannot be told from its original at an
//! LLRP lane: a run with clones entering there is refused at the start.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parking_core::{Epc, GateId, Timestamp};
use tag_reader::codec::llrp::reader_side::SeenTag;
use tag_reader::llrp_sim::SimReader;

use crate::traffic::{Actor, Visit};

/// How often a reader reports the tags in its field.
pub const EVERY: Duration = Duration::from_millis(5);
/// How long a vehicle takes from the camera to the antenna, real time:
/// time for the last vehicle's loop to reach the controller (its plate is
/// waited for, where the controller's `/health` can say).
pub const APPROACH: Duration = Duration::from_millis(20);

/// The simulated LLRP readers, by gate, and the controllers' `/health`
/// addresses; cheap to clone.
#[derive(Clone, Debug, Default)]
pub struct Readers {
    readers: Arc<HashMap<GateId, SimReader>>,
    health: Arc<Vec<String>>,
}

impl Readers {
    /// Starts a reader listening on each gate's address (`HOST:PORT`; port
    /// 0 picks one); the ports they listen on.
    pub async fn start(addrs: &BTreeMap<GateId, String>) -> anyhow::Result<(Readers, BTreeMap<GateId, u16>)> {
        let mut readers = HashMap::new();
        let mut ports = BTreeMap::new();
        for (gate, addr) in addrs {
            let listener = tokio::net::TcpListener::bind(addr.as_str())
                .await
                .with_context(|| format!("the simulated LLRP reader of {gate} cannot listen on {addr}"))?;
            ports.insert(gate.clone(), listener.local_addr()?.port());
            let mut reader = SimReader::new(EVERY, Duration::from_secs(1));
            reader.drain = true;
            reader.accept_all(listener);
            readers.insert(gate.clone(), reader);
        }
        Ok((Readers { readers: Arc::new(readers), health: Arc::default() }, ports))
    }

    /// The same readers, waiting for plates at the controllers whose
    /// `/health` is at `controllers` (HOST:PORT).
    pub fn watching(self, controllers: &[String]) -> Readers {
        Readers { health: Arc::new(controllers.to_vec()), ..self }
    }

    pub fn is_empty(&self) -> bool {
        self.readers.is_empty()
    }

    pub fn has(&self, gate: &GateId) -> bool {
        self.readers.contains_key(gate)
    }

    /// When `gate`'s controller last took a read there, as its `/health`
    /// says; `None` if no controller says.
    pub async fn last_read(&self, gate: &GateId) -> Option<serde_json::Value> {
        for addr in self.health.iter() {
            let Some(body) = super::setup::plain_get(addr, "/health").await else { continue };
            let Ok(health) = serde_json::from_str::<serde_json::Value>(&body) else { continue };
            let lanes = health["lanes"].as_array().into_iter().flatten();
            if let Some(lane) = lanes.into_iter().find(|l| l["gate"] == gate.as_str()) {
                return Some(lane["last_read_at"].clone());
            }
        }
        None
    }

    /// Waits (up to 2 s) until `gate`'s controller has taken a read after
    /// the one it had taken at `before`.
    pub async fn wait_read_after(&self, gate: &GateId, before: Option<serde_json::Value>) {
        let Some(before) = before else { return };
        for _ in 0..2_000 {
            if self.last_read(gate).await.is_some_and(|now| now != before) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
    }

    /// Refuses visits an LLRP lane cannot play: a cloned tag entering at
    /// one (its TID is what gives it away, and no TID is reported).
    pub fn check(&self, visits: &[Visit]) -> anyhow::Result<()> {
        if let Some(v) = visits.iter().find(|v| v.actor == Actor::Cloned && self.readers.contains_key(&v.entry_gate)) {
            anyhow::bail!(
                "vehicle {} is a cloned tag entering at {}, an LLRP lane: the LLRP reader reports no TID, so a clone \
                 cannot be told from its original there; set [traffic] cloned = 0 or give that gate another reader",
                v.vehicle,
                v.entry_gate
            );
        }
        Ok(())
    }

    /// Puts `epc` in `gate`'s reader field and returns once the reader has
    /// taken it into a report (the vehicle does not drive on before its tag
    /// was read: the lane may already have opened on its plate, and a tag
    /// read after the vehicle passed would be a new arrival); false if the
    /// gate has no LLRP reader.
    pub async fn present(&self, gate: &GateId, epc: &Epc, at: Timestamp) -> bool {
        let Some(reader) = self.readers.get(gate) else { return false };
        tokio::time::sleep(APPROACH).await;
        let first_seen_us = u64::try_from(at.unix_millis()).unwrap_or(0) * 1000;
        let tag = SeenTag { epc: epc.as_bytes().to_vec(), antenna: 1, rssi: -52, first_seen_us };
        let field = || reader.field.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        {
            let mut field = field();
            field.retain(|t| t.epc != tag.epc);
            field.push(tag.clone());
        }
        // A reader that no one reads (its controller away) keeps the tag
        // for the next report; the lane's own timeout covers that.
        for _ in 0..200 {
            if !field().contains(&tag) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        true
    }
}
