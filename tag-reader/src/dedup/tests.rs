use proptest::prelude::*;

use super::*;

fn epc(n: u8) -> Epc {
    Epc::from_bytes(&[0xE2, 0, 0, n]).unwrap()
}

fn report(n: u8, rssi: i16) -> TagReport {
    TagReport { epc: epc(n), antenna: 1, rssi: Some(rssi) }
}

fn t(ms: i64) -> Timestamp {
    Timestamp::from_unix_millis(1_763_800_000_000 + ms).unwrap()
}

fn config(window_ms: u32, settle_ms: u32) -> DedupConfig {
    DedupConfig { window_ms, settle_ms, max_tracked: 100 }
}

#[test]
fn repeats_become_one_presence_with_its_figures() {
    let mut d = Deduplicator::new(config(1_000, 0));
    let first = d.observe("entry-1", &report(1, 40), t(0));
    assert!(matches!(&first[..], [DedupEvent::Present { lane: "entry-1", presence }] if presence.reads == 1));
    for (i, rssi) in [55, 47, 60, 52].into_iter().enumerate() {
        assert!(d.observe("entry-1", &report(1, rssi), t(100 * (i as i64 + 1))).is_empty());
    }
    assert!(d.tick(t(1_400)).is_empty(), "within the window of the last read");
    let gone = d.tick(t(1_401));
    match &gone[..] {
        [DedupEvent::Gone { presence, .. }] => {
            assert_eq!(presence.reads, 5);
            assert_eq!(presence.rssi, Some(60));
            assert_eq!((presence.first_seen, presence.last_seen), (t(0), t(400)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.tracked(), 0);
}

#[test]
fn a_read_after_the_window_is_a_new_presence() {
    let mut d = Deduplicator::new(config(500, 0));
    d.observe(0u8, &report(1, 40), t(0));
    let events = d.observe(0u8, &report(1, 40), t(501));
    assert!(matches!(&events[..], [DedupEvent::Gone { .. }, DedupEvent::Present { .. }]), "{events:?}");
}

#[test]
fn the_lane_with_more_and_stronger_reads_wins() {
    let mut d = Deduplicator::new(config(1_000, 200));
    for i in 0..3 {
        d.observe("entry-1", &report(7, 70), t(i * 10));
    }
    for i in 0..5 {
        d.observe("entry-2", &report(7, 40), t(5 + i * 10));
    }
    assert!(d.tick(t(199)).is_empty(), "still settling");
    let events = d.tick(t(200));
    assert!(
        matches!(&events[..], [DedupEvent::Present { lane: "entry-2", presence }] if presence.reads == 5),
        "{events:?}"
    );

    // Equal counts: the stronger signal wins.
    let mut d = Deduplicator::new(config(1_000, 100));
    d.observe("a", &report(8, 30), t(0));
    d.observe("b", &report(8, 65), t(1));
    assert!(matches!(&d.tick(t(100))[..], [DedupEvent::Present { lane: "b", .. }]));
    assert_eq!(d.next_deadline(), Some(t(1 + 1_000 + 1)));
}

#[test]
fn a_tag_that_leaves_while_settling_is_still_reported() {
    let mut d = Deduplicator::new(config(100, 500));
    d.observe(1u8, &report(3, 10), t(0));
    let events = d.tick(t(101));
    assert!(matches!(&events[..], [DedupEvent::Present { .. }, DedupEvent::Gone { .. }]), "{events:?}");
}

#[test]
fn memory_is_bounded() {
    let mut d = Deduplicator::new(DedupConfig { window_ms: 10_000, settle_ms: 0, max_tracked: 3 });
    for n in 0..10u8 {
        d.observe(0u8, &report(n, 1), t(i64::from(n)));
    }
    assert_eq!(d.tracked(), 3);
    assert_eq!(d.evicted, 7);
}

proptest! {
    /// Nothing is lost: the reads of all presences add up to the reads
    /// made, and the presences are exactly the runs split by gaps longer
    /// than the window.
    #[test]
    fn every_read_is_accounted_for(gaps in proptest::collection::vec((0u8..3, 0i64..800), 1..200)) {
        let window = 500;
        let mut d = Deduplicator::new(config(window, 0));
        let mut now = 0;
        let mut last: HashMap<u8, i64> = HashMap::new();
        let mut expected_presences = 0;
        let mut presents = 0;
        let mut reads_in_gone = 0u64;
        let count = |events: Vec<DedupEvent<u8>>, presents: &mut i32, reads: &mut u64| {
            for e in events {
                match e {
                    DedupEvent::Present { .. } => *presents += 1,
                    DedupEvent::Gone { presence, .. } => *reads += u64::from(presence.reads),
                }
            }
        };
        for (tag, gap) in &gaps {
            now += gap;
            if last.get(tag).is_none_or(|prev| now - prev > i64::from(window)) {
                expected_presences += 1;
            }
            last.insert(*tag, now);
            count(d.tick(t(now)), &mut presents, &mut reads_in_gone);
            count(d.observe(0, &report(*tag, 1), t(now)), &mut presents, &mut reads_in_gone);
        }
        count(d.tick(t(now + 10_000)), &mut presents, &mut reads_in_gone);
        prop_assert_eq!(presents, expected_presences);
        prop_assert_eq!(reads_in_gone, gaps.len() as u64);
    }
}
