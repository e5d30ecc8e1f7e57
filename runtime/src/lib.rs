//! `parking-runtime`: what every process of the system shares at run
//! time, and nothing of any one process's domain.
//!
//! Parts:
//! - [`clock`]: the [`Clock`] value every task is handed (wall, simulated, manual);
//! - [`every`]: a background task's timer, each tick with the clock's time;
//! - [`files`]: a file written whole or not at all;
//! - [`mqtt`]: every MQTT client: options, the lossless QoS 1 publisher, the subscriber loop;
//! - [`shutdown`]: stopping on SIGINT or SIGTERM;
//! - [`logging`]: the tracing subscriber every binary installs;
//! - [`histogram`]: the benches' percentiles;
//! - [`tariffs`]: the one strict loader of a tariff directory;
//! - `serial` (feature `serial`): opening a serial device with back-off;
//! - `https` (feature `https`): the one client for HTTPS out, on rustls.

#![forbid(unsafe_code)]

pub mod clock;
pub mod every;
pub mod files;
pub mod histogram;
#[cfg(feature = "https")]
pub mod https;
pub mod logging;
pub mod mqtt;
#[cfg(feature = "serial")]
pub mod serial;
pub mod shutdown;
pub mod tariffs;

pub use clock::Clock;
