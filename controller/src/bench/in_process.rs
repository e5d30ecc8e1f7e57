//! `controller bench` in-process: reader bytes through the R2000 codec,
//! deduplication and the engine to the Modbus relay frame, over 8 lanes,
//! with a real SQLite journal committing on another thread.

// Figures for printing: lane numbers below 8, counts far below 2^32, so
// these casts cannot truncate.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]

use std::collections::HashMap;
use std::time::Instant;

use bytes::BytesMut;
use parking_core::Timestamp;
use parking_core::gate::{Input, TicketKey};
use parking_core::secret::Secret;
use parking_core::wire::{self, ListsSnapshot};
use parking_runtime::histogram::percentile;
use tag_reader::codec::r2000::{R2000Codec, R2000Frame};
use tag_reader::dedup::{DedupConfig, DedupEvent, Deduplicator};
use tokio::sync::mpsc;
use tokio_util::codec::Decoder;

use super::fixtures::traffic;
use super::{BenchArgs, bench_settings, current_rss_mb, epc_bytes, peak_rss_mb, snapshot_json, tag_frame};
use crate::engine::{Engine, EventIds, Out};
use crate::journal::{Entry, Journal};
use crate::modbus;

/// The counts that are not event kinds (those are counted by name).
const TALLIES: [&str; 3] = ["repeats", "opened", "not_opened"];

