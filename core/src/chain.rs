//! The tamper-evident journal (docs/journal.md): every record holds the
//! SHA-256 of the one before it, and each day is sealed with an Ed25519
//! signature over its last hash and running totals. Anyone with the lot's
//! public key can check a journal without trusting the server that kept
//! it: an edited, deleted, reordered or inserted record breaks the chain
//! where it happened, and a rewritten chain no longer matches its seals.
//!
//! The algorithm (also in docs/journal.md, for independent verifiers):
//! - `hash(record) = SHA-256("PKJ1" || prev (32 bytes) || seq (u64 BE) ||
//!   at_ms (i64 BE) || len(kind) (u32 BE) || kind || len(body) (u32 BE) || body)`;
//!   the first record's `prev` is `SHA-256("PKJ1 genesis " || lot id)`;
//! - `seq` starts at 1 and rises by one;
//! - a seal signs `"PKJ1 seal" || day ("YYYY-MM-DD") || last_seq (u64 BE) ||
//!   last_hash || for each total in key order: len(key) (u32 BE) || key ||
//!   value (i64 BE)` with Ed25519.
//!
//! Pure: no clock, no storage. The lot server stores records and seals;
//! this module makes and checks them.

use std::collections::BTreeMap;
use std::fmt;

use ed25519_dalek::{Signature, Signer, SigningKey, Verifier as _, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The key types, so users need not depend on the signature crate.
pub use ed25519_dalek::{SigningKey as JournalSigningKey, VerifyingKey as JournalVerifyingKey};

/// A SHA-256 digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest32(pub [u8; 32]);

impl fmt::Display for Digest32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for Digest32 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest32({self})")
    }
}

impl std::str::FromStr for Digest32 {
    type Err = ChainError;
    fn from_str(s: &str) -> Result<Self, ChainError> {
        parse_hex::<32>(s).map(Digest32)
    }
}

impl Serialize for Digest32 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest32 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

const TAG: &[u8] = b"PKJ1";

/// The `prev` of a lot's first record.
pub fn genesis(lot: &str) -> Digest32 {
    let mut h = Sha256::new();
    h.update(b"PKJ1 genesis ");
    h.update(lot.as_bytes());
    Digest32(h.finalize().into())
}

/// One journal record.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    pub at_ms: i64,
    /// What it records: `gate_decision`, `manual_open`, `lists_version`,
    /// `tariff_version`, `posting`, `invoice`, …
    pub kind: String,
    /// The recorded thing, as the JSON text that was hashed.
    pub body: String,
    pub prev: Digest32,
    pub hash: Digest32,
}

fn len32(n: usize) -> [u8; 4] {
    u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes()
}

/// The hash a record with these contents must carry.
pub fn record_hash(prev: &Digest32, seq: u64, at_ms: i64, kind: &str, body: &str) -> Digest32 {
    let mut h = Sha256::new();
    h.update(TAG);
    h.update(prev.0);
    h.update(seq.to_be_bytes());
    h.update(at_ms.to_be_bytes());
    h.update(len32(kind.len()));
    h.update(kind.as_bytes());
    h.update(len32(body.len()));
    h.update(body.as_bytes());
    Digest32(h.finalize().into())
}

/// The writer's end of a chain: where it got to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chain {
    pub last_seq: u64,
    pub last_hash: Digest32,
}

impl Chain {
    /// A new chain for `lot`.
    pub fn start(lot: &str) -> Self {
        Chain { last_seq: 0, last_hash: genesis(lot) }
    }

    /// The next record.
    pub fn append(&mut self, at_ms: i64, kind: &str, body: String) -> Record {
        let seq = self.last_seq + 1;
        let prev = self.last_hash;
        let hash = record_hash(&prev, seq, at_ms, kind, &body);
        self.last_seq = seq;
        self.last_hash = hash;
        Record { seq, at_ms, kind: kind.to_owned(), body, prev, hash }
    }
}

