//! `sim bench-settle`: settlement through the real system, in one process:
//! the lot server (`lot_server::run`) and a controller
//! (`controller::runtime::run`) on a broker, and a simulated bank that
//! posts signed SePay webhooks over loopback HTTP.
//!
//! 1. **Webhook to barrier.** On `--lanes` exit lanes at once, each
//!    payment is a real stay: a tag enters, the exit lane shows a VietQR,
//!    the driver decodes it and the bank notifies the transfer. The clock
//!    runs from the webhook's first byte to the exit lane's barrier
//!    command arriving at a subscriber on the broker.
//! 2. **Webhook throughput.** `--webhooks` payment requests are published
//!    as a controller would, then paid by webhooks from `--concurrency`
//!    keep-alive connections, one in ten sent twice. The books must show
//!    every fee once: settled count, revenue and transfers are checked
//!    against what was sent.
//!
//! The last line is JSON.
//!
//! Layout: `mod.rs` the run and its two phases; `lane` an exit lane's
//! stays, paid one by one; the simulated bank is [`crate::http`].

// Counts and percentiles of a bench run: small, non-negative numbers.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_possible_wrap)]

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use lot_server::db::Db;
use parking_core::wire::{self, GateEvent, GateEventKind, V1};
use parking_core::{Epc, EventId, Timestamp};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use serde_json::json;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

pub(super) const LOT: &str = "bench-pay";
pub(super) const HMAC: &str = "bench-sepay-hmac-secret";

/// The example tariff without its grace: a stay of seconds costs the
/// first block.
const TARIFF: &str = include_str!("../../../tests/fixtures/no-grace-tariff.toml");

#[derive(clap::Args, Debug)]
pub struct BenchSettleArgs {
    /// Broker HOST:PORT (Mosquitto with `set_tcp_nodelay true`, as in
    /// production; docs/mqtt.md).
    #[arg(long, default_value = "127.0.0.1:1883")]
    pub broker: String,
    /// `sqlite` or `postgres` (PARKING_TEST_DATABASE_URL).
    #[arg(long, default_value = "sqlite")]
    pub db: String,
    /// Stays paid through the whole chain (phase 1).
    #[arg(long, default_value_t = 400)]
    pub payments: usize,
    /// Exit lanes paying at once (phase 1).
    #[arg(long, default_value_t = 4)]
    pub lanes: usize,
    /// Payment requests paid by webhook as fast as they go (phase 2).
    #[arg(long, default_value_t = 20_000)]
    pub webhooks: usize,
    /// Concurrent keep-alive connections of the simulated bank (phase 2).
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
}

/// The bench runs on the wall clock.
pub(super) fn now() -> Timestamp {
    parking_runtime::Clock::wall().now()
}

/// Vehicle `n`'s tag, as the traffic generator numbers them.
pub(super) fn epc(n: u64) -> anyhow::Result<Epc> {
    Ok(crate::traffic::epc_of(n))
}

mod lane;

use crate::http::Http;
use crate::run::setup::wait_lists_at;
use lane::{Waiters, lane_payments, read};

