//! `sim`: generates and replays gate traffic against the real system, and
//! runs the one-command demo.
//!
//! Modules:
//! - [`bench_settle`]: `sim bench-settle`: webhook-to-barrier latency and webhook throughput;
//! - [`demo`]: `sim demo`: server, broker, controller and simulator in one process, on a simulated clock;
//! - [`lot_files`]: the demonstration lot's tariff and configuration files, and its relay board;
//! - [`http`]: the lot server's API and the simulated bank's signed webhooks;
//! - [`relay`]: a virtual Modbus RTU relay board on a pseudo-terminal;
//! - [`run`]: `sim run`: replays visits through a running lot with virtual devices, then checks the books;
//! - [`soak`]: `sim soak`: busy days on the simulated clock against the lot's own processes, sampled each day;
//! - [`settings`]: the typed configuration the simulator reads;
//! - [`quote`]: prices a stay under the lot's tariff, itemised;
//! - [`traffic`]: visits from the seeded generator, an occupancy series or a trace file.

#![forbid(unsafe_code)]

pub mod bench_settle;
pub mod demo;
pub mod http;
pub mod lot_files;
pub mod quote;
pub mod relay;
pub mod run;
pub mod settings;
pub mod soak;
pub mod traffic;
