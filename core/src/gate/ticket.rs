//! QR tickets, signed with the lot's key so an exit lane can check them
//! offline and refuse a forged one.
//!
//! Text form (fits a small QR code, ASCII only):
//! `PT1.{lot}.{gate}.{serial}.{entered_unix}.{class}.{mac}` where `mac` is
//! the first 80 bits of HMAC-SHA256(key, everything before the last dot),
//! in upper-case hex.

use std::fmt;

use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::ids::{GateId, LotId};
use crate::payment_code::PaymentCode;
use crate::secret::Secret;
use crate::timestamp::Timestamp;
use crate::vehicle::VehicleClass;

const PREFIX: &str = "PT1";
/// Bytes of the MAC kept: 80 bits make forging by guessing hopeless.
const MAC_BYTES: usize = 10;

/// The lot's ticket-signing key.
#[derive(Clone)]
pub struct TicketKey(Secret);

impl TicketKey {
    /// A key of at least 16 bytes.
    pub fn new(key: Secret) -> Result<Self, TicketError> {
        if key.expose().len() < 16 {
            return Err(TicketError::WeakKey);
        }
        Ok(TicketKey(key))
    }

    fn mac(&self, body: &str) -> Result<Vec<u8>, TicketError> {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose().as_bytes()).map_err(|_| TicketError::WeakKey)?;
        mac.update(body.as_bytes());
        Ok(mac.finalize().into_bytes()[..MAC_BYTES].to_vec())
    }
}

impl fmt::Debug for TicketKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TicketKey(***)")
    }
}

/// Why a ticket was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TicketError {
    #[error("the ticket key must be at least 16 bytes")]
    WeakKey,
    #[error("not a ticket of this system")]
    NotATicket,
    #[error("malformed ticket: {0}")]
    Malformed(&'static str),
    #[error("the ticket's signature does not verify")]
    BadSignature,
    #[error("the ticket belongs to lot {0}")]
    OtherLot(String),
}

/// A ticket issued at an entry lane.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ticket {
    pub lot: LotId,
    pub gate: GateId,
    /// Unique per lot: the entry controller's counter.
    pub serial: u64,
    /// Entry time, whole seconds.
    pub entered_at: Timestamp,
    pub class: VehicleClass,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

impl Ticket {
    fn body(&self) -> String {
        format!("{PREFIX}.{}.{}.{}.{}.{}", self.lot, self.gate, self.serial, self.entered_at.unix_seconds(), self.class)
    }

    /// The signed text printed in the QR code.
    pub fn sign(&self, key: &TicketKey) -> Result<String, TicketError> {
        let body = self.body();
        let mac = key.mac(&body)?;
        Ok(format!("{body}.{}", hex(&mac)))
    }

    /// Checks a scanned ticket: the form, the signature (in constant
    /// time), and that it belongs to `lot`.
    pub fn verify(text: &str, key: &TicketKey, lot: &LotId) -> Result<Ticket, TicketError> {
        let text = text.trim();
        if !text.starts_with("PT1.") {
            return Err(TicketError::NotATicket);
        }
        let (body, mac_hex) = text.rsplit_once('.').ok_or(TicketError::Malformed("no signature"))?;
        let parts: Vec<&str> = body.split('.').collect();
        let [_, lot_s, gate_s, serial_s, entered_s, class_s] = parts.as_slice() else {
            return Err(TicketError::Malformed("wrong number of fields"));
        };
        if mac_hex.len() != MAC_BYTES * 2 {
            return Err(TicketError::Malformed("signature length"));
        }
        let carried: Vec<u8> = (0..MAC_BYTES)
            .map(|i| u8::from_str_radix(&mac_hex[2 * i..2 * i + 2], 16))
            .collect::<Result<_, _>>()
            .map_err(|_| TicketError::Malformed("signature is not hex"))?;
        let mut mac = Hmac::<Sha256>::new_from_slice(key.0.expose().as_bytes()).map_err(|_| TicketError::WeakKey)?;
        mac.update(body.as_bytes());
        mac.verify_truncated_left(&carried).map_err(|_| TicketError::BadSignature)?;
        let ticket = Ticket {
            lot: lot_s.parse().map_err(|_| TicketError::Malformed("lot"))?,
            gate: gate_s.parse().map_err(|_| TicketError::Malformed("gate"))?,
            serial: serial_s.parse().map_err(|_| TicketError::Malformed("serial"))?,
            entered_at: entered_s
                .parse::<i64>()
                .ok()
                .and_then(Timestamp::from_unix_seconds)
                .ok_or(TicketError::Malformed("entry time"))?,
            class: class_s.parse().map_err(|_| TicketError::Malformed("class"))?,
        };
        if &ticket.lot != lot {
            return Err(TicketError::OtherLot(ticket.lot.to_string()));
        }
        Ok(ticket)
    }

