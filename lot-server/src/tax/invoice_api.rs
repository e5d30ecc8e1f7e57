//! Invoices to an e-invoice provider's HTTPS API ([`ProviderApi`]), and
//! [`Sink`], the one a lot's `[invoice]` chooses: the drop directory, or
//! `[invoice.api]`.

use bytes::Bytes;
use http_body_util::Full;
use parking_core::secret::Secret;
use parking_runtime::https::{self, HttpsClient, Request, StatusCode, header};

use super::invoicing::{FileDrop, InvoiceSink};
use crate::settings::{InvoiceApi, InvoiceSettings};

/// `POST`s each invoice's XML to the provider, the invoice's name as its
/// idempotency key, so a retry after a lost answer is not a second invoice.
#[derive(Clone, Debug)]
pub struct ProviderApi {
    url: String,
    token: Secret,
    client: HttpsClient,
}

impl ProviderApi {
    pub fn new(api: &InvoiceApi) -> Result<Self, https::SetupError> {
        let client = HttpsClient::new("invoice.api.ca_file", api.ca_file.as_deref())?;
        Ok(ProviderApi { url: api.url.clone(), token: api.token.clone(), client })
    }
}

impl InvoiceSink for ProviderApi {
    async fn deliver(&self, name: &str, xml: &str) -> Result<(), String> {
        let request = Request::post(&self.url)
            .header(header::AUTHORIZATION, format!("Bearer {}", self.token.expose()))
            .header(header::CONTENT_TYPE, "application/xml; charset=utf-8")
            .header("idempotency-key", name)
            .body(Full::new(Bytes::from(xml.to_owned())))
            .map_err(|e| format!("invoice.api.url: {e}"))?;
        let (status, body) = self.client.send(request).await.map_err(|e| e.to_string())?;
        if status.is_success() || status == StatusCode::CONFLICT {
            return Ok(());
        }
        let said: String = String::from_utf8_lossy(&body).chars().take(200).collect();
        Err(format!("the invoice provider answered {status}: {said}"))
    }
}

/// Where a lot's invoices go.
#[derive(Clone, Debug)]
pub enum Sink {
    Drop(FileDrop),
    Api(ProviderApi),
}

impl Sink {
    /// `[invoice.api]` if set, else the drop directory.
    pub fn from_settings(s: &InvoiceSettings) -> Result<Sink, https::SetupError> {
        match &s.api {
            Some(api) => Ok(Sink::Api(ProviderApi::new(api)?)),
            None => Ok(Sink::Drop(FileDrop { dir: s.drop_dir.clone() })),
        }
    }
}

impl InvoiceSink for Sink {
    async fn deliver(&self, name: &str, xml: &str) -> Result<(), String> {
        match self {
            Sink::Drop(d) => d.deliver(name, xml).await,
            Sink::Api(a) => a.deliver(name, xml).await,
        }
    }
}