pub async fn run(args: BenchSettleArgs) -> anyhow::Result<()> {
    let (host, port) = args.broker.rsplit_once(':').context("--broker takes HOST:PORT")?;
    let port: u16 = port.parse().context("--broker port")?;
    let dir = std::env::temp_dir().join(format!("parking-bench-settle-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("tariffs"))?;
    std::fs::write(dir.join("tariffs/bench.toml"), TARIFF)?;
    let test_db = match args.db.as_str() {
        "sqlite" => lot_server::testing::TestDb::sqlite().await?,
        "postgres" => lot_server::testing::TestDb::postgres().await?,
        other => bail!("--db must be sqlite or postgres, not {other}"),
    };
    let db_url = test_db.url.clone();
    let lot = format!(
        "[lot]\nid = \"{LOT}\"\nname = \"bench\"\nzone = \"hanoi-zone-1\"\ntariff_dir = \"{}\"\n\
         [broker]\nembedded = false\nhost = \"{host}\"\nport = {port}\n",
        dir.join("tariffs").display()
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let http_port = listener.local_addr()?.port();
    let server_toml = dir.join("lot-server.toml");
    std::fs::write(
        &server_toml,
        format!(
            "{lot}[server]\nlisten = \"127.0.0.1:{http_port}\"\nwebhooks_per_second = 0\n[database]\nurl = \"{db_url}\"\n\
             [settlement]\nsepay_hmac_secret = \"{HMAC}\"\n"
        ),
    )?;
    let server_settings = lot_server::settings::Settings::load(&[server_toml])?;
    let db: Db = test_db.db.clone();
    let token =
        lot_server::tokens::create(&db, lot_server::tokens::Role::Admin, "bench", now().unix_millis()).await?.token;
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(lot_server::run(server_settings, listener, shutdown.clone()));

    let http = Arc::new(Http::new(
        &format!("http://127.0.0.1:{http_port}"),
        token,
        parking_core::secret::Secret::new(HMAC),
        parking_runtime::Clock::wall(),
    ));
    http.wait_ready(10).await?;

    // Phase 1: the whole chain.
    let lanes = args.lanes.max(1);
    let vehicle = http.api("POST", "/api/v1/vehicles", Some(json!({ "plate": "30E-555.55", "class": "car" }))).await?;
    for n in 0..args.payments as u64 {
        http.api(
            "POST",
            "/api/v1/tags",
            Some(json!({ "epc": epc(n)?.to_string(), "vehicle_id": vehicle["vehicle_id"] })),
        )
        .await?;
    }
    let version = http.api("GET", "/api/v1/lists", None).await?["version"].as_u64().unwrap_or(0);
    let metrics_port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0")?;
        l.local_addr()?.port()
    };
    let mut lanes_toml = String::new();
    for l in 0..lanes {
        lanes_toml.push_str(&format!(
            "[[lanes]]\ngate = \"entry-{l}\"\ndirection = \"entry\"\n[[lanes]]\ngate = \"exit-{l}\"\ndirection = \"exit\"\n"
        ));
    }
    let ctl_toml = dir.join("controller.toml");
    std::fs::write(
        &ctl_toml,
        format!(
            "{lot}[controller]\nnode = \"bench-ctl\"\njournal = \"{}\"\nticket_key = \"bench-ticket-key-0123456789\"\n\
             metrics_listen = \"127.0.0.1:{metrics_port}\"\n\
             [bank]\nbin = \"970403\"\naccount = \"0011012345678\"\naccount_name = \"BAI DO XE\"\n{lanes_toml}",
            dir.join("journal.sqlite").display()
        ),
    )?;
    let ctl_settings = controller::settings::Settings::load(&[ctl_toml])?;
    let controller = tokio::spawn(controller::runtime::run(ctl_settings, shutdown.clone()));
    wait_lists_at(&format!("127.0.0.1:{metrics_port}"), version).await?;

    let mut opts = MqttOptions::new(format!("bench-settle-{}", std::process::id()), host, port);
    opts.set_max_packet_size(1 << 20, 1 << 20);
    let mut net = rumqttc::NetworkOptions::new();
    net.set_tcp_nodelay(true);
    let (mqtt, mut events) = AsyncClient::new(opts, 4096);
    events.set_network_options(net);
    let waiters: Waiters = Arc::default();
    let w = Arc::clone(&waiters);
    tokio::spawn(async move {
        loop {
            match events.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if let Some(tx) = w.lock().await.remove(&p.topic) {
                        let _ = tx.send(p.payload.to_vec());
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    });
    mqtt.subscribe(format!("parking/{LOT}/gate/+/barrier"), QoS::AtLeastOnce).await?;
    mqtt.subscribe(format!("parking/{LOT}/gate/+/display"), QoS::AtLeastOnce).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;

    eprintln!("phase 1: {} stays paid by transfer on {lanes} exit lanes", args.payments);
    // Every car enters first; a stay must last a moment to cost anything.
    for n in 0..args.payments as u64 {
        let entry = format!("entry-{}", n as usize % lanes);
        let topic = format!("parking/{LOT}/gate/{entry}/read");
        mqtt.publish(topic, QoS::AtLeastOnce, false, read(&entry, epc(n)?)?).await?;
    }
    tokio::time::sleep(Duration::from_millis(2_000)).await;
    let mut tasks = Vec::new();
    for l in 0..lanes {
        let (http, mqtt, waiters) = (Arc::clone(&http), mqtt.clone(), Arc::clone(&waiters));
        let mine: Vec<u64> = (0..args.payments as u64).filter(|n| *n as usize % lanes == l).collect();
        tasks.push(tokio::spawn(async move { lane_payments(l, mine, &http, &mqtt, &waiters).await }));
    }
    let mut latencies = Vec::new();
    let mut answers = Vec::new();
    for t in tasks {
        let (lat, ans) = t.await??;
        latencies.extend(lat);
        answers.extend(ans);
    }
    latencies.sort_by(f64::total_cmp);
    answers.sort_by(f64::total_cmp);
    let pct = crate::run::check::percentile_2dp;
    let (p50, p99, max) = (pct(&latencies, 0.50), pct(&latencies, 0.99), latencies.last().copied().unwrap_or(f64::NAN));
    eprintln!(
        "  webhook -> barrier command: p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms; webhook answered p50 {:.2} ms, p99 {:.2} ms",
        pct(&answers, 0.5),
        pct(&answers, 0.99)
    );

    // Phase 2: throughput.
    let n = args.webhooks;
    eprintln!("phase 2: {n} payment requests, paid by webhooks on {} connections, 10% sent twice", args.concurrency);
    let fee = 50_000i64;
    let codes: Vec<parking_core::PaymentCode> =
        (0..n).map(|i| parking_core::PaymentCode::stay(1_000_000 + u32::try_from(i).unwrap_or(0))).collect();
    // As a controller would, in runs the server keeps up with (a broker
    // queues only so much for one subscriber; a real controller re-sends
    // what is not acknowledged, this bench does not).
    let started = Instant::now();
    for (chunk_no, chunk) in codes.chunks(500).enumerate() {
        for (j, code) in chunk.iter().enumerate() {
            let e = payment_request(chunk_no * 500 + j, *code, fee, version)?;
            mqtt.publish(format!("parking/{LOT}/gate/exit-tp/event"), QoS::AtLeastOnce, false, wire::encode(&e))
                .await?;
        }
        let want = (chunk_no * 500 + chunk.len()) as i64;
        loop {
            let have: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payment_requests WHERE gate = 'exit-tp'")
                .fetch_one(&db.pool)
                .await?;
            if have >= want {
                break;
            }
            if started.elapsed() > Duration::from_secs(300) {
                bail!("only {have} of {want} payment requests arrived");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    let mut sends: Vec<(u64, usize)> = (0..n).map(|i| (i as u64, i)).collect();
    let dups: Vec<(u64, usize)> = (0..n).filter(|i| i % 10 == 0).map(|i| (i as u64, i)).collect();
    sends.extend(dups.iter().copied());
    // Interleave the duplicates: each 10th send is a resend of an earlier one.
    sends.sort_by_key(|(id, _)| (*id * 2 + 1) % (2 * n as u64 + 1));
    let queue = Arc::new(Mutex::new(sends.into_iter()));
    let codes = Arc::new(codes);
    let counts: Arc<Mutex<HashMap<String, usize>>> = Arc::default();
    let t0 = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..args.concurrency.max(1) {
        let (http, queue, codes, counts) =
            (Arc::clone(&http), Arc::clone(&queue), Arc::clone(&codes), Arc::clone(&counts));
        workers.push(tokio::spawn(async move {
            loop {
                let next = queue.lock().await.next();
                let Some((id, i)) = next else { return Ok::<_, anyhow::Error>(()) };
                let (s, v) = http.pay(10_000_000 + id, fee, &format!("CK {}", codes[i])).await?;
                let outcome =
                    if s == 200 { v["outcome"].as_str().unwrap_or("?").to_owned() } else { format!("http_{s}") };
                *counts.lock().await.entry(outcome).or_default() += 1;
            }
        }));
    }
    for w in workers {
        w.await??;
    }
    let secs = t0.elapsed().as_secs_f64();
    let sent = n + dups.len();
    let rate = sent as f64 / secs;
    let counts = counts.lock().await.clone();
    let trial = lot_server::settlement::ledger::trial(&db).await?;
    let settled: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM payment_requests WHERE gate = 'exit-tp' AND state = 'paid'")
            .fetch_one(&db.pool)
            .await?;
    let booked: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM transfers").fetch_one(&db.pool).await?;
    let expected_fees = (n + args.payments) as i64 * fee;
    let counted_twice = trial.fees_settled_vnd - expected_fees;
    eprintln!("  {sent} webhooks in {secs:.2} s: {rate:.0}/s; outcomes {counts:?}");
    eprintln!(
        "  books: total {} (must be 0), fees settled {} (expected {expected_fees}), {settled} of {n} requests paid, {booked} transfers booked",
        trial.total, trial.fees_settled_vnd
    );
    let ok = trial.total == 0
        && counted_twice == 0
        && settled as usize == n
        && booked as usize == n + args.payments
        && counts.get("duplicate").copied().unwrap_or(0) == dups.len();
    shutdown.cancel();
    let _ = controller.await;
    let _ = server.await;
    let _ = std::fs::remove_dir_all(&dir);
    test_db.drop_db().await;
    println!(
        "{}",
        json!({
            "payments": latencies.len(),
            "lanes": lanes,
            "webhook_to_barrier_p50_ms": (p50 * 100.0).round() / 100.0,
            "webhook_to_barrier_p99_ms": (p99 * 100.0).round() / 100.0,
            "webhook_to_barrier_max_ms": (max * 100.0).round() / 100.0,
            "webhooks_sent": sent,
            "duplicates_sent": dups.len(),
            "webhooks_per_s": rate.round(),
            "counted_twice_vnd": counted_twice,
            "ledger_total_vnd": trial.total,
            "db": args.db,
            "ok": ok,
        })
    );
    if !ok {
        bail!("the books do not match what was sent");
    }
    Ok(())
}

fn payment_request(seq: usize, code: parking_core::PaymentCode, fee: i64, version: u64) -> anyhow::Result<GateEvent> {
    let amount = parking_core::Vnd::new(fee);
    Ok(GateEvent {
        v: V1,
        event_id: EventId::from_uuid(uuid::Uuid::new_v4()),
        lot: LOT.parse()?,
        gate: "exit-tp".parse()?,
        seq: seq as u64,
        at: now(),
        list_version: version,
        tariff_version: None,
        kind: GateEventKind::PaymentRequested {
            credential: parking_core::wire::Credential::None,
            class: parking_core::VehicleClass::Car,
            entered_at: now(),
            fee: parking_core::Fee {
                amount,
                tariff_version: "bench-no-grace".to_owned().try_into()?,
                class: parking_core::VehicleClass::Car,
                items: vec![],
            },
            payment_code: code,
            owed: amount,
        },
    })
}
