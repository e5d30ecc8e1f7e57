//! Wiegand 26 (H10301) and 34 (H10306) bit strings, as cheap readers and
//! access panels emit them.
//!
//! 26 bits: even parity over the first 12 data bits, 8-bit facility,
//! 16-bit card, odd parity over the last 12. 34 bits: 16-bit facility and
//! 16-bit card, even parity over the first 16 data bits, odd over the last 16.

use parking_core::Epc;

/// A card read from a Wiegand panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct WiegandCard {
    pub bits: u8,
    pub facility: u16,
    pub card: u16,
}

/// Why a bit string was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WiegandError {
    #[error("Wiegand strings are 26 or 34 bits, got {0}")]
    Length(usize),
    #[error("character {0:?} is not a bit")]
    NotABit(char),
    #[error("leading even parity fails")]
    EvenParity,
    #[error("trailing odd parity fails")]
    OddParity,
}

impl WiegandCard {
    /// The card as a 2-word EPC (`facility`, `card`), so Wiegand readers
    /// feed the same allow lists as UHF tags.
    pub fn as_epc(&self) -> Epc {
        let [f1, f2] = self.facility.to_be_bytes();
        let [c1, c2] = self.card.to_be_bytes();
        #[allow(clippy::expect_used)] // four bytes are two whole words: always a valid EPC
        Epc::from_bytes(&[f1, f2, c1, c2]).expect("a 4-byte EPC is valid")
    }
}

/// Decodes a string of `0` and `1` (spaces ignored).
pub fn decode(bits: &str) -> Result<WiegandCard, WiegandError> {
    let mut v: Vec<bool> = Vec::with_capacity(34);
    for c in bits.chars().filter(|c| !c.is_whitespace()) {
        match c {
            '0' => v.push(false),
            '1' => v.push(true),
            other => return Err(WiegandError::NotABit(other)),
        }
        if v.len() > 34 {
            return Err(WiegandError::Length(bits.chars().filter(|c| !c.is_whitespace()).count()));
        }
    }
    let n = v.len();
    if n != 26 && n != 34 {
        return Err(WiegandError::Length(n));
    }
    let half = (n - 2) / 2;
    let ones = |s: &[bool]| s.iter().filter(|b| **b).count();
    if ones(&v[..=half]) % 2 != 0 {
        return Err(WiegandError::EvenParity);
    }
    if ones(&v[half + 1..]) % 2 != 1 {
        return Err(WiegandError::OddParity);
    }
    let value = |s: &[bool]| s.iter().fold(0u16, |acc, b| (acc << 1) | u16::from(*b));
    let fac_len = if n == 26 { 8 } else { 16 };
    Ok(WiegandCard {
        bits: u8::try_from(n).unwrap_or(u8::MAX),
        facility: value(&v[1..1 + fac_len]),
        card: value(&v[1 + fac_len..n - 1]),
    })
}

/// Encodes a card as a bit string with its parity bits, for tests and the
/// simulator. `facility` must fit the format (8 bits for 26).
pub fn encode(bits: u8, facility: u16, card: u16) -> Option<String> {
    let data: Vec<bool> = match bits {
        26 if facility <= 0xFF => (0..8).rev().map(|i| facility >> i & 1 == 1).collect(),
        34 => (0..16).rev().map(|i| facility >> i & 1 == 1).collect(),
        _ => return None,
    };
    let data: Vec<bool> = data.into_iter().chain((0..16).rev().map(|i| card >> i & 1 == 1)).collect();
    let half = data.len() / 2;
    let even = data[..half].iter().filter(|b| **b).count() % 2 == 1;
    let odd = data[half..].iter().filter(|b| **b).count() % 2 == 0;
    let all = std::iter::once(even).chain(data).chain(std::iter::once(odd));
    Some(all.map(|b| if b { '1' } else { '0' }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_domain_vector() {
        let card = decode("00101101000000001010001000").unwrap();
        assert_eq!(card, WiegandCard { bits: 26, facility: 90, card: 324 });
        assert_eq!(encode(26, 90, 324).unwrap(), "00101101000000001010001000");
        assert_eq!(card.as_epc().to_string(), "005A0144");
    }

    #[test]
    fn parity_and_shape_errors() {
        assert_eq!(decode("10101101000000001010001000"), Err(WiegandError::EvenParity));
        assert_eq!(decode("00101101000000001010001001"), Err(WiegandError::OddParity));
        assert_eq!(decode("0101"), Err(WiegandError::Length(4)));
        assert_eq!(decode(&"0".repeat(40)), Err(WiegandError::Length(40)));
        assert_eq!(decode("0010110100000000101000100x"), Err(WiegandError::NotABit('x')));
    }

    proptest! {
        #[test]
        fn round_trips(fac in 0u16..=0xFFFF, card in 0u16..=0xFFFF, wide in any::<bool>()) {
            let (bits, fac) = if wide { (34, fac) } else { (26, fac & 0xFF) };
            let s = encode(bits, fac, card).unwrap();
            prop_assert_eq!(decode(&s).unwrap(), WiegandCard { bits, facility: fac, card });
        }

        #[test]
        fn any_single_bit_flip_is_caught(fac in 0u16..=0xFF, card in 0u16..=0xFFFF, pos in 0usize..26) {
            let mut s: Vec<char> = encode(26, fac, card).unwrap().chars().collect();
            s[pos] = if s[pos] == '0' { '1' } else { '0' };
            prop_assert!(decode(&s.into_iter().collect::<String>()).is_err());
        }

        #[test]
        fn never_panics(s in "[01 x]{0,40}") {
            let _ = decode(&s);
        }
    }
}