    /// The payment code of this stay ([`stay_code_for_serial`]).
    pub fn payment_code(&self) -> PaymentCode {
        stay_code_for_serial(self.serial)
    }

    /// The serial of a ticket's text, unchecked: enough to find its stay,
    /// never to let it out.
    pub fn serial_of(text: &str) -> Option<u64> {
        let mut fields = text.trim().split('.');
        (fields.next() == Some(PREFIX)).then_some(())?;
        fields.nth(2)?.parse().ok()
    }
}

/// The payment code of a ticket's stay, from its serial: a bijection of
/// the 30-bit code space, so the lot server derives the same code from the
/// same ticket and codes never repeat within 2^30 tickets.
pub fn stay_code_for_serial(serial: u64) -> PaymentCode {
    // An odd multiplier is invertible modulo 2^30: distinct serials,
    // distinct codes. Masking first keeps the product in range.
    let n = (serial & u64::from(PaymentCode::SPACE - 1)).wrapping_mul(2_654_435_761) % u64::from(PaymentCode::SPACE);
    PaymentCode::stay(u32::try_from(n).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TicketKey {
        TicketKey::new(Secret::new("a lot key of at least 16 bytes")).unwrap()
    }

    fn ticket() -> Ticket {
        Ticket {
            lot: "hn-01".parse().unwrap(),
            gate: "entry-1".parse().unwrap(),
            serial: 4711,
            entered_at: "2026-11-22T01:30:00Z".parse().unwrap(),
            class: VehicleClass::Car,
        }
    }

    #[test]
    fn signed_tickets_verify_and_forgeries_do_not() {
        let lot: LotId = "hn-01".parse().unwrap();
        let text = ticket().sign(&key()).unwrap();
        assert!(text.starts_with("PT1.hn-01.entry-1.4711."), "{text}");
        assert!(text.len() < 80, "fits a small QR code: {text}");
        assert_eq!(Ticket::verify(&text, &key(), &lot).unwrap(), ticket());
        assert_eq!(Ticket::serial_of(&text), Some(4711));
        assert_eq!(Ticket::serial_of("PK7H3K9QX"), None);
        // Change the entry time to park for free: the signature breaks.
        let entered = ticket().entered_at.unix_seconds();
        let forged = text.replace(&format!(".{entered}."), &format!(".{}.", entered + 7_200));
        assert_ne!(forged, text);
        assert_eq!(Ticket::verify(&forged, &key(), &lot), Err(TicketError::BadSignature));
        let other_key = TicketKey::new(Secret::new("another key, also long enough")).unwrap();
        assert_eq!(Ticket::verify(&text, &other_key, &lot), Err(TicketError::BadSignature));
        assert_eq!(Ticket::verify("https://example.com", &key(), &lot), Err(TicketError::NotATicket));
        assert!(matches!(Ticket::verify("PT1.a.b", &key(), &lot), Err(TicketError::Malformed(_))));
        let elsewhere: LotId = "hn-02".parse().unwrap();
        assert!(matches!(Ticket::verify(&text, &key(), &elsewhere), Err(TicketError::OtherLot(_))));
        assert!(TicketKey::new(Secret::new("short")).is_err());
        assert_eq!(format!("{:?}", key()), "TicketKey(***)");
    }

    #[test]
    fn payment_codes_are_stable_and_distinct() {
        let a = ticket().payment_code();
        assert_eq!(a, ticket().payment_code());
        let mut codes = std::collections::HashSet::new();
        for serial in 0..10_000u64 {
            let t = Ticket { serial, ..ticket() };
            assert!(codes.insert(t.payment_code()), "serial {serial} repeats a code");
        }
    }
}
