//! Vietnamese licence plates, normalised so that equal plates compare equal.
//!
//! Civilian plates are a 2-digit province code, a series of one or two
//! letters with an optional digit or letter (`A`, `LD`, `B1`), then a
//! 4- or 5-digit number: `29A-123.45`, `30E-12345`, `29-B1 234.56`,
//! `51LD-1234`. Cameras and people write the separators differently, so a
//! plate is stored as its letters and digits alone (`29A12345`) and two
//! plates are equal when those are equal. That is also how an ANPR read,
//! which often drops separators, matches a registered plate.

use std::fmt;
use std::str::FromStr;

use crate::ids::{IdError, string_serde};

/// A licence plate in canonical form. `Display` gives the conventional
/// spelling (`29A-123.45`, `29B1-234.56`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Plate {
    /// Upper-case letters and digits only: the identity of the plate.
    compact: Box<str>,
    /// Length of the series part after the 2-digit province code, kept so
    /// the plate can be printed the way it is painted. Not part of equality
    /// in spirit: it is derived from `compact` alone.
    series_len: u8,
}

impl Plate {
    /// The canonical form: upper-case letters and digits, no separators.
    pub fn compact(&self) -> &str {
        &self.compact
    }

    /// The province code, the first two digits.
    pub fn province(&self) -> &str {
        &self.compact[..2]
    }

    /// The series after the province code, e.g. `A`, `LD`, `B1`.
    pub fn series(&self) -> &str {
        &self.compact[2..2 + usize::from(self.series_len)]
    }

    /// The registration number, 4 or 5 digits.
    pub fn number(&self) -> &str {
        &self.compact[2 + usize::from(self.series_len)..]
    }
}

fn refuse(s: &str, reason: &'static str) -> IdError {
    IdError::Invalid { what: "plate", input: s.chars().take(40).collect(), reason }
}

impl FromStr for Plate {
    type Err = IdError;

    fn from_str(s: &str) -> Result<Self, IdError> {
        let mut compact = String::with_capacity(10);
        for ch in s.trim().chars() {
            match ch {
                '-' | '.' | ' ' | '·' => {}
                c if c.is_ascii_alphanumeric() => compact.push(c.to_ascii_uppercase()),
                _ => return Err(refuse(s, "may hold only letters, digits, '-', '.' and spaces")),
            }
        }
        let b = compact.as_bytes();
        if !(7..=10).contains(&b.len()) {
            return Err(refuse(s, "must have 7 to 10 letters and digits"));
        }
        if !b[..2].iter().all(u8::is_ascii_digit) {
            return Err(refuse(s, "must start with a 2-digit province code"));
        }
        let letters = b[2..].iter().take_while(|c| c.is_ascii_uppercase()).count();
        if !(1..=2).contains(&letters) {
            return Err(refuse(s, "needs a series of one or two letters after the province code"));
        }
        let rest = &b[2 + letters..];
        if !rest.iter().all(u8::is_ascii_digit) {
            return Err(refuse(s, "must end in digits after the series"));
        }
        // A trailing run of 5 or 6 digits after one letter can only be read
        // one way when it has 6 (series digit + 5); with 5 we read the
        // car form (`29A-123.45`), which compares equal either way.
        let series_len = match rest.len() {
            4 | 5 => letters,
            6 if letters == 1 || letters == 2 => letters + 1,
            _ => return Err(refuse(s, "the number after the series must have 4 or 5 digits")),
        };
        let series_len = u8::try_from(series_len).map_err(|_| refuse(s, "series too long"))?;
        Ok(Plate { compact: compact.into_boxed_str(), series_len })
    }
}

impl Plate {
    /// Whether `other` is this plate, or this plate read with one ANPR
    /// error: one character misread, dropped or added (Levenshtein
    /// distance at most 1 on the compact forms). Cameras confuse `8`/`B`,
    /// `0`/`D` and lose a character at the plate's edge; two errors are
    /// another vehicle.
    pub fn close_to(&self, other: &Plate) -> bool {
        within_one_edit(self.compact.as_bytes(), other.compact.as_bytes())
    }
}

fn within_one_edit(a: &[u8], b: &[u8]) -> bool {
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    if long.len() - short.len() > 1 {
        return false;
    }
    // Skip the common prefix and suffix; what is left of each side must be
    // at most one character.
    let prefix = short.iter().zip(long).take_while(|(x, y)| x == y).count();
    let suffix = short[prefix..].iter().rev().zip(long[prefix..].iter().rev()).take_while(|(x, y)| x == y).count();
    long.len() - prefix - suffix <= 1 && short.len() - prefix - suffix <= 1
}

