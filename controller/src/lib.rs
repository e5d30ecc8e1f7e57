//! `controller`: the edge controller at a lot's gates. It reads, decides
//! and pulses the barrier locally, keeps working offline, and journals
//! every gate event until the lot server acknowledges it.
//!
//! Modules:
//! - [`barrier`]: barrier drivers behind one trait (Modbus relay board, MQTT, simulated);
//! - [`modbus`]: Modbus RTU frames and CRC for relay boards;
//! - [`settings`]: the typed `[controller]` and `[[lanes]]` configuration.

#![forbid(unsafe_code)]

pub mod barrier;
pub mod modbus;
pub mod settings;
