//! An independent check of a lot's tamper-evident journal, from the JSON
//! lines `lot-server ledger export` writes and the lot's published
//! Ed25519 public key. It shares no code with the server: it follows the
//! algorithm in docs/journal.md.
//!
//! The export: a first line `{"journal": "<lot>"}`; one line per record
//! `{"seq", "at_ms", "kind", "body", "prev", "hash"}` in stored order;
//! then one line per seal `{"seal": {"day", "last_seq", "last_hash",
//! "totals", "signature"}}`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::io::BufRead;

use ed25519_dalek::{Signature, Verifier as _, VerifyingKey};
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// Any line of the export: the header, a record or a seal.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow, default)]
    journal: Option<Cow<'a, str>>,
    #[serde(default)]
    seq: Option<u64>,
    #[serde(default)]
    at_ms: Option<i64>,
    #[serde(borrow, default)]
    kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    body: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    prev: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    hash: Option<Cow<'a, str>>,
    #[serde(default)]
    seal: Option<SealLine>,
}

#[derive(Deserialize)]
struct SealLine {
    day: String,
    last_seq: u64,
    last_hash: String,
    totals: BTreeMap<String, i64>,
    signature: String,
}

/// What a clean journal amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub lot: String,
    pub records: u64,
    pub seals: usize,
    pub last_hash: String,
}

/// Why the journal does not verify, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The file itself: a line that is not what the format says.
    Malformed { line: usize, why: String },
    /// A record's contents do not give its hash.
    Edited { seq: u64 },
    /// A record does not name the hash of the one before it.
    Unlinked { seq: u64 },
    /// Records missing from the sequence.
    Missing { from: u64, to: u64 },
    /// A record where another was expected.
    OutOfPlace { seq: u64, after: u64 },
    /// A seal whose signature is not the lot's.
    ForgedSeal { day: String },
    /// A seal that names another hash than the journal's.
    Rewritten { day: String, seq: u64 },
    /// A seal past the journal's end.
    Truncated { day: String, sealed: u64, last: u64 },
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::Malformed { line, why } => write!(f, "line {line}: {why}"),
            Problem::Edited { seq } => write!(f, "record {seq} was edited: its contents do not give its hash"),
            Problem::Unlinked { seq } => {
                write!(
                    f,
                    "record {seq} does not follow the record before it (inserted, or the one before was rewritten)"
                )
            }
            Problem::Missing { from, to } => write!(f, "records {from} to {to} were deleted"),
            Problem::OutOfPlace { seq, after } => {
                write!(f, "record {seq} stands after record {after} (reordered or inserted)")
            }
            Problem::ForgedSeal { day } => write!(f, "the seal of {day} is not signed by the lot's key"),
            Problem::Rewritten { day, seq } => {
                write!(f, "the seal of {day} names another hash for record {seq}: the journal was rewritten")
            }
            Problem::Truncated { day, sealed, last } => {
                write!(f, "the seal of {day} covers record {sealed}, but the journal ends at {last}: records deleted")
            }
        }
    }
}

impl std::error::Error for Problem {}

fn be32(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes()
}

/// SHA-256("PKJ1" || prev || seq || at_ms || len(kind) || kind || len(body) || body).
fn chain_hash(prev: &[u8; 32], seq: u64, at_ms: i64, kind: &str, body: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"PKJ1");
    h.update(prev);
    h.update(seq.to_be_bytes());
    h.update(at_ms.to_be_bytes());
    h.update(be32(kind.len()));
    h.update(kind);
    h.update(be32(body.len()));
    h.update(body);
    h.finalize().into()
}

/// The bytes a seal signs.
fn seal_bytes(day: &str, last_seq: u64, last_hash: &[u8; 32], totals: &BTreeMap<String, i64>) -> Vec<u8> {
    let mut m = b"PKJ1 seal".to_vec();
    m.extend(day.as_bytes());
    m.extend(last_seq.to_be_bytes());
    m.extend(last_hash);
    for (k, v) in totals {
        m.extend(be32(k.len()));
        m.extend(k.as_bytes());
        m.extend(v.to_be_bytes());
    }
    m
}

fn hex32(text: Option<&str>, line: usize, field: &str) -> Result<[u8; 32], Problem> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(text.unwrap_or_default(), &mut out)
        .map_err(|_| Problem::Malformed { line, why: format!("{field} is not 64 hex digits") })?;
    Ok(out)
}

