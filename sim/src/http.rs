//! The lot server's API over keep-alive HTTP, and the simulated bank that
//! posts signed SePay notifications to it.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use lot_server::settlement::webhook::sign_sepay;
use parking_core::secret::Secret;
use serde_json::{Value, json};

use anyhow::bail;
use parking_runtime::Clock;

pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

pub struct Http {
    pub client: HttpClient,
    /// `http://HOST:PORT`, no trailing slash.
    pub base: String,
    /// An admin's API token.
    pub token: String,
    /// The SePay webhook's HMAC secret, shared with the lot server.
    pub hmac: Secret,
    /// The system's clock: the bank's transaction times.
    pub clock: Clock,
}

impl std::fmt::Debug for Http {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Http").field("base", &self.base).finish_non_exhaustive()
    }
}

impl Http {
    /// A client with TCP_NODELAY and a pool as large as the bench's bursts.
    pub fn new(base: &str, token: String, hmac: Secret, clock: Clock) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(hyper_util::rt::TokioExecutor::new()).pool_max_idle_per_host(256).build(connector);
        Http { client, base: base.trim_end_matches('/').to_owned(), token, hmac, clock }
    }

    /// Waits up to `secs` for `/health/ready` to answer 200.
    pub async fn wait_ready(&self, secs: u64) -> anyhow::Result<()> {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
        loop {
            if self.send("GET", "/health/ready", &[], String::new()).await.is_ok_and(|(s, _)| s == 200) {
                return Ok(());
            }
            if std::time::Instant::now() > deadline {
                bail!("the lot server at {} is not ready after {secs} s", self.base);
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

impl Http {
    pub async fn send(
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

    pub async fn api(&self, method: &str, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let auth = vec![("authorization", format!("Bearer {}", self.token))];
        let (s, v) = self.send(method, path, &auth, body.map(|b| b.to_string()).unwrap_or_default()).await?;
        if !(200..300).contains(&s) {
            bail!("{method} {path}: {s} {v}");
        }
        Ok(v)
    }

    /// The simulated bank's signed SePay notification of a transfer to the
    /// example lot's account.
    pub async fn pay(&self, id: u64, amount: i64, memo: &str) -> anyhow::Result<(u16, Value)> {
        self.pay_to("0011012345678", id, amount, memo).await
    }

    /// The simulated bank's signed SePay notification of a transfer to `account`.
    pub async fn pay_to(&self, account: &str, id: u64, amount: i64, memo: &str) -> anyhow::Result<(u16, Value)> {
        let body = json!({
            "id": id, "gateway": "Vietcombank", "transactionDate": self.clock.now().local().format(&time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"))?,
            "accountNumber": account, "code": null, "content": memo, "transferType": "in",
            "transferAmount": amount, "accumulated": 0, "referenceCode": format!("FT{id}"), "description": memo,
        })
        .to_string();
        // A bank re-sends a notification the server did not take (it is
        // down, or answered 5xx) until it does, each try signed anew.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        loop {
            let ts = self.clock.now().unix_seconds();
            let headers = [
                ("x-sepay-signature", sign_sepay(&self.hmac, ts, body.as_bytes())),
                ("x-sepay-timestamp", ts.to_string()),
            ];
            match self.send("POST", "/api/v1/webhooks/sepay", &headers, body.clone()).await {
                Ok((s, v)) if s < 500 => return Ok((s, v)),
                other if std::time::Instant::now() > deadline => return other,
                _ => tokio::time::sleep(std::time::Duration::from_millis(250)).await,
            }
        }
    }
}
