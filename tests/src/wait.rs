//! Waiting in tests, two ways and never a third:
//! - [`until`]: for a condition the system must reach, polled, with a
//!   deadline that fails the test naming what never happened;
//! - [`hold`]: the scenario's own time passing (a car standing on the
//!   loop, a stay, a fault that lasts): part of what is tested, not a
//!   guess at how long the system takes.
//!
//! A fixed sleep that stands in for "long enough for the system to be
//! ready" is neither, and has no place in a test.

use std::future::Future;
use std::time::Duration;

/// How often a condition is polled.
const POLL: Duration = Duration::from_millis(25);

/// Waits until `cond` holds, for at most `secs`; panics naming `what`
/// if it never does.
#[allow(clippy::panic)]
pub async fn until<F, Fut>(secs: u64, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while !cond().await {
        if tokio::time::Instant::now() >= deadline {
            panic!("timed out after {secs} s waiting for {what}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The scenario's own time passing, as it would at a real lane.
pub async fn hold(span: Duration) {
    tokio::time::sleep(span).await;
}
