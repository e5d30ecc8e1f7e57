use parking_core::money::Vnd;
use parking_core::tariff::fee;

use super::{Lookup, LookupError, covered_until};
use crate::settlement::tests::{NOW, ts};

#[test]
fn a_lookup_is_a_ticket_a_code_or_a_plate() {
    let ticket = "PT1.hn-01.entry-1.4711.1800000000.car.00112233445566778899";
    assert_eq!(Lookup::parse(&format!(" {ticket} ")), Ok(Lookup::Ticket(ticket.into())));
    let code = parking_core::gate::stay_code_for_serial(4711);
    assert_eq!(Lookup::parse(&code.as_str().to_lowercase()), Ok(Lookup::Code(code)));
    assert_eq!(Lookup::parse("30A-123.45"), Ok(Lookup::Plate("30A12345".parse().unwrap())));
    for bad in ["", "%%", "DROP TABLE sessions", &"9".repeat(200)] {
        assert_eq!(Lookup::parse(bad), Err(LookupError::Unreadable), "{bad:?}");
    }
}

#[test]
fn what_is_paid_covers_the_stay_until_the_fee_next_rises() {
    let book = parking_runtime::tariffs::load_dir(
        std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../config/tariffs")),
        "hanoi-zone-1",
    )
    .unwrap();
    let tariff = book.in_force("hanoi-zone-1", ts(NOW)).unwrap();
    let car = "car".parse().unwrap();
    let entered = ts(NOW - 3_600_000);
    let price = |at| fee(tariff, &car, entered, at).map_err(|_| LookupError::NoTariff);
    let paid = price(ts(NOW)).unwrap().amount;
    let until = covered_until(ts(NOW), paid, &price).unwrap();
    assert!(until > ts(NOW));
    assert!(price(until).unwrap().amount <= paid, "covered at the time told");
    let a_minute_on = until.checked_add(time::Duration::minutes(1)).unwrap();
    assert!(price(a_minute_on).unwrap().amount > paid, "and not a minute later");
    assert_eq!(covered_until(ts(NOW), Vnd::ZERO, &price), None, "nothing paid covers nothing");
}
