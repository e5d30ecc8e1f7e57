//! `[retention]`: how long raw records are kept before they are deleted.
//! What the books are made of (journal records, invoices, sales, ledger
//! postings, stays) is never deleted.

use serde::Deserialize;

#[derive(Clone, Copy, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetentionSettings {
    /// Raw gate events, by the time they happened: 400 days, past the
    /// tax year and its audit. 0 keeps them for ever.
    #[serde(default = "default_days")]
    pub gate_events_days: u32,
    /// Sign-in sessions that ended (the day close's "who signed in") and
    /// failed sign-ins, by when they ended. 0 keeps them for ever.
    #[serde(default = "default_days")]
    pub sign_ins_days: u32,
    /// Lane photos (vehicles and their plates: personal data), by when
    /// they were taken: 90 days, time enough for a dispute. 0 keeps them
    /// for ever.
    #[serde(default = "default_photo_days")]
    pub photos_days: u32,
}

fn default_photo_days() -> u32 {
    90
}

fn default_days() -> u32 {
    400
}

impl Default for RetentionSettings {
    fn default() -> Self {
        RetentionSettings {
            gate_events_days: default_days(),
            sign_ins_days: default_days(),
            photos_days: default_photo_days(),
        }
    }
}
