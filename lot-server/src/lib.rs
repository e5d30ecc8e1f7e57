//! `lot-server`: sessions, vehicles and accounts, settlement by VietQR bank
//! transfer, invoices and revenue reports for tax, the operator dashboard
//! and Prometheus metrics, over SQLite or PostgreSQL.
//!
//! Modules:
//! - [`db`]: SQLite or PostgreSQL through sqlx `Any`, and the migrations;
//! - [`ingest`]: exactly-once ingestion of gate events into sessions and exceptions;
//! - [`settings`]: the typed `[server]` and `[database]` configuration;
//! - `testing`: a fresh database per test, on either backend;
//! - [`tariffs`]: the lot's tariff book, read from `lot.tariff_dir`.

#![forbid(unsafe_code)]

pub mod db;
pub mod ingest;
pub mod settings;
pub mod tariffs;
#[doc(hidden)]
pub mod testing;
