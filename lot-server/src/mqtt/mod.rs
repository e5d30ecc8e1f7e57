//! Everything of the lot server that faces the broker.
//!
//! Parts:
//! - [`availability`]: free spaces by class, retained for anyone;
//! - [`broker`]: the embedded MQTT broker;
//! - [`link`]: each lot's one outgoing link (acknowledgements, commands, lists, tariff, status);
//! - [`commands`]: the after-commit publisher of lane commands;
//! - [`ingest`]: gate events from MQTT, committed in batches, acknowledged after commit;
//! - [`lists`]: the task that publishes the versioned lists, retained;
//! - [`live`]: the dashboard's live gate board, from the lot's topics;
//! - [`photos`]: lane photos from MQTT into the lot's photo store.

pub mod availability;
pub mod broker;
pub mod commands;
pub mod ingest;
pub mod link;
pub mod lists;
pub mod live;
pub mod photos;
