//! Free spaces under random traffic: entries and exits of every class
//! (some the lot lists no capacity for, some exits of vehicles never seen
//! entering) and operators' counts, in random order. After every step each
//! class's figure is its open stays moved by the latest count, held within
//! 0 and its capacity.

use std::collections::BTreeMap;

use parking_core::settings::LotSettings;
use parking_core::wire::{GateEventKind, Settlement};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;

use crate::db::Db;
use crate::settlement::tests::{NOW, event_in, policy, tag, ts};

#[derive(Clone, Debug)]
enum Step {
    Enter { class: usize, car: u8 },
    Leave { class: usize, car: u8 },
    Count { class: usize, inside: u32 },
}

/// Vehicles of `class` inside.
fn open_of(inside: &BTreeMap<(usize, u8), bool>, class: usize) -> usize {
    inside.iter().filter(|(key, is_in)| key.0 == class && **is_in).count()
}

const CLASSES: [&str; 3] = ["car", "motorbike", "bicycle"];

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0..3usize, 0..12u8).prop_map(|(class, car)| Step::Enter { class, car }),
        4 => (0..3usize, 0..12u8).prop_map(|(class, car)| Step::Leave { class, car }),
        1 => (0..2usize, 0..6u32).prop_map(|(class, inside)| Step::Count { class, inside }),
    ]
}

fn site() -> LotSettings {
    LotSettings {
        id: "hn-01".parse().unwrap(),
        name: "Bãi thử".into(),
        zone: "hanoi-zone-1".into(),
        tariff_dir: "config/tariffs".into(),
        address: None,
        opening_hours: None,
        capacity: [("car".parse().unwrap(), 4), ("motorbike".parse().unwrap(), 5)].into_iter().collect(),
    }
}

async fn free_spaces_stay_within_capacity_under_random_traffic(db: &Db) {
    let site = site();
    let mut runner = TestRunner::deterministic();
    let steps = proptest::collection::vec(step(), 60..120);
    let mut n = 0u64;
    // Which vehicle (class, car) is inside, and each class's latest offset.
    let mut inside: BTreeMap<(usize, u8), bool> = BTreeMap::new();
    let mut offset = [0i64; 3];
    for round in 0..4 {
        let plan = steps.new_tree(&mut runner).unwrap().current();
        for s in plan {
            n += 1;
            let at = NOW + i64::try_from(n).unwrap() * 1_000;
            let credential = |class: usize, car: u8| tag(&format!("E2000000000000000000{class:02}{car:02}"));
            match s {
                Step::Enter { class, car } => {
                    let kind = GateEventKind::Entry {
                        credential: credential(class, car),
                        class: CLASSES[class].parse().unwrap(),
                        plate: None,
                    };
                    crate::ingest::commit(db, &policy(), &[event_in("hn-01", n, at, kind)], ts(at)).await.unwrap();
                    inside.insert((class, car), true);
                }
                Step::Leave { class, car } => {
                    let kind = GateEventKind::Exit {
                        credential: credential(class, car),
                        class: CLASSES[class].parse().unwrap(),
                        plate: None,
                        entered_at: None,
                        fee: None,
                        settlement: Settlement::Free,
                    };
                    crate::ingest::commit(db, &policy(), &[event_in("hn-01", n, at, kind)], ts(at)).await.unwrap();
                    inside.insert((class, car), false);
                }
                Step::Count { class, inside: counted } => {
                    let c = CLASSES[class].parse().unwrap();
                    super::adjust(db, &site, &c, counted.min(site.capacity[&c]), "đếm lại", "thử", ts(at))
                        .await
                        .unwrap();
                    let open = i64::try_from(open_of(&inside, class)).unwrap();
                    offset[class] = i64::from(counted.min(site.capacity[&c])) - open;
                }
            }
            let figures = super::read(db, &site, ts(at)).await.unwrap();
            assert_eq!(figures.classes.len(), 2, "only the classes with a capacity");
            for f in &figures.classes {
                let class = CLASSES.iter().position(|c| *c == f.class.as_str()).unwrap();
                let open = i64::try_from(open_of(&inside, class)).unwrap();
                let expected = (open + offset[class]).clamp(0, i64::from(f.capacity));
                assert!(f.occupied <= f.capacity, "round {round}, step {n}: {f:?}");
                assert_eq!(f.occupied + f.free, f.capacity, "round {round}, step {n}: {f:?}");
                assert_eq!(i64::from(f.occupied), expected, "round {round}, step {n}: {f:?}");
            }
        }
    }
}
crate::on_both_databases!(random_traffic, free_spaces_stay_within_capacity_under_random_traffic);
