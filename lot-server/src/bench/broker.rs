//! `lot-server bench-broker`: a broker measured as the lanes use it. The
//! embedded one (started here, on a free port) by default, or any broker
//! at `--broker HOST:PORT` (Mosquitto, another candidate) with
//! `--user`/`--password`:
//! - QoS 1 round trip: a publish on one connection until it arrives on
//!   another, one at a time, p50/p99;
//! - connection storm: `--storm` clients connect and publish one QoS 1
//!   message each, all at once; how many were accepted, how long it took,
//!   and how many accepted messages never arrived (must be 0).
//!
//! [`storm`] is also the broker test's (tests/tests/broker_refuses.rs).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use parking_core::wire::acl::Grant;
use parking_runtime::mqtt::new_client;
use rumqttc::{AsyncClient, ConnectionError, Event, EventLoop, MqttOptions, Packet, QoS};
use serde_json::json;

#[derive(clap::Args, Debug)]
pub struct BrokerArgs {
    /// A broker to measure, HOST:PORT; without it, the embedded broker.
    #[arg(long)]
    pub broker: Option<String>,
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long)]
    pub password: Option<String>,
    /// Round trips to time, one after another.
    #[arg(long, default_value_t = 5_000)]
    pub round_trips: usize,
    /// Clients in the connection storm.
    #[arg(long, default_value_t = 2_000)]
    pub storm: usize,
}

/// Where a load connects, and as whom.
#[derive(Clone, Debug)]
pub struct Target {
    pub host: String,
    pub port: u16,
    pub login: Option<(String, String)>,
}

impl Target {
    fn options(&self, id: &str) -> MqttOptions {
        let mut o = MqttOptions::new(id, self.host.clone(), self.port);
        o.set_keep_alive(Duration::from_secs(30));
        if let Some((u, p)) = &self.login {
            o.set_credentials(u.clone(), p.clone());
        }
        o
    }
}

/// What a storm did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Storm {
    pub clients: usize,
    /// Clients the broker accepted and whose publish it acknowledged.
    pub acknowledged: usize,
    pub refused: usize,
    /// Acknowledged messages that never reached the subscriber.
    pub lost: usize,
    pub wall_ms: u128,
}

/// Polls until the broker answers the connection.
async fn connected(ev: &mut EventLoop) -> Result<(), ConnectionError> {
    loop {
        if let Event::Incoming(Packet::ConnAck(_)) = ev.poll().await? {
            return Ok(());
        }
    }
}

/// A subscriber to `topic`, ready (SUBACK seen) when this returns.
async fn subscriber(target: &Target, id: &str, topic: &str) -> anyhow::Result<(AsyncClient, EventLoop)> {
    let (client, mut ev) = new_client(target.options(id), 65_536);
    tokio::time::timeout(Duration::from_secs(10), connected(&mut ev)).await.context("no CONNACK")??;
    client.subscribe(topic, QoS::AtLeastOnce).await?;
    loop {
        if let Event::Incoming(Packet::SubAck(a)) = ev.poll().await? {
            anyhow::ensure!(
                a.return_codes.iter().all(|c| matches!(c, rumqttc::SubscribeReasonCode::Success(_))),
                "subscribing to {topic} refused"
            );
            return Ok((client, ev));
        }
    }
}

/// `n` clients connect at once as `target`, each publishing its number to
/// `topic` at QoS 1; a subscriber (connecting as `counter`) counts what arrives.
pub async fn storm(target: &Target, counter: &Target, topic: &str, n: usize) -> anyhow::Result<Storm> {
    let (_sub, mut sub_ev) = subscriber(counter, "storm-counter", topic).await?;
    // The subscriber reads all along, as a lot server would: a broker
    // holds only so much for a reader that has stopped.
    let (got_tx, mut got_rx) = tokio::sync::mpsc::unbounded_channel();
    let reader = tokio::spawn(async move {
        loop {
            match sub_ev.poll().await {
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    let _ = got_tx.send(String::from_utf8_lossy(&p.payload).into_owned());
                }
                Ok(_) => {}
                Err(e) => return e,
            }
        }
    });
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..n {
        let (target, topic) = (target.clone(), topic.to_owned());
        tasks.spawn(async move {
            let (client, mut ev) = new_client(target.options(&format!("storm-{i}")), 4);
            let attempt = async {
                connected(&mut ev).await?;
                client
                    .publish(topic, QoS::AtLeastOnce, false, i.to_string())
                    .await
                    .map_err(|_| ConnectionError::RequestsDone)?;
                loop {
                    if let Event::Incoming(Packet::PubAck(_)) = ev.poll().await? {
                        return Ok::<_, ConnectionError>(());
                    }
                }
            };
            let acked = matches!(tokio::time::timeout(Duration::from_secs(30), attempt).await, Ok(Ok(())));
            let _ = client.disconnect().await;
            let _ = tokio::time::timeout(Duration::from_secs(1), ev.poll()).await;
            (i, acked)
        });
    }
    let mut acked = HashSet::new();
    let mut refused = 0;
    while let Some(done) = tasks.join_next().await {
        match done? {
            (i, true) => {
                acked.insert(i.to_string());
            }
            (_, false) => refused += 1,
        }
    }
    let wall_ms = started.elapsed().as_millis();
    let mut got = HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while acked.iter().any(|a| !got.contains(a)) {
        match tokio::time::timeout_at(deadline, got_rx.recv()).await {
            Ok(Some(payload)) => {
                got.insert(payload);
            }
            Ok(None) => anyhow::bail!("the storm's subscriber lost the broker: {:?}", reader.await),
            Err(_) => break,
        }
    }
    reader.abort();
    let lost = acked.iter().filter(|a| !got.contains(*a)).count();
    Ok(Storm { clients: n, acknowledged: acked.len(), refused, lost, wall_ms })
}

