//! Lane photos: for each entry, exit and hold on a lane with a snapshot
//! source, the camera's current frame is taken (its snapshot URL, or the
//! newest frame in its directory) and sent to the lot server on the gate's
//! `photo` topic, named by the event.
//!
//! Off the decision path: the engine hands a [`PhotoJob`] over without
//! waiting, a few captures run at once, and a camera that does not answer
//! costs only its own photo (counted as `failed`). While the broker is
//! away the photos wait here, up to [`WAITING_BYTES`]; past that the
//! oldest are dropped and counted. A photo is evidence for staff, not a
//! record the books rest on, so it is not journaled.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use parking_core::wire::{self, GateTopic, PHOTO_MAX_BYTES, PhotoMsg, Topics, V1, photo_type};
use parking_core::{EventId, GateId};
use parking_runtime::mqtt::OutMsg;
use tokio::sync::{Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::settings::{Settings, SnapshotSource};

/// Photos waiting for the broker, at most (encoded).
pub const WAITING_BYTES: usize = 64 * 1024 * 1024;
/// Captures running at once.
const AT_ONCE: usize = 4;

type HttpClient = Client<HttpConnector, Empty<Bytes>>;

/// Take a photo at `lane` for `event_id`.
#[derive(Clone, Debug)]
pub struct PhotoJob {
    pub lane: usize,
    pub event_id: EventId,
}

/// Starts the photo task if a lane has a snapshot source; the sender
/// takes its jobs.
pub(super) fn spawn(
    settings: &Settings,
    topics: &Topics,
    out: mpsc::Sender<OutMsg>,
    shared: &Arc<Shared>,
    shutdown: &CancellationToken,
) -> Option<mpsc::Sender<PhotoJob>> {
    let lanes: Vec<Option<(GateId, SnapshotSource)>> =
        settings.lanes.iter().map(|l| l.snapshot.clone().map(|s| (l.gate.clone(), s))).collect();
    if lanes.iter().all(Option::is_none) {
        return None;
    }
    let (tx, rx) = mpsc::channel(256);
    let task = PhotoTask { lanes, topics: topics.clone(), out, shared: Arc::clone(shared) };
    tokio::spawn(task.run(rx, shutdown.clone()));
    Some(tx)
}

struct PhotoTask {
    lanes: Vec<Option<(GateId, SnapshotSource)>>,
    topics: Topics,
    out: mpsc::Sender<OutMsg>,
    shared: Arc<Shared>,
}

impl PhotoTask {
    async fn run(self, mut jobs: mpsc::Receiver<PhotoJob>, shutdown: CancellationToken) {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(2)));
        let client: HttpClient = Client::builder(hyper_util::rt::TokioExecutor::new()).build(connector);
        let limit = Arc::new(Semaphore::new(AT_ONCE));
        let (done_tx, mut done) = mpsc::channel::<OutMsg>(64);
        let mut waiting = Waiting::default();
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                job = jobs.recv() => {
                    let Some(job) = job else { return };
                    let Some(Some((gate, source))) = self.lanes.get(job.lane).cloned() else { continue };
                    let (client, limit, done_tx) = (client.clone(), Arc::clone(&limit), done_tx.clone());
                    let (topics, shared) = (self.topics.clone(), Arc::clone(&self.shared));
                    tokio::spawn(async move {
                        let Ok(_permit) = limit.acquire_owned().await else { return };
                        match capture(&client, &source).await {
                            Ok(bytes) => {
                                let msg = photo_msg(&topics, gate, job.event_id, &bytes, &shared);
                                let _ = done_tx.send(msg).await;
                            }
                            Err(why) => {
                                shared.metrics.photos.with_label_values(&["failed"]).inc();
                                tracing::warn!(%gate, event_id = %job.event_id, "no lane photo: {why}");
                            }
                        }
                    });
                }
                Some(msg) = done.recv() => {
                    let dropped = waiting.push(msg);
                    if dropped > 0 {
                        self.shared.metrics.photos.with_label_values(&["dropped"]).inc_by(dropped);
                        tracing::warn!(dropped, "lane photos dropped: the broker has been away too long");
                    }
                }
                _ = tick.tick() => {}
            }
            if self.shared.publisher.connected.load(Ordering::Relaxed) {
                while let Some(msg) = waiting.pop() {
                    match self.out.try_send(msg) {
                        Ok(()) => self.shared.metrics.photos.with_label_values(&["sent"]).inc(),
                        Err(mpsc::error::TrySendError::Full(msg)) => {
                            waiting.put_back(msg);
                            break;
                        }
                        Err(mpsc::error::TrySendError::Closed(_)) => return,
                    }
                }
            }
        }
    }
}

