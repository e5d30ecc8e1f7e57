//! `lot-server`: sessions, vehicles and accounts, settlement by VietQR bank
//! transfer, invoices and revenue reports for tax, the operator dashboard
//! and Prometheus metrics, over SQLite or PostgreSQL.
//!
//! The folders are the layers, lowest first:
//! - domain over the database: [`db`] (SQLite or PostgreSQL through sqlx
//!   `Any`, migrations, the locks instances sharing a database take),
//!   [`tokens`] (machines' API tokens), [`people`] (people's accounts,
//!   passwords, sessions, lockout, their actions journalled), [`registry`] (owners, accounts, vehicles,
//!   tags, passes), [`lists`] (the versioned lists derived from the
//!   registry), [`ingest`] (exactly-once gate events into sessions),
//!   [`journal`] (sessions, events, exceptions), [`day_close`] (a shift's
//!   or a day's close), [`stay_detail`] (a stay
//!   with its events, fee lines, payments and invoices), [`settlement`] (transfers
//!   matched to stays and accounts, webhooks, reconciliation, the ledger),
//!   [`audit`] (the tamper-evident journal: outbox, chaining, seals,
//!   verification, export), [`tax`] (sales, e-invoices, receipts, reports,
//!   exports), [`availability`] (free spaces per class, an operator's
//!   count, the DATEX II feed), [`owed`] (what a driver owes for a stay
//!   still inside), [`drivers`] (drivers signed in to their own data:
//!   PINs, links, what is theirs, notices), [`nodes`] (the broker's
//!   users: secrets, grants, their export for Mosquitto), [`photos`]
//!   (lane photos of entries, exits and holds, kept by event),
//!   [`retention`] (raw gate events, sign-ins and photos deleted when
//!   older than kept);
//! - [`settings`]: the typed configuration; [`metrics`]: every Prometheus metric;
//! - facing the broker, [`mqtt`]: the embedded broker, each lot's outgoing
//!   link, the after-commit publisher of lane commands, ingestion from
//!   MQTT, the lane photos, the lists publisher, the live board;
//! - facing people, [`api`]: the HTTP API, its roles, its OpenAPI document
//!   and the operator's dashboard;
//! - [`server`]: the process wiring of `lot-server run`;
//! - [`cli`]: the other subcommands; [`bench`]: the benchmark commands;
//! - `testing`: a fresh database per test, on either backend.

#![forbid(unsafe_code)]

pub mod api;
pub mod audit;
pub mod availability;
pub mod bench;
pub mod cli;
pub mod day_close;
pub mod db;
pub mod drivers;
pub mod ingest;
pub mod journal;
pub mod lists;
pub mod metrics;
pub mod mqtt;
pub mod nodes;
pub mod owed;
pub mod people;
pub mod photos;
pub mod registry;
pub mod retention;
pub mod server;
pub mod settings;
pub mod settlement;
pub mod stay_detail;
pub mod tax;
#[doc(hidden)]
pub mod testing;
pub mod tokens;

pub use server::run;
