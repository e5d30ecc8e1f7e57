//! `sim soak --days N`: N busy days on the simulated clock against the
//! lot server and the controller running as their own processes, sampled
//! at the end of every simulated day; the verdict fails if memory keeps
//! growing, a write-ahead log passes its bound, or read-to-open p99
//! drifts up, or if the books do not match the traffic.
//!
//! Parts:
//! - this file: the run (the days' traffic, the lot's files, setup on a
//!   slow clock, then the processes restarted on the fast one);
//! - [`procs`]: the lot's processes, their memory, their stop;
//! - [`sample`]: a day's sample, the verdict, the table.
//!
//! The lot is the demo's ([`crate::lot_files`]). Its accounts and tags are
//! registered while the processes run on a clock that stands near the
//! first day's start (1× real time); then both are restarted on a clock
//! `--speed` times faster, anchored a few seconds ahead so that the
//! simulator's clock and theirs read the same.

pub mod procs;
pub mod sample;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use parking_core::Timestamp;
use parking_core::secret::Secret;
use parking_runtime::Clock;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

use crate::http::Http;
use crate::lot_files::{self, HMAC, free_port, secret_file};
use crate::run::{RunSettings, SimSettings, Speed, check, setup};
use crate::traffic::Visit;
use crate::traffic::generate::{TrafficSettings, generate};
use procs::Proc;
use sample::DaySample;

const OPEN_HISTOGRAM: &str = "parking_controller_open_latency_seconds";

#[derive(clap::Args, Debug)]
pub struct SoakArgs {
    /// Simulated days.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// Visits a day.
    #[arg(long, default_value_t = 3_000)]
    pub visits: usize,
    #[arg(long, default_value_t = 20_261_123)]
    pub seed: u64,
    /// How many times faster than real time the days run.
    #[arg(long, default_value_t = 3_600.0)]
    pub speed: f64,
    /// Where the lot's data and logs go; a fresh temporary directory by default.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// Where `lot-server` and `controller` are; beside `sim` by default.
    #[arg(long)]
    pub bin_dir: Option<PathBuf>,
}

/// `days` days of seeded traffic, each day's vehicles numbered after the
/// days before.
fn traffic(args: &SoakArgs) -> anyhow::Result<Vec<Visit>> {
    let base = TrafficSettings { visits: args.visits, seed: args.seed, ..TrafficSettings::default() };
    let mut visits = Vec::new();
    for d in 0..args.days {
        let day = base.day.checked_add(time::Duration::days(d.into())).context("a day out of range")?;
        let first_vehicle = 1 + u64::from(d) * u64::try_from(args.visits)?;
        let t = TrafficSettings { seed: args.seed.wrapping_add(d.into()), day, first_vehicle, ..base.clone() };
        visits.extend(generate(&t)?);
    }
    visits.sort_by_key(|v| (v.entry_at, v.vehicle));
    Ok(visits)
}

/// What the sampler reads each day.
struct Watched {
    dir: PathBuf,
    metrics: String,
    procs: Arc<Mutex<Vec<Proc>>>,
}

/// Samples at the end of each of `days` simulated days after `first`.
async fn sample_days(w: Watched, clock: Clock, first: Timestamp, days: u32, stop: CancellationToken) -> Vec<DaySample> {
    let mut out = Vec::new();
    let mut before = Vec::new();
    let mut date = first.local_date();
    for day in 1..=days {
        let Some(next) = date.next_day() else { break };
        let end = Timestamp::from_local(next.midnight());
        while clock.now() < end {
            let wait = clock.real_wait(end).clamp(Duration::from_millis(20), Duration::from_secs(1));
            tokio::select! {
                () = stop.cancelled() => return out,
                () = tokio::time::sleep(wait) => {}
            }
        }
        let after = match setup::plain_get(&w.metrics, "/metrics").await {
            Some(text) => sample::buckets(&text, OPEN_HISTOGRAM),
            None => before.clone(),
        };
        let (opens, open_p99_ms) = sample::quantile_between(&before, &after, 0.99);
        before = after;
        let procs = w.procs.lock().await;
        let rss = |name: &str| procs.iter().find(|p| p.name == name).and_then(|p| p.rss_kib().ok()).unwrap_or(0);
        out.push(DaySample {
            day,
            date: date.to_string(),
            server_rss_kib: rss("lot server"),
            controller_rss_kib: rss("controller"),
            server_db_bytes: procs::size(&w.dir.join("lot-server.sqlite")),
            server_wal_bytes: procs::size(&w.dir.join("lot-server.sqlite-wal")),
            controller_db_bytes: procs::size(&w.dir.join("controller.sqlite")),
            controller_wal_bytes: procs::size(&w.dir.join("controller.sqlite-wal")),
            opens,
            open_p99_ms: open_p99_ms.map(|p| (p * 100.0).round() / 100.0),
        });
        date = next;
    }
    out
}

fn wall_ms() -> i64 {
    Clock::wall().now_ms()
}

