//! `lot-server bench-ingest`: sustained ingestion of gate events from MQTT
//! through commit to acknowledgement.
//!
//! Eight simulated controllers publish a stream of entries and exits
//! (QoS 1) to a broker; the ingestion runs in-process against a fresh
//! SQLite file or PostgreSQL database; a listener on the `ack` topics
//! times each event from publish to acknowledgement. At the end the
//! database is counted: every event once, no event lost, no session
//! doubled.

// Figures for printing: counts far below 2^52 and percentile indices
// within their slice, so these casts cannot truncate.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use parking_core::wire::{self, Credential, EventAck, GateEvent, GateEventKind, Settlement, V1};
use parking_core::{Epc, EventId, Timestamp, VehicleClass};
use parking_runtime::histogram::percentile;
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use sqlx::Row;
use tokio_util::sync::CancellationToken;

use crate::db::Db;

use crate::mqtt::ingest::{self as mqtt_ingest, IngestMetrics};
use crate::testing::TestDb;

/// Options of `lot-server bench-ingest`.
#[derive(clap::Args, Debug, Clone)]
pub struct IngestArgs {
    /// `sqlite` (a fresh file) or `postgres` (a fresh database on
    /// PARKING_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test).
    #[arg(long, default_value = "sqlite")]
    pub db: String,
    /// The MQTT broker, HOST:PORT.
    #[arg(long, default_value = "127.0.0.1:1883")]
    pub broker: String,
    /// Gate events to send (half entries, half exits).
    #[arg(long, default_value_t = 50_000)]
    pub events: usize,
    /// Offered load, events per second (0: as fast as the broker takes them).
    #[arg(long, default_value_t = 5_000)]
    pub rate: u32,
}

fn events(n: usize) -> anyhow::Result<Vec<GateEvent>> {
    let base = Timestamp::from_unix_seconds(1_790_000_000).context("time")?;
    let lot: parking_core::LotId = "bench-lot".parse()?;
    let mut out = Vec::with_capacity(n);
    let vehicles = n / 2;
    for v in 0..vehicles as u64 {
        let mut e = [0u8; 12];
        e[0] = 0xE2;
        e[4..].copy_from_slice(&v.to_be_bytes());
        let epc = Epc::from_bytes(&e)?;
        let gate_n = v % 4;
        let entered = base.checked_add(time::Duration::seconds(v as i64)).context("time")?;
        let exited = entered.checked_add(time::Duration::minutes(90)).context("time")?;
        for (i, (gate, at, kind)) in [
            (
                format!("entry-{gate_n}"),
                entered,
                GateEventKind::Entry {
                    credential: Credential::Tag { epc: epc.clone(), tid: None },
                    class: VehicleClass::Car,
                    plate: None,
                },
            ),
            (
                format!("exit-{gate_n}"),
                exited,
                GateEventKind::Exit {
                    credential: Credential::Tag { epc: epc.clone(), tid: None },
                    class: VehicleClass::Car,
                    plate: None,
                    entered_at: Some(entered),
                    fee: None,
                    settlement: Settlement::Account { account: format!("acc-{v}") },
                },
            ),
        ]
        .into_iter()
        .enumerate()
        {
            out.push(GateEvent {
                v: V1,
                event_id: EventId::from_uuid(uuid::Uuid::new_v4()),
                lot: lot.clone(),
                gate: gate.parse()?,
                seq: v * 2 + i as u64 + 1,
                at,
                list_version: 1,
                tariff_version: None,
                kind,
            });
        }
    }
    Ok(out)
}

