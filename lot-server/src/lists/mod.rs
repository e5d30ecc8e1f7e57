//! The lists the controllers decide from (allowed tags, deny list,
//! passes), derived from the registry and versioned.
//!
//! Every registry write takes the next version first (which also queues
//! registry writers one behind another), then [`refresh`] recomputes the
//! entries its change can affect and writes only those that differ, with
//! that version. A removed entry stays as a tombstone, so a delta can say
//! it went. Versions commit in order, so one read of `list_entries` is a
//! consistent snapshot, and the rows above a version are the delta from it.
//!
//! Deriving entries, and reading snapshots and deltas; the task that puts
//! them on the broker is `crate::mqtt::lists`.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use parking_core::ids::{Epc, LotId, Tid};
use parking_core::money::Vnd;
use parking_core::plate::Plate;
use parking_core::timestamp::Timestamp;
use parking_core::vehicle::VehicleClass;
use parking_core::wire::{DenyEntry, DenyReason, DenyTarget, ListsDelta, ListsSnapshot, PassEntry, TagEntry, V1};
use sha2::Digest as _;
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};

use crate::db::{Backend, CHUNK, Db, ISO_DATE, decode_error, json_text, parse_stored};

/// What a registry change may have affected; [`refresh`] widens it to
/// every entry that depends on these.
#[derive(Debug, Default)]
pub(crate) struct Touched {
    pub vehicles: BTreeSet<String>,
    pub accounts: BTreeSet<String>,
    /// EPCs (upper-case hex), including removed ones.
    pub epcs: BTreeSet<String>,
    /// Compact plates, including a vehicle's previous plate.
    pub plates: BTreeSet<String>,
    pub passes: BTreeSet<String>,
}

/// Takes the next lists version, in the caller's transaction.
pub(crate) async fn next_version(tx: &mut Transaction<'_, Any>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("UPDATE lists_meta SET version = version + 1 WHERE id = 1 RETURNING version")
        .fetch_one(&mut **tx)
        .await
}

/// Runs `sql` (with `{in}` where the list goes) once per chunk of `keys`.
async fn select_in(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    sql: &str,
    keys: impl IntoIterator<Item = &String>,
) -> Result<Vec<AnyRow>, sqlx::Error> {
    let keys: Vec<&String> = keys.into_iter().collect();
    let mut rows = Vec::new();
    for chunk in keys.chunks(CHUNK) {
        let text = sql.replace("{in}", &backend.params(1, chunk.len()));
        let mut q = sqlx::query(&text).persistent(false);
        for k in chunk {
            q = q.bind((*k).clone());
        }
        rows.extend(q.fetch_all(&mut **tx).await?);
    }
    Ok(rows)
}

