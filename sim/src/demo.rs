//! `sim demo`: the whole system on one machine with nothing installed.
//!
//! In one process: the lot server (embedded MQTT broker, SQLite in a fresh
//! directory), one controller with two entry and two exit lanes (devices
//! on the broker), and the simulator. The clock is simulated
//! (`parking_runtime::Clock::held`), so a seeded busy day passes in well under a
//! minute and is still priced, journaled and reported as a day. Then it
//! prints the run's summary, the day's revenue report, the operator's
//! address and login, and serves until Ctrl-C (or ends, with `--exit`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use parking_core::secret::Secret;
use parking_runtime::Clock;
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use crate::http::Http;
use crate::run::{RunSettings, SimSettings, Speed, check};
use crate::traffic::generate::TrafficSettings;

use crate::lot_files::{self, HMAC, LOT, free_port, secret_file};

#[derive(clap::Args, Debug)]
pub struct DemoArgs {
    /// Visits in the day.
    #[arg(long, default_value_t = 5_000)]
    pub visits: usize,
    #[arg(long, default_value_t = 20_261_123)]
    pub seed: u64,
    /// How many times faster than real time the day runs (the clock's speed).
    #[arg(long, default_value_t = 3_600.0)]
    pub speed: f64,
    /// The lot server's HTTP port (the API and the operator's address); 0 picks one.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// Where the lot's data go (database, controller journal, invoices); a fresh temporary directory by default.
    #[arg(long)]
    pub dir: Option<PathBuf>,
    /// End after the report instead of serving until Ctrl-C.
    #[arg(long)]
    pub exit: bool,
    /// The lanes' UHF readers are fixed LLRP readers (played on loopback
    /// TCP) instead of MQTT reader bridges. No cloned tag in the day: an
    /// LLRP reader reports no TID to tell one by.
    #[arg(long)]
    pub llrp: bool,
}

