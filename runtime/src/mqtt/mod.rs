//! Every MQTT client of the system, on rumqttc with TCP_NODELAY set.
//!
//! Parts:
//! - [`options`]: client options from the `[broker]` settings (credentials,
//!   a retained last will, TLS through rustls) and the one place a client
//!   is made;
//! - [`outbox`]: the publisher's bookkeeping of unacknowledged messages (pure);
//! - [`publish`]: a QoS 1 publisher that loses nothing it accepted;
//! - [`subscribe`]: the one subscriber loop, reconnecting with back-off,
//!   each message acknowledged when its handler says it is safe.

use std::sync::atomic::{AtomicBool, AtomicU64};

pub mod options;
pub mod outbox;
pub mod publish;
pub mod subscribe;

pub use options::{BrokerError, mqtt_options, new_client, password};
pub use outbox::Outbox;
pub use publish::{PublisherConfig, run};
pub use subscribe::{Ack, OnMessage, subscribe};

/// One message to publish with QoS 1.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutMsg {
    pub topic: String,
    pub payload: Vec<u8>,
    pub retain: bool,
}

/// Counters shared with whoever watches the publisher.
#[derive(Debug, Default)]
pub struct PublisherStats {
    /// Messages the broker acknowledged.
    pub acked: AtomicU64,
    /// Messages dropped because the outbox was full.
    pub dropped: AtomicU64,
    /// Connections made (the first one included).
    pub connects: AtomicU64,
    /// Messages waiting for an acknowledgement.
    pub outbox: AtomicU64,
    pub connected: AtomicBool,
}