/// `sim soak`: Ok if the verdict and the books pass.
pub async fn soak(args: SoakArgs) -> anyhow::Result<()> {
    anyhow::ensure!((1..=366).contains(&args.days), "--days must be 1 to 366");
    anyhow::ensure!((1.0..=100_000.0).contains(&args.speed), "--speed must be 1 to 100000");
    if std::env::var("PARKING_CLOCK").is_ok_and(|v| !v.trim().is_empty()) {
        anyhow::bail!("sim soak sets the lot's clock: unset PARKING_CLOCK");
    }
    let bins = procs::bin_dir(args.bin_dir.as_deref())?;
    let visits = traffic(&args)?;
    let first = visits.iter().map(|v| v.entry_at).min().context("no visits")?;
    let start = Timestamp::from_unix_millis(first.unix_millis() - 3_600_000).context("the first day's start")?;
    let clock = Clock::held(start, args.speed);
    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("parking-soak-{}", std::process::id())),
    };
    let ports = lot_files::Ports { broker: free_port()?, http: free_port()?, metrics: free_port()? };
    let (relays_tx, relays) = tokio::sync::mpsc::unbounded_channel();
    let (_board_host, board) = lot_files::relay_board(relays_tx)?;
    lot_files::write(&dir, ports, &board, &std::collections::BTreeMap::new())?;
    let server_cfg = dir.join("lot-server.toml");
    let settings = lot_server::settings::Settings::load(std::slice::from_ref(&server_cfg))?;
    let db = lot_server::db::Db::connect(settings.database.url.expose()).await?;
    db.migrate().await?;
    let admin = lot_server::tokens::create(&db, lot_server::tokens::Role::Admin, "soak", start.unix_millis()).await?;
    db.close().await;

    let metrics = format!("127.0.0.1:{}", ports.metrics);
    let start_server = |clock: &str| {
        Proc::start("lot server", &bins.join("lot-server"), &server_cfg, clock, &dir.join("lot-server.log"))
    };
    let start_controller = |clock: &str| {
        Proc::start(
            "controller",
            &bins.join("controller"),
            &dir.join("controller.toml"),
            clock,
            &dir.join("controller.log"),
        )
    };
    // Setup on a clock at real speed from the first day's start.
    let slow = format!("{start}@{}*1", wall_ms());
    let procs = Arc::new(Mutex::new(vec![start_server(&slow)?]));
    let http =
        Http::new(&format!("http://127.0.0.1:{}", ports.http), admin.token.clone(), Secret::new(HMAC), clock.clone());
    http.wait_ready(60).await?;
    procs.lock().await.push(start_controller(&slow)?);
    eprintln!(
        "soak: {} days of {} visits in {} (lot server and controller from {}), {}× once the traffic starts",
        args.days,
        args.visits,
        dir.display(),
        bins.display(),
        args.speed
    );

    let mut broker = settings.broker.clone();
    broker.username = Some("sim-devices".into());
    broker.password_file = Some(secret_file(&dir, "sim-devices"));
    let run = RunSettings {
        lot: settings.lot.clone(),
        broker,
        sim: SimSettings {
            server: http.base.clone(),
            token: Secret::new(admin.token),
            sepay_hmac_secret: Secret::new(HMAC),
            controllers: vec![metrics.clone()],
            lists_settle_ms: 0,
            setup_concurrency: 8,
            vehicles_per_account: 20,
            topup_vnd: 100_000_000,
            timeout_s: 10,
            plate_misread: crate::run::camera::default_misread(),
            plate_missed: crate::run::camera::default_missed(),
            llrp_readers: std::collections::BTreeMap::new(),
        },
        traffic: TrafficSettings::default(),
        clock: clock.clone(),
        llrp: crate::run::llrp::Readers::default(),
    };
    let stop = CancellationToken::new();
    let watched = Watched { dir: dir.clone(), metrics: metrics.clone(), procs: procs.clone() };
    let sampler = tokio::spawn(sample_days(watched, clock.clone(), first, args.days, stop.clone()));
    // Between setup and traffic: both processes again, on the fast clock.
    let restart = async |http: &Http| -> anyhow::Result<()> {
        let mut p = procs.lock().await;
        while let Some(proc) = p.pop() {
            let name = proc.name;
            anyhow::ensure!(proc.stop().await, "the {name} did not stop cleanly after the setup");
        }
        let anchor = wall_ms() + 8_000;
        clock.release_at(anchor);
        let fast = format!("{start}@{anchor}*{}", args.speed);
        p.push(start_server(&fast)?);
        http.wait_ready(60).await?;
        p.push(start_controller(&fast)?);
        drop(p);
        setup::wait_for_lists(http, &run.sim).await
    };
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let result = crate::run::replay_with(&run, visits, Speed::Times(args.speed), progress, Some(relays), restart).await;
    stop.cancel();
    let days = sampler.await.unwrap_or_default();
    let mut clean = true;
    for proc in std::mem::take(&mut *procs.lock().await).into_iter().rev() {
        clean &= proc.stop().await;
    }
    let summary = result?;
    check::print(&summary);
    let mut failed = sample::verdict(&days, sample::Bounds::default());
    if days.len() < usize::try_from(args.days)? {
        failed.push(format!("only {} of {} days were sampled", days.len(), args.days));
    }
    if !summary.ok() {
        failed.push("the books do not match the traffic (see the summary above)".into());
    }
    if !clean {
        failed.push("a process did not stop cleanly on SIGTERM".into());
    }
    eprint!("{}", sample::table(&days));
    for f in &failed {
        eprintln!("FAILED: {f}");
    }
    println!("{}", serde_json::json!({ "days": days, "failed": failed, "ok": failed.is_empty() }));
    anyhow::ensure!(failed.is_empty(), "the soak failed: {}", failed.join("; "));
    Ok(())
}