/// `sim demo`.
pub async fn demo(args: DemoArgs) -> anyhow::Result<()> {
    anyhow::ensure!((1.0..=100_000.0).contains(&args.speed), "--speed must be 1 to 100000");
    let mut traffic = TrafficSettings { visits: args.visits, seed: args.seed, ..TrafficSettings::default() };
    if args.llrp {
        traffic.cloned = 0;
    }
    let visits = crate::traffic::generate::generate(&traffic)?;
    let first = visits.iter().map(|v| v.entry_at).min().context("no visits")?;
    // The clock stands at the evening before while accounts are opened
    // and tags registered, and starts running when the traffic does.
    let start = first.unix_millis() - 3_600_000;
    if std::env::var("PARKING_CLOCK").is_ok_and(|v| !v.trim().is_empty()) {
        anyhow::bail!("sim demo sets its own clock: unset PARKING_CLOCK");
    }
    let start_at = parking_core::Timestamp::from_unix_millis(start).context("the day's start")?;
    // One clock for the whole lot: held through the setup, released when
    // the traffic starts.
    let clock = Clock::held(start_at, args.speed);

    let dir = match &args.dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("parking-demo-{}", std::process::id())),
    };
    let broker_port = free_port()?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port))
        .await
        .with_context(|| format!("cannot listen on 127.0.0.1:{} (another demo? try --port 0)", args.port))?;
    let http_port = listener.local_addr()?.port();
    let metrics_port = free_port()?;
    let (relays_tx, relays) = tokio::sync::mpsc::unbounded_channel();
    let (_board_host, board_path) = lot_files::relay_board(relays_tx)?;
    let ports = lot_files::Ports { broker: broker_port, http: http_port, metrics: metrics_port };
    // The LLRP readers listen before the controller connects to them.
    let gates = lot_files::GATES.iter().filter_map(|(g, _)| g.parse().ok());
    let addrs = if args.llrp { gates.map(|g| (g, "127.0.0.1:0".to_owned())).collect() } else { BTreeMap::new() };
    let (readers, llrp_ports) = crate::run::llrp::Readers::start(&addrs).await?;
    lot_files::write(&dir, ports, &board_path, &llrp_ports)?;
    let mut server_settings = lot_server::settings::Settings::load(&[dir.join("lot-server.toml")])?;
    server_settings.clock = clock.clone();
    let mut ctl_settings = controller::settings::Settings::load(&[dir.join("controller.toml")])?;
    ctl_settings.clock = clock.clone();
    // The simulator's devices connect as their own broker user, with the
    // secret the server writes on start.
    let mut sim_broker = server_settings.broker.clone();
    sim_broker.username = Some("sim-devices".into());
    sim_broker.password_file = Some(secret_file(&dir, "sim-devices"));

    // Logins, made before the server starts.
    let db = lot_server::db::Db::connect(server_settings.database.url.expose()).await?;
    db.migrate().await?;
    let now = clock.now_ms();
    let admin = lot_server::tokens::create(&db, lot_server::tokens::Role::Admin, "demo-simulator", now).await?.token;
    let operator =
        lot_server::tokens::create(&db, lot_server::tokens::Role::Operator, "demo-operator", now).await?.token;
    // People sign in to the page with a name and a password (generated,
    // printed below); the operator's token is for curl.
    let person = |username: &str, name: &str, role| lot_server::people::users::NewUser {
        username: username.into(),
        display_name: Some(name.into()),
        role,
        password: None,
    };
    let mut people = Vec::new();
    for new in [
        person("dieu.hanh", "Điều hành (demo)", lot_server::tokens::Role::Operator),
        person("can.bo.thue", "Cán bộ thuế (demo)", lot_server::tokens::Role::TaxOfficer),
        person("quan.tri", "Quản trị (demo)", lot_server::tokens::Role::Admin),
    ] {
        let made = lot_server::people::users::create(&db, new, now).await?;
        people.push((made.user.username, made.user.role, made.generated_password.unwrap_or_default()));
    }

    let shutdown = CancellationToken::new();
    let server = tokio::spawn(lot_server::run(server_settings.clone(), listener, shutdown.clone()));
    let http = Http::new(&format!("http://127.0.0.1:{http_port}"), admin.clone(), Secret::new(HMAC), clock.clone());
    http.wait_ready(30).await?;
    let controller = tokio::spawn(controller::runtime::run(ctl_settings, shutdown.clone()));
    let readers_said = if args.llrp { ", their UHF readers LLRP readers on loopback TCP" } else { "" };
    eprintln!(
        "demo lot {LOT} in {}: lot server on http://127.0.0.1:{http_port}/, embedded broker on 127.0.0.1:{broker_port}, \
         controller with 4 lanes, their barriers on a Modbus RTU relay board at {board_path}{readers_said}; \
         the clock stands at {} and runs {}× once the traffic starts",
        dir.display(),
        clock.now().local_short(),
        args.speed
    );

    let watch = format!(
        "MQTT: watch the lanes with mosquitto_sub -h 127.0.0.1 -p {broker_port} -u demo-viewer -P \"$(cat {})\" -t '{}' -v",
        secret_file(&dir, "demo-viewer").display(),
        parking_core::wire::Topics::new(LOT.parse()?).all_gates(parking_core::wire::GateTopic::Display)
    );
    eprintln!("{watch}");
    let run = RunSettings {
        lot: server_settings.lot.clone(),
        broker: sim_broker,
        sim: SimSettings {
            server: http.base.clone(),
            token: Secret::new(admin),
            sepay_hmac_secret: Secret::new(HMAC),
            controllers: vec![format!("127.0.0.1:{metrics_port}")],
            lists_settle_ms: 0,
            setup_concurrency: 8,
            vehicles_per_account: 20,
            topup_vnd: 10_000_000,
            timeout_s: 10,
            plate_misread: crate::run::camera::default_misread(),
            plate_missed: crate::run::camera::default_missed(),
            llrp_readers: BTreeMap::new(),
        },
        traffic,
        clock: clock.clone(),
        llrp: readers,
    };
    let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let summary = crate::run::replay(&run, visits, Speed::Times(args.speed), progress, Some(relays)).await?;
    // From the evening the accounts were topped up to the day after.
    let (from, day) =
        (parking_core::Timestamp::from_unix_millis(start).unwrap_or(first).local_date(), first.local_date());
    let to = day.next_day().unwrap_or(day);
    let report = http.api("GET", &format!("/api/v1/reports/revenue?from={from}&to={to}"), None).await?;
    print_report(&report);
    eprintln!();
    eprintln!("Operator: http://127.0.0.1:{http_port}/  (API: /api/v1/…, /openapi.json)");
    for (username, role, password) in &people {
        eprintln!("  sign in as {username} ({role}), password {password}");
    }
    eprintln!("  API: curl -H 'authorization: Bearer {operator}' http://127.0.0.1:{http_port}/api/v1/exceptions");
    eprintln!("Drivers: http://127.0.0.1:{http_port}/driver/  (free spaces, prices, what a stay owes, receipts)");
    eprintln!("{watch}");
    print_free(&http.api("GET", "/api/v1/public/availability", None).await?);
    check::print(&summary);
    if !args.exit {
        eprintln!("serving until Ctrl-C");
        parking_runtime::shutdown::signalled().await;
    }
    shutdown.cancel();
    let _ = tokio::time::timeout(Duration::from_secs(10), controller).await;
    let _ = tokio::time::timeout(Duration::from_secs(10), server).await;
    if !summary.ok() {
        anyhow::bail!("the books do not match the run (see the summary above)");
    }
    Ok(())
}

