//! `tag-reader`: UHF RFID reader protocols over serial and QR codes from
//! camera frames, as a library the controller uses in-process and as a
//! bridge binary that publishes reads onto MQTT. QR decoding (image,
//! rqrr, rxing) is the default feature `qr`; the controller builds
//! without it.
//!
//! Modules:
//! - [`bridge`]: the `run` command: reader and camera frames onto MQTT;
//! - [`cli`]: the stable command-line contracts (decode-frames; with `qr`, decode-qr and bench-qr);
//! - [`codec`]: R2000 and Chafon frame codecs, the Wiegand decoder;
//! - [`dedup`]: repeated reads collapsed into presences, lanes arbitrated;
//! - `qr` (feature `qr`): QR codes from camera frames (image + rqrr + rxing);
//! - [`reader`]: the async loop that drives a reader over a byte stream;
//! - [`reads`]: a read as published on its gate's topic;
//! - [`settings`]: the typed `[reader]` configuration.

#![forbid(unsafe_code)]

pub mod bridge;
pub mod cli;
pub mod codec;
pub mod dedup;
#[cfg(feature = "qr")]
pub mod qr;
pub mod reader;
pub mod reads;
pub mod settings;
