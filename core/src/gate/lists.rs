//! The allow/deny lists and passes as a controller holds them: built from
//! a snapshot, moved forward by deltas, each version applied whole or not
//! at all, and looked up in O(1) on the decision path.

use std::collections::HashMap;

use crate::ids::Epc;
use crate::plate::Plate;
use crate::timestamp::Timestamp;
use crate::wire::{DenyReason, DenyTarget, ListsDelta, ListsSnapshot, PassEntry, TagEntry};

/// Why an update was not applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListsError {
    #[error("snapshot is for lot {got}, this controller runs {want}")]
    WrongLot { want: String, got: String },
    #[error("delta {from} -> {to} does not follow the version held ({held})")]
    Gap { held: u64, from: u64, to: u64 },
    #[error("version {got} is not newer than {held}")]
    Stale { held: u64, got: u64 },
}

/// The lists at one version.
#[derive(Clone, Debug, Default)]
pub struct EdgeLists {
    version: u64,
    tags: HashMap<Epc, TagEntry>,
    deny: HashMap<DenyTarget, DenyReason>,
    passes: HashMap<String, PassEntry>,
    /// Pass ids by the EPC and plate they cover.
    pass_by_epc: HashMap<Epc, String>,
    pass_by_plate: HashMap<Plate, String>,
}

impl EdgeLists {
    pub fn version(&self) -> u64 {
        self.version
    }

    pub fn tag_count(&self) -> usize {
        self.tags.len()
    }

    /// Replaces everything with a snapshot, if it is newer (or the first).
    pub fn apply_snapshot(&mut self, lot: &str, s: ListsSnapshot) -> Result<(), ListsError> {
        if s.lot.as_str() != lot {
            return Err(ListsError::WrongLot { want: lot.to_owned(), got: s.lot.to_string() });
        }
        if self.version != 0 && s.version <= self.version {
            return Err(ListsError::Stale { held: self.version, got: s.version });
        }
        let mut next = EdgeLists { version: s.version, ..EdgeLists::default() };
        for t in s.tags {
            next.tags.insert(t.epc.clone(), t);
        }
        for d in s.deny {
            next.deny.insert(d.target, d.reason);
        }
        for p in s.passes {
            next.insert_pass(p);
        }
        *self = next;
        Ok(())
    }

    /// Moves forward by one delta. A delta that does not start at the held
    /// version is refused whole; the controller waits for a snapshot.
    pub fn apply_delta(&mut self, d: ListsDelta) -> Result<(), ListsError> {
        if d.from_version != self.version || d.to_version <= d.from_version {
            return Err(ListsError::Gap { held: self.version, from: d.from_version, to: d.to_version });
        }
        // Every change below is infallible, so the delta applies whole.
        for epc in d.remove_tags {
            self.tags.remove(&epc);
        }
        for t in d.upsert_tags {
            self.tags.insert(t.epc.clone(), t);
        }
        for target in d.remove_deny {
            self.deny.remove(&target);
        }
        for e in d.upsert_deny {
            self.deny.insert(e.target, e.reason);
        }
        for id in d.remove_passes {
            self.remove_pass(&id);
        }
        for p in d.upsert_passes {
            self.remove_pass(&p.pass);
            self.insert_pass(p);
        }
        self.version = d.to_version;
        Ok(())
    }

    fn insert_pass(&mut self, p: PassEntry) {
        if let Some(epc) = &p.epc {
            self.pass_by_epc.insert(epc.clone(), p.pass.clone());
        }
        if let Some(plate) = &p.plate {
            self.pass_by_plate.insert(plate.clone(), p.pass.clone());
        }
        self.passes.insert(p.pass.clone(), p);
    }

    fn remove_pass(&mut self, id: &str) {
        if let Some(p) = self.passes.remove(id) {
            if let Some(epc) = p.epc {
                self.pass_by_epc.remove(&epc);
            }
            if let Some(plate) = p.plate {
                self.pass_by_plate.remove(&plate);
            }
        }
    }

    pub fn tag(&self, epc: &Epc) -> Option<&TagEntry> {
        self.tags.get(epc)
    }

    /// Why `target` is denied, if it is.
    pub fn denied(&self, target: &DenyTarget) -> Option<DenyReason> {
        self.deny.get(target).copied()
    }

    /// A pass covering this EPC or plate on the local date of `at`.
    pub fn valid_pass(&self, epc: Option<&Epc>, plate: Option<&Plate>, at: Timestamp) -> Option<&PassEntry> {
        let by_epc = epc.and_then(|e| self.pass_by_epc.get(e));
        let by_plate = plate.and_then(|p| self.pass_by_plate.get(p));
        [by_epc, by_plate].into_iter().flatten().filter_map(|id| self.passes.get(id)).find(|p| p.valid_at(at))
    }

    /// A pass for this EPC or plate that exists but is not valid at `at`.
    pub fn expired_pass(&self, epc: Option<&Epc>, plate: Option<&Plate>, at: Timestamp) -> bool {
        let by_epc = epc.and_then(|e| self.pass_by_epc.get(e));
        let by_plate = plate.and_then(|p| self.pass_by_plate.get(p));
        [by_epc, by_plate].into_iter().flatten().filter_map(|id| self.passes.get(id)).any(|p| !p.valid_at(at))
    }
}
