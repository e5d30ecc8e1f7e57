//! `tag-reader`: UHF RFID reader protocols over serial and QR codes from
//! camera frames, as a library the controller uses in-process and as a
//! bridge binary that publishes reads onto MQTT. QR decoding (image,
//! rqrr, rxing) is the default feature `qr`; the controller builds
//! without it.
//!
//! Modules:
//! - [`bridge`]: the `run` command: reader and camera frames onto MQTT;
//! - [`cli`]: the stable command-line contracts (decode-frames; with `qr`, decode-qr and bench-qr);
//! - [`codec`]: R2000, Chafon, LLRP and QR scanner codecs, the Wiegand decoder;
//! - [`dedup`]: repeated reads collapsed into presences, lanes arbitrated;
//! - [`llrp_client`]: a fixed reader's inventory over LLRP/TCP, reconnecting;
//! - [`llrp_sim`]: a simulated LLRP reader, for tests and the simulator;
//! - `qr` (feature `qr`): QR codes from camera frames (image + rqrr + rxing);
//! - [`reader`]: the async loop that drives a reader over a byte stream;
//! - [`reads`]: a read as published on its gate's topic;
//! - [`settings`]: the typed `[reader]` configuration.

#![forbid(unsafe_code)]

pub mod bridge;
pub mod cli;
pub mod codec;
pub mod dedup;
pub mod llrp_client;
pub mod llrp_sim;
#[cfg(feature = "qr")]
pub mod qr;
pub mod reader;
pub mod reads;
pub mod settings;