pub async fn run(args: IngestArgs) -> anyhow::Result<()> {
    let (host, port) = args.broker.rsplit_once(':').context("--broker takes HOST:PORT")?;
    let port: u16 = port.parse().context("--broker port")?;
    let test_db = match args.db.as_str() {
        "sqlite" => TestDb::sqlite().await?,
        "postgres" => TestDb::postgres().await?,
        other => anyhow::bail!("--db must be sqlite or postgres, not {other}"),
    };
    let db: Db = test_db.db.clone();
    let broker = parking_core::config::Loader::new()
        .file("<bench>", format!("embedded = false\nhost = \"{host}\"\nport = {port}\n"))
        .load::<parking_core::settings::BrokerSettings>()?;
    let registry = prometheus::Registry::new();
    let metrics = IngestMetrics::new(&registry)?;
    let shutdown = CancellationToken::new();
    let client_id = format!("bench-ingest-{}", std::process::id());
    let link_stop = CancellationToken::new();
    let (out, link) = crate::mqtt::link::spawn_publisher(&broker, &format!("{client_id}-ack"), link_stop.clone())?;
    let clock = parking_runtime::Clock::wall();
    let after =
        crate::mqtt::commands::AfterCommit { out, lists_changed: std::sync::Arc::default(), clock: clock.clone() };
    let ingest = tokio::spawn(mqtt_ingest::run(
        db.clone(),
        "bench-lot".parse()?,
        broker,
        client_id,
        None,
        metrics.clone(),
        mqtt_ingest::SettleLink {
            policy: std::sync::Arc::new(crate::settlement::Policy::from_tax(&Default::default())?),
            after,
        },
        shutdown.clone(),
    ));
    // The journal task, as `lot-server run` has it: chaining what ingest
    // queues competes for the same database.
    crate::audit::init(&db, "bench-lot").await?;
    let journal = tokio::spawn(crate::audit::run(db.clone(), clock, shutdown.clone()));

    // The acknowledgement listener.
    let mut opts = MqttOptions::new(format!("bench-acks-{}", std::process::id()), host, port);
    opts.set_max_packet_size(16 << 20, 16 << 20);
    let (acks, mut ack_loop) = AsyncClient::new(opts, 1024);
    acks.subscribe("parking/bench-lot/gate/+/ack", QoS::AtLeastOnce).await?;
    let (ack_tx, mut ack_rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<EventId>)>();
    tokio::spawn(async move {
        loop {
            match ack_loop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if let Ok(a) = wire::decode::<EventAck>(&p.payload) {
                        if ack_tx.send((Instant::now(), a.event_ids)).is_err() {
                            return;
                        }
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await; // subscriptions in place

    let stream = events(args.events)?;
    let total = stream.len();
    let mut sent_at: HashMap<EventId, Instant> = HashMap::with_capacity(total);
    let mut opts = MqttOptions::new(format!("bench-controllers-{}", std::process::id()), host, port);
    opts.set_inflight(1_000);
    let (controllers, mut pub_loop) = parking_runtime::mqtt::new_client(opts, 4096);
    tokio::spawn(async move {
        loop {
            if pub_loop.poll().await.is_err() {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    let started = Instant::now();
    let mut latencies: Vec<f64> = Vec::with_capacity(total);
    let mut acked: HashMap<EventId, u32> = HashMap::with_capacity(total);
    let mut last_ack = started;
    let per_tick = (args.rate as usize / 100).max(1);
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    for (i, e) in stream.iter().enumerate() {
        if args.rate > 0 && i % per_tick == 0 {
            tick.tick().await;
        }
        let topic = format!("parking/bench-lot/gate/{}/event", e.gate);
        sent_at.insert(e.event_id, Instant::now());
        controllers.publish(topic, QoS::AtLeastOnce, false, wire::encode(e)).await?;
        while let Ok((t, ids)) = ack_rx.try_recv() {
            record(&mut acked, &mut latencies, &sent_at, t, ids, &mut last_ack);
        }
    }
    // As real controllers do, re-send what is not acknowledged in time (a
    // broker drops QoS 1 messages past a client's queue limit).
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut resent = 0usize;
    let mut last_sweep = Instant::now();
    while acked.len() < total && Instant::now() < deadline {
        if let Ok(Some((t, ids))) = tokio::time::timeout(Duration::from_millis(500), ack_rx.recv()).await {
            record(&mut acked, &mut latencies, &sent_at, t, ids, &mut last_ack);
        }
        if last_sweep.elapsed() > Duration::from_secs(5) {
            last_sweep = Instant::now();
            for e in stream.iter().filter(|e| !acked.contains_key(&e.event_id)) {
                let topic = format!("parking/bench-lot/gate/{}/event", e.gate);
                controllers.publish(topic, QoS::AtLeastOnce, false, wire::encode(e)).await?;
                resent += 1;
            }
        }
    }
    let elapsed = last_ack.duration_since(started).as_secs_f64();
    shutdown.cancel();
    let _ = ingest.await;
    let _ = journal.await;
    link_stop.cancel();
    let _ = link.await;

    let stored: i64 = sqlx::query("SELECT COUNT(*) FROM gate_events").fetch_one(&db.pool).await?.try_get(0)?;
    let sessions: i64 =
        sqlx::query("SELECT COUNT(*) FROM sessions WHERE state = 'closed'").fetch_one(&db.pool).await?.try_get(0)?;
    let lost = total.saturating_sub(acked.len()) + total.saturating_sub(stored as usize);
    // Every event is named in the chained journal once.
    crate::audit::chain_pending(&db).await?;
    let mut journaled = 0usize;
    crate::audit::each_record(&db, |r| {
        if r.kind == "gate_events" {
            journaled += serde_json::from_str::<serde_json::Value>(&r.body)
                .ok()
                .and_then(|b| b["events"].as_array().map(Vec::len))
                .unwrap_or(0);
        }
        true
    })
    .await?;
    let duplicated = (stored as usize).saturating_sub(total) + (sessions as usize).saturating_sub(total / 2);
    latencies.sort_by(f64::total_cmp);
    let rate = acked.len() as f64 / elapsed.max(1e-9);
    let (p50, p99, max) =
        (percentile(&latencies, 0.5), percentile(&latencies, 0.99), latencies.last().copied().unwrap_or(0.0));
    println!(
        "bench-ingest on {} through {}: {total} events from 8 gates, offered at {}",
        args.db,
        args.broker,
        if args.rate == 0 { "full speed".to_owned() } else { format!("{} events/s", args.rate) }
    );
    println!("  acknowledged {} in {elapsed:.2} s: {rate:.0} events/s", acked.len());
    println!("  publish -> acknowledged after commit, ms: p50 {p50:.1}  p99 {p99:.1}  max {max:.1}");
    println!("  re-sent after 5 s without an acknowledgement: {resent}");
    println!("  stored {stored} events, {sessions} closed sessions (expected {total} and {})", total / 2);
    println!("  commits: {}, mean {:.1} ms", metrics.commit_seconds.get_sample_count(), {
        let n = metrics.commit_seconds.get_sample_count();
        if n == 0 { 0.0 } else { metrics.commit_seconds.get_sample_sum() / n as f64 * 1e3 }
    });
    println!("  journal: {journaled} events named in chained records (expected {total})");
    println!("  peak RSS of this process (server and simulated controllers): {:.1} MB", peak_rss_mb());
    test_db.drop_db().await;
    println!(
        "{}",
        serde_json::json!({
            "events_per_s": rate.round(),
            "p99_ms": (p99 * 10.0).round() / 10.0,
            "lost": lost,
            "duplicated": duplicated,
            "journaled": journaled,
            "events": total,
            "db": args.db,
            "offered_per_s": args.rate,
        })
    );
    Ok(())
}

fn record(
    acked: &mut HashMap<EventId, u32>,
    latencies: &mut Vec<f64>,
    sent_at: &HashMap<EventId, Instant>,
    t: Instant,
    ids: Vec<EventId>,
    last: &mut Instant,
) {
    for id in ids {
        let n = acked.entry(id).or_default();
        *n += 1;
        if *n == 1 {
            if let Some(s) = sent_at.get(&id) {
                latencies.push(t.duration_since(*s).as_secs_f64() * 1e3);
            }
            *last = t;
        }
    }
}

/// Peak resident memory of this process, in MB.
pub fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}
