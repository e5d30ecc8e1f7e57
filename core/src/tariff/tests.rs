//! Table tests: day, night, overnight, multi-day stays, and stays that end
//! exactly on a boundary, against the shipped example tariff.

use super::*;
use crate::timestamp::Timestamp;

const EXAMPLE: &str = include_str!("../../../config/tariffs/hanoi-zone1-2018-example.toml");

fn example() -> Tariff {
    Tariff::from_toml(EXAMPLE).expect("the shipped example tariff parses")
}

/// Local wall-clock time in Hanoi.
fn at(local: &str) -> Timestamp {
    format!("{local}+07:00").parse().expect("test timestamp")
}

fn amount(class: &str, from: &str, to: &str) -> i64 {
    let f = fee(&example(), &class.parse().unwrap(), at(from), at(to)).unwrap_or_else(|e| panic!("{e}"));
    let sum: i64 = f.items.iter().map(|i| i.amount.get()).sum();
    assert_eq!(sum, f.amount.get(), "items must add up to the total");
    f.amount.get()
}

#[test]
fn example_tariff_is_read_whole() {
    let t = example();
    assert_eq!(t.version().as_str(), "hn-z1-2018-example");
    assert_eq!(t.zone(), "hanoi-zone-1");
    assert_eq!(t.effective_from().to_string(), "2018-01-01");
    assert_eq!(t.classes().count(), 4);
    assert_eq!(t.pass_price(&VehicleClass::Motorbike, 3), Some(Vnd::new(360_000)));
    assert_eq!(t.pass_price(&VehicleClass::BusTruck, 1), None);
}

#[test]
fn per_turn_table() {
    let cases = [
        // (from, to, expected) for a motorbike: day 5,000, night 8,000,
        // 2 turns overnight, 10 minutes' grace.
        ("2026-11-22T08:00:00", "2026-11-22T08:00:00", 0),
        ("2026-11-22T08:00:00", "2026-11-22T08:05:00", 0),
        ("2026-11-22T08:00:00", "2026-11-22T08:10:00", 0), // exactly the grace period
        ("2026-11-22T08:00:00", "2026-11-22T08:10:01", 5_000),
        ("2026-11-22T08:00:00", "2026-11-22T18:00:00", 5_000), // ends exactly as night starts
        ("2026-11-22T08:00:00", "2026-11-22T18:00:01", 8_000), // touches the night
        ("2026-11-22T19:00:00", "2026-11-22T23:00:00", 8_000),
        ("2026-11-22T02:00:00", "2026-11-22T05:00:00", 8_000), // small hours: previous night
        ("2026-11-22T20:00:00", "2026-11-23T06:00:00", 8_000), // ends exactly as day starts
        ("2026-11-22T20:00:00", "2026-11-23T06:00:01", 16_000 + 5_000), // overnight, then a day turn
        ("2026-11-22T05:00:00", "2026-11-22T07:00:00", 8_000 + 5_000), // night, then next service day
        ("2026-11-22T08:00:00", "2026-11-24T08:00:00", 16_000 + 16_000 + 5_000), // two nights
    ];
    for (from, to, want) in cases {
        assert_eq!(amount("motorbike", from, to), want, "motorbike {from} -> {to}");
    }
}

#[test]
fn block_table() {
    let cases = [
        // Car: 50,000 for the first 2 h, then 30,000 per started day hour,
        // 20,000 per started night hour, at most 300,000 per 24 h.
        ("2026-11-22T09:00:00", "2026-11-22T09:10:00", 0),
        ("2026-11-22T09:00:00", "2026-11-22T10:30:00", 50_000),
        ("2026-11-22T09:00:00", "2026-11-22T11:00:00", 50_000), // first block exactly
        ("2026-11-22T09:00:00", "2026-11-22T11:00:01", 80_000), // one started hour
        ("2026-11-22T09:00:00", "2026-11-22T13:30:00", 50_000 + 3 * 30_000),
        ("2026-11-22T16:00:00", "2026-11-22T19:30:00", 50_000 + 2 * 20_000), // hours start at night
        ("2026-11-22T17:30:00", "2026-11-22T19:30:00", 50_000),
        ("2026-11-22T17:00:00", "2026-11-22T19:00:01", 50_000 + 20_000), // hour starts 19:00, night
        ("2026-11-22T15:00:00", "2026-11-22T18:00:01", 50_000 + 30_000 + 20_000), // 17:00 day, 18:00 night
        ("2026-11-22T09:00:00", "2026-11-23T09:00:00", 300_000),         // a whole day, capped
        ("2026-11-22T09:00:00", "2026-11-23T09:00:01", 300_000 + 30_000), // next period begins
        ("2026-11-22T09:00:00", "2026-11-24T09:00:00", 600_000),         // two whole days
    ];
    for (from, to, want) in cases {
        assert_eq!(amount("car", from, to), want, "car {from} -> {to}");
    }
}