/// Recomputes the entries `touched` can affect and writes those that
/// changed under `version`. Returns how many changed.
pub(crate) async fn refresh(
    tx: &mut Transaction<'_, Any>,
    backend: Backend,
    mut t: Touched,
    version: i64,
    now_ms: i64,
) -> Result<usize, sqlx::Error> {
    // Widen: an account's vehicles (their tags carry the account), then each
    // vehicle's plate, tags and passes.
    for row in select_in(tx, backend, "SELECT vehicle_id FROM vehicles WHERE account_id IN ({in})", &t.accounts).await?
    {
        t.vehicles.insert(row.try_get(0)?);
    }
    for row in select_in(tx, backend, "SELECT plate FROM vehicles WHERE vehicle_id IN ({in})", &t.vehicles).await? {
        t.plates.insert(row.try_get(0)?);
    }
    for row in select_in(tx, backend, "SELECT epc FROM tags WHERE vehicle_id IN ({in})", &t.vehicles).await? {
        t.epcs.insert(row.try_get(0)?);
    }
    for row in select_in(tx, backend, "SELECT pass_id FROM passes WHERE vehicle_id IN ({in})", &t.vehicles).await? {
        t.passes.insert(row.try_get(0)?);
    }

    // What each affected key should hold now (absent: nothing).
    let mut want: BTreeMap<String, Option<String>> = BTreeMap::new();
    for epc in &t.epcs {
        want.insert(format!("tag:{epc}"), None);
        want.insert(format!("deny:epc:{epc}"), None);
    }
    for plate in &t.plates {
        want.insert(format!("deny:plate:{plate}"), None);
    }
    for account in &t.accounts {
        want.insert(format!("deny:account:{account}"), None);
    }
    for pass in &t.passes {
        want.insert(format!("pass:{pass}"), None);
    }
    let tags_sql = "SELECT t.epc, t.tid, t.state, v.plate, v.class, v.state, a.account_id, a.state, a.balance_vnd, \
                    a.credit_limit_vnd FROM tags t JOIN vehicles v ON v.vehicle_id = t.vehicle_id \
                    LEFT JOIN accounts a ON a.account_id = v.account_id WHERE t.epc IN ({in})";
    for row in select_in(tx, backend, tags_sql, &t.epcs).await? {
        let epc_text: String = row.try_get(0)?;
        let epc: Epc = parse_stored("epc", &epc_text)?;
        let tid: Option<String> = row.try_get(1)?;
        let tag_state: String = row.try_get(2)?;
        let plate: String = row.try_get(3)?;
        let class: String = row.try_get(4)?;
        let vehicle_state: String = row.try_get(5)?;
        let account: Option<String> = row.try_get(6)?;
        let account_state: Option<String> = row.try_get(7)?;
        let balance: Option<i64> = row.try_get(8)?;
        let credit: Option<i64> = row.try_get(9)?;
        // An account pays only while it is active and not exhausted, and
        // only a fee within what it may still spend (the balance, plus the
        // credit limit: the lot's policy, per account; 0 means strictly
        // prepaid). Past that the exit asks for a transfer instead of
        // trapping the car.
        let spendable = balance.unwrap_or(0).saturating_add(credit.unwrap_or(0));
        let can_pay = account_state.as_deref() == Some("active") && spendable > 0;
        if tag_state == "active" {
            let entry = TagEntry {
                epc: epc.clone(),
                tid: tid.as_deref().map(|s| parse_stored::<Tid>("tid", s)).transpose()?,
                plate: Some(parse_stored::<Plate>("plate", &plate)?),
                class: parse_stored::<VehicleClass>("class", &class)?,
                // The account stays on the entry even when it cannot pay
                // (spendable 0: the exit asks for a transfer), so that the
                // gate still refuses the tag while the account is blocked.
                spendable: account.as_ref().map(|_| Vnd::new(if can_pay { spendable.max(0) } else { 0 })),
                account,
            };
            want.insert(format!("tag:{epc_text}"), Some(json_text(&entry)));
        }
        let reason = match (tag_state.as_str(), vehicle_state.as_str()) {
            ("stolen", _) | (_, "stolen") => Some(DenyReason::StolenVehicle),
            ("cloned", _) => Some(DenyReason::ClonedTag),
            ("blocked", _) => Some(DenyReason::BlockedTag),
            _ => None,
        };
        if let Some(reason) = reason {
            let entry = DenyEntry { target: DenyTarget::Epc(epc), reason };
            want.insert(format!("deny:epc:{epc_text}"), Some(json_text(&entry)));
        }
    }
    for row in
        select_in(tx, backend, "SELECT plate FROM vehicles WHERE state = 'stolen' AND plate IN ({in})", &t.plates)
            .await?
    {
        let plate: String = row.try_get(0)?;
        let entry =
            DenyEntry { target: DenyTarget::Plate(parse_stored("plate", &plate)?), reason: DenyReason::StolenVehicle };
        want.insert(format!("deny:plate:{plate}"), Some(json_text(&entry)));
    }
    let blocked = "SELECT account_id FROM accounts WHERE state = 'blocked' AND account_id IN ({in})";
    for row in select_in(tx, backend, blocked, &t.accounts).await? {
        let account: String = row.try_get(0)?;
        let entry = DenyEntry { target: DenyTarget::Account(account.clone()), reason: DenyReason::BlockedAccount };
        want.insert(format!("deny:account:{account}"), Some(json_text(&entry)));
    }
    let passes_sql = "SELECT p.pass_id, p.valid_from, p.valid_until, v.plate, v.class, \
                      (SELECT MIN(epc) FROM tags g WHERE g.vehicle_id = v.vehicle_id AND g.state = 'active') \
                      FROM passes p JOIN vehicles v ON v.vehicle_id = p.vehicle_id \
                      WHERE p.state = 'active' AND p.pass_id IN ({in})";
    for row in select_in(tx, backend, passes_sql, &t.passes).await? {
        let pass: String = row.try_get(0)?;
        let from: String = row.try_get(1)?;
        let until: String = row.try_get(2)?;
        let plate: String = row.try_get(3)?;
        let class: String = row.try_get(4)?;
        let epc: Option<String> = row.try_get(5)?;
        let entry = PassEntry {
            pass: pass.clone(),
            epc: epc.as_deref().map(|e| parse_stored::<Epc>("epc", e)).transpose()?,
            plate: Some(parse_stored("plate", &plate)?),
            class: parse_stored("class", &class)?,
            valid_from: time::Date::parse(&from, ISO_DATE).map_err(|e| decode_error("valid_from", e))?,
            valid_until: time::Date::parse(&until, ISO_DATE).map_err(|e| decode_error("valid_until", e))?,
        };
        want.insert(format!("pass:{pass}"), Some(json_text(&entry)));
    }

    // Write only what differs from what the controllers hold.
    let mut held: HashMap<String, Option<String>> = HashMap::new();
    for row in
        select_in(tx, backend, "SELECT entry_key, entry FROM list_entries WHERE entry_key IN ({in})", want.keys())
            .await?
    {
        held.insert(row.try_get(0)?, row.try_get(1)?);
    }
    let changed: Vec<(&String, &Option<String>)> = want
        .iter()
        .filter(|(k, v)| match held.get(*k) {
            Some(h) => h != *v,
            None => v.is_some(),
        })
        .collect();
    for chunk in changed.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO list_entries (entry_key, entry, version) VALUES {} \
             ON CONFLICT (entry_key) DO UPDATE SET entry = excluded.entry, version = excluded.version",
            backend.placeholders(chunk.len(), 3)
        );
        let mut q = sqlx::query(&sql).persistent(false);
        for (k, v) in chunk {
            q = q.bind((*k).clone()).bind((*v).clone()).bind(version);
        }
        q.execute(&mut **tx).await?;
    }
    // Each list version into the tamper-evident journal: the entries it
    // changed, each named by the SHA-256 of what it now holds (none: removed).
    if let Some((first, _)) = changed.first() {
        let entries: Vec<serde_json::Value> = changed
            .iter()
            .map(|(k, v)| {
                let digest = v.as_ref().map(|v| hex::encode(sha2::Sha256::digest(v.as_bytes())));
                serde_json::json!({ "key": k, "entry_sha256": digest })
            })
            .collect();
        let body = serde_json::json!({ "version": version, "entries": entries });
        let item = crate::audit::Item::new(format!("lists:{version}:{first}"), now_ms, "lists_version", &body);
        crate::audit::queue(tx, backend, &[item]).await?;
    }
    Ok(changed.len())
}