pub(super) async fn run(args: BenchArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("parking-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let settings = bench_settings(&dir.join("journal.sqlite"), None)?;
    let key = TicketKey::new(Secret::new("bench-ticket-key-0123456789"))?;
    let book = crate::runtime::tariff_book(&settings)?;
    let mut engine = Engine::new(&settings, key, book, EventIds::new([1, 2, 3, 4, 5, 6]));
    let base_rss = current_rss_mb();
    // The lists arrive as the server publishes them: one JSON snapshot,
    // decoded and applied as the controller's MQTT link does.
    let payload = snapshot_json(args.tags)?;
    let t0 = Instant::now();
    let snapshot: ListsSnapshot = wire::decode(&payload)?;
    let payload_mb = payload.len() as f64 / 1e6;
    drop(payload);
    engine.apply_snapshot(snapshot).map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "lists: {} tags ({payload_mb:.1} MB of JSON) decoded and applied in {:.0} ms; RSS {:.1} MB -> {:.1} MB",
        args.tags,
        t0.elapsed().as_secs_f64() * 1e3,
        base_rss,
        current_rss_mb()
    );
    let reads = traffic(&args);

    let mut journal = Journal::open(&dir.join("journal.sqlite"), parking_runtime::Clock::wall()).await?;
    let (tx, mut rx) = mpsc::channel::<(Vec<Entry>, Vec<parking_core::gate::LotChange>)>(4_096);
    let writer = tokio::spawn(async move {
        let mut committed = 0usize;
        let mut batches = 0usize;
        while let Some(first) = rx.recv().await {
            let (mut entries, mut changes) = first;
            while entries.len() < 512 {
                match rx.try_recv() {
                    Ok((e, c)) => {
                        entries.extend(e);
                        changes.extend(c);
                    }
                    Err(_) => break,
                }
            }
            journal.commit(&entries, &changes).await?;
            committed += entries.len();
            batches += 1;
        }
        anyhow::Ok((committed, batches))
    });

    let hot = tokio::task::spawn_blocking(move || {
        let mut codecs: Vec<R2000Codec> = (0..8).map(|_| R2000Codec::new(1)).collect();
        let mut bufs: Vec<BytesMut> = (0..8).map(|_| BytesMut::with_capacity(64)).collect();
        let mut dedups: Vec<Deduplicator<u8>> =
            (0..8).map(|_| Deduplicator::new(DedupConfig { window_ms: 1_500, ..DedupConfig::default() })).collect();
        let mut relay: Vec<Vec<u8>> = (0..8).map(|_| Vec::with_capacity(1 << 20)).collect();
        let mut latencies: Vec<u64> = Vec::with_capacity(reads.len());
        let mut outs = Vec::with_capacity(16);
        let mut counts: HashMap<&'static str, u64> = HashMap::new();
        // Simulated time: 40 ms between reads; the engine sees it, the
        // latency is wall time.
        let start = Timestamp::from_unix_seconds(1_790_000_000).unwrap_or(Timestamp::UNIX_EPOCH);
        for (i, (lane, tag)) in reads.iter().enumerate() {
            let now = start.checked_add(time::Duration::milliseconds(40 * i as i64)).unwrap_or(start);
            // The bytes the reader sends for this read (made before the clock starts).
            let frame = tag_frame(&epc_bytes(*tag), (*lane % 4) as u8);
            let began = Instant::now();
            bufs[*lane].extend_from_slice(&frame);
            let Ok(Some(R2000Frame::Tag { report, .. })) = codecs[*lane].decode(&mut bufs[*lane]) else { continue };
            let mut decided = false;
            for ev in dedups[*lane].observe(report.antenna, &report, now) {
                if let DedupEvent::Present { presence, .. } = ev {
                    engine.handle(*lane, Input::Tag(presence), now, &mut outs);
                    decided = true;
                }
            }
            if !decided {
                *counts.entry("repeats").or_default() += 1;
                continue;
            }
            let mut entries = Vec::new();
            let mut opened = false;
            for out in outs.drain(..) {
                match out {
                    Out::Pulse { lane, .. } => {
                        relay[lane].extend_from_slice(&modbus::write_coil(1, lane as u16, true));
                        opened = true;
                    }
                    Out::Event(event) => {
                        *counts.entry(event.kind.name()).or_default() += 1;
                        let payload = wire::encode(&event);
                        entries.push(Entry { event, payload });
                    }
                    _ => {}
                }
            }
            latencies.push(began.elapsed().as_nanos() as u64);
            *counts.entry(if opened { "opened" } else { "not_opened" }).or_default() += 1;
            if opened {
                // The vehicle drives over the loop under the arm (not timed).
                engine.handle(*lane, Input::Loop { occupied: true }, now, &mut outs);
                engine.handle(*lane, Input::Loop { occupied: false }, now, &mut outs);
                for out in outs.drain(..) {
                    if let Out::Event(event) = out {
                        *counts.entry(event.kind.name()).or_default() += 1;
                        let payload = wire::encode(&event);
                        entries.push(Entry { event, payload });
                    }
                }
            }
            let changes = engine.take_changes();
            if tx.blocking_send((entries, changes)).is_err() {
                break;
            }
            if i % 4096 == 0 {
                for d in &mut dedups {
                    d.tick(now);
                }
            }
        }
        drop(tx);
        let relay_bytes: usize = relay.iter().map(Vec::len).sum();
        (latencies, counts, relay_bytes)
    });
    let started = Instant::now();
    let (latencies, counts, relay_bytes) = hot.await?;
    let hot_s = started.elapsed().as_secs_f64();
    let (committed, batches) = writer.await??;
    let total_s = started.elapsed().as_secs_f64();
    let mut us: Vec<f64> = latencies.iter().map(|&ns| ns as f64 / 1e3).collect();
    us.sort_by(f64::total_cmp);
    let (p50, p99, p999) = (percentile(&us, 0.50), percentile(&us, 0.99), percentile(&us, 0.999));
    let max = us.last().copied().unwrap_or(0.0);
    println!(
        "reads: {} over 8 lanes ({} repeats absorbed by dedup), decisions: {} ({} opened, {} not opened)",
        args.reads,
        counts.get("repeats").copied().unwrap_or(0),
        latencies.len(),
        counts.get("opened").copied().unwrap_or(0),
        counts.get("not_opened").copied().unwrap_or(0),
    );
    let mut kinds: Vec<String> =
        counts.iter().filter(|(k, _)| !TALLIES.contains(k)).map(|(k, v)| format!("{k} {v}")).collect();
    kinds.sort();
    println!("events: {}", kinds.join(", "));
    println!("relay frames written: {} bytes; journal: {committed} events in {batches} commits", relay_bytes);
    println!("hot loop {hot_s:.2} s; all events durable after {total_s:.2} s");
    println!("decision latency (codec -> dedup -> decision -> relay frame), µs:");
    println!("  p50 {p50:.2}  p99 {p99:.2}  p99.9 {p999:.2}  max {max:.2}");
    println!("peak RSS: {:.1} MB with {} tags in the lists", peak_rss_mb(), args.tags);
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{}",
        serde_json::json!({
            "p50_us": (p50 * 100.0).round() / 100.0,
            "p99_us": (p99 * 100.0).round() / 100.0,
            "p999_us": (p999 * 100.0).round() / 100.0,
            "max_us": (max * 100.0).round() / 100.0,
            "decisions": latencies.len(),
            "reads": args.reads,
            "tags": args.tags,
            "journaled": committed,
            "peak_rss_mb": (peak_rss_mb() * 10.0).round() / 10.0,
        })
    );
    Ok(())
}
