//! `controller bench --broker HOST:PORT`: read → decision → barrier
//! command through a real broker.
//!
//! The controller runtime runs in-process with MQTT barriers. A client
//! playing the reader bridge publishes a tag presence on an entry lane's
//! `read` topic (QoS 1, TCP_NODELAY) and waits for the `BarrierCommand`
//! on that lane's `barrier` topic; the latency is publish to receipt. One
//! read is in flight at a time, so each figure is one whole round.

// Figures for printing: lane numbers below 8, counts far below 2^32, and
// percentile indices within the slice, so these casts cannot truncate.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]

use std::time::{Duration, Instant};

use anyhow::Context as _;
use parking_core::wire::{self, BarrierCommand, GateTopic, LotTopic, Read, ReadMsg, TagPresence, Topics, V1};
use parking_core::{Epc, GateId};
use rumqttc::{Event, MqttOptions, Packet, QoS};
use tokio_util::sync::CancellationToken;

use parking_runtime::histogram::percentile;

use super::{BenchArgs, bench_settings, epc_bytes, lists, peak_rss_mb};

/// The upper bound of the bucket holding quantile `q` of a histogram.
fn histogram_quantile(h: &prometheus::Histogram, q: f64) -> f64 {
    use prometheus::core::Collector;
    let families = h.collect();
    let Some(m) = families.first().and_then(|f| f.get_metric().first()) else { return 0.0 };
    let hist = m.get_histogram();
    let want = (hist.get_sample_count() as f64 * q).ceil() as u64;
    hist.get_bucket().iter().find(|b| b.cumulative_count() >= want).map_or(f64::INFINITY, |b| b.upper_bound())
}

/// A read of known tag `n` at `gate`.
fn read_msg(gate: &GateId, n: u64, at: parking_core::Timestamp) -> anyhow::Result<ReadMsg> {
    let presence = TagPresence {
        epc: Epc::from_bytes(&epc_bytes(n))?,
        tid: None,
        antenna: 0,
        rssi: Some(64),
        first_seen: at,
        last_seen: at,
        reads: 1,
    };
    Ok(ReadMsg { v: V1, gate: gate.clone(), at, read: Read::Tag(presence) })
}

/// When the next barrier command arrives, if within `wait`.
async fn barrier_within(
    rx: &mut tokio::sync::mpsc::UnboundedReceiver<(Instant, Vec<u8>)>,
    wait: Duration,
) -> Option<Instant> {
    let next = async {
        while let Some((t, payload)) = rx.recv().await {
            if wire::decode::<BarrierCommand>(&payload).is_ok() {
                return Some(t);
            }
        }
        None
    };
    tokio::time::timeout(wait, next).await.ok().flatten()
}

