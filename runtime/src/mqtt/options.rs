//! Client options from the `[broker]` settings, and the one place an MQTT
//! client is made (with TCP_NODELAY: without it each QoS 1 hop waits for
//! Nagle's algorithm and a round trip costs ~40 ms).

use std::time::Duration;

use parking_core::secret::Secret;
use parking_core::settings::{BrokerSettings, TlsSettings};
use rumqttc::{AsyncClient, EventLoop, LastWill, MqttOptions, QoS, TlsConfiguration, Transport};
use rustls_pki_types::pem::PemObject as _;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use super::OutMsg;

/// Why a broker connection cannot be set up.
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("broker.tls.{key}: cannot read {path}: {error}")]
    Read { key: &'static str, path: String, error: std::io::Error },
    #[error("broker.tls.{key}: {path} holds no PEM {what}")]
    NoPem { key: &'static str, path: String, what: &'static str },
    #[error("broker.tls: client_cert and client_key go together")]
    HalfIdentity,
    #[error("broker.password_file: cannot read {path}: {error} (the lot server writes it on first start)")]
    PasswordFile { path: String, error: std::io::Error },
    #[error("broker.password_file: {path} is empty")]
    EmptyPassword { path: String },
}

/// The broker password: `broker.password`, else the first line of
/// `broker.password_file`, else none.
pub fn password(broker: &BrokerSettings) -> Result<Option<Secret>, BrokerError> {
    if let Some(p) = &broker.password {
        return Ok(Some(p.clone()));
    }
    let Some(path) = &broker.password_file else { return Ok(None) };
    let text = std::fs::read_to_string(path)
        .map_err(|error| BrokerError::PasswordFile { path: path.display().to_string(), error })?;
    match text.lines().next().map(str::trim).filter(|l| !l.is_empty()) {
        Some(line) => Ok(Some(Secret::new(line))),
        None => Err(BrokerError::EmptyPassword { path: path.display().to_string() }),
    }
}

/// The TLS transport `[broker.tls]` asks for: the CA to check the broker
/// against and, if set, this client's certificate and key (rustls, ring).
fn tls_transport(tls: &TlsSettings) -> Result<Transport, BrokerError> {
    let read = |key: &'static str, path: &std::path::Path| {
        std::fs::read(path).map_err(|error| BrokerError::Read { key, path: path.display().to_string(), error })
    };
    let pem = |key: &'static str, path: &std::path::Path, what: &'static str, found: bool| {
        if found { Ok(()) } else { Err(BrokerError::NoPem { key, path: path.display().to_string(), what }) }
    };
    let ca = read("ca_file", &tls.ca_file)?;
    let certs = CertificateDer::pem_slice_iter(&ca).filter_map(Result::ok).count();
    pem("ca_file", &tls.ca_file, "certificate", certs > 0)?;
    let client_auth = match (&tls.client_cert, &tls.client_key) {
        (Some(cert_path), Some(key_path)) => {
            let cert = read("client_cert", cert_path)?;
            let certs = CertificateDer::pem_slice_iter(&cert).filter_map(Result::ok).count();
            pem("client_cert", cert_path, "certificate", certs > 0)?;
            let key = read("client_key", key_path)?;
            let found = PrivateKeyDer::from_pem_slice(&key).is_ok();
            pem("client_key", key_path, "private key", found)?;
            Some((cert, key))
        }
        (None, None) => None,
        _ => return Err(BrokerError::HalfIdentity),
    };
    Ok(Transport::tls_with_config(TlsConfiguration::Simple { ca, alpn: None, client_auth }))
}

/// MQTT options from the `[broker]` settings: TCP_NODELAY on (see
/// the module doc), credentials,
/// a retained last will, TLS with `[broker.tls]`.
pub fn mqtt_options(
    broker: &BrokerSettings,
    client_id: &str,
    will: Option<&OutMsg>,
) -> Result<MqttOptions, BrokerError> {
    let mut o = MqttOptions::new(client_id, broker.host.clone(), broker.port);
    o.set_keep_alive(Duration::from_secs(u64::from(broker.keep_alive_secs.max(5))));
    o.set_clean_session(true);
    // A lane photo (at most 2 MiB, base64 in JSON) fits.
    o.set_max_packet_size(4 * 1024 * 1024, 4 * 1024 * 1024);
    if let (Some(user), Some(pass)) = (&broker.username, password(broker)?) {
        o.set_credentials(user.clone(), pass.expose().to_owned());
    }
    if let Some(w) = will {
        o.set_last_will(LastWill::new(w.topic.clone(), w.payload.clone(), QoS::AtLeastOnce, w.retain));
    }
    if let Some(tls) = &broker.tls {
        o.set_transport(tls_transport(tls)?);
    }
    Ok(o)
}

/// A client and its eventloop with TCP_NODELAY set: every
/// MQTT client of the system is made here.
pub fn new_client(options: MqttOptions, cap: usize) -> (AsyncClient, EventLoop) {
    let (client, mut eventloop) = AsyncClient::new(options, cap);
    let mut net = rumqttc::NetworkOptions::new();
    net.set_tcp_nodelay(true);
    eventloop.set_network_options(net);
    (client, eventloop)
}
