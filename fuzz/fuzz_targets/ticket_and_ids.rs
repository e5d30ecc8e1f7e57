//! Any text as a scanned QR ticket, an EPC, a TID, an event id, a payment
//! code, a plate, an amount or a time: nothing panics, and what parses
//! prints back to text that parses to the same.
#![no_main]

use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use parking_core::gate::{Ticket, TicketKey};
use parking_core::secret::Secret;
use parking_core::{Epc, EventId, LotId, PaymentCode, Plate, Tid, Timestamp, Vnd};

fn round_trip<T: FromStr + ToString + PartialEq + std::fmt::Debug>(text: &str) {
    if let Ok(v) = text.parse::<T>() {
        let back = v.to_string().parse::<T>().ok();
        assert_eq!(back.as_ref(), Some(&v), "{text:?} printed as {:?}", v.to_string());
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let key = TicketKey::new(Secret::new("fuzz-ticket-key-0123456789")).expect("a 16-byte key");
    let lot: LotId = "hn-fuzz-01".parse().expect("a lot id");
    let _ = Ticket::verify(text, &key, &lot);
    round_trip::<Epc>(text);
    round_trip::<Tid>(text);
    round_trip::<EventId>(text);
    round_trip::<PaymentCode>(text);
    round_trip::<Plate>(text);
    round_trip::<Vnd>(text);
    round_trip::<Timestamp>(text);
});
