//! What can go wrong with HTTPS out, each told so that the person reading
//! the log knows what to change: a refused certificate says why it was
//! refused (unknown authority, another name, expired), not rustls's
//! variant name.

use std::error::Error as _;

/// The client could not be built from its settings.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("{key} = {path}: cannot read it: {error}")]
    Read { key: String, path: String, error: std::io::Error },
    #[error("{key} = {path}: no PEM certificate (-----BEGIN CERTIFICATE-----) in it")]
    NoCertificate { key: String, path: String },
    #[error("{key} = {path}: a certificate in it cannot be trusted as an authority: {why}")]
    BadCertificate { key: String, path: String, why: String },
    #[error("{key}: this machine trusts no certificate authority (install ca-certificates) and no ca_file is set")]
    NoRoots { key: String },
    #[error("TLS cannot be set up: {0}")]
    Tls(String),
}

/// A URL setting that outbound calls may not use.
#[derive(Debug, thiserror::Error)]
#[error("{key} = {url:?}: {why}")]
pub struct UrlError {
    pub key: String,
    pub url: String,
    pub why: String,
}

/// A request that got no answer.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error(
        "the certificate of {host} was refused: {why}; if the address is right, add the authority that signed it with ca_file"
    )]
    Certificate { host: String, why: String },
    #[error("the TLS handshake with {host} failed: {why}")]
    Handshake { host: String, why: String },
    #[error("cannot reach {host}: {why}")]
    Connect { host: String, why: String },
    #[error("{host} did not answer within {secs} s")]
    Timeout { host: String, secs: u64 },
    #[error("reading the answer of {host} failed: {why}")]
    Body { host: String, why: String },
}

/// The client's error, told by its deepest known cause.
pub(super) fn classify(host: &str, e: &hyper_util::client::legacy::Error) -> SendError {
    let host = host.to_owned();
    let mut cause: Option<&(dyn std::error::Error + 'static)> = e.source();
    let mut deepest = e.to_string();
    while let Some(c) = cause {
        if let Some(tls) = as_rustls(c) {
            return match tls {
                rustls::Error::InvalidCertificate(why) => SendError::Certificate { host, why: certificate_words(why) },
                other => SendError::Handshake { host, why: other.to_string() },
            };
        }
        deepest = c.to_string();
        cause = c.source();
    }
    SendError::Connect { host, why: deepest }
}

/// rustls's error, directly or inside the `io::Error`s tokio-rustls and
/// hyper-rustls wrap it in (an `io::Error`'s `source` skips its inner error).
fn as_rustls<'a>(e: &'a (dyn std::error::Error + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    let inner: &(dyn std::error::Error + 'static) = e.downcast_ref::<std::io::Error>()?.get_ref()?;
    as_rustls(inner)
}

fn certificate_words(e: &rustls::CertificateError) -> String {
    use rustls::CertificateError as C;
    match e {
        C::UnknownIssuer => "it is not signed by an authority this server trusts".into(),
        C::NotValidForName | C::NotValidForNameContext { .. } => "it was issued for another name".into(),
        C::Expired | C::ExpiredContext { .. } => "it has expired".into(),
        C::NotValidYet | C::NotValidYetContext { .. } => "it is not valid yet".into(),
        C::Revoked => "it has been revoked".into(),
        C::BadSignature => "its signature does not verify".into(),
        other => format!("it does not verify ({other:?})"),
    }
}
