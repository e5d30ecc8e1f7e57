//! `lot-server bench-ledger`: builds a hash-chained journal of
//! `--records` entries sealed every `--per-day` records, times its
//! verification, then tampers with copies in every way an attacker could
//! (edit, edit and rehash, rewrite the rest, delete, truncate, reorder,
//! insert, change a seal) and checks that each is detected. The last line
//! is JSON (`verify_per_s`, `tamper_cases`, `detected`).
//!
//! The journal is built in memory: this measures the checking algorithm
//! (`parking_core::chain::verify`), which the stored journal's verifier
//! streams its rows through. The same journal, exported as JSON lines, is
//! checked by the independent verifier (`journal-verify`) too, untouched
//! and in every tampered copy. With `--stored sqlite|postgres` it is also
//! written to a fresh database and read back as `ledger verify` does.

use std::collections::BTreeMap;
use std::time::Instant;

use parking_core::chain::{self, Chain, Record, Seal};
use serde_json::json;

#[derive(clap::Args, Debug, Clone)]
pub struct LedgerArgs {
    /// Records in the journal.
    #[arg(long, default_value_t = 1_000_000)]
    pub records: u64,
    /// Records per sealed day.
    #[arg(long, default_value_t = 10_000)]
    pub per_day: u64,
    /// Also store the journal in a fresh database (`sqlite` or `postgres`)
    /// and time `lot-server ledger verify`'s reading of it.
    #[arg(long)]
    pub stored: Option<String>,
}

const LOT: &str = "bench-lot";

/// A fixed test seed: this is a bench, not a lot's key.
const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/// The same journal through the independent verifier (`journal-verify`),
/// from its JSON lines export, tampered and untouched.
fn independent(records: &[Record], seals: &[Seal], key: &str) -> anyhow::Result<(f64, Result<u64, String>)> {
    let mut text = String::with_capacity(records.len() * 260);
    text.push_str(&json!({ "journal": LOT }).to_string());
    text.push('\n');
    for r in records {
        text.push_str(&serde_json::to_string(r)?);
        text.push('\n');
    }
    for s in seals {
        text.push_str(&json!({ "seal": s }).to_string());
        text.push('\n');
    }
    let key = journal_verify::public_key(key).map_err(anyhow::Error::msg)?;
    let t = Instant::now();
    let out = journal_verify::verify(text.as_bytes(), &key).map(|s| s.records).map_err(|p| p.to_string());
    Ok((t.elapsed().as_secs_f64(), out))
}

/// Stores the journal in a fresh database and times reading it back
/// through [`crate::audit::verify`]; then edits a stored record.
async fn stored(
    db_kind: &str,
    records: &[Record],
    seals: &[Seal],
    public: &chain::JournalVerifyingKey,
) -> anyhow::Result<f64> {
    let test_db = match db_kind {
        "sqlite" => crate::testing::TestDb::sqlite().await?,
        "postgres" => crate::testing::TestDb::postgres().await?,
        other => anyhow::bail!("--stored must be sqlite or postgres, not {other}"),
    };
    let db = test_db.db.clone();
    crate::audit::init(&db, LOT).await?;
    let t = Instant::now();
    for chunk in records.chunks(50_000) {
        let items: Vec<crate::audit::Item> = chunk
            .iter()
            .map(|r| crate::audit::Item {
                key: String::new(),
                at_ms: r.at_ms,
                kind: r.kind.clone(),
                body: r.body.clone(),
            })
            .collect();
        let mut tx = db.begin_write().await?;
        crate::audit::append(&mut tx, db.backend, None, &items).await?;
        tx.commit().await?;
    }
    for s in seals {
        sqlx::query(
            "INSERT INTO journal_seals (day, last_seq, last_hash, totals, signature, public_key, sealed_ms) \
             VALUES ($1, $2, $3, $4, $5, '', 0)",
        )
        .bind(s.day.clone())
        .bind(i64::try_from(s.last_seq)?)
        .bind(s.last_hash.to_string())
        .bind(crate::db::json_text(&s.totals))
        .bind(s.signature.clone())
        .execute(&db.pool)
        .await?;
    }
    eprintln!("stored {} records in {:.1} s ({db_kind})", records.len(), t.elapsed().as_secs_f64());
    let t = Instant::now();
    let v = crate::audit::verify(&db, public).await?.map_err(|e| anyhow::anyhow!("the stored journal failed: {e}"))?;
    let secs = t.elapsed().as_secs_f64();
    anyhow::ensure!(v.records == records.len() as u64, "read back {} records", v.records);
    let mid = i64::try_from(records.len() / 2)?;
    sqlx::query("UPDATE journal_records SET body = body || ' ' WHERE seq = $1").bind(mid).execute(&db.pool).await?;
    let found = crate::audit::verify(&db, public).await?;
    anyhow::ensure!(
        found == Err(chain::Tamper::Edited { seq: u64::try_from(mid)? }),
        "a stored edit went unseen: {found:?}"
    );
    eprintln!("stored journal: verified in {:.0} ms; an edited row is found at seq {mid}", secs * 1e3);
    test_db.drop_db().await;
    Ok(records.len() as f64 / secs)
}