/// One entry of the lists, decoded from its row.
enum Entry {
    Tag(TagEntry),
    Deny(DenyEntry),
    Pass(PassEntry),
}

fn decode_entry(key: &str, json: &str) -> Result<Entry, sqlx::Error> {
    let bad = |e: serde_json::Error| decode_error(key, e);
    Ok(if key.starts_with("tag:") {
        Entry::Tag(serde_json::from_str(json).map_err(bad)?)
    } else if key.starts_with("deny:") {
        Entry::Deny(serde_json::from_str(json).map_err(bad)?)
    } else {
        Entry::Pass(serde_json::from_str(json).map_err(bad)?)
    })
}

/// The whole lists, as of the last committed version.
pub async fn snapshot(db: &Db, lot: &LotId, now: Timestamp) -> Result<ListsSnapshot, sqlx::Error> {
    let rows = sqlx::query("SELECT entry_key, entry, version FROM list_entries").fetch_all(&db.pool).await?;
    let mut s = ListsSnapshot {
        v: V1,
        lot: lot.clone(),
        version: 0,
        issued_at: now,
        tags: vec![],
        deny: vec![],
        passes: vec![],
    };
    for row in &rows {
        let version: i64 = row.try_get(2)?;
        s.version = s.version.max(u64::try_from(version).unwrap_or(0));
        let key: String = row.try_get(0)?;
        let Some(json) = row.try_get::<Option<String>, _>(1)? else { continue };
        match decode_entry(&key, &json)? {
            Entry::Tag(t) => s.tags.push(t),
            Entry::Deny(d) => s.deny.push(d),
            Entry::Pass(p) => s.passes.push(p),
        }
    }
    Ok(s)
}

