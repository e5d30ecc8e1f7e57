//! Stopping on SIGINT or SIGTERM: the one signal helper of every binary.
//! systemd and container runtimes stop a service with SIGTERM; a person
//! at a terminal with Ctrl-C (SIGINT). Both mean: finish what is in hand
//! and stop.

use tokio_util::sync::CancellationToken;

/// Resolves at the first SIGINT or SIGTERM.
pub async fn signalled() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
                return;
            }
            Err(e) => tracing::error!(error = %e, "cannot watch SIGTERM; stopping on SIGINT only"),
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

/// A token cancelled at the first SIGINT or SIGTERM (or by its holder).
pub fn on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let stop = token.clone();
    tokio::spawn(async move {
        tokio::select! {
            () = signalled() => tracing::info!("stopping"),
            () = stop.cancelled() => {}
        }
        stop.cancel();
    });
    token
}