/// A day's seal: its last record and running totals, signed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    /// The local day, `YYYY-MM-DD`.
    pub day: String,
    pub last_seq: u64,
    pub last_hash: Digest32,
    /// Running totals since the journal began (records, revenue…).
    pub totals: BTreeMap<String, i64>,
    /// Ed25519 over [`Seal::message`], hex.
    pub signature: String,
}

impl Seal {
    /// The bytes that are signed.
    pub fn message(day: &str, last_seq: u64, last_hash: &Digest32, totals: &BTreeMap<String, i64>) -> Vec<u8> {
        let mut m = Vec::with_capacity(64 + totals.len() * 24);
        m.extend_from_slice(b"PKJ1 seal");
        m.extend_from_slice(day.as_bytes());
        m.extend_from_slice(&last_seq.to_be_bytes());
        m.extend_from_slice(&last_hash.0);
        for (k, v) in totals {
            m.extend_from_slice(&len32(k.len()));
            m.extend_from_slice(k.as_bytes());
            m.extend_from_slice(&v.to_be_bytes());
        }
        m
    }

    /// Seals `day` at the chain's current end.
    pub fn sign(key: &SigningKey, day: &str, chain: &Chain, totals: BTreeMap<String, i64>) -> Seal {
        let sig = key.sign(&Seal::message(day, chain.last_seq, &chain.last_hash, &totals));
        Seal {
            day: day.to_owned(),
            last_seq: chain.last_seq,
            last_hash: chain.last_hash,
            totals,
            signature: hex::encode(sig.to_bytes()),
        }
    }

    fn verify(&self, key: &VerifyingKey) -> bool {
        let Ok(bytes) = parse_hex::<64>(&self.signature) else { return false };
        let sig = Signature::from_bytes(&bytes);
        key.verify(&Seal::message(&self.day, self.last_seq, &self.last_hash, &self.totals), &sig).is_ok()
    }
}

fn parse_hex<const N: usize>(s: &str) -> Result<[u8; N], ChainError> {
    let mut out = [0u8; N];
    hex::decode_to_slice(s, &mut out).map_err(|_| ChainError::BadHex("not hex of the right length"))?;
    Ok(out)
}

/// A signing key from its 32-byte seed in hex (configuration).
pub fn signing_key(seed_hex: &str) -> Result<SigningKey, ChainError> {
    Ok(SigningKey::from_bytes(&parse_hex::<32>(seed_hex.trim())?))
}

/// A public key from hex, as the lot publishes it.
pub fn verifying_key(text: &str) -> Result<VerifyingKey, ChainError> {
    VerifyingKey::from_bytes(&parse_hex::<32>(text.trim())?).map_err(|_| ChainError::BadKey)
}

/// The public key's hex form.
pub fn public_hex(key: &SigningKey) -> String {
    hex::encode(key.verifying_key().to_bytes())
}

/// Bad key or hash text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    #[error("bad hex: {0}")]
    BadHex(&'static str),
    #[error("not an Ed25519 public key")]
    BadKey,
}

/// Where and how a journal was tampered with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Tamper {
    #[error("record {seq}: its contents do not match its hash (edited)")]
    Edited { seq: u64 },
    #[error(
        "record {seq}: it does not follow record {prev_seq} (the one before it was edited and rehashed, or a record was inserted)"
    )]
    BrokenLink { seq: u64, prev_seq: u64 },
    #[error("records {from} to {to} are missing (deleted)")]
    Deleted { from: u64, to: u64 },
    #[error("record {seq} comes after record {after} (reordered or inserted)")]
    OutOfOrder { seq: u64, after: u64 },
    #[error(
        "the journal ends at record {last}, but day {day} was sealed at record {sealed} (records deleted from the end)"
    )]
    Truncated { last: u64, day: String, sealed: u64 },
    #[error("day {day}: the seal says record {seq} has hash {sealed}, the journal has {found} (rewritten)")]
    SealMismatch { day: String, seq: u64, sealed: Digest32, found: Digest32 },
    #[error("day {day}: the seal's signature does not verify with the lot's public key")]
    BadSignature { day: String },
}