/// The lists' version and sizes, counted in the database (an operator's
/// dashboard asks often; a snapshot of a large lot is megabytes).
pub async fn summary(db: &Db) -> Result<serde_json::Value, sqlx::Error> {
    let row = sqlx::query(
        "SELECT COALESCE(MAX(version), 0), \
         COUNT(CASE WHEN entry IS NOT NULL AND entry_key LIKE 'tag:%' THEN 1 END), \
         COUNT(CASE WHEN entry IS NOT NULL AND entry_key LIKE 'deny:%' THEN 1 END), \
         COUNT(CASE WHEN entry IS NOT NULL AND entry_key LIKE 'pass:%' THEN 1 END) FROM list_entries",
    )
    .fetch_one(&db.pool)
    .await?;
    let (version, tags, deny, passes): (i64, i64, i64, i64) =
        (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?, row.try_get(3)?);
    Ok(serde_json::json!({ "version": version, "tags": tags, "deny": deny, "passes": passes }))
}

/// What changed after `from`, as one delta; `None` if nothing did.
pub async fn delta_since(db: &Db, lot: &LotId, from: u64, now: Timestamp) -> Result<Option<ListsDelta>, sqlx::Error> {
    let rows = sqlx::query("SELECT entry_key, entry, version FROM list_entries WHERE version > $1")
        .bind(i64::try_from(from).unwrap_or(i64::MAX))
        .fetch_all(&db.pool)
        .await?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut d = ListsDelta {
        v: V1,
        lot: lot.clone(),
        from_version: from,
        to_version: from,
        issued_at: now,
        upsert_tags: vec![],
        remove_tags: vec![],
        upsert_deny: vec![],
        remove_deny: vec![],
        upsert_passes: vec![],
        remove_passes: vec![],
    };
    for row in &rows {
        let version: i64 = row.try_get(2)?;
        d.to_version = d.to_version.max(u64::try_from(version).unwrap_or(0));
        let key: String = row.try_get(0)?;
        match row.try_get::<Option<String>, _>(1)? {
            Some(json) => match decode_entry(&key, &json)? {
                Entry::Tag(t) => d.upsert_tags.push(t),
                Entry::Deny(e) => d.upsert_deny.push(e),
                Entry::Pass(p) => d.upsert_passes.push(p),
            },
            None => removal(&mut d, &key)?,
        }
    }
    Ok(Some(d))
}

/// A tombstone's key, as the removal a delta carries.
fn removal(d: &mut ListsDelta, key: &str) -> Result<(), sqlx::Error> {
    if let Some(epc) = key.strip_prefix("tag:") {
        d.remove_tags.push(parse_stored("epc", epc)?);
    } else if let Some(epc) = key.strip_prefix("deny:epc:") {
        d.remove_deny.push(DenyTarget::Epc(parse_stored("epc", epc)?));
    } else if let Some(plate) = key.strip_prefix("deny:plate:") {
        d.remove_deny.push(DenyTarget::Plate(parse_stored("plate", plate)?));
    } else if let Some(account) = key.strip_prefix("deny:account:") {
        d.remove_deny.push(DenyTarget::Account(account.to_owned()));
    } else if let Some(pass) = key.strip_prefix("pass:") {
        d.remove_passes.push(pass.to_owned());
    } else {
        return Err(decode_error("list entry key", key));
    }
    Ok(())
}
