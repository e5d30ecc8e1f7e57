//! Opening a serial device with back-off (feature `serial`): readers,
//! scanners and relay boards on RS-485 or USB adapters come and go.

use std::time::Duration;

use tokio_util::sync::CancellationToken;

/// Opens a serial device, retrying with back-off (200 ms, doubling to
/// 10 s) while it is missing or busy, as an unplugged USB adapter is.
/// `on_fail` is told of each failure; `None` once `shutdown` is cancelled.
pub async fn open(
    port: &str,
    baud: u32,
    shutdown: &CancellationToken,
    mut on_fail: impl FnMut(&tokio_serial::Error),
) -> Option<tokio_serial::SerialStream> {
    use tokio_serial::SerialPortBuilderExt as _;
    let mut backoff = Duration::from_millis(200);
    loop {
        if shutdown.is_cancelled() {
            return None;
        }
        match tokio_serial::new(port, baud).open_native_async() {
            Ok(io) => return Some(io),
            Err(e) => {
                on_fail(&e);
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = tokio::time::sleep(backoff) => {}
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_missing_device_is_retried_with_growing_back_off_until_shutdown() {
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let started = tokio::time::Instant::now();
        let mut fails = 0u32;
        let opened = open("/dev/does-not-exist-parking", 9600, &shutdown, |_| {
            fails += 1;
            if fails == 5 {
                stop.cancel();
            }
        })
        .await;
        assert!(opened.is_none());
        assert_eq!(fails, 5);
        // 200 + 400 + 800 + 1600 ms of back-off before the fifth try.
        assert_eq!(started.elapsed(), Duration::from_millis(3000));
    }
}
