//! The simulated bank: signed SePay notifications over keep-alive HTTP,
//! and the API calls the bench makes.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use lot_server::settlement::webhook::sign_sepay;
use parking_core::secret::Secret;
use serde_json::{Value, json};

use super::{HMAC, now};
use anyhow::bail;

pub(super) type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub(super) struct Http {
    pub(super) client: HttpClient,
    pub(super) base: String,
    pub(super) token: String,
}

impl Http {
    pub(super) async fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, String)],
        body: String,
    ) -> anyhow::Result<(u16, Value)> {
        let mut b = axum::http::Request::builder().method(method).uri(format!("{}{path}", self.base));
        b = b.header("content-type", "application/json");
        for (k, v) in headers {
            b = b.header(*k, v.as_str());
        }
        let res = self.client.request(b.body(Full::new(Bytes::from(body)))?).await?;
        let status = res.status().as_u16();
        let bytes = res.into_body().collect().await?.to_bytes();
        Ok((status, serde_json::from_slice(&bytes).unwrap_or(Value::Null)))
    }

    pub(super) async fn api(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let auth = vec![("authorization", format!("Bearer {}", self.token))];
        let (s, v) = self.send(method, path, &auth, body.map(|b| b.to_string()).unwrap_or_default()).await?;
        if !(200..300).contains(&s) {
            bail!("{method} {path}: {s} {v}");
        }
        Ok(v)
    }

    /// The simulated bank's signed SePay notification.
    pub(super) async fn pay(&self, id: u64, amount: i64, memo: &str) -> anyhow::Result<(u16, Value)> {
        let body = json!({
            "id": id, "gateway": "Vietcombank", "transactionDate": now().local().format(&time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"))?,
            "accountNumber": "0011012345678", "code": null, "content": memo, "transferType": "in",
            "transferAmount": amount, "accumulated": 0, "referenceCode": format!("FT{id}"), "description": memo,
        })
        .to_string();
        let ts = now().unix_seconds();
        let headers = [
            ("x-sepay-signature", sign_sepay(&Secret::new(HMAC), ts, body.as_bytes())),
            ("x-sepay-timestamp", ts.to_string()),
        ];
        self.send("POST", "/api/v1/webhooks/sepay", &headers, body).await
    }
}
