//! Payment codes: the short ASCII reference a driver's bank transfer carries
//! in its memo (VietQR field 62/08), so the lot can tell which stay or
//! account the money is for.
//!
//! A code is a 2-letter prefix, 6 body characters and a check character,
//! all from Crockford's base-32 alphabet (no `I`, `L`, `O`, `U`, so nothing
//! reads as another character): `PK7H3K9QX`. Nine characters leave room in a
//! 25-character memo for the words banks add. The check character (Luhn
//! mod 32) catches any single changed character and most swaps, so a code
//! read from a memo that a bank mangled is either right or refused.

use std::fmt;
use std::str::FromStr;

use crate::ids::{IdError, string_serde};

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const BODY_LEN: usize = 6;
/// Prefix + body + check.
pub const CODE_LEN: usize = 2 + BODY_LEN + 1;

/// A validated payment code, upper case.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PaymentCode([u8; CODE_LEN]);

fn value(c: u8) -> Option<u32> {
    ALPHABET.iter().position(|&a| a == c).and_then(|p| u32::try_from(p).ok())
}

/// Luhn mod 32 over the characters, right to left, doubling every second
/// one starting with the rightmost (the check character is appended after).
fn check_char(chars: &[u8]) -> Option<u8> {
    let mut sum = 0u32;
    for (i, &c) in chars.iter().rev().enumerate() {
        let v = value(c)?;
        let addend = if i % 2 == 0 { v * 2 } else { v };
        sum += addend / 32 + addend % 32;
    }
    let idx = (32 - sum % 32) % 32;
    ALPHABET.get(usize::try_from(idx).ok()?).copied()
}

impl PaymentCode {
    /// Number of distinct codes per prefix (32^6).
    pub const SPACE: u32 = 1 << 30;

    /// Makes the code for sequence number `n` (taken modulo [`Self::SPACE`])
    /// under a 2-letter prefix from the alphabet, such as `PK` for a parking
    /// stay or `TK` for an account top-up. Callers that must not be guessable
    /// pass a random `n`; uniqueness is the caller's database constraint.
    pub fn new(prefix: &str, n: u32) -> Result<Self, IdError> {
        let p = prefix.as_bytes();
        if p.len() != 2 || !p.iter().all(|c| c.is_ascii_uppercase() && value(*c).is_some()) {
            return Err(refuse(prefix, "prefix must be two upper-case letters other than I, L, O, U"));
        }
        Ok(Self::build([p[0], p[1]], n))
    }

    /// The code for parking stay number `n`, under the prefix `PK`.
    pub fn stay(n: u32) -> Self {
        Self::build(*b"PK", n)
    }

    /// `prefix` must be two letters of the alphabet (callers check).
    fn build(prefix: [u8; 2], n: u32) -> Self {
        let mut out = [0u8; CODE_LEN];
        out[..2].copy_from_slice(&prefix);
        let mut n = n % Self::SPACE;
        for slot in out[2..2 + BODY_LEN].iter_mut().rev() {
            *slot = ALPHABET[(n % 32) as usize];
            n /= 32;
        }
        // Every character is from ALPHABET, so the check always exists.
        out[CODE_LEN - 1] = check_char(&out[..CODE_LEN - 1]).unwrap_or(b'0');
        PaymentCode(out)
    }

    pub fn prefix(&self) -> &str {
        self.as_str().get(..2).unwrap_or_default()
    }