fn photo_msg(topics: &Topics, gate: GateId, event_id: EventId, bytes: &[u8], shared: &Shared) -> OutMsg {
    let msg = PhotoMsg {
        v: V1,
        gate: gate.clone(),
        event_id,
        at: shared.clock.now(),
        content_type: photo_type(bytes).unwrap_or("image/jpeg").to_owned(),
        image: base64::engine::general_purpose::STANDARD.encode(bytes),
    };
    OutMsg { topic: topics.gate(&gate, GateTopic::Photo), payload: wire::encode(&msg), retain: false }
}

/// Photos waiting for the broker, oldest first, bounded in bytes.
#[derive(Default)]
struct Waiting {
    queue: VecDeque<OutMsg>,
    bytes: usize,
}

impl Waiting {
    /// Queues `msg`; returns how many old photos made room for it.
    fn push(&mut self, msg: OutMsg) -> u64 {
        self.bytes += msg.payload.len();
        self.queue.push_back(msg);
        let mut dropped = 0;
        while self.bytes > WAITING_BYTES {
            let Some(old) = self.queue.pop_front() else { break };
            self.bytes -= old.payload.len();
            dropped += 1;
        }
        dropped
    }

    fn pop(&mut self) -> Option<OutMsg> {
        let msg = self.queue.pop_front()?;
        self.bytes -= msg.payload.len();
        Some(msg)
    }

    fn put_back(&mut self, msg: OutMsg) {
        self.bytes += msg.payload.len();
        self.queue.push_front(msg);
    }
}

/// The camera's current image, checked to be a JPEG or PNG of at most
/// [`PHOTO_MAX_BYTES`].
pub async fn capture(client: &HttpClient, source: &SnapshotSource) -> Result<Vec<u8>, String> {
    let bytes = match source {
        SnapshotSource::Http { url, timeout_ms } => {
            let wait = Duration::from_millis(u64::from(*timeout_ms));
            tokio::time::timeout(wait, fetch(client, url))
                .await
                .map_err(|_| format!("the camera did not answer within {timeout_ms} ms"))??
        }
        SnapshotSource::Dir { dir, max_age_ms } => {
            let (dir, age) = (dir.clone(), Duration::from_millis(u64::from(*max_age_ms)));
            tokio::task::spawn_blocking(move || newest_frame(&dir, age))
                .await
                .map_err(|e| format!("reading the frames directory: {e}"))??
        }
    };
    match photo_type(&bytes) {
        Some(_) => Ok(bytes),
        None => Err(format!("the camera gave {} bytes that are not a JPEG or PNG image", bytes.len())),
    }
}

