//! The independent verifier against journals the server's own chain code
//! writes: a clean one verifies; every way of tampering is caught and
//! placed.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;

use journal_verify::{Problem, public_key, verify};
use parking_core::chain::{self, Chain, Record, Seal};

const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/// 100 records, sealed after 40 and after 90, as export lines.
fn journal() -> (Vec<String>, Vec<String>) {
    let key = chain::signing_key(SEED).unwrap();
    let mut c = Chain::start("hn-01");
    let mut records = Vec::new();
    let mut seals = Vec::new();
    for i in 1..=100u64 {
        let r: Record =
            c.append(1_795_000_000_000 + i as i64, "posting", format!(r#"{{"entry":"e{i}","lines":[["bank",{i}]]}}"#));
        records.push(serde_json::to_string(&r).unwrap());
        if i == 40 || i == 90 {
            let totals =
                BTreeMap::from([("records".to_owned(), i as i64), ("fees_settled_vnd".to_owned(), 1_000 * i as i64)]);
            let s = Seal::sign(&key, &format!("2026-11-{}", 10 + i / 40), &c, totals);
            seals.push(serde_json::json!({ "seal": s }).to_string());
        }
    }
    (records, seals)
}

fn check(records: &[String], seals: &[String]) -> Result<journal_verify::Summary, Problem> {
    let key = public_key(&chain::public_hex(&chain::signing_key(SEED).unwrap())).unwrap();
    let mut text = String::from("{\"journal\":\"hn-01\"}\n");
    for l in records.iter().chain(seals) {
        text.push_str(l);
        text.push('\n');
    }
    verify(text.as_bytes(), &key)
}

fn edit(line: &str, f: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
    f(&mut v);
    v.to_string()
}

#[test]
fn a_clean_journal_verifies() {
    let (records, seals) = journal();
    let s = check(&records, &seals).unwrap();
    assert_eq!((s.lot.as_str(), s.records, s.seals), ("hn-01", 100, 2));
}

#[test]
fn every_kind_of_tampering_is_caught_and_placed() {
    let (records, seals) = journal();
    let key = chain::signing_key(SEED).unwrap();

    // Edited in place.
    let mut r = records.clone();
    r[49] = edit(&r[49], |v| v["body"] = r#"{"entry":"e50","lines":[["bank",5000000]]}"#.into());
    assert_eq!(check(&r, &seals), Err(Problem::Edited { seq: 50 }));

    // Edited and rehashed: the next record no longer links to it.
    let mut r = records.clone();
    let prev: Record = serde_json::from_str(&r[48]).unwrap();
    let forged = chain::record_hash(&prev.hash, 50, 1, "posting", "{}");
    r[49] = edit(&r[49], |v| {
        v["at_ms"] = 1.into();
        v["body"] = "{}".into();
        v["hash"] = forged.to_string().into();
    });
    assert_eq!(check(&r, &seals), Err(Problem::Unlinked { seq: 51 }));

    // Edited, and every later record rewritten to match: the seal catches it.
    let mut c = Chain { last_seq: 59, last_hash: serde_json::from_str::<Record>(&records[58]).unwrap().hash };
    let mut r: Vec<String> = records[..59].to_vec();
    for i in 60..=100u64 {
        r.push(serde_json::to_string(&c.append(i as i64, "posting", format!("rewritten {i}"))).unwrap());
    }
    assert_eq!(check(&r, &seals), Err(Problem::Rewritten { day: "2026-11-12".into(), seq: 90 }));

    // Deleted.
    let mut r = records.clone();
    r.drain(19..22);
    assert_eq!(check(&r, &seals), Err(Problem::Missing { from: 20, to: 22 }));

    // Deleted from the end, past a seal.
    assert_eq!(
        check(&records[..85], &seals),
        Err(Problem::Truncated { day: "2026-11-12".into(), sealed: 90, last: 85 })
    );

    // Reordered.
    let mut r = records.clone();
    r.swap(29, 30);
    assert_eq!(check(&r, &seals), Err(Problem::OutOfPlace { seq: 30, after: 31 }));

    // Inserted: a forged record claiming a place in the chain.
    let mut r = records.clone();
    let mut fake = Chain { last_seq: 69, last_hash: serde_json::from_str::<Record>(&records[68]).unwrap().hash };
    r.insert(70, serde_json::to_string(&fake.append(7, "posting", "forged".into())).unwrap());
    assert_eq!(check(&r, &seals), Err(Problem::OutOfPlace { seq: 70, after: 70 }));

    // A seal signed by another key, or with its totals changed.
    let other = chain::signing_key(&"11".repeat(32)).unwrap();
    let mut c = Chain::start("hn-01");
    for line in &records[..40] {
        let rec: Record = serde_json::from_str(line).unwrap();
        c = Chain { last_seq: rec.seq, last_hash: rec.hash };
    }
    let forged = Seal::sign(&other, "2026-11-11", &c, BTreeMap::new());
    let mut s = seals.clone();
    s[0] = serde_json::json!({ "seal": forged }).to_string();
    assert_eq!(check(&records, &s), Err(Problem::ForgedSeal { day: "2026-11-11".into() }));
    let mut s = seals.clone();
    s[0] = edit(&s[0], |v| v["seal"]["totals"]["fees_settled_vnd"] = 1.into());
    assert_eq!(check(&records, &s), Err(Problem::ForgedSeal { day: "2026-11-11".into() }));
    let _ = key;

    // Not a journal at all.
    let key = public_key(&chain::public_hex(&chain::signing_key(SEED).unwrap())).unwrap();
    assert!(matches!(verify("nonsense\n".as_bytes(), &key), Err(Problem::Malformed { line: 1, .. })));
    assert!(matches!(
        verify(&b"{\"journal\":\"x\"}\n{\"seq\":1}\n"[..], &key),
        Err(Problem::Malformed { line: 2, .. })
    ));
}
