//! `[invoice]`: the seller every e-invoice names, its series, and the
//! sink issued invoices go to: a file drop, or a provider's HTTPS API
//! ([`InvoiceApi`]).

use std::path::PathBuf;

use parking_core::secret::Secret;
use serde::Deserialize;

/// `[invoice]`: the seller every e-invoice names, its series, and where
/// issued invoices are delivered. Without a seller, sales wait for their
/// invoices (the reconciliation lists them) until one is configured.
#[derive(Clone, Debug, Deserialize)]
pub struct InvoiceSettings {
    #[serde(default)]
    pub seller_name: Option<String>,
    #[serde(default)]
    pub seller_address: Option<String>,
    /// Mã số thuế: 10 digits, or 10-3 for a branch.
    #[serde(default)]
    pub seller_tax_code: Option<String>,
    /// The series' last two letters, chosen by the seller: `PK` makes
    /// `C26MPK` in 2026 (C: with the tax authority's code, M: cash register).
    #[serde(default = "default_series_letters")]
    pub series_letters: String,
    /// The 5 characters the tax authority gave the cash register, in
    /// each invoice's lookup code `M1-26-XXXXX-00000000123`.
    #[serde(default = "default_register_code")]
    pub register_code: String,
    /// Whether account top-ups are invoiced when paid (then stays debited
    /// from an account are not: their VAT was invoiced with the top-up).
    #[serde(default)]
    pub topups: bool,
    /// The file-drop sink: each invoice's XML is written here, for the
    /// provider's agent to pick up.
    #[serde(default = "default_drop_dir")]
    pub drop_dir: PathBuf,
    /// Keys the invoices' public receipt links (at least 16 characters, a
    /// secret: prefer PARKING__INVOICE__RECEIPT_SECRET). Unset, the server
    /// makes one and keeps it in the database.
    #[serde(default)]
    pub receipt_secret: Option<Secret>,
    /// `[invoice.api]`: deliver to the provider's HTTPS API instead of
    /// the drop directory.
    #[serde(default)]
    pub api: Option<InvoiceApi>,
}

/// `[invoice.api]`: an e-invoice provider's API. Each invoice is `POST`ed
/// to `url` as its XML, with `Authorization: Bearer {token}` and
/// `Idempotency-Key: {series}-{number}`; a 2xx answer (or 409, already
/// received) delivers it, anything else is retried with back-off.
#[derive(Clone, Debug, Deserialize)]
pub struct InvoiceApi {
    /// `https://…` (plain `http://` only to this machine).
    pub url: String,
    /// A secret: prefer PARKING__INVOICE__API__TOKEN.
    pub token: Secret,
    /// A PEM file of authorities trusted besides the system's.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
}

impl Default for InvoiceSettings {
    fn default() -> Self {
        InvoiceSettings {
            seller_name: None,
            seller_address: None,
            seller_tax_code: None,
            series_letters: default_series_letters(),
            register_code: default_register_code(),
            topups: false,
            drop_dir: default_drop_dir(),
            receipt_secret: None,
            api: None,
        }
    }
}

fn default_series_letters() -> String {
    "PK".to_owned()
}

fn default_register_code() -> String {
    "00000".to_owned()
}

fn default_drop_dir() -> PathBuf {
    PathBuf::from("var/invoices")
}
