//! Property tests of `fee()` over random tariffs and random stays: never
//! negative, never less when the driver leaves later, within the daily cap,
//! free within the grace period, deterministic, and itemised exactly.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers: a failure is the assertion

use parking_core::tariff::{Tariff, fee};
use parking_core::{Timestamp, VehicleClass};
use proptest::prelude::*;

const DAY: i64 = 86_400;

/// A random but valid tariff with one class, written as TOML so it goes
/// through the same parser as a tariff file.
fn tariff_strategy() -> impl Strategy<Value = Tariff> {
    let windows = (0u32..12 * 60, 12 * 60u32..24 * 60);
    let per_turn = (0i64..100_000, 0i64..100_000, 1u32..5)
        .prop_map(|(d, n, k)| format!("per_turn = {{ day = {d}, night = {n}, overnight_turns = {k} }}"));
    let block = (1u32..600, 0i64..200_000, 0i64..100_000, 0i64..100_000).prop_map(|(m, f, hd, hn)| {
        format!("block = {{ first_minutes = {m}, first_price = {f}, per_hour_day = {hd}, per_hour_night = {hn} }}")
    });
    let pricing = prop_oneof![per_turn, block];
    let cap = prop_oneof![Just(None), (0i64..1_000_000).prop_map(Some)];
    (windows, pricing, cap, 0u32..120).prop_map(|((day, night), pricing, cap, grace)| {
        let cap = cap.map(|c| format!("daily_cap = {c}\n")).unwrap_or_default();
        let text = format!(
            "version = \"prop\"\neffective_from = 2020-01-01\nzone = \"z\"\n\
             day_starts = \"{:02}:{:02}\"\nnight_starts = \"{:02}:{:02}\"\n\
             [classes.car]\ngrace_minutes = {grace}\n{pricing}\n{cap}",
            day / 60,
            day % 60,
            night / 60,
            night % 60
        );
        Tariff::from_toml(&text).unwrap_or_else(|e| panic!("generated tariff refused: {e}\n{text}"))
    })
}

fn example() -> Tariff {
    Tariff::from_toml(include_str!("../../config/tariffs/hanoi-zone1-2018-example.toml")).unwrap()
}

fn ts(secs: i64) -> Timestamp {
    Timestamp::from_unix_seconds(secs).unwrap()
}

/// Entries between 2020 and 2040; stays up to 10 days.
fn stay() -> impl Strategy<Value = (i64, i64)> {
    (1_577_836_800i64..2_208_988_800, 0i64..10 * DAY)
}

fn class_of(t: &Tariff) -> VehicleClass {
    t.classes().next().map(|(c, _)| c.clone()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn never_negative_and_items_add_up(t in tariff_strategy(), (entry, dur) in stay()) {
        let f = fee(&t, &class_of(&t), ts(entry), ts(entry + dur)).unwrap();
        prop_assert!(f.amount.get() >= 0);
        let sum: i64 = f.items.iter().map(|i| i.amount.get()).sum();
        prop_assert_eq!(sum, f.amount.get());
        prop_assert_eq!(f.tariff_version.as_str(), "prop");
    }

    #[test]
    fn leaving_later_never_costs_less(t in tariff_strategy(), (entry, dur) in stay(), extra in 0i64..3 * DAY) {
        let c = class_of(&t);
        let shorter = fee(&t, &c, ts(entry), ts(entry + dur)).unwrap();
        let longer = fee(&t, &c, ts(entry), ts(entry + dur + extra)).unwrap();
        prop_assert!(longer.amount >= shorter.amount,
            "stay {}s costs {} but {}s costs {}", dur, shorter.amount, dur + extra, longer.amount);
    }

    #[test]
    fn one_second_later_never_costs_less(t in tariff_strategy(), (entry, dur) in stay()) {
        // Boundaries are where a rule slips: step across them one second at a time.
        let c = class_of(&t);
        let a = fee(&t, &c, ts(entry), ts(entry + dur)).unwrap();
        let b = fee(&t, &c, ts(entry), ts(entry + dur + 1)).unwrap();
        prop_assert!(b.amount >= a.amount);
    }

    #[test]
    fn respects_the_daily_cap(t in tariff_strategy(), (entry, dur) in stay()) {
        let c = class_of(&t);
        let cap = t.class(&c).unwrap().daily_cap;
        let f = fee(&t, &c, ts(entry), ts(entry + dur)).unwrap();
        if let Some(cap) = cap {
            let periods = (dur + DAY - 1) / DAY;
            prop_assert!(f.amount.get() <= cap.get() * periods.max(1),
                "{} over {} periods with cap {}", f.amount, periods, cap);
        }
    }

    #[test]
    fn free_within_grace(t in tariff_strategy(), entry in 1_577_836_800i64..2_208_988_800, permille in 0i64..=1000) {
        let c = class_of(&t);
        let grace = i64::from(t.class(&c).unwrap().grace_minutes) * 60;
        let f = fee(&t, &c, ts(entry), ts(entry + grace * permille / 1000)).unwrap();
        prop_assert_eq!(f.amount.get(), 0);
    }

    #[test]
    fn same_input_same_fee(t in tariff_strategy(), (entry, dur) in stay()) {
        let c = class_of(&t);
        let a = fee(&t, &c, ts(entry), ts(entry + dur)).unwrap();
        let b = fee(&t.clone(), &c, ts(entry), ts(entry + dur)).unwrap();
        prop_assert_eq!(a, b);
    }

    #[test]
    fn example_tariff_properties(class in prop::sample::select(VehicleClass::BUILT_IN.to_vec()),
                                 (entry, dur) in stay(), extra in 0i64..DAY) {
        let t = example();
        let a = fee(&t, &class, ts(entry), ts(entry + dur)).unwrap();
        let b = fee(&t, &class, ts(entry), ts(entry + dur + extra)).unwrap();
        prop_assert!(a.amount.get() >= 0 && b.amount >= a.amount);
        if dur <= 10 * 60 {
            prop_assert_eq!(a.amount.get(), 0);
        }
        if class == VehicleClass::Car && dur <= DAY {
            prop_assert!(a.amount.get() <= 300_000);
        }
    }
}
