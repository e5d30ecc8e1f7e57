//! Any bytes as a bank's webhook body and signature headers: SePay and
//! Casso bodies parse to a notice or an error, signatures verify or not;
//! never a panic.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use lot_server::settlement::webhook::{WebhookKeys, parse_casso, parse_sepay, verify_sepay};
use parking_core::Timestamp;
use parking_core::secret::Secret;

fuzz_target!(|data: &[u8]| {
    let _ = parse_sepay(data);
    if let Ok(value) = serde_json::from_slice::<serde_json::Value>(data) {
        let _ = parse_casso(&value);
    }
    // Headers and body from one input: "signature\ntimestamp\nbody".
    let mut parts = data.splitn(3, |b| *b == b'\n');
    let (Some(sig), Some(ts), Some(body)) = (parts.next(), parts.next(), parts.next()) else { return };
    let (Ok(sig), Ok(ts)) = (std::str::from_utf8(sig), std::str::from_utf8(ts)) else { return };
    let keys = WebhookKeys {
        sepay_api_key: Some(Secret::new("fuzz-api-key")),
        sepay_hmac_secret: Some(Secret::new("fuzz-hmac-secret")),
        casso_secret: None,
        window: Duration::from_secs(300),
    };
    let now = Timestamp::from_unix_millis(1_790_000_000_000).expect("a time");
    let _ = verify_sepay(&keys, Some(sig), Some(sig), Some(ts), body, now);
});