pub async fn run(args: BenchArgs, broker: &str) -> anyhow::Result<()> {
    let (host, port) = broker.rsplit_once(':').context("--broker takes HOST:PORT")?;
    let port: u16 = port.parse().context("--broker port")?;
    let dir = std::env::temp_dir().join(format!("parking-bench-broker-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut settings = bench_settings(&dir.join("journal.sqlite"), Some((host, port)))?;
    settings.broker.username.clone_from(&args.user);
    settings.broker.password_file.clone_from(&args.password_file);
    let topics = Topics::new(settings.lot.id.clone());

    let mut options = MqttOptions::new(format!("bench-bridge-{}", std::process::id()), host, port);
    options.set_max_packet_size(256 * 1024 * 1024, 256 * 1024 * 1024);
    if let (Some(user), Some(pass)) = (&args.user, parking_runtime::mqtt::password(&settings.broker)?) {
        options.set_credentials(user.clone(), pass.expose().to_owned());
    }
    let (client, mut eventloop) = parking_runtime::mqtt::new_client(options, 1024);
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if tx.send((Instant::now(), p.payload.to_vec())).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    let gates: Vec<GateId> = settings.lanes.iter().take(4).map(|l| l.gate.clone()).collect();
    for g in &gates {
        client.subscribe(topics.gate(g, GateTopic::Barrier), QoS::AtLeastOnce).await?;
    }
    let reads = args.reads.min(20_000);
    let warmup = 200;
    // A fresh known tag for every read: with fewer tags than reads, a tag
    // would come back while inside, open nothing, and time out.
    // (and the top 200 for the readiness reads, at most 120 of them).
    let tags = args.tags.max(reads + warmup + 200);
    let snapshot = lists(tags)?;
    client.publish(topics.lot(LotTopic::Lists), QoS::AtLeastOnce, true, wire::encode(&snapshot)).await?;

    let shutdown = CancellationToken::new();
    let shared = std::sync::Arc::new(crate::runtime::Shared::new(&settings)?);
    let controller = tokio::spawn(crate::runtime::run_with(settings, shutdown.clone(), std::sync::Arc::clone(&shared)));

    // Ready when a read opens a barrier: the controller has its lists and
    // has subscribed to the lanes' reads. Until then a read reaches nobody,
    // so it is sent again (a fresh tag each time), every half second.
    let mut next_tag = tags as u64;
    let ready = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        anyhow::ensure!(tokio::time::Instant::now() < ready, "the controller never answered a read within 60 s");
        next_tag -= 1;
        let msg = read_msg(&gates[0], next_tag, shared.clock.now())?;
        client.publish(topics.gate(&gates[0], GateTopic::Read), QoS::AtLeastOnce, false, wire::encode(&msg)).await?;
        if barrier_within(&mut rx, Duration::from_millis(500)).await.is_some() {
            break;
        }
    }
    let mut latencies = Vec::with_capacity(reads);
    let mut timeouts = 0usize;
    for i in 0..reads + warmup {
        let gate = &gates[i % gates.len()];
        // A fresh known tag each time: every read is a decision that opens.
        let msg = read_msg(gate, i as u64, shared.clock.now())?;
        let sent = Instant::now();
        client.publish(topics.gate(gate, GateTopic::Read), QoS::AtLeastOnce, false, wire::encode(&msg)).await?;
        // A lost round costs its 2 s and is counted, never more.
        match barrier_within(&mut rx, Duration::from_secs(2)).await {
            Some(t) if i >= warmup => latencies.push((t - sent).as_secs_f64() * 1e3),
            Some(_) => {}
            None => timeouts += 1,
        }
    }
    shutdown.cancel();
    let _ = controller.await;
    let _ = client.publish(topics.lot(LotTopic::Lists), QoS::AtLeastOnce, true, Vec::new()).await;
    let _ = std::fs::remove_dir_all(&dir);
    latencies.sort_by(f64::total_cmp);
    let (p50, p99, p999, max) = (
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 0.999),
        latencies.last().copied().unwrap_or(0.0),
    );
    println!("through the broker at {broker}: {} reads answered, {timeouts} timed out", latencies.len());
    println!(
        "read published -> barrier command received, ms: p50 {p50:.3}  p99 {p99:.3}  p99.9 {p999:.3}  max {max:.3}"
    );
    let journal = &shared.metrics.journal_seconds;
    let (count, sum) = (journal.get_sample_count(), journal.get_sample_sum() * 1e3);
    let journal_p99 = histogram_quantile(journal, 0.99) * 1e3;
    println!(
        "decision -> journaled (committed, fsynced): {count} batches, mean {:.2} ms, p99 <= {journal_p99:.2} ms",
        if count == 0 { 0.0 } else { sum / count as f64 }
    );
    println!("peak RSS: {:.1} MB", peak_rss_mb());
    println!(
        "{}",
        serde_json::json!({
            "p50_us": (p50 * 1e3).round(),
            "p99_us": (p99 * 1e3).round(),
            "p999_us": (p999 * 1e3).round(),
            "max_us": (max * 1e3).round(),
            "decisions": latencies.len(),
            "timeouts": timeouts,
            "journal_mean_ms": if count == 0 { 0.0 } else { (sum / count as f64 * 100.0).round() / 100.0 },
            "journal_p99_ms": journal_p99,
        })
    );
    Ok(())
}