/// What a successful check saw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verified {
    pub records: u64,
    pub last_hash: Digest32,
    pub seals: usize,
}

/// Checks records (in stored order) from the start of `lot`'s journal, and
/// the seals against them and against `key`.
pub fn verify<'a>(
    lot: &str,
    records: impl IntoIterator<Item = &'a Record>,
    seals: &[Seal],
    key: &VerifyingKey,
) -> Result<Verified, Tamper> {
    let mut v = Verifier::new(lot, seals, key)?;
    for r in records {
        v.push(r)?;
    }
    v.finish()
}

/// [`verify`] one record at a time, for a journal read in pages.
#[derive(Debug)]
pub struct Verifier {
    seals_at: BTreeMap<u64, Seal>,
    seals: usize,
    last: Chain,
    /// A record that skipped ahead: (the seq expected, the seq found). The
    /// next record tells a move (it is the expected one) from a deletion.
    gap: Option<(u64, u64)>,
}

impl Verifier {
    /// Checks the seals' signatures and starts at `lot`'s genesis.
    pub fn new(lot: &str, seals: &[Seal], key: &VerifyingKey) -> Result<Self, Tamper> {
        for s in seals {
            if !s.verify(key) {
                return Err(Tamper::BadSignature { day: s.day.clone() });
            }
        }
        let start = Chain::start(lot);
        // A day sealed before any record: its hash is the genesis.
        if let Some(s) = seals.iter().find(|s| s.last_seq == 0 && s.last_hash != start.last_hash) {
            return Err(Tamper::SealMismatch {
                day: s.day.clone(),
                seq: 0,
                sealed: s.last_hash,
                found: start.last_hash,
            });
        }
        Ok(Verifier {
            seals_at: seals.iter().filter(|s| s.last_seq > 0).map(|s| (s.last_seq, s.clone())).collect(),
            seals: seals.len(),
            last: start,
            gap: None,
        })
    }

    /// The next record, in stored order.
    pub fn push(&mut self, r: &Record) -> Result<(), Tamper> {
        if let Some((expected, found)) = self.gap.take() {
            return Err(if r.seq == expected {
                Tamper::OutOfOrder { seq: expected, after: found }
            } else {
                Tamper::Deleted { from: expected, to: found - 1 }
            });
        }
        let expected = self.last.last_seq + 1;
        if r.seq < expected {
            return Err(Tamper::OutOfOrder { seq: r.seq, after: self.last.last_seq });
        }
        if r.seq > expected {
            self.gap = Some((expected, r.seq));
            return Ok(());
        }
        if record_hash(&r.prev, r.seq, r.at_ms, &r.kind, &r.body) != r.hash {
            return Err(Tamper::Edited { seq: r.seq });
        }
        if r.prev != self.last.last_hash {
            return Err(Tamper::BrokenLink { seq: r.seq, prev_seq: self.last.last_seq });
        }
        self.last.last_seq = r.seq;
        self.last.last_hash = r.hash;
        if let Some(s) = self.seals_at.remove(&r.seq) {
            if s.last_hash != r.hash {
                return Err(Tamper::SealMismatch { day: s.day, seq: r.seq, sealed: s.last_hash, found: r.hash });
            }
        }
        Ok(())
    }

    /// After the last record.
    pub fn finish(self) -> Result<Verified, Tamper> {
        if let Some((expected, found)) = self.gap {
            return Err(Tamper::Deleted { from: expected, to: found - 1 });
        }
        if let Some((&sealed, s)) = self.seals_at.iter().next() {
            return Err(Tamper::Truncated { last: self.last.last_seq, day: s.day.clone(), sealed });
        }
        Ok(Verified { records: self.last.last_seq, last_hash: self.last.last_hash, seals: self.seals })
    }
}

#[cfg(test)]
mod tests;