impl fmt::Display for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = self.number();
        write!(f, "{}{}-", self.province(), self.series())?;
        if number.len() == 5 { write!(f, "{}.{}", &number[..3], &number[3..]) } else { f.write_str(number) }
    }
}

impl fmt::Debug for Plate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Plate({self})")
    }
}
string_serde!(Plate);

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Plate {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn the_issue_examples_parse() {
        assert_eq!(p("29A-123.45").to_string(), "29A-123.45");
        assert_eq!(p("30E-12345").to_string(), "30E-123.45");
        let moto = p("29-B1 234.56");
        assert_eq!((moto.province(), moto.series(), moto.number()), ("29", "B1", "23456"));
        assert_eq!(moto.to_string(), "29B1-234.56");
    }

    #[test]
    fn spellings_of_one_plate_compare_equal() {
        let forms = ["29A-123.45", "29a12345", " 29A 123 45 ", "29A-12345", "29A.123.45"];
        for f in forms {
            assert_eq!(p(f), p("29A-123.45"), "{f}");
        }
        assert_ne!(p("29A-123.45"), p("29A-123.46"));
        assert_eq!(p("51LD-1234").series(), "LD");
        assert_eq!(p("29-MD1 234.56").series(), "MD1");
    }

    #[test]
    fn bad_plates_say_why() {
        for (bad, why) in [
            ("", "7 to 10"),
            ("ABC-12345", "province"),
            ("29-123456", "series"),
            ("29A-12", "7 to 10"),
            ("29A-1234567", "4 or 5 digits"),
            ("29A-12B45", "end in digits"),
            ("29Đ-123.45", "only letters"),
            ("29ABC-1234", "series"),
        ] {
            let err = bad.parse::<Plate>().unwrap_err().to_string();
            assert!(err.contains(why), "{bad:?}: {err}");
        }
    }

    #[test]
    fn one_anpr_error_is_tolerated_and_two_are_another_vehicle() {
        assert!(p("29A-123.45").close_to(&p("29A-123.45")));
        assert!(p("29A-123.45").close_to(&p("29A-128.45")), "one misread digit");
        assert!(p("29B-123.45").close_to(&p("29B-1234")), "one dropped at the edge");
        assert!(p("29A-1234").close_to(&p("29A-12345")), "one added at the edge");
        assert!(!p("29A-123.45").close_to(&p("29A-128.46")), "two misreads");
        assert!(!p("29A-123.45").close_to(&p("30E-555.55")));
        assert!(!p("29A-1234").close_to(&p("29A-12356")), "an added and a misread digit");
    }

    proptest::proptest! {
        /// The tolerance is what it says, against a plain edit distance:
        /// symmetric, every plate is close to itself, and close exactly
        /// when at most one edit apart.
        #[test]
        fn close_to_is_one_edit_at_most(a in "[0-9]{2}[A-Z][0-9]{4,5}", b in "[0-9]{2}[A-Z][0-9]{4,5}") {
            let (pa, pb) = (p(&a), p(&b));
            proptest::prop_assert!(pa.close_to(&pa));
            proptest::prop_assert_eq!(pa.close_to(&pb), pb.close_to(&pa));
            proptest::prop_assert_eq!(pa.close_to(&pb), levenshtein(a.as_bytes(), b.as_bytes()) <= 1);
        }

        /// Any single misread, drop or insertion of a plate stays close.
        #[test]
        fn any_single_edit_is_close(a in "[0-9]{2}[A-Z][0-9]{5}", at in 0usize..8, c in "[0-9A-Z]") {
            let c = c.as_bytes()[0];
            let mut misread = a.clone().into_bytes();
            misread[at] = c;
            let mut dropped = a.clone().into_bytes();
            dropped.remove(at);
            let mut added = a.clone().into_bytes();
            added.insert(at, c);
            for edited in [misread, dropped, added] {
                proptest::prop_assert!(within_one_edit(a.as_bytes(), &edited), "{} vs {:?}", a, edited);
            }
        }
    }

    /// The textbook dynamic programme, to check the fast test against.
    fn levenshtein(a: &[u8], b: &[u8]) -> usize {
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, x) in a.iter().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, y) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(x != y)).min(row[j] + 1).min(cur + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }

    #[test]
    fn serialises_in_display_form_and_reads_any_form() {
        let json = serde_json::to_string(&p("30e12345")).unwrap();
        assert_eq!(json, "\"30E-123.45\"");
        assert_eq!(serde_json::from_str::<Plate>("\"30E-123.45\"").unwrap(), p("30E 12345"));
    }
}