/// GET `url`, with basic authentication from its `user:password@`.
async fn fetch(client: &HttpClient, url: &str) -> Result<Vec<u8>, String> {
    let uri: http::Uri = url.parse().map_err(|e| format!("{e}"))?;
    let authority = uri.authority().ok_or("no host in the snapshot URL")?;
    let (user, host) = match authority.as_str().rsplit_once('@') {
        Some((user, host)) => (Some(user.to_owned()), host.to_owned()),
        None => (None, authority.as_str().to_owned()),
    };
    let path = uri.path_and_query().map_or("/", http::uri::PathAndQuery::as_str);
    let plain = format!("http://{host}{path}");
    let mut request = http::Request::get(plain.as_str());
    if let Some(user) = user {
        let token = base64::engine::general_purpose::STANDARD.encode(user.as_bytes());
        request = request.header(http::header::AUTHORIZATION, format!("Basic {token}"));
    }
    let request = request.body(Empty::new()).map_err(|e| e.to_string())?;
    // The address without the password, for messages.
    let shown = format!("http://{host}{path}");
    let answer = client.request(request).await.map_err(|e| format!("{shown}: {e}"))?;
    if !answer.status().is_success() {
        return Err(format!("{shown} answered {}", answer.status()));
    }
    let body = Limited::new(answer.into_body(), PHOTO_MAX_BYTES)
        .collect()
        .await
        .map_err(|e| format!("{shown}: {e} (a photo may be at most {} KiB)", PHOTO_MAX_BYTES / 1024))?;
    Ok(body.to_bytes().to_vec())
}

/// The newest image file in `dir`, if it was written within `max_age`.
fn newest_frame(dir: &std::path::Path, max_age: Duration) -> Result<Vec<u8>, String> {
    let shown = dir.display();
    let entries = std::fs::read_dir(dir).map_err(|e| format!("frames directory {shown}: {e}"))?;
    let is_image = |p: &std::path::Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| ["jpg", "jpeg", "png"].contains(&e.to_ascii_lowercase().as_str()))
    };
    let newest = entries
        .filter_map(Result::ok)
        .filter(|e| is_image(&e.path()))
        .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
        .max_by_key(|(at, _)| *at);
    let Some((at, path)) = newest else { return Err(format!("no frame in {shown}")) };
    let age = SystemTime::now().duration_since(at).unwrap_or_default();
    if age > max_age {
        return Err(format!("the newest frame in {shown} is {} ms old", age.as_millis()));
    }
    let len = std::fs::metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?.len();
    if len > PHOTO_MAX_BYTES as u64 {
        return Err(format!("{} is {} KiB, over {} KiB", path.display(), len / 1024, PHOTO_MAX_BYTES / 1024));
    }
    std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn msg(n: usize) -> OutMsg {
        OutMsg { topic: "t".into(), payload: vec![0; n], retain: false }
    }

    #[test]
    fn the_waiting_photos_are_bounded_oldest_dropped_first() {
        let mut w = Waiting::default();
        assert_eq!(w.push(msg(WAITING_BYTES / 2)), 0);
        assert_eq!(w.push(msg(WAITING_BYTES / 2)), 0);
        assert_eq!(w.push(msg(10)), 1, "the oldest makes room");
        assert_eq!(w.pop().unwrap().payload.len(), WAITING_BYTES / 2);
        assert_eq!(w.pop().unwrap().payload.len(), 10);
        assert!(w.pop().is_none());
        assert_eq!(w.bytes, 0);
    }

    #[test]
    fn a_stale_or_missing_frame_is_no_photo() {
        let dir = std::env::temp_dir().join(format!("photos-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert!(newest_frame(&dir, Duration::from_secs(5)).unwrap_err().contains("no frame"));
        std::fs::write(dir.join("a.txt"), b"not a frame").unwrap();
        std::fs::write(dir.join("b.jpg"), b"\xFF\xD8\xFFframe").unwrap();
        assert_eq!(newest_frame(&dir, Duration::from_secs(5)).unwrap(), b"\xFF\xD8\xFFframe");
        let minute_ago = SystemTime::now() - Duration::from_secs(60);
        std::fs::File::options().write(true).open(dir.join("b.jpg")).unwrap().set_modified(minute_ago).unwrap();
        assert!(newest_frame(&dir, Duration::from_secs(5)).unwrap_err().contains("ms old"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
