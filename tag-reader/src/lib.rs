//! `tag-reader`: UHF RFID reader protocols over serial and QR codes from
//! camera frames, as a library the controller uses in-process and as a
//! bridge binary that publishes reads onto MQTT.
//!
//! Modules:
//! - [`bridge`]: the `run` command: reader and camera frames onto MQTT;
//! - [`clock`]: the clock every process reads: the wall clock, or a simulated, faster one;
//! - [`cli`]: the stable command-line contracts (decode-frames, decode-qr, bench-qr);
//! - [`codec`]: R2000 and Chafon frame codecs, the Wiegand decoder;
//! - [`dedup`]: repeated reads collapsed into presences, lanes arbitrated;
//! - [`publisher`]: every MQTT client of the system: QoS 1 publishing with a bounded
//!   outbox that survives reconnects, and the one subscriber loop;
//! - [`qr`]: QR codes from camera frames (image + rqrr + rxing);
//! - [`reader`]: the async loop that drives a reader over a byte stream, and
//!   opening a serial device with back-off;
//! - [`settings`]: the typed `[reader]` configuration.

#![forbid(unsafe_code)]

pub mod bridge;
pub mod cli;
pub mod clock;
pub mod codec;
pub mod dedup;
pub mod publisher;
pub mod qr;
pub mod reader;
pub mod settings;
