//! What the benches feed the controller: reproducible traffic, reader
//! frames, lists of any size (as objects or as the JSON the server
//! publishes), bench settings, and memory readings.

// Lane numbers below 8, counts far below 2^32, percentile indices within
// the slice: these casts cannot truncate.
#![allow(clippy::cast_possible_truncation, clippy::cast_sign_loss, clippy::cast_precision_loss)]

use parking_core::wire::{ListsSnapshot, TagEntry, V1};
use parking_core::{Epc, Timestamp, VehicleClass};
use tag_reader::codec::r2000;

use super::BenchArgs;
use crate::settings::Settings;

/// A small, seedable PRNG (xorshift64*), so runs are reproducible.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }
}

pub fn epc_bytes(n: u64) -> [u8; 12] {
    let mut e = [0u8; 12];
    e[0] = 0xE2;
    e[4..].copy_from_slice(&n.to_be_bytes());
    e
}

pub fn tag_frame(epc: &[u8; 12], antenna: u8) -> Vec<u8> {
    let mut f = vec![0xA0, 0x13, 0x01, 0x89, antenna & 0x03, 0x30, 0x00];
    f.extend_from_slice(epc);
    f.push(0x40);
    f.push(r2000::checksum(&f));
    f
}

/// Settings for 4 entry and 4 exit lanes on simulated devices.
pub fn bench_settings(journal: &std::path::Path, broker: Option<(&str, u16)>) -> anyhow::Result<Settings> {
    let mut toml = format!(
        "[lot]\nid = \"bench-lot\"\nname = \"Bench\"\nzone = \"hanoi-zone-1\"\ntariff_dir = \"{}\"\n\
         [broker]\nembedded = false\nhost = \"{}\"\nport = {}\n\
         [controller]\nnode = \"bench-controller\"\njournal = \"{}\"\nticket_key = \"bench-ticket-key-0123456789\"\n\
         [bank]\nbin = \"970403\"\naccount = \"0011012345678\"\n",
        tariff_dir().display(),
        broker.map_or("127.0.0.1", |b| b.0),
        broker.map_or(1883, |b| b.1),
        journal.display()
    );
    let barrier = if broker.is_some() { "mqtt" } else { "simulated" };
    for i in 0..8 {
        let dir = if i < 4 { "entry" } else { "exit" };
        toml.push_str(&format!(
            "[[lanes]]\ngate = \"{dir}-{i}\"\ndirection = \"{dir}\"\nbarrier = {{ kind = \"{barrier}\" }}\n"
        ));
    }
    Ok(parking_core::config::Loader::new().file("<bench>", toml).load()?)
}

/// The example tariff directory of the repository.
fn tariff_dir() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(|p| p.join("config/tariffs")).unwrap_or_else(|| "config/tariffs".into())
}

/// The JSON of [`lists`], written entry by entry as the server streams it,
/// so the bench holds only what a controller receiving it would.
pub fn snapshot_json(tags: usize) -> anyhow::Result<Vec<u8>> {
    let mut empty = lists(0)?;
    let mut out = Vec::with_capacity(tags * 72 + 256);
    let mut first = true;
    for n in 0..tags as u64 {
        if !first {
            out.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut out, &tag_entry(n)?)?;
    }
    let body = std::mem::take(&mut out);
    empty.tags.clear();
    let shell = serde_json::to_vec(&empty)?;
    // Splice the entries into `"tags":[]`.
    let marker = b"\"tags\":[]";
    let at = shell.windows(marker.len()).position(|w| w == marker).ok_or_else(|| anyhow::anyhow!("no tags field"))?;
    out.extend_from_slice(&shell[..at + marker.len() - 1]);
    out.extend_from_slice(&body);
    drop(body);
    out.extend_from_slice(&shell[at + marker.len() - 1..]);
    Ok(out)
}

fn tag_entry(n: u64) -> anyhow::Result<TagEntry> {
    Ok(TagEntry {
        epc: Epc::from_bytes(&epc_bytes(n))?,
        tid: None,
        plate: None,
        class: if n % 3 == 0 { VehicleClass::Car } else { VehicleClass::Motorbike },
        account: (n % 2 == 0).then(|| format!("acc-{n}")),
        spendable: None,
    })
}

/// Lists with `tags` registered tags: a third cars, half with an account.
pub fn lists(tags: usize) -> anyhow::Result<ListsSnapshot> {
    let entries = (0..tags as u64).map(tag_entry).collect::<anyhow::Result<Vec<_>>>()?;
    Ok(ListsSnapshot {
        v: V1,
        lot: "bench-lot".parse()?,
        version: 1,
        issued_at: Timestamp::UNIX_EPOCH,
        tags: entries,
        deny: Vec::new(),
        passes: Vec::new(),
    })
}

/// Peak resident memory of this process, in MB (VmHWM).
pub fn peak_rss_mb() -> f64 {
    status_mb("VmHWM:")
}

/// Resident memory now, in MB (VmRSS).
pub fn current_rss_mb() -> f64 {
    status_mb("VmRSS:")
}

fn status_mb(key: &str) -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb: f64 = status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0.0);
    kb / 1024.0
}

/// The traffic: each read is a lane and a tag number; a vehicle is read
/// several times while it waits (repeats), at entry and later at exit.
pub(super) fn traffic(args: &BenchArgs) -> Vec<(usize, u64)> {
    let mut rng = Rng::new(args.seed);
    let mut reads = Vec::with_capacity(args.reads);
    let mut inside: Vec<u64> = Vec::new();
    let mut next_unknown = 1u64 << 40;
    while reads.len() < args.reads {
        let exiting = !inside.is_empty() && rng.below(100) < 45;
        let (lane, tag) = if exiting {
            let i = rng.below(inside.len() as u64) as usize;
            (4 + rng.below(4) as usize, inside.swap_remove(i))
        } else if rng.below(100) < 85 {
            let t = rng.below(args.tags as u64);
            inside.push(t);
            (rng.below(4) as usize, t)
        } else {
            next_unknown += 1;
            (rng.below(4) as usize, next_unknown)
        };
        // 1 to 6 reads of the same tag while the vehicle waits.
        for _ in 0..=rng.below(6) {
            reads.push((lane, tag));
        }
    }
    reads.truncate(args.reads);
    reads
}