/// Free spaces per class at the end of the run, as drivers see them.
fn print_free(v: &Value) {
    for lot in v["lots"].as_array().into_iter().flatten() {
        let classes: Vec<String> = lot["classes"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| format!("{} {} of {}", c["class"].as_str().unwrap_or("?"), c["free"], c["capacity"]))
            .collect();
        eprintln!("  free spaces now: {}", classes.join(", "));
    }
}

/// The day's revenue report, as a tax officer would read it.
fn print_report(r: &Value) {
    // `Vnd` prints `1,234 VND`; the table's header names the unit.
    let vnd =
        |v: &Value| parking_core::Vnd::new(v.as_i64().unwrap_or(0)).to_string().trim_end_matches(" VND").to_owned();
    eprintln!();
    eprintln!(
        "Revenue report, lot {}, {} to {}:",
        r["lot"].as_str().unwrap_or("?"),
        r["from"].as_str().unwrap_or("?"),
        r["to"].as_str().unwrap_or("?")
    );
    eprintln!(
        "  {:<10} {:<10} {:<9} {:>6} {:>14} {:>12} {:>14}",
        "day", "class", "channel", "count", "net VND", "VAT VND", "total VND"
    );
    for row in r["by_day"].as_array().into_iter().flatten() {
        eprintln!(
            "  {:<10} {:<10} {:<9} {:>6} {:>14} {:>12} {:>14}",
            row["period"].as_str().unwrap_or(""),
            row["class"].as_str().unwrap_or(""),
            row["channel"].as_str().unwrap_or(""),
            row["count"],
            vnd(&row["net_vnd"]),
            vnd(&row["vat_vnd"]),
            vnd(&row["total_vnd"])
        );
    }
    let t = &r["totals"];
    eprintln!(
        "  total: {} sales, {} VND ({} VND VAT); top-ups {} VND; invoices issued {}",
        t["count"],
        vnd(&t["total_vnd"]),
        vnd(&t["vat_vnd"]),
        vnd(&r["topups"]["total_vnd"]),
        r["reconciliation"]["invoices_issued"]
    );
    let e = &r["reconciliation"]["exits"];
    eprintln!(
        "  exits: {} (account {}, transfer {}, pass {}, free {}, unpaid {}); mismatches listed: {}",
        e["total"],
        e["account"],
        e["transfer"],
        e["pass"],
        e["free"],
        e["unpaid"],
        r["reconciliation"]["mismatches"].as_array().map_or(0, Vec::len)
    );
}
