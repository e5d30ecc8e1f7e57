//! The run's setup, through the lot server's API as an admin would do it:
//! fleet accounts (topped up by bank transfer), the trace's tagged
//! vehicles with their tags bound to TIDs, monthly passes, and the
//! deny-listed tag (registered as stolen). What already exists (a replay
//! of the same trace) is reused, so a run can be repeated.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use parking_core::Epc;
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

use super::SimSettings;
use crate::http::Http;
use crate::traffic::{Actor, CredentialKind, Visit};

/// What the setup made, for the lanes and the check.
#[derive(Debug, Default)]
pub struct Registered {
    /// Each registered tag's TID (hex), by EPC.
    pub tids: HashMap<Epc, String>,
    /// Fleet accounts made, and what was transferred to them.
    pub accounts: usize,
    pub topped_up_vnd: i64,
}

/// The TID bound to vehicle `n`'s tag at registration (8 bytes, hex).
pub fn tid_of(n: u64) -> String {
    format!("E28011{:010X}", n & 0xFF_FFFF_FFFF)
}

/// The TID a tag was registered with (or would have been).
pub fn registered_tid(reg: &Registered, epc: &Epc, vehicle: u64) -> String {
    reg.tids.get(epc).cloned().unwrap_or_else(|| tid_of(vehicle))
}

/// A clone's TID: the same EPC on another chip.
pub fn clone_tid(n: u64) -> String {
    format!("E28068{:010X}", n & 0xFF_FFFF_FFFF)
}

/// Unique per run, so bank references and owner ids never collide with an
/// earlier run's.
fn run_nonce() -> u64 {
    u64::try_from(parking_runtime::Clock::wall().now_ms()).unwrap_or(0) % 1_000_000_000
}

async fn create_or_find(http: &Http, path: &str, body: Value, find: Option<String>) -> anyhow::Result<Value> {
    let auth = [("authorization", format!("Bearer {}", http.token))];
    let (status, v) = http.send("POST", path, &auth, body.to_string()).await?;
    match (status, find) {
        (200..=299, _) => Ok(v),
        (409, Some(found)) => {
            let existing = http.api("GET", &found, None).await?;
            Ok(match existing {
                Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
                Value::Array(_) => bail!("POST {path} conflicts, yet GET {found} finds nothing"),
                other => other,
            })
        }
        (409, None) => Ok(Value::Null),
        _ => bail!("POST {path}: {status} {v}"),
    }
}

/// One vehicle's registration: the vehicle, its tag, its pass.
async fn register_vehicle(http: &Http, v: &Visit, account: Option<String>, tid: &str) -> anyhow::Result<()> {
    let Some(epc) = &v.epc else { return Ok(()) };
    let plate = v.plate.to_string();
    let vehicle = create_or_find(
        http,
        "/api/v1/vehicles",
        json!({ "plate": plate, "class": v.class.as_str(), "account_id": account }),
        Some(format!("/api/v1/vehicles?plate={}", v.plate.compact())),
    )
    .await?;
    let vehicle_id = vehicle["vehicle_id"].as_str().context("a vehicle without an id")?.to_owned();
    let state = if v.actor == Actor::Denylisted { "stolen" } else { "active" };
    create_or_find(
        http,
        "/api/v1/tags",
        json!({ "epc": epc.to_string(), "tid": tid, "vehicle_id": vehicle_id, "state": state }),
        None,
    )
    .await?;
    if v.credential == CredentialKind::Pass {
        let day = v.entry_at.local_date();
        let until = day.checked_add(time::Duration::days(30)).unwrap_or(day);
        let iso = |d: time::Date| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day());
        create_or_find(
            http,
            "/api/v1/passes",
            json!({ "vehicle_id": vehicle_id, "valid_from": iso(day), "valid_until": iso(until), "price_vnd": 300_000 }),
            None,
        )
        .await?;
    }
    Ok(())
}

