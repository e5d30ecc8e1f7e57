//! `controller`: the edge controller at a lot's gates. It reads, decides
//! and pulses the barrier locally, keeps working offline, and journals
//! every gate event until the lot server acknowledges it.
//!
//! Modules:
//! - [`acl`]: the controller's block of a Mosquitto ACL (its own lanes' topics);
//! - [`barrier`]: barrier drivers behind one trait (Modbus relay board, MQTT, simulated);
//! - [`bench`]: `controller bench`, in-process and through a broker;
//! - [`delivery`]: which journaled events still need sending;
//! - [`engine`]: every lane's decisions over shared state, stamped as gate events;
//! - [`journal`]: the local SQLite journal (WAL) of events, lot state, lists and tariff;
//! - [`metrics`]: Prometheus metrics and lane health;
//! - [`modbus`]: Modbus RTU frames and CRC for relay boards;
//! - [`runtime`]: `controller run`: the tasks wired together;
//! - [`settings`]: the typed `[controller]` and `[[lanes]]` configuration.

#![forbid(unsafe_code)]

pub mod acl;
pub mod barrier;
pub mod bench;
pub mod delivery;
pub mod engine;
pub mod journal;
pub mod metrics;
pub mod modbus;
pub mod runtime;
pub mod settings;
