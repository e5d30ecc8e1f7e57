//! `parking-tests`: tests that span processes, and the helpers they share.
//!
//! Modules:
//! - [`browser`]: headless Chromium through chromedriver, screenshots, and axe-core's accessibility check;
//! - [`bins`]: the workspace's binaries as child processes;
//! - [`http`]: loopback HTTP requests to our own servers;
//! - [`embedded`]: a lot server's config on its embedded broker, and the broker's users (the harness's password, nodes added, secret files);
//! - [`demo`]: a simulator run's summary and the books it must keep;
//! - [`devices`]: an R2000 reader and a Modbus relay board played over ptys;
//! - [`mqtt`]: a test client that records and acknowledges gate events;
//! - [`mosquitto`]: a Mosquitto broker that a test starts, kills and restarts;
//! - [`proxy`]: a TCP proxy a test can cut, to cut one process off its broker;
//! - [`postgres`]: a PostgreSQL server that a test starts, kills and restarts;
//! - [`tls`]: a test certificate authority and a loopback HTTPS server;
//! - [`scenario`]: a lot of server, controller and `sim run` processes, and the books they must keep;
//! - [`wait`]: waiting for a condition with a deadline, or holding the scenario's own time;
//! - `structure` checks live in `tests/structure.rs`.
//!
//! Suites that need a real service are `#[ignore]`d with the reason, so the
//! README's `cargo test --workspace` passes on a machine with only the Rust
//! toolchain; `.ci/run` runs them with `-- --ignored` against real services.

#![forbid(unsafe_code)]

pub mod bins;
pub mod browser;
pub mod demo;
pub mod devices;
pub mod embedded;
pub mod http;
pub mod mosquitto;
pub mod mqtt;
pub mod postgres;
pub mod proxy;
pub mod scenario;
pub mod tls;
pub mod wait;
