//! Listening to a lane: its next message, and after its controller
//! restarted, when to present the vehicle again.

use std::time::{Duration, Instant};

use tokio::sync::mpsc;

use super::devices::LaneMsg;

/// The next message from the lane, or `None` after the timeout.
async fn next(rx: &mut mpsc::UnboundedReceiver<LaneMsg>, timeout: Duration) -> Option<LaneMsg> {
    tokio::time::timeout(timeout, rx.recv()).await.ok().flatten()
}

/// How long a lane may stay silent after its controller restarted before
/// the vehicle waiting there is read again: a reader keeps reading a tag in
/// its field and a driver shows the ticket again, but a read the old
/// process took with it is not what the broker still holds for the new one.
const REREAD_AFTER: Duration = Duration::from_secs(1);

/// What a lane said next.
pub(super) enum Heard {
    Msg(LaneMsg),
    /// The lane's controller restarted and the lane stayed silent since.
    Reread,
    TimedOut,
}

/// The lane's next message; after its controller restarted, `Reread` if
/// the lane then stays silent for [`REREAD_AFTER`].
pub(super) async fn hear(
    rx: &mut mpsc::UnboundedReceiver<LaneMsg>,
    timeout: Duration,
    reread: &mut Option<Instant>,
) -> Heard {
    loop {
        let msg = match *reread {
            Some(at) => match tokio::time::timeout_at(at.into(), rx.recv()).await {
                Ok(msg) => msg,
                Err(_) => {
                    *reread = None;
                    return Heard::Reread;
                }
            },
            None => next(rx, timeout).await,
        };
        match msg {
            Some(LaneMsg::ControllerBack) => *reread = Some(Instant::now() + REREAD_AFTER),
            Some(msg) => {
                *reread = None;
                return Heard::Msg(msg);
            }
            None => return Heard::TimedOut,
        }
    }
}
