//! Deduplication: a tag read over and over while a vehicle waits becomes
//! one presence, with first seen, last seen, read count and best RSSI.
//!
//! Pure: every call takes the time. A presence is announced `settle_ms`
//! after its first read (zero announces at once), to the lane with the most
//! reads so far, ties going to the stronger best RSSI: when two antennas
//! or lanes see one tag, the lane the vehicle is really in reads it more
//! often and louder. It ends `window_ms` after its last read on any lane.

use std::collections::HashMap;

use parking_core::wire::TagPresence;
use parking_core::{Epc, Timestamp};

use crate::codec::TagReport;

/// Settings of the deduplicator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DedupConfig {
    /// A tag not read for this long has left; its next read is a new presence.
    pub window_ms: u32,
    /// How long reads are gathered before a presence is assigned to a lane.
    pub settle_ms: u32,
    /// Most tags tracked at once; beyond it the stalest presence is ended
    /// early (and counted), so memory stays bounded whatever the field sees.
    pub max_tracked: usize,
}

impl Default for DedupConfig {
    fn default() -> Self {
        DedupConfig { window_ms: 1_500, settle_ms: 0, max_tracked: 10_000 }
    }
}

/// What the deduplicator tells its owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DedupEvent<L> {
    /// A new presence, assigned to `lane`: act on this.
    Present { lane: L, presence: TagPresence },
    /// A presence ended; the figures are final.
    Gone { lane: L, presence: TagPresence },
}

#[derive(Clone, Debug)]
struct LaneStats {
    reads: u32,
    best_rssi: Option<i16>,
    antenna: u8,
    first_seen: Timestamp,
    last_seen: Timestamp,
}

#[derive(Clone, Debug)]
struct Tracked<L> {
    lanes: Vec<(L, LaneStats)>,
    first_seen: Timestamp,
    last_seen: Timestamp,
    /// The lane it was announced on, once announced.
    assigned: Option<L>,
}

/// Collapses repeated reads into presences.
#[derive(Debug)]
pub struct Deduplicator<L> {
    config: DedupConfig,
    tracked: HashMap<Epc, Tracked<L>>,
    /// Presences ended early because `max_tracked` was reached.
    pub evicted: u64,
}

fn ms_between(later: Timestamp, earlier: Timestamp) -> i64 {
    later.unix_millis() - earlier.unix_millis()
}

impl<L: Clone + PartialEq> Deduplicator<L> {
    pub fn new(config: DedupConfig) -> Self {
        Deduplicator { config, tracked: HashMap::new(), evicted: 0 }
    }

    /// Number of tags currently present or settling.
    pub fn tracked(&self) -> usize {
        self.tracked.len()
    }

    /// Records one read by `lane` at `at`. Returns the events this causes:
    /// the end of a presence that timed out, an eviction, a new presence
    /// when `settle_ms` is zero.
    pub fn observe(&mut self, lane: L, report: &TagReport, at: Timestamp) -> Vec<DedupEvent<L>> {
        let mut events = Vec::new();
        let window = i64::from(self.config.window_ms);
        if let Some(t) = self.tracked.get(&report.epc) {
            if ms_between(at, t.last_seen) > window {
                events.extend(self.end(&report.epc));
            }
        }
        if !self.tracked.contains_key(&report.epc) && self.tracked.len() >= self.config.max_tracked {
            let stalest = self.tracked.iter().min_by_key(|(_, t)| t.last_seen).map(|(e, _)| e.clone());
            if let Some(epc) = stalest {
                self.evicted += 1;
                events.extend(self.end(&epc));
            }
        }
        let t = self.tracked.entry(report.epc.clone()).or_insert_with(|| Tracked {
            lanes: Vec::with_capacity(1),
            first_seen: at,
            last_seen: at,
            assigned: None,
        });
        t.last_seen = t.last_seen.max(at);
        match t.lanes.iter_mut().find(|(l, _)| *l == lane) {
            Some((_, s)) => {
                s.reads = s.reads.saturating_add(1);
                s.best_rssi = s.best_rssi.max(report.rssi);
                s.last_seen = s.last_seen.max(at);
            }
            None => t.lanes.push((
                lane,
                LaneStats { reads: 1, best_rssi: report.rssi, antenna: report.antenna, first_seen: at, last_seen: at },
            )),
        }
        if self.config.settle_ms == 0 {
            events.extend(self.announce(&report.epc));
        }
        events
    }

    /// Announces presences whose settle time has passed and ends those
    /// whose window has passed. Call it at [`Self::next_deadline`].
    pub fn tick(&mut self, now: Timestamp) -> Vec<DedupEvent<L>> {
        let settle = i64::from(self.config.settle_ms);
        let window = i64::from(self.config.window_ms);
        let mut due_announce = Vec::new();
        let mut due_end = Vec::new();
        for (epc, t) in &self.tracked {
            if t.assigned.is_none() && ms_between(now, t.first_seen) >= settle {
                due_announce.push(epc.clone());
            }
            if ms_between(now, t.last_seen) > window {
                due_end.push(epc.clone());
            }
        }
        let mut events = Vec::new();
        for epc in due_announce {
            events.extend(self.announce(&epc));
        }
        for epc in due_end {
            events.extend(self.end(&epc));
        }
        events
    }

    /// When `tick` next has something to do, if anything is tracked.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        let settle = i64::from(self.config.settle_ms);
        let window = i64::from(self.config.window_ms) + 1;
        self.tracked
            .values()
            .map(|t| match t.assigned {
                None => t.first_seen.unix_millis() + settle,
                Some(_) => t.last_seen.unix_millis() + window,
            })
            .min()
            .and_then(Timestamp::from_unix_millis)
    }

    fn best_lane(t: &Tracked<L>) -> Option<&(L, LaneStats)> {
        t.lanes.iter().max_by_key(|(_, s)| (s.reads, s.best_rssi.unwrap_or(i16::MIN)))
    }

    fn presence(epc: &Epc, s: &LaneStats) -> TagPresence {
        TagPresence {
            epc: epc.clone(),
            tid: None,
            antenna: s.antenna,
            rssi: s.best_rssi,
            first_seen: s.first_seen,
            last_seen: s.last_seen,
            reads: s.reads,
        }
    }

    fn announce(&mut self, epc: &Epc) -> Option<DedupEvent<L>> {
        let t = self.tracked.get_mut(epc)?;
        if t.assigned.is_some() {
            return None;
        }
        let (lane, stats) = Self::best_lane(t)?.clone();
        t.assigned = Some(lane.clone());
        Some(DedupEvent::Present { lane, presence: Self::presence(epc, &stats) })
    }

    /// Ends a presence. One that was never announced (it left within the
    /// settle time) is announced first, so no read is ever silently lost.
    fn end(&mut self, epc: &Epc) -> Vec<DedupEvent<L>> {
        let mut events: Vec<DedupEvent<L>> = self.announce(epc).into_iter().collect();
        if let Some(t) = self.tracked.remove(epc) {
            let lane = t.assigned.clone();
            if let Some((l, s)) = lane.and_then(|l| t.lanes.iter().find(|(x, _)| *x == l).cloned()) {
                events.push(DedupEvent::Gone { lane: l, presence: Self::presence(epc, &s) });
            }
        }
        events
    }
}

#[cfg(test)]
#[path = "dedup/tests.rs"]
mod tests;
