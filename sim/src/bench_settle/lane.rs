//! One exit lane's stays, paid one after another, as the lane's devices
//! and a driver's banking app see them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use parking_core::Epc;
use parking_core::vietqr::VietQr;
use parking_core::wire::{self, LoopMsg, Read, ReadMsg, TagPresence, V1};
use rumqttc::{AsyncClient, QoS};
use serde_json::json;
use tokio::sync::{Mutex, oneshot};

use super::{LOT, epc, now};
use crate::http::Http;

/// Waiters for the next message on a topic.
pub(super) type Waiters = Arc<Mutex<HashMap<String, oneshot::Sender<Vec<u8>>>>>;

pub(super) async fn expect(waiters: &Waiters, topic: &str) -> oneshot::Receiver<Vec<u8>> {
    let (tx, rx) = oneshot::channel();
    waiters.lock().await.insert(topic.to_owned(), tx);
    rx
}

pub(super) fn read(gate: &str, epc: Epc) -> anyhow::Result<Vec<u8>> {
    let at = now();
    let p = TagPresence { epc, tid: None, antenna: 0, rssi: None, first_seen: at, last_seen: at, reads: 3 };
    Ok(wire::encode(&ReadMsg { v: V1, gate: gate.parse()?, at, read: Read::Tag(p) }))
}

/// One exit lane's stays, one after another. Returns the webhook-to-
/// barrier latencies and the webhook answer times, in ms.
pub(super) async fn lane_payments(
    lane: usize,
    tags: Vec<u64>,
    http: &Http,
    mqtt: &AsyncClient,
    waiters: &Waiters,
) -> anyhow::Result<(Vec<f64>, Vec<f64>)> {
    let exit = format!("exit-{lane}");
    let topic = |gate: &str, t: &str| format!("parking/{LOT}/gate/{gate}/{t}");
    let mut latencies = Vec::new();
    let mut answers = Vec::new();
    for n in tags {
        let tag = epc(n)?;
        let mut shown = expect(waiters, &topic(&exit, "display")).await;
        mqtt.publish(topic(&exit, "read"), QoS::AtLeastOnce, false, read(&exit, tag)?).await?;
        // The lane may still be saying goodbye to the last car: wait for
        // the display that carries a VietQR.
        let deadline = Instant::now() + Duration::from_secs(10);
        let payload = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let display: wire::DisplayMsg = serde_json::from_slice(&tokio::time::timeout(left, shown).await??)?;
            if let Some(p) = display.vietqr {
                break p;
            }
            shown = expect(waiters, &topic(&exit, "display")).await;
        };
        let qr = VietQr::decode(&payload)?;
        let memo = qr.memo.context("no memo")?;
        let amount = qr.amount.context("no amount")?.get();
        // A driver takes seconds to pay; the lane's request reaches the
        // server in milliseconds. Pay once the server knows it.
        let mut known = false;
        for _ in 0..400 {
            let found =
                http.api("GET", &format!("/api/v1/payment-requests?state=owed&gate={exit}&limit=1"), None).await?;
            if found.as_array().is_some_and(|a| a.iter().any(|r| r["payment_code"] == json!(memo))) {
                known = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if !known {
            bail!("the server never learned of {memo}");
        }
        let opened = expect(waiters, &topic(&exit, "barrier")).await;
        let t0 = Instant::now();
        let (s, v) = http.pay(n + 1, amount, &format!("IBFT {memo}")).await?;
        answers.push(t0.elapsed().as_secs_f64() * 1e3);
        if s != 200 || v["outcome"] != json!("settled") {
            bail!("payment {n}: {s} {v}");
        }
        tokio::time::timeout(Duration::from_secs(10), opened).await??;
        latencies.push(t0.elapsed().as_secs_f64() * 1e3);
        // The car drives through.
        for occupied in [true, false] {
            let m = LoopMsg { v: V1, gate: exit.parse()?, at: now(), occupied };
            mqtt.publish(topic(&exit, "loop"), QoS::AtLeastOnce, false, wire::encode(&m)).await?;
        }
    }
    Ok((latencies, answers))
}
