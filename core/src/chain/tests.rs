#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use super::*;

const LOT: &str = "hn-01";

fn key() -> SigningKey {
    signing_key("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap()
}

/// `n` records, a seal after every `every`.
fn journal(n: u64, every: u64) -> (Vec<Record>, Vec<Seal>) {
    let mut chain = Chain::start(LOT);
    let mut records = Vec::new();
    let mut seals = Vec::new();
    let mut revenue = 0i64;
    for i in 1..=n {
        let amount = i64::try_from(i % 7).unwrap() * 5_000;
        revenue += amount;
        let body = format!(r#"{{"gate":"exit-1","fee":{amount}}}"#);
        records.push(chain.append(1_795_000_000_000 + i64::try_from(i).unwrap(), "gate_decision", body));
        if i % every == 0 {
            let totals = BTreeMap::from([
                ("records".to_owned(), i64::try_from(i).unwrap()),
                ("revenue_vnd".to_owned(), revenue),
            ]);
            seals.push(Seal::sign(&key(), &format!("day-{}", i / every), &chain, totals));
        }
    }
    (records, seals)
}

fn check(records: &[Record], seals: &[Seal]) -> Result<Verified, Tamper> {
    verify(LOT, records, seals, &key().verifying_key())
}

#[test]
fn an_untouched_journal_verifies() {
    let (r, s) = journal(1_000, 100);
    let v = check(&r, &s).unwrap();
    assert_eq!((v.records, v.seals, v.last_hash), (1_000, 10, r[999].hash));
    // The public key travels as hex; the hash as hex.
    let public = verifying_key(&public_hex(&key())).unwrap();
    assert!(verify(LOT, &r, &s, &public).is_ok());
    assert_eq!(r[5].hash.to_string().parse::<Digest32>().unwrap(), r[5].hash);
    // Another lot's genesis: the first link breaks.
    assert!(matches!(verify("other", &r, &s, &public), Err(Tamper::BrokenLink { seq: 1, .. })));
}

#[test]
fn the_algorithm_is_the_documented_one() {
    // Recomputed by hand from docs/journal.md's description.
    let mut h = Sha256::new();
    h.update(b"PKJ1 genesis hn-01");
    let g: [u8; 32] = h.finalize().into();
    let mut h = Sha256::new();
    h.update(b"PKJ1");
    h.update(g);
    h.update(1u64.to_be_bytes());
    h.update(42i64.to_be_bytes());
    h.update(4u32.to_be_bytes());
    h.update(b"kind");
    h.update(2u32.to_be_bytes());
    h.update(b"{}");
    let want: [u8; 32] = h.finalize().into();
    let r = Chain::start(LOT).append(42, "kind", "{}".into());
    assert_eq!(r.hash.0, want);
}

#[test]
fn every_kind_of_tampering_is_found_where_it_happened() {
    let (r, s) = journal(500, 100);
    // Edited in place.
    let mut t = r.clone();
    t[200].body = t[200].body.replace("fee", "fee_paid");
    assert_eq!(check(&t, &s), Err(Tamper::Edited { seq: 201 }));
    // Edited and rehashed: the next record no longer follows it.
    let mut t = r.clone();
    t[200].body.push(' ');
    t[200].hash = record_hash(&t[200].prev, 201, t[200].at_ms, &t[200].kind, &t[200].body);
    assert_eq!(check(&t, &s), Err(Tamper::BrokenLink { seq: 202, prev_seq: 201 }));
    // Edited and the whole rest rewritten: the next seal disagrees.
    let mut t = r.clone();
    t[200].body.push(' ');
    let mut chain = Chain { last_seq: 200, last_hash: t[199].hash };
    for rec in t.iter_mut().skip(200) {
        *rec = chain.append(rec.at_ms, &rec.kind.clone(), rec.body.clone());
    }
    assert!(matches!(check(&t, &s), Err(Tamper::SealMismatch { seq: 300, .. })), "{:?}", check(&t, &s));
    // Deleted.
    let mut t = r.clone();
    t.remove(300);
    assert_eq!(check(&t, &s), Err(Tamper::Deleted { from: 301, to: 301 }));
    // Deleted from the end, past a seal.
    let t = r[..450].to_vec();
    assert!(check(&t, &s[..4]).is_ok(), "records after the last seal cannot be vouched for");
    assert!(matches!(check(&t, &s), Err(Tamper::Truncated { last: 450, sealed: 500, .. })));
    let t = r[..350].to_vec();
    assert!(matches!(check(&t, &s), Err(Tamper::Truncated { last: 350, sealed: 400, .. })));
    // Reordered.
    let mut t = r.clone();
    t.swap(100, 101);
    assert_eq!(check(&t, &s), Err(Tamper::OutOfOrder { seq: 101, after: 102 }));
    // Inserted: a forged record with a valid hash after record 250.
    let mut t = r.clone();
    let mut forged = Chain { last_seq: 250, last_hash: t[249].hash };
    let fake = forged.append(t[249].at_ms, "manual_open", r#"{"operator":"x"}"#.into());
    t.insert(250, fake);
    assert_eq!(check(&t, &s), Err(Tamper::OutOfOrder { seq: 251, after: 251 }));
    // A forged seal, or a seal with its totals changed.
    let mut bad = s.clone();
    bad[2].totals.insert("revenue_vnd".into(), 1);
    assert_eq!(check(&r, &bad), Err(Tamper::BadSignature { day: "day-3".into() }));
    let other = SigningKey::from_bytes(&[7u8; 32]);
    let chain = Chain { last_seq: 100, last_hash: r[99].hash };
    let mut bad = s.clone();
    bad[0] = Seal::sign(&other, "day-1", &chain, s[0].totals.clone());
    assert_eq!(check(&r, &bad), Err(Tamper::BadSignature { day: "day-1".into() }));
}

proptest! {
    #[test]
    fn random_tampering_never_passes(pos in 0usize..399, how in 0u8..4) {
        let (r, s) = journal(400, 50);
        let mut t = r.clone();
        match how {
            0 => t[pos].at_ms += 1,
            1 => { t.remove(pos); }
            2 => t.swap(pos, pos + 1),
            _ => t.insert(pos, r[pos].clone()),
        }
        prop_assert!(check(&t, &s).is_err());
    }
}
