//! `[settlement]`: how transfers reach the lot (webhook keys, the
//! receiving account) and `[settlement.sepay_poll]`, the reconciliation
//! poller's HTTPS source.

use std::path::PathBuf;

use parking_core::secret::Secret;
use serde::Deserialize;

/// `[settlement]`: how transfers reach the lot.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SettlementSettings {
    /// `Authorization: Apikey …` that SePay sends.
    #[serde(default)]
    pub sepay_api_key: Option<Secret>,
    /// HMAC-SHA256 key for `X-SePay-Signature`.
    #[serde(default)]
    pub sepay_hmac_secret: Option<Secret>,
    /// HMAC-SHA512 key of Casso webhook v2.
    #[serde(default)]
    pub casso_secret: Option<Secret>,
    /// How far a signature's timestamp may be from now (default 300 s).
    #[serde(default)]
    pub webhook_window_secs: Option<u64>,
    /// Reconciliation against SePay's transaction list.
    #[serde(default)]
    pub sepay_poll: Option<SepayPoll>,
    /// The lot's receiving bank account: its bank's 6-digit NAPAS BIN…
    #[serde(default)]
    pub bank_bin: Option<String>,
    /// … and its number. With both, the desk shows a VietQR to top up an
    /// account.
    #[serde(default)]
    pub bank_account: Option<String>,
    /// A link opening banking apps with a transfer filled in (a VietQR
    /// deep-link service's): `{bin}`, `{account}`, `{amount}`, `{memo}`, `{payload}`.
    #[serde(default)]
    pub pay_link: Option<String>,
}

/// `[settlement.sepay_poll]`.
#[derive(Clone, Debug, Deserialize)]
pub struct SepayPoll {
    /// The API's base, `https://my.sepay.vn` (plain `http://` only to
    /// this machine: a simulator, or a TLS egress proxy).
    pub base_url: String,
    pub token: Secret,
    /// A PEM file of authorities trusted besides the system's (a site's
    /// own CA, or a TLS-inspecting proxy's).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    #[serde(default)]
    pub account_number: Option<String>,
    #[serde(default = "default_poll_secs")]
    pub every_secs: u64,
}

fn default_poll_secs() -> u64 {
    60
}

impl SettlementSettings {
    /// These settings, with what they leave unset taken from `base`.
    pub fn over(self, base: &SettlementSettings) -> SettlementSettings {
        SettlementSettings {
            sepay_api_key: self.sepay_api_key.or_else(|| base.sepay_api_key.clone()),
            sepay_hmac_secret: self.sepay_hmac_secret.or_else(|| base.sepay_hmac_secret.clone()),
            casso_secret: self.casso_secret.or_else(|| base.casso_secret.clone()),
            webhook_window_secs: self.webhook_window_secs.or(base.webhook_window_secs),
            sepay_poll: self.sepay_poll.or_else(|| base.sepay_poll.clone()),
            bank_bin: self.bank_bin.or_else(|| base.bank_bin.clone()),
            bank_account: self.bank_account.or_else(|| base.bank_account.clone()),
            pay_link: self.pay_link.or_else(|| base.pay_link.clone()),
        }
    }

    pub fn keys(&self) -> crate::settlement::webhook::WebhookKeys {
        crate::settlement::webhook::WebhookKeys {
            sepay_api_key: self.sepay_api_key.clone(),
            sepay_hmac_secret: self.sepay_hmac_secret.clone(),
            casso_secret: self.casso_secret.clone(),
            window: std::time::Duration::from_secs(self.webhook_window_secs.unwrap_or(300)),
        }
    }
}
