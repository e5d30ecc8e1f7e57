//! One client's socket: TCP_NODELAY, CONNECT and its credentials, then a
//! reader (packets in, routed through the router) and a writer (what the
//! router queued for the session, written as it comes). A connection that
//! ends without DISCONNECT, or falls silent past one and a half keep-alive
//! periods, has its last will published.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::BytesMut;
use rumqttc::mqttbytes::v4::{ConnAck, Connect, ConnectReturnCode, Packet, PubAck, PubComp, PubRec, Publish};
use rumqttc::mqttbytes::{Error as CodecError, QoS};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio_util::sync::CancellationToken;

use crate::router::Attached;
use crate::{Login, MAX_CONNECTIONS, MAX_PACKET, Shared};

/// How long a client has to send CONNECT.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads one packet, reading more bytes as needed; `None` at end of stream.
async fn read_packet(rd: &mut OwnedReadHalf, buf: &mut BytesMut) -> Result<Option<Packet>, String> {
    loop {
        match Packet::read(buf, MAX_PACKET) {
            Ok(p) => return Ok(Some(p)),
            Err(CodecError::InsufficientBytes(n)) => buf.reserve(n),
            Err(e) => return Err(format!("malformed packet: {e:?}")),
        }
        match rd.read_buf(buf).await {
            Ok(0) => return Ok(None),
            Ok(_) => {}
            Err(e) => return Err(e.to_string()),
        }
    }
}

async fn write(wr: &mut OwnedWriteHalf, packets: &[Packet]) -> std::io::Result<()> {
    let mut out = BytesMut::new();
    for p in packets {
        p.write(&mut out, MAX_PACKET).map_err(|e| std::io::Error::other(format!("{e:?}")))?;
    }
    wr.write_all(&out).await
}

async fn refuse(wr: &mut OwnedWriteHalf, code: ConnectReturnCode) {
    let _ = write(wr, &[Packet::ConnAck(ConnAck::new(code, false))]).await;
    let _ = wr.shutdown().await;
}

/// Serves one accepted socket to its end.
pub(crate) async fn serve(stream: TcpStream, peer: SocketAddr, shared: Arc<Shared>, stop: CancellationToken) {
    let open = shared.open.fetch_add(1, Ordering::Relaxed) + 1;
    let _count = Count(shared.clone());
    if let Err(e) = stream.set_nodelay(true) {
        tracing::warn!(%peer, error = %e, "cannot set TCP_NODELAY");
    }
    let (mut rd, mut wr) = stream.into_split();
    let mut buf = BytesMut::with_capacity(4096);
    let mut connect = match tokio::time::timeout(CONNECT_TIMEOUT, read_packet(&mut rd, &mut buf)).await {
        Ok(Ok(Some(Packet::Connect(c)))) => c,
        Ok(Ok(Some(_))) => return tracing::warn!(%peer, "MQTT client's first packet was not CONNECT"),
        Ok(Err(e)) => return tracing::warn!(%peer, error = %e, "MQTT client refused"),
        Ok(Ok(None)) | Err(_) => return,
    };
    // An empty client id with a clean session gets one made up (MQTT
    // 3.1.1, 3.1.3.1), as mosquitto_sub and mosquitto_pub ask for.
    if connect.client_id.is_empty() && connect.clean_session {
        connect.client_id = format!("auto-{peer}");
    }
    if open > MAX_CONNECTIONS {
        return refuse(&mut wr, ConnectReturnCode::ServiceUnavailable).await;
    }
    let login = match admit(&shared, &connect) {
        Ok(login) => login,
        Err(code) => {
            // The user name is what the client claimed; the password is never logged.
            let user = connect.login.as_ref().map(|l| l.username.as_str()).unwrap_or("(none)");
            tracing::warn!(%peer, client = %connect.client_id, user, ?code, "MQTT client refused");
            return refuse(&mut wr, code).await;
        }
    };
    let client_id = connect.client_id.clone();
    let attached = shared.router.lock().ok().map(|mut r| r.connect(&client_id, &login, connect.clean_session));
    let attached = match attached {
        Some(Ok(a)) => a,
        Some(Err(code)) => {
            tracing::warn!(%peer, client = %client_id, user = %login.user, "client id held by another user");
            return refuse(&mut wr, code).await;
        }
        None => return refuse(&mut wr, ConnectReturnCode::ServiceUnavailable).await,
    };
    tracing::debug!(%peer, client = %client_id, user = %login.user, resumed = attached.session_present, "MQTT client connected");
    let writer = tokio::spawn(writer(
        wr,
        shared.clone(),
        client_id.clone(),
        attached.connection,
        attached.notify.clone(),
        attached.kick.clone(),
        stop.clone(),
    ));
    let clean_end = reader(rd, buf, &shared, &client_id, &login, &connect, &attached, &stop).await;
    attached.kick.cancel();
    let _ = writer.await;
    let Ok(mut router) = shared.router.lock() else { return };
    // A will goes only if this connection was still the client's live one
    // (not replaced by a reconnect) and the broker is not stopping.
    if !clean_end && router.is_live(&client_id, attached.connection) && !stop.is_cancelled() {
        if let Some(w) = &connect.last_will {
            let mut msg = Publish::from_bytes(w.topic.clone(), w.qos, w.message.clone());
            msg.retain = w.retain;
            router.publish(msg);
        }
    }
    router.detach(&client_id, attached.connection);
}