    pub fn as_str(&self) -> &str {
        // Every byte comes from ALPHABET or was checked against it: ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Finds the payment codes in a transfer memo as a bank delivered it:
    /// upper- or lower-cased, with words added around it, or glued to them
    /// (`MBVCB.3312.PK7H3K9QX.CT` or `thanh toanpk7h3k9qxcam on`). Codes
    /// standing alone as a word come first; a code is only returned when
    /// its check character holds.
    pub fn find_in_memo(memo: &str) -> Vec<PaymentCode> {
        let upper = memo.to_ascii_uppercase();
        let mut found: Vec<PaymentCode> =
            upper.split(|c: char| !c.is_ascii_alphanumeric()).filter_map(|word| word.parse().ok()).collect();
        let glued: Vec<u8> = upper.bytes().filter(u8::is_ascii_alphanumeric).collect();
        for window in glued.windows(CODE_LEN) {
            if let Some(code) = std::str::from_utf8(window).ok().and_then(|w| w.parse().ok()) {
                if !found.contains(&code) {
                    found.push(code);
                }
            }
        }
        found
    }
}

fn refuse(s: &str, reason: &'static str) -> IdError {
    IdError::Invalid { what: "payment code", input: s.chars().take(40).collect(), reason }
}

impl FromStr for PaymentCode {
    type Err = IdError;
    /// Parses a code, ignoring case. Refuses a wrong length, a character
    /// outside the alphabet or a failed check character.
    fn from_str(s: &str) -> Result<Self, IdError> {
        let b = s.as_bytes();
        if b.len() != CODE_LEN {
            return Err(refuse(s, "must be 9 characters"));
        }
        let mut out = [0u8; CODE_LEN];
        for (o, c) in out.iter_mut().zip(b) {
            *o = c.to_ascii_uppercase();
            if value(*o).is_none() {
                return Err(refuse(s, "has a character outside 0-9 and A-Z without I, L, O, U"));
            }
        }
        if !out[..2].iter().all(u8::is_ascii_uppercase) {
            return Err(refuse(s, "must start with two letters"));
        }
        if check_char(&out[..CODE_LEN - 1]) != Some(out[CODE_LEN - 1]) {
            return Err(refuse(s, "check character does not match"));
        }
        Ok(PaymentCode(out))
    }
}

impl fmt::Display for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for PaymentCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PaymentCode({})", self.as_str())
    }
}
string_serde!(PaymentCode);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn codes_are_short_ascii_and_parse_back() {
        let code = PaymentCode::new("PK", 123_456).unwrap();
        assert_eq!(code.as_str().len(), CODE_LEN);
        assert!(code.as_str().starts_with("PK"));
        assert_eq!(code.as_str().parse::<PaymentCode>().unwrap(), code);
        assert_eq!(code.as_str().to_lowercase().parse::<PaymentCode>().unwrap(), code);
        assert!(PaymentCode::new("PI", 1).is_err(), "I is not in the alphabet");
        assert!(PaymentCode::new("P", 1).is_err());
    }

    #[test]
    fn stay_codes_match_the_general_constructor() {
        for n in [0, 1, 31, 32, 123_456, PaymentCode::SPACE - 1] {
            assert_eq!(PaymentCode::stay(n), PaymentCode::new("PK", n).unwrap());
        }
    }

    #[test]
    fn found_in_memos_that_banks_mangled() {
        let code = PaymentCode::new("PK", 987_654).unwrap();
        let c = code.as_str();
        for memo in [
            c.to_string(),
            c.to_lowercase(),
            format!("MBVCB.3312345.{c}.CT tu 0123456789"),
            format!("thanh toan{}cam on", c.to_lowercase()),
            format!("IBFT {c} GD 123"),
        ] {
            assert_eq!(PaymentCode::find_in_memo(&memo).first(), Some(&code), "{memo}");
        }
        assert!(PaymentCode::find_in_memo("thanh toan don hang").is_empty());
        // Truncated by the bank: the check character is gone, so no match.
        assert!(PaymentCode::find_in_memo(&c[..CODE_LEN - 1]).is_empty());
    }

    proptest! {
        #[test]
        fn every_single_character_change_is_caught(n in 0u32..PaymentCode::SPACE, pos in 2usize..CODE_LEN, repl in 0usize..32) {
            let code = PaymentCode::new("PK", n).unwrap();
            let mut bytes = code.as_str().as_bytes().to_vec();
            prop_assume!(bytes[pos] != ALPHABET[repl]);
            bytes[pos] = ALPHABET[repl];
            let altered = String::from_utf8(bytes).unwrap();
            prop_assert!(altered.parse::<PaymentCode>().is_err(), "{altered} passed its check");
        }

        #[test]
        fn distinct_numbers_give_distinct_codes(a in 0u32..PaymentCode::SPACE, b in 0u32..PaymentCode::SPACE) {
            prop_assume!(a != b);
            prop_assert_ne!(PaymentCode::new("PK", a).unwrap(), PaymentCode::new("PK", b).unwrap());
        }
    }
}