/// One publish at a time from one connection to another; the times in ms.
pub async fn round_trips(target: &Target, topic: &str, n: usize) -> anyhow::Result<Vec<f64>> {
    let (_sub, mut sub_ev) = subscriber(target, "rt-sub", topic).await?;
    let (publisher, mut pub_ev) = new_client(target.options("rt-pub"), 64);
    tokio::time::timeout(Duration::from_secs(10), connected(&mut pub_ev)).await.context("no CONNACK")??;
    tokio::spawn(async move { while pub_ev.poll().await.is_ok() {} });
    let mut times = Vec::with_capacity(n);
    for i in 0..n {
        let sent = Instant::now();
        publisher.publish(topic, QoS::AtLeastOnce, false, i.to_string()).await?;
        let wait = async {
            loop {
                if let Event::Incoming(Packet::Publish(p)) = sub_ev.poll().await? {
                    if p.payload.as_ref() == i.to_string().as_bytes() {
                        return Ok::<_, ConnectionError>(());
                    }
                }
            }
        };
        tokio::time::timeout(Duration::from_secs(5), wait).await.with_context(|| format!("round trip {i} lost"))??;
        times.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    Ok(times)
}

/// Runs the bench and prints its figures, the last line JSON.
pub async fn run(args: BrokerArgs) -> anyhow::Result<()> {
    let mut embedded = None;
    let target = match &args.broker {
        Some(addr) => {
            let (host, port) = addr.rsplit_once(':').context("--broker is HOST:PORT")?;
            let login = args.user.clone().zip(args.password.clone());
            Target { host: host.to_owned(), port: port.parse().context("--broker's port")?, login }
        }
        None => {
            let secret = crate::nodes::secret::new_secret();
            let grant = Grant { read: vec!["bench/#".into()], write: vec!["bench/#".into()] };
            let auth = Arc::new(crate::nodes::auth::NodeAuth::new("bench", &secret, grant));
            let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
            let port = listener.local_addr()?.port();
            embedded = Some(crate::mqtt::broker::serve(listener, auth)?);
            Target { host: "127.0.0.1".into(), port, login: Some(("bench".into(), secret)) }
        }
    };
    let name = args.broker.clone().unwrap_or_else(|| "embedded".into());
    let mut times = round_trips(&target, "bench/rt", args.round_trips).await?;
    times.sort_by(f64::total_cmp);
    let (p50, p99) =
        (parking_runtime::histogram::percentile(&times, 0.5), parking_runtime::histogram::percentile(&times, 0.99));
    println!("{name}: QoS 1 round trip over {} messages: p50 {p50:.3} ms, p99 {p99:.3} ms", times.len());
    let s = storm(&target, &target, "bench/storm", args.storm).await?;
    println!(
        "{name}: storm of {} clients: {} acknowledged, {} refused, {} lost, in {} ms",
        s.clients, s.acknowledged, s.refused, s.lost, s.wall_ms
    );
    if let Some(b) = embedded {
        crate::mqtt::broker::stop(b).await;
    }
    let figures = json!({
        "broker": name, "round_trips": times.len(), "rt_p50_ms": (p50 * 1000.0).round() / 1000.0,
        "rt_p99_ms": (p99 * 1000.0).round() / 1000.0, "storm_clients": s.clients, "storm_acknowledged": s.acknowledged,
        "storm_refused": s.refused, "storm_lost": s.lost, "storm_ms": s.wall_ms,
    });
    println!("{figures}");
    anyhow::ensure!(s.lost == 0, "{} acknowledged messages were lost", s.lost);
    Ok(())
}
