//! The allow/deny lists and passes as a controller holds them: built from
//! a snapshot, moved forward by deltas, each version applied whole or not
//! at all.
//!
//! A lot may register a million tags, and an edge controller must hold
//! them in little memory: the tags live in one vector sorted by EPC (no
//! per-entry index, no hash table at twice the size), searched in
//! O(log n), about 20 comparisons. Deltas land in a small overlay that is
//! merged into the vector once it grows, so an update never rewrites the
//! whole list.

use std::collections::HashMap;

use crate::ids::Epc;
use crate::plate::Plate;
use crate::timestamp::Timestamp;
use crate::wire::{DenyReason, DenyTarget, ListsDelta, ListsSnapshot, PassEntry, TagEntry};

/// The overlay is merged once it holds this many changes (or 1/64 of
/// the list, whichever is more), keeping lookups two cheap probes.
const MERGE_AT: usize = 4_096;

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
    /// Registered tags, sorted by EPC, one entry per EPC.
    tags: Vec<TagEntry>,
    /// Changes since the last merge: `None` removes the tag.
    overlay: HashMap<Epc, Option<TagEntry>>,
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
        let base_hits = self.overlay.keys().filter(|e| self.base(e).is_some()).count();
        let added = self.overlay.values().filter(|t| t.is_some()).count();
        self.tags.len() - base_hits + added
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
        // Sorted in place: no second copy of a large list. A stable sort
        // keeps the last of any repeated EPC last, and that one wins.
        let mut tags = s.tags;
        tags.sort_by(|a, b| a.epc.cmp(&b.epc));
        tags.reverse();
        tags.dedup_by(|a, b| a.epc == b.epc);
        tags.reverse();
        tags.shrink_to_fit();
        next.tags = tags;
        for d in s.deny {
            next.deny.insert(d.target, d.reason);
        }
        for p in s.passes {
            next.insert_pass(p);
        }
        *self = next;
        Ok(())
    }

    /// Moves forward by one delta. A delta carries every entry changed
    /// after its `from` version as it stands at `to`, so one that starts at
    /// or before the held version and ends after it applies whole: what it
    /// repeats is already held as it says (several lot-server instances
    /// each publish the deltas they see). One that starts after the held
    /// version leaves a gap and is refused whole; the controller waits for
    /// a snapshot. One that ends at or before it is stale.
    pub fn apply_delta(&mut self, d: ListsDelta) -> Result<(), ListsError> {
        if d.to_version <= d.from_version || d.from_version > self.version {
            return Err(ListsError::Gap { held: self.version, from: d.from_version, to: d.to_version });
        }
        if d.to_version <= self.version {
            return Err(ListsError::Stale { held: self.version, got: d.to_version });
        }
        // Every change below is infallible, so the delta applies whole.
        for epc in d.remove_tags {
            self.overlay.insert(epc, None);
        }
        for t in d.upsert_tags {
            self.overlay.insert(t.epc.clone(), Some(t));
        }
        if self.overlay.len() > MERGE_AT.max(self.tags.len() / 64) {
            self.merge();
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
        match self.overlay.get(epc) {
            Some(t) => t.as_ref(),
            None => self.base(epc),
        }
    }

    fn base(&self, epc: &Epc) -> Option<&TagEntry> {
        self.tags.binary_search_by(|t| t.epc.cmp(epc)).ok().map(|i| &self.tags[i])
    }

    /// Folds the overlay into the sorted vector, in one linear pass.
    fn merge(&mut self) {
        let mut changes: Vec<(Epc, Option<TagEntry>)> = self.overlay.drain().collect();
        changes.sort_by(|a, b| a.0.cmp(&b.0));
        let old = std::mem::take(&mut self.tags);
        let mut merged = Vec::with_capacity(old.len() + changes.len());
        let mut changes = changes.into_iter().peekable();
        for t in old {
            while let Some((epc, _)) = changes.peek() {
                if *epc >= t.epc {
                    break;
                }
                if let Some((_, Some(new))) = changes.next() {
                    merged.push(new);
                }
            }
            match changes.peek() {
                Some((epc, _)) if *epc == t.epc => {
                    if let Some((_, Some(new))) = changes.next() {
                        merged.push(new);
                    }
                }
                _ => merged.push(t),
            }
        }
        merged.extend(changes.filter_map(|(_, t)| t));
        self.tags = merged;
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    use super::*;
    use crate::vehicle::VehicleClass;
    use crate::wire::V1;

    fn entry(n: u8, class: u8) -> TagEntry {
        TagEntry {
            epc: Epc::from_bytes(&[0xE2, n]).unwrap(),
            tid: None,
            plate: None,
            class: if class % 2 == 0 { VehicleClass::Car } else { VehicleClass::Motorbike },
            account: None,
            spendable: None,
        }
    }

    proptest! {
        /// The sorted list with its overlay answers exactly as a plain map
        /// would, before and after merging, whatever the deltas.
        #[test]
        fn sorted_list_and_overlay_agree_with_a_map(
            snapshot in proptest::collection::vec((any::<u8>(), any::<u8>()), 0..60),
            deltas in proptest::collection::vec(
                (proptest::collection::vec((any::<u8>(), any::<u8>()), 0..8), proptest::collection::vec(any::<u8>(), 0..8), any::<bool>()),
                0..12,
            ),
        ) {
            let mut model: BTreeMap<u8, u8> = BTreeMap::new();
            for (n, c) in &snapshot {
                model.insert(*n, *c);
            }
            let mut lists = EdgeLists::default();
            let tags = snapshot.iter().map(|(n, c)| entry(*n, *c)).collect();
            let s = ListsSnapshot { v: V1, lot: "l".parse().unwrap(), version: 1, issued_at: Timestamp::UNIX_EPOCH, tags, deny: vec![], passes: vec![] };
            lists.apply_snapshot("l", s).unwrap();
            for (i, (ups, removes, merge)) in deltas.into_iter().enumerate() {
                for n in &removes {
                    model.remove(n);
                }
                for (n, c) in &ups {
                    model.insert(*n, *c);
                }
                let from = lists.version();
                let d = ListsDelta {
                    v: V1,
                    lot: "l".parse().unwrap(),
                    from_version: from,
                    to_version: from + 1,
                    issued_at: Timestamp::UNIX_EPOCH,
                    upsert_tags: ups.iter().map(|(n, c)| entry(*n, *c)).collect(),
                    remove_tags: removes.iter().filter(|n| !ups.iter().any(|(u, _)| u == *n)).map(|n| entry(*n, 0).epc).collect(),
                    upsert_deny: vec![], remove_deny: vec![], upsert_passes: vec![], remove_passes: vec![],
                };
                // A tag both removed and upserted in one delta ends upserted.
                for (n, c) in &ups {
                    model.insert(*n, *c);
                }
                lists.apply_delta(d).unwrap();
                if merge || i % 5 == 4 {
                    lists.merge();
                }
                prop_assert_eq!(lists.tag_count(), model.len());
                for n in 0..=255u8 {
                    let got = lists.tag(&entry(n, 0).epc).map(|t| t.class.clone());
                    let want = model.get(&n).map(|c| entry(n, *c).class);
                    prop_assert_eq!(got, want, "tag {}", n);
                }
            }
        }
    }

    #[test]
    fn a_repeated_epc_in_a_snapshot_keeps_the_last() {
        let tags = vec![entry(1, 0), entry(2, 0), entry(1, 1)];
        let s = ListsSnapshot {
            v: V1,
            lot: "l".parse().unwrap(),
            version: 1,
            issued_at: Timestamp::UNIX_EPOCH,
            tags,
            deny: vec![],
            passes: vec![],
        };
        let mut lists = EdgeLists::default();
        lists.apply_snapshot("l", s).unwrap();
        assert_eq!(lists.tag_count(), 2);
        assert_eq!(lists.tag(&entry(1, 0).epc).map(|t| t.class.clone()), Some(VehicleClass::Motorbike));
    }
}
