//! `parking-core`: the pure domain of the cashless parking system.
//!
//! No I/O and no clock: nothing here opens a file or a socket, and every
//! instant is passed in by the caller, so everything is testable with
//! plain values.
//!
//! Modules:
//! - [`ids`]: `Epc`, `Tid`, `LotId`, `GateId`, `NodeId`, `EventId`;
//! - [`plate`]: Vietnamese licence plates, normalised;
//! - [`money`]: `Vnd`, whole đồng with checked arithmetic;
//! - [`vehicle`]: vehicle classes, built-in and configured;
//! - [`chain`]: the tamper-evident journal: hash-chained records, signed daily seals;
//! - [`invoice`]: cash-register e-invoices and their `TDiep` XML;
//! - [`payment_code`]: short, check-charactered codes for transfer memos;
//! - [`occupancy`]: spaces taken and free per class, within capacity;
//! - [`vat`]: VAT rates by date, and splitting a VAT-inclusive fee;
//! - [`timestamp`]: UTC instants and the lot's local clock (UTC+7);
//! - [`gate`]: the lane state machine, edge lists and signed tickets;
//! - [`tariff`]: dated, versioned tariffs and `fee()`;
//! - [`vietqr`]: NAPAS VietQR payloads, encoded and checked;
//! - [`wire`]: every MQTT/HTTP message, and the topic scheme;
//! - [`xml`]: text escaped for XML and HTML;
//! - [`config`]: layered TOML + environment configuration, typed;
//! - [`settings`]: the configuration sections the processes share;
//! - [`secret`]: a string that never prints;
//! - `testing`: byte mutations for the hostile-input tests of every crate.

#![forbid(unsafe_code)]

pub mod chain;
pub mod config;
pub mod gate;
pub mod ids;
pub mod invoice;
pub mod money;
pub mod occupancy;
pub mod payment_code;
pub mod plate;
pub mod secret;
pub mod settings;
pub mod tariff;
#[doc(hidden)]
pub mod testing;
pub mod timestamp;
pub mod vat;
pub mod vehicle;
pub mod vietqr;
pub mod wire;
pub mod xml;

pub use ids::{Epc, EventId, GateId, IdError, LotId, NodeId, Tid};
pub use money::Vnd;
pub use payment_code::PaymentCode;
pub use plate::Plate;
pub use tariff::{Fee, Tariff, TariffBook, fee};
pub use timestamp::Timestamp;
pub use vehicle::VehicleClass;
