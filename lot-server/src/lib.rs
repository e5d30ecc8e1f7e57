//! `lot-server`: sessions, vehicles and accounts, settlement by VietQR bank
//! transfer, invoices and revenue reports for tax, the operator dashboard
//! and Prometheus metrics, over SQLite or PostgreSQL.
//!
//! Modules:
//! - [`settings`]: the typed `[server]` and `[database]` configuration;
//! - [`tariffs`]: the lot's tariff book, read from `lot.tariff_dir`.

#![forbid(unsafe_code)]

pub mod settings;
pub mod tariffs;
