//! The lot server's benchmark commands; each prints its figures, the last
//! line JSON.
//!
//! - [`broker`]: `lot-server bench-broker`: a broker's QoS 1 round trip and a connection storm;
//! - [`ingest`]: `lot-server bench-ingest`: sustained ingestion from MQTT to acknowledgement;
//! - [`ledger`]: `lot-server bench-ledger`: the tamper-evident journal's verification speed and tamper detection;
//! - [`report`]: `lot-server bench-report`: the monthly revenue report over a generated month.

pub mod broker;
pub mod ingest;
pub mod ledger;
pub mod report;
