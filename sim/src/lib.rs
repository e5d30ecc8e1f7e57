//! `sim`: generates and replays gate traffic against the real system, and
//! runs the one-command demo.
//!
//! Modules:
//! - [`bench_settle`]: `sim bench-settle`: webhook-to-barrier latency and webhook throughput;
//! - [`settings`]: the typed configuration the simulator reads;
//! - [`quote`]: prices a stay under the lot's tariff, itemised;
//! - [`traffic`]: visits from the seeded generator, an occupancy series or a trace file.

#![forbid(unsafe_code)]

pub mod bench_settle;
pub mod quote;
pub mod settings;
pub mod traffic;