pub fn run(args: LedgerArgs) -> anyhow::Result<()> {
    let key = chain::signing_key(SEED)?;
    let public = key.verifying_key();
    let n = args.records.max(10);
    let per_day = args.per_day.clamp(1, n);
    let built = Instant::now();
    let mut c = Chain::start(LOT);
    let mut records: Vec<Record> = Vec::with_capacity(usize::try_from(n).unwrap_or(0));
    let mut seals = Vec::new();
    let mut revenue = 0i64;
    for i in 1..=n {
        let fee = i64::try_from(i % 9).unwrap_or(0) * 5_000;
        revenue += fee;
        let body = format!(
            r#"{{"gate":"exit-{}","credential":"tag:E2000000000000000{:07}","fee":{fee}}}"#,
            i % 4,
            i % 10_000_000
        );
        records.push(c.append(1_795_000_000_000 + i64::try_from(i).unwrap_or(0) * 1_000, "gate_decision", body));
        if i % per_day == 0 {
            let totals = BTreeMap::from([
                ("records".to_owned(), i64::try_from(i).unwrap_or(i64::MAX)),
                ("revenue_vnd".to_owned(), revenue),
            ]);
            seals.push(Seal::sign(&key, &format!("day-{}", i / per_day), &c, totals));
        }
    }
    let build_ms = built.elapsed().as_secs_f64() * 1e3;
    eprintln!("built {n} records and {} seals in {build_ms:.0} ms", seals.len());

    let t0 = Instant::now();
    let ok = chain::verify(LOT, &records, &seals, &public);
    let verify_s = t0.elapsed().as_secs_f64();
    let verified = ok.map_err(|e| anyhow::anyhow!("the untouched journal failed: {e}"))?;
    let per_s = n as f64 / verify_s;
    eprintln!(
        "verified {} records, {} seals in {:.0} ms: {per_s:.0} records/s",
        verified.records,
        verified.seals,
        verify_s * 1e3
    );

    let public_hex = chain::public_hex(&key);
    let (secs, out) = independent(&records, &seals, &public_hex)?;
    anyhow::ensure!(out == Ok(n), "the independent verifier refused the untouched journal: {out:?}");
    let independent_per_s = n as f64 / secs;
    eprintln!("journal-verify (from JSON lines): {independent_per_s:.0} records/s");
    let stored_per_s = match &args.stored {
        Some(kind) => Some(
            tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?
                .block_on(stored(kind, &records, &seals, &public))?,
        ),
        None => None,
    };

    // Tamper with copies, in the middle of a sealed stretch.
    let at = usize::try_from(n / 2).unwrap_or(0).min(records.len().saturating_sub(3));
    let sealed_len = usize::try_from((n / per_day) * per_day).unwrap_or(0);
    type Case = (&'static str, Box<dyn Fn(&mut Vec<Record>, &mut Vec<Seal>)>);
    let cases: Vec<Case> = vec![
        ("edited", Box::new(move |r, _| r[at].body.push(' '))),
        (
            "edited_and_rehashed",
            Box::new(move |r, _| {
                let x = &mut r[at];
                x.body.push(' ');
                x.hash = chain::record_hash(&x.prev, x.seq, x.at_ms, &x.kind, &x.body);
            }),
        ),
        (
            "rest_rewritten",
            Box::new(move |r, _| {
                r[at].body.push(' ');
                let mut c = Chain { last_seq: r[at - 1].seq, last_hash: r[at - 1].hash };
                for x in r.iter_mut().skip(at) {
                    *x = c.append(x.at_ms, &x.kind.clone(), x.body.clone());
                }
            }),
        ),
        (
            "deleted",
            Box::new(move |r, _| {
                r.remove(at);
            }),
        ),
        ("truncated", Box::new(move |r, _| r.truncate(sealed_len.saturating_sub(1)))),
        ("reordered", Box::new(move |r, _| r.swap(at, at + 1))),
        (
            "inserted",
            Box::new(move |r, _| {
                let mut c = Chain { last_seq: r[at - 1].seq, last_hash: r[at - 1].hash };
                let fake = c.append(r[at - 1].at_ms, "manual_open", r#"{"operator":"nobody"}"#.into());
                r.insert(at, fake);
            }),
        ),
        (
            "seal_totals_changed",
            Box::new(|_, s| {
                if let Some(x) = s.first_mut() {
                    x.totals.insert("revenue_vnd".into(), 0);
                }
            }),
        ),
    ];
    let (mut detected, mut independent_detected) = (0, 0);
    for (name, tamper) in &cases {
        let (mut r, mut s) = (records.clone(), seals.clone());
        tamper(&mut r, &mut s);
        match chain::verify(LOT, &r, &s, &public) {
            Err(e) => {
                detected += 1;
                eprintln!("  {name:<22} detected: {e}");
            }
            Ok(_) => eprintln!("  {name:<22} NOT DETECTED"),
        }
        match independent(&r, &s, &public_hex)?.1 {
            Err(p) => {
                independent_detected += 1;
                eprintln!("  {:<22} journal-verify: {p}", "");
            }
            Ok(_) => eprintln!("  {:<22} journal-verify: NOT DETECTED", ""),
        }
    }
    println!(
        "{}",
        json!({
            "records": n,
            "seals": seals.len(),
            "verify_ms": (verify_s * 1e4).round() / 10.0,
            "verify_per_s": per_s.round(),
            "independent_verify_per_s": independent_per_s.round(),
            "stored_verify_per_s": stored_per_s.map(f64::round),
            "tamper_cases": cases.len(),
            "detected": detected,
            "independent_detected": independent_detected,
        })
    );
    if detected != cases.len() || independent_detected != cases.len() {
        anyhow::bail!("{} tamper case(s) went undetected", cases.len() - detected);
    }
    Ok(())
}