/// A fleet account: its owner, the account, and a top-up by transfer.
async fn fleet_account(http: &Http, n: usize, nonce: u64, amount: i64) -> anyhow::Result<String> {
    let id_number = format!("{:012}", (nonce * 1_000 + n as u64) % 1_000_000_000_000);
    let owner = http
        .api("POST", "/api/v1/owners", Some(json!({ "name": format!("Đội xe mô phỏng {n}"), "id_number": id_number })))
        .await?;
    let account = http.api("POST", "/api/v1/accounts", Some(json!({ "owner_id": owner["owner_id"] }))).await?;
    let id = account["account_id"].as_str().context("an account without an id")?.to_owned();
    let code = account["topup_code"].as_str().context("an account without a top-up code")?;
    let (status, v) = http.pay(nonce * 100_000 + n as u64, amount, &format!("NAP TIEN {code}")).await?;
    if status != 200 {
        bail!("top-up of {id}: {status} {v}");
    }
    Ok(id)
}

/// Registers what the visits need, `sim.setup_concurrency` calls at a time.
pub async fn register(http: &Arc<Http>, sim: &SimSettings, visits: &[Visit]) -> anyhow::Result<Registered> {
    let mut reg = Registered::default();
    // Each tag once, with the first visit that carries it.
    let mut tagged: Vec<&Visit> = Vec::new();
    for v in visits {
        if let Some(epc) = &v.epc {
            if !reg.tids.contains_key(epc) {
                reg.tids.insert(epc.clone(), tid_of(v.vehicle));
                tagged.push(v);
            }
        }
    }
    let fleet: Vec<&Visit> = tagged.iter().copied().filter(|v| v.credential == CredentialKind::Tag).collect();
    let per = sim.vehicles_per_account.max(1);
    let nonce = run_nonce();
    let limit = Arc::new(Semaphore::new(sim.setup_concurrency.max(1)));
    let mut tasks = JoinSet::new();
    for n in 0..fleet.len().div_ceil(per) {
        let (http, limit, amount) = (Arc::clone(http), Arc::clone(&limit), sim.topup_vnd);
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            Ok::<_, anyhow::Error>((n, fleet_account(&http, n, nonce, amount).await?))
        });
    }
    let mut accounts = vec![String::new(); fleet.len().div_ceil(per)];
    while let Some(done) = tasks.join_next().await {
        let (n, id) = done??;
        accounts[n] = id;
    }
    reg.accounts = accounts.len();
    reg.topped_up_vnd = sim.topup_vnd * accounts.len() as i64;
    let account_of: HashMap<u64, String> =
        fleet.iter().enumerate().map(|(i, v)| (v.vehicle, accounts[i / per].clone())).collect();
    let mut tasks = JoinSet::new();
    for v in tagged {
        let (http, limit, v) = (Arc::clone(http), Arc::clone(&limit), v.clone());
        let account = account_of.get(&v.vehicle).cloned();
        let tid = tid_of(v.vehicle);
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await?;
            register_vehicle(&http, &v, account, &tid)
                .await
                .with_context(|| format!("registering vehicle {}", v.vehicle))
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(reg)
}

/// Waits until the controllers hold the lists the setup made: their
/// `/health` reports the server's list version, or, with none named, a
/// settling time.
pub async fn wait_for_lists(http: &Http, sim: &SimSettings) -> anyhow::Result<()> {
    let version = http.api("GET", "/api/v1/lists", None).await?["version"].as_u64().unwrap_or(0);
    if sim.controllers.is_empty() {
        tokio::time::sleep(Duration::from_millis(sim.lists_settle_ms)).await;
        return Ok(());
    }
    for addr in &sim.controllers {
        wait_lists_at(addr, version).await?;
    }
    Ok(())
}

/// Waits until the controller whose `/health` is at `addr` (HOST:PORT)
/// holds lists `version` or later.
pub async fn wait_lists_at(addr: &str, version: u64) -> anyhow::Result<()> {
    for _ in 0..600 {
        if let Some(body) = plain_get(addr, "/health").await {
            let held = serde_json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v["lists_version"].as_u64());
            if held.is_some_and(|h| h >= version) {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the controller at {addr} never reached lists version {version}")
}

/// The body of `GET path` from a controller's plain HTTP endpoint at
/// `addr` (HOST:PORT), or None if it does not answer.
pub async fn plain_get(addr: &str, path: &str) -> Option<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes()).await.ok()?;
    let mut buf = String::new();
    s.read_to_string(&mut buf).await.ok()?;
    buf.split_once("\r\n\r\n").map(|(_, b)| b.to_owned())
}