fn missing(line: usize, name: &str) -> Problem {
    Problem::Malformed { line, why: format!("no {name}") }
}

/// Parses a public key given as 64 hex digits.
pub fn public_key(text: &str) -> Result<VerifyingKey, String> {
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| "the public key must be 64 hex digits".to_owned())?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| "not an Ed25519 public key".to_owned())
}

/// Checks an exported journal against the lot's public key. The first
/// problem found is returned, naming the record or the seal.
pub fn verify(input: impl BufRead, key: &VerifyingKey) -> Result<Summary, Problem> {
    let mut lot: Option<String> = None;
    let mut prev = [0u8; 32];
    let mut next_seq = 1u64;
    // A record ahead of its place: the seq expected, the seq found.
    let mut skipped: Option<(u64, u64)> = None;
    let mut hashes: Vec<[u8; 32]> = Vec::new();
    let mut seals = 0usize;
    for (i, line) in input.lines().enumerate() {
        let n = i + 1;
        let line = line.map_err(|e| Problem::Malformed { line: n, why: e.to_string() })?;
        if line.trim().is_empty() {
            continue;
        }
        let v: Line<'_> = serde_json::from_str(&line)
            .map_err(|e| Problem::Malformed { line: n, why: format!("not a journal line: {e}") })?;
        if lot.is_none() {
            let name = v.journal.ok_or_else(|| Problem::Malformed {
                line: n,
                why: "the first line must be {\"journal\": lot}".into(),
            })?;
            prev = genesis_of(&name);
            lot = Some(name.into_owned());
            continue;
        }
        if let Some(seal) = v.seal {
            if let Some((from, found)) = skipped.take() {
                return Err(Problem::Missing { from, to: found - 1 });
            }
            seals += 1;
            let last_hash = hex32(Some(&seal.last_hash), n, "last_hash")?;
            let mut sig = [0u8; 64];
            let message = seal_bytes(&seal.day, seal.last_seq, &last_hash, &seal.totals);
            if hex::decode_to_slice(&seal.signature, &mut sig).is_err()
                || key.verify(&message, &Signature::from_bytes(&sig)).is_err()
            {
                return Err(Problem::ForgedSeal { day: seal.day });
            }
            let records = next_seq - 1;
            if seal.last_seq > records {
                return Err(Problem::Truncated { day: seal.day, sealed: seal.last_seq, last: records });
            }
            let found = match usize::try_from(seal.last_seq).ok().and_then(|s| s.checked_sub(1)) {
                Some(idx) => hashes[idx],
                None => genesis_of(lot.as_deref().unwrap_or_default()),
            };
            if found != last_hash {
                return Err(Problem::Rewritten { day: seal.day, seq: seal.last_seq });
            }
            continue;
        }
        let seq = v.seq.ok_or_else(|| missing(n, "seq"))?;
        if let Some((expected, found)) = skipped.take() {
            return Err(if seq == expected {
                Problem::OutOfPlace { seq: expected, after: found }
            } else {
                Problem::Missing { from: expected, to: found - 1 }
            });
        }
        if seq < next_seq {
            return Err(Problem::OutOfPlace { seq, after: next_seq - 1 });
        }
        if seq > next_seq {
            skipped = Some((next_seq, seq));
            continue;
        }
        let at_ms = v.at_ms.ok_or_else(|| missing(n, "at_ms"))?;
        let kind = v.kind.ok_or_else(|| missing(n, "kind"))?;
        let body = v.body.ok_or_else(|| missing(n, "body"))?;
        let stored_prev = hex32(v.prev.as_deref(), n, "prev")?;
        let stored_hash = hex32(v.hash.as_deref(), n, "hash")?;
        if chain_hash(&stored_prev, seq, at_ms, &kind, &body) != stored_hash {
            return Err(Problem::Edited { seq });
        }
        if stored_prev != prev {
            return Err(Problem::Unlinked { seq });
        }
        prev = stored_hash;
        hashes.push(stored_hash);
        next_seq += 1;
    }
    if let Some((from, found)) = skipped {
        return Err(Problem::Missing { from, to: found - 1 });
    }
    let lot = lot.ok_or_else(|| Problem::Malformed { line: 1, why: "empty file".into() })?;
    Ok(Summary { lot, records: next_seq - 1, seals, last_hash: hex::encode(prev) })
}

fn genesis_of(lot: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"PKJ1 genesis ");
    h.update(lot.as_bytes());
    h.finalize().into()
}
