//! HTTPS out (feature `https`): the one client every outbound call of the
//! lot server goes through (the SePay poller, an e-invoice provider's
//! API). It is hyper-util's client over hyper-rustls: rustls with ring,
//! HTTP/1.1, the system's trusted authorities plus, if configured, a
//! site's own CA (`ca_file`).
//!
//! Parts:
//! - this file: [`HttpsClient`], [`check_url`];
//! - `failure`: [`SetupError`], [`SendError`], and a refused certificate
//!   told as what is wrong with it.
//!
//! Plain `http://` is accepted only to this machine (a local simulator,
//! or a TLS egress proxy on loopback): a token must not cross a network
//! in clear.

mod failure;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject as _;

pub use failure::{SendError, SetupError, UrlError};
pub use http::{Method, Request, StatusCode, header};

/// How long a request may take, connection and answer together.
pub const TIMEOUT: Duration = Duration::from_secs(15);

/// An HTTPS client; cheap to clone (connections are pooled and shared).
#[derive(Clone, Debug)]
pub struct HttpsClient {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpsClient {
    /// A client trusting the system's authorities and the certificates in
    /// `ca_file` (PEM), if given; `key` names the setting in errors.
    pub fn new(key: &str, ca_file: Option<&Path>) -> Result<Self, SetupError> {
        let mut roots = rustls::RootCertStore::empty();
        let system = rustls_native_certs::load_native_certs();
        roots.add_parsable_certificates(system.certs);
        if let Some(path) = ca_file {
            let shown = || (key.to_owned(), path.display().to_string());
            let pem = std::fs::read(path).map_err(|error| {
                let (key, path) = shown();
                SetupError::Read { key, path, error }
            })?;
            let certs: Vec<CertificateDer<'static>> =
                CertificateDer::pem_slice_iter(&pem).filter_map(Result::ok).collect();
            if certs.is_empty() {
                let (key, path) = shown();
                return Err(SetupError::NoCertificate { key, path });
            }
            for cert in certs {
                roots.add(cert).map_err(|e| {
                    let (key, path) = shown();
                    SetupError::BadCertificate { key, path, why: e.to_string() }
                })?;
            }
        }
        if roots.is_empty() {
            return Err(SetupError::NoRoots { key: key.to_owned() });
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| SetupError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth();
        let connector =
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config).https_or_http().enable_http1().build();
        Ok(HttpsClient { client: Client::builder(TokioExecutor::new()).build(connector) })
    }

    /// Sends `request` and reads the whole answer, within [`TIMEOUT`].
    pub async fn send(&self, request: Request<Full<Bytes>>) -> Result<(StatusCode, Bytes), SendError> {
        let host = request.uri().host().unwrap_or("?").to_owned();
        let exchange = async {
            let answer = self.client.request(request).await.map_err(|e| failure::classify(&host, &e))?;
            let status = answer.status();
            let body = answer
                .into_body()
                .collect()
                .await
                .map_err(|e| SendError::Body { host: host.clone(), why: e.to_string() })?;
            Ok((status, body.to_bytes()))
        };
        match tokio::time::timeout(TIMEOUT, exchange).await {
            Ok(result) => result,
            Err(_) => Err(SendError::Timeout { host: host.clone(), secs: TIMEOUT.as_secs() }),
        }
    }
}

/// Whether `url` may be called: `https://`, or `http://` to this machine
/// only; `key` names the setting in the error.
pub fn check_url(key: &str, url: &str) -> Result<(), UrlError> {
    let bad = |why: &str| UrlError { key: key.to_owned(), url: url.to_owned(), why: why.to_owned() };
    let uri: http::Uri = url.parse().map_err(|_| bad("not a URL (write https://host/path)"))?;
    let host = uri.host().ok_or_else(|| bad("it names no host"))?;
    match uri.scheme_str() {
        Some("https") => Ok(()),
        Some("http") if is_loopback(host) => Ok(()),
        Some("http") => Err(bad(
            "plain http is allowed only to this machine (a simulator, or a TLS egress proxy on 127.0.0.1); write https://",
        )),
        _ => Err(bad("write https://")),
    }
}

fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost") || host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests;