/// Checks the credentials, the client id and the will's topic.
fn admit(shared: &Shared, connect: &Connect) -> Result<Login, ConnectReturnCode> {
    if connect.client_id.is_empty() || connect.client_id.len() > 256 {
        return Err(ConnectReturnCode::BadClientId);
    }
    let credentials = connect.login.as_ref().map(|l| (l.username.as_str(), l.password.as_str()));
    let login = shared.auth.authenticate(&connect.client_id, credentials)?;
    if let Some(w) = &connect.last_will {
        if !login.grant.may_publish(&w.topic) {
            return Err(ConnectReturnCode::NotAuthorized);
        }
    }
    Ok(login)
}

/// Handles the client's packets; true if it ended with DISCONNECT.
#[allow(clippy::too_many_arguments)]
async fn reader(
    mut rd: OwnedReadHalf,
    mut buf: BytesMut,
    shared: &Shared,
    client_id: &str,
    login: &Login,
    connect: &Connect,
    attached: &Attached,
    stop: &CancellationToken,
) -> bool {
    let silence = match connect.keep_alive {
        0 => Duration::from_secs(24 * 3600),
        k => Duration::from_millis(u64::from(k) * 1500),
    };
    loop {
        let packet = tokio::select! {
            () = stop.cancelled() => return false,
            () = attached.kick.cancelled() => return false,
            r = tokio::time::timeout(silence, read_packet(&mut rd, &mut buf)) => r,
        };
        let packet = match packet {
            Ok(Ok(Some(p))) => p,
            Ok(Ok(None)) => return false,
            Ok(Err(e)) => {
                tracing::warn!(client = %client_id, error = %e, "MQTT connection closed");
                return false;
            }
            Err(_) => {
                tracing::warn!(client = %client_id, "MQTT client silent past its keep-alive; disconnected");
                return false;
            }
        };
        let Ok(mut router) = shared.router.lock() else { return false };
        match packet {
            Packet::Publish(p) => {
                let (qos, pkid) = (p.qos, p.pkid);
                if login.grant.may_publish(&p.topic) {
                    router.publish(p);
                } else {
                    tracing::warn!(client = %client_id, user = %login.user, topic = %p.topic, "publish refused by the ACL; dropped");
                }
                match qos {
                    QoS::AtMostOnce => {}
                    QoS::AtLeastOnce => router.answer(client_id, Packet::PubAck(PubAck::new(pkid))),
                    QoS::ExactlyOnce => router.answer(client_id, Packet::PubRec(PubRec::new(pkid))),
                }
            }
            Packet::PubRel(r) => router.answer(client_id, Packet::PubComp(PubComp::new(r.pkid))),
            Packet::PubAck(a) => router.acked(client_id, a.pkid),
            Packet::Subscribe(s) => {
                for f in router.subscribe(client_id, s) {
                    tracing::warn!(client = %client_id, user = %login.user, filter = %f, "subscription refused by the ACL");
                }
            }
            Packet::Unsubscribe(u) => router.unsubscribe(client_id, u),
            Packet::PingReq => router.answer(client_id, Packet::PingResp),
            Packet::Disconnect => return true,
            Packet::Connect(_) => {
                tracing::warn!(client = %client_id, "a second CONNECT on one connection; closed");
                return false;
            }
            // Nothing else is sent by a client the broker sent nothing
            // to ask for (it never sends QoS 2).
            _ => {}
        }
    }
}

/// Writes what the router queues for this connection until it is replaced,
/// ended or the socket fails (which ends the reader too).
async fn writer(
    mut wr: OwnedWriteHalf,
    shared: Arc<Shared>,
    client_id: String,
    connection: u64,
    notify: Arc<tokio::sync::Notify>,
    kick: CancellationToken,
    stop: CancellationToken,
) {
    loop {
        let packets = match shared.router.lock() {
            Ok(mut r) => r.take(&client_id, connection),
            Err(_) => None,
        };
        let Some(packets) = packets else { break };
        if !packets.is_empty() {
            if let Err(e) = write(&mut wr, &packets).await {
                tracing::debug!(client = %client_id, error = %e, "MQTT write failed");
                break;
            }
            continue;
        }
        tokio::select! {
            () = notify.notified() => {}
            () = kick.cancelled() => break,
            () = stop.cancelled() => break,
        }
    }
    kick.cancel();
    let _ = wr.shutdown().await;
}

/// Counts an open socket down when its task ends.
struct Count(Arc<Shared>);
impl Drop for Count {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::Relaxed);
    }
}
