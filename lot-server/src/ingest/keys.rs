//! The key a session is found by: `tag:EPC`, `ticket:LOT:SERIAL`,
//! `plate:COMPACT`. Ingestion and settlement both find stays by it.

use parking_core::wire::Credential;

/// The key a session is found by.
pub fn credential_key(lot: &str, c: &Credential) -> String {
    match c {
        Credential::Tag { epc, .. } => format!("tag:{epc}"),
        // `PT1.{lot}.{gate}.{serial}.…`: the serial is unique per lot.
        Credential::Ticket { code } => match code.split('.').nth(3) {
            Some(serial) => format!("ticket:{lot}:{serial}"),
            None => format!("ticket:{lot}:{code}"),
        },
        Credential::Plate { plate } => format!("plate:{}", plate.compact()),
        Credential::None => "none".to_owned(),
    }
}
