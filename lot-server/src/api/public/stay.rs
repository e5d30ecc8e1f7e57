//! `GET /api/v1/public/stay?q=…`: what a stay still inside owes, by the
//! ticket's text, the payment code printed on it, or the plate; with the
//! VietQR that pays it (the lot's account, the amount left, the stay's
//! code as the memo) as a payload and as an SVG to show. The drivers' app
//! asks again every few seconds while money is owed, and turns to "paid,
//! you may leave" when the transfer has arrived.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use parking_core::money::Vnd;
use parking_core::vietqr::VietQr;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::api::{ApiError, AppState, Params};
use crate::owed::{self, Lookup, LookupError};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StayQuery {
    /// A ticket's text, a payment code or a plate.
    q: String,
}

impl From<LookupError> for ApiError {
    fn from(e: LookupError) -> Self {
        match e {
            LookupError::Unreadable => ApiError::coded(StatusCode::BAD_REQUEST, "unreadable", e.to_string()),
            LookupError::NotInside => ApiError::coded(StatusCode::NOT_FOUND, "not_inside", e.to_string()),
            LookupError::NoTariff => ApiError::coded(StatusCode::SERVICE_UNAVAILABLE, "no_tariff", e.to_string()),
            LookupError::Db(m) => ApiError::Unexpected(m),
        }
    }
}

pub(super) async fn find(State(s): State<AppState>, Params(q): Params<StayQuery>) -> Result<Json<Value>, ApiError> {
    let app = &s.0;
    let lookup = Lookup::parse(&q.q)?;
    let found = owed::find(&app.db, &lookup, &app.tariffs, &app.zone, app.clock.now()).await?;
    let mut out = serde_json::to_value(&found).map_err(|e| ApiError::Unexpected(e.to_string()))?;
    if let (Some(code), Some((bin, account)), true) =
        (&found.payment_code, app.settlement.policy.bank.as_ref(), found.owed_vnd > 0)
    {
        let payload = VietQr::payment(bin, account, Vnd::new(found.owed_vnd), code)
            .encode()
            .map_err(|e| ApiError::Unexpected(format!("VietQR of the configured bank account: {e}")))?;
        let svg = crate::api::dashboard::qr(&payload)?;
        let link = app.settlement.policy.pay_link.as_ref().map(|t| {
            t.replace("{bin}", &escaped(bin))
                .replace("{account}", &escaped(account))
                .replace("{amount}", &found.owed_vnd.to_string())
                .replace("{memo}", &escaped(code))
                .replace("{payload}", &escaped(&payload))
        });
        out["pay"] =
            json!({ "bank_bin": bin, "bank_account": account, "vietqr": payload, "qr_svg": svg, "link": link });
    }
    Ok(Json(out))
}

/// `text` percent-encoded for a URL's query: only letters, digits and
/// `-._~` pass as they are.
fn escaped(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => char::from(b).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_link_carries_each_value_escaped() {
        assert_eq!(super::escaped("PK7H3K9QX"), "PK7H3K9QX");
        assert_eq!(super::escaped("a b&c=d/é"), "a%20b%26c%3Dd%2F%C3%A9");
    }
}