#[test]
fn breakdown_reads_like_a_receipt() {
    let f = fee(&example(), &VehicleClass::Car, at("2026-11-22T09:00:00"), at("2026-11-23T09:00:00")).unwrap();
    let kinds: Vec<FeeItemKind> = f.items.iter().map(|i| i.kind).collect();
    assert_eq!(
        kinds,
        [
            FeeItemKind::FirstBlock,
            FeeItemKind::ExtraHoursDay,
            FeeItemKind::ExtraHoursNight,
            FeeItemKind::ExtraHoursDay,
            FeeItemKind::DailyCap
        ]
    );
    assert_eq!(f.items[1].quantity, 7, "11:00 to 17:00 starts");
    assert_eq!(f.items[2].quantity, 12, "18:00 to 05:00 starts");
    assert_eq!(f.items[4].amount, Vnd::new(300_000 - 590_000));
    let text = f.to_string();
    assert!(text.contains("First block 22/11 09:00 to 22/11 11:00: 1 x 50,000 VND = 50,000 VND"), "{text}");
    assert!(text.contains("Daily cap"), "{text}");
    assert!(text.ends_with("Total (car, tariff hn-z1-2018-example): 300,000 VND"), "{text}");
    assert_eq!(f.tariff_version.as_str(), "hn-z1-2018-example");
}

#[test]
fn errors_are_explicit() {
    let t = example();
    let e = fee(&t, &"tractor".parse().unwrap(), at("2026-11-22T09:00:00"), at("2026-11-22T10:00:00"));
    assert!(matches!(e, Err(FeeError::UnknownClass { .. })));
    let e = fee(&t, &VehicleClass::Car, at("2026-11-22T10:00:00"), at("2026-11-22T09:00:00"));
    assert!(matches!(e, Err(FeeError::ExitBeforeEntry { .. })));
}

fn tariff_err(body: &str) -> String {
    let text = format!(
        "version = \"t\"\neffective_from = \"2026-01-01\"\nzone = \"z\"\nday_starts = \"06:00\"\nnight_starts = \"18:00\"\n{body}"
    );
    Tariff::from_toml(&text).unwrap_err().to_string()
}

#[test]
fn bad_tariffs_are_refused_with_the_key() {
    let e = tariff_err(
        "[classes.car]\nper_turn = { day = 1, night = 1 }\nblock = { first_minutes = 1, first_price = 1, per_hour_day = 1 }",
    );
    assert!(e.contains("classes") && e.contains("not both"), "{e}");
    let e = tariff_err("[classes.car]\nper_turn = { day = -5, night = 1 }");
    assert!(e.contains("negative"), "{e}");
    let e = tariff_err("[classes.car]\ngrace_minutes = 5");
    assert!(e.contains("per_turn"), "{e}");
    let e = tariff_err("[classes.car]\nper_turn = { day = 1, night = 1, overnite_turns = 2 }");
    assert!(e.contains("unknown key `classes.car.per_turn.overnite_turns`"), "{e}");
    let e = tariff_err("");
    assert!(e.contains("missing key `classes`"), "{e}");
    let e = Tariff::from_toml(&EXAMPLE.replace("night_starts = \"18:00\"", "night_starts = \"05:00\"")).unwrap_err();
    assert!(e.to_string().contains("day_starts (06:00) must come before night_starts (05:00)"), "{e}");
}

#[test]
fn book_picks_the_tariff_in_force() {
    let old = example();
    let new = Tariff::from_toml(
        &EXAMPLE
            .replace("hn-z1-2018-example", "hn-z1-2026-example")
            .replace("effective_from = 2018-01-01", "effective_from = 2026-12-01"),
    )
    .unwrap();
    let book = TariffBook::try_from(vec![new.clone(), old.clone()]).unwrap();
    // 2026-12-01 begins at 17:00 UTC on 30 November: local dates decide.
    let before: Timestamp = "2026-11-30T16:59:59Z".parse().unwrap();
    let after: Timestamp = "2026-11-30T17:00:00Z".parse().unwrap();
    assert_eq!(book.in_force("hanoi-zone-1", before).map(|t| t.version().as_str()), Some("hn-z1-2018-example"));
    assert_eq!(book.in_force("hanoi-zone-1", after).map(|t| t.version().as_str()), Some("hn-z1-2026-example"));
    assert!(book.in_force("other-zone", after).is_none());
    assert!(book.in_force("hanoi-zone-1", at("2017-12-31T12:00:00")).is_none());
    assert_eq!(book.by_version("hn-z1-2018-example"), Some(&old));
    assert!(matches!(TariffBook::try_from(vec![old.clone(), old]), Err(TariffError::DuplicateDate { .. })));
    let json = serde_json::to_string(&book).unwrap();
    assert_eq!(serde_json::from_str::<TariffBook>(&json).unwrap(), book);
}
