//! VietQR: the NAPAS EMVCo merchant-presented payload a banking app scans
//! to make a transfer (docs/settlement.md, "The VietQR payload").
//!
//! Each field is `ID(2 digits) LEN(2 digits) VALUE`. The payload ends with
//! field `63`, a CRC-16/CCITT-FALSE over everything before its value
//! (`…6304`). The decoder checks the CRC first, then every length, then the
//! mandatory fields, and says which check failed.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::money::Vnd;

/// NAPAS's globally unique identifier in field 38/00.
pub const NAPAS_GUID: &str = "A000000727";
/// The longest memo worth putting in 62/08 (docs/settlement.md, "The VietQR payload").
pub const MAX_MEMO: usize = 25;

/// Static (any amount, reusable) or dynamic (amount fixed).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Static,
    Dynamic,
}

/// Transfer to an account number or to a card number (38/02).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Service {
    /// `QRIBFTTA`.
    #[serde(rename = "QRIBFTTA")]
    Account,
    /// `QRIBFTTC`.
    #[serde(rename = "QRIBFTTC")]
    Card,
}

impl Service {
    pub fn code(self) -> &'static str {
        match self {
            Service::Account => "QRIBFTTA",
            Service::Card => "QRIBFTTC",
        }
    }
}

/// A VietQR payment request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VietQr {
    pub kind: Kind,
    /// The beneficiary bank's 6-digit BIN.
    pub bin: String,
    /// Account or card number.
    pub account: String,
    pub service: Service,
    /// Whole đồng; present on a dynamic code.
    pub amount: Option<Vnd>,
    /// The transfer memo (62/08): where the payment code travels.
    pub memo: Option<String>,
    /// 62/01.
    pub bill_number: Option<String>,
    /// 62/05.
    pub reference: Option<String>,
    /// 62/07.
    pub terminal: Option<String>,
    /// 59.
    pub merchant_name: Option<String>,
    /// 60.
    pub city: Option<String>,
}

/// Why a payload was refused, or could not be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VietQrError {
    #[error("truncated payload: {0}")]
    Truncated(String),
    #[error("field {id}: length {declared} does not match its content ({reason})")]
    Length { id: String, declared: String, reason: &'static str },
    #[error("CRC mismatch: the payload carries {carried}, its content gives {computed}")]
    Crc { carried: String, computed: String },
    #[error("missing mandatory field {0}")]
    Missing(&'static str),
    #[error("field {id}: {reason}")]
    Invalid { id: String, reason: String },
}

/// CRC-16/CCITT-FALSE: poly 0x1021, init 0xFFFF, no reflection, no final XOR.
pub fn crc16(bytes: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in bytes {
        crc ^= u16::from(b) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 { (crc << 1) ^ 0x1021 } else { crc << 1 };
        }
    }
    crc
}

fn invalid(id: &str, reason: impl Into<String>) -> VietQrError {
    VietQrError::Invalid { id: id.to_owned(), reason: reason.into() }
}

/// Appends one `ID LEN VALUE` field; values over 99 bytes cannot be encoded.
fn field(out: &mut String, id: &str, value: &str) -> Result<(), VietQrError> {
    if value.len() > 99 {
        return Err(invalid(id, format!("{} bytes is longer than a field can hold (99)", value.len())));
    }
    if !value.is_ascii() {
        return Err(invalid(id, "must be ASCII (no diacritics)"));
    }
    out.push_str(id);
    out.push_str(&format!("{:02}", value.len()));
    out.push_str(value);
    Ok(())
}

/// How a run of fields failed to split.
enum Split {
    /// The text ends inside a field: a header or a value is cut short.
    Cut { id: String, declared: String, detail: String },
    /// A field's declared length does not fit what follows it.
    Misfit { id: String, declared: String, reason: &'static str },
}

impl Split {
    /// Before the CRC is known good, a cut is a truncated payload; after
    /// it, the bytes are as sent, so a misfit is the sender's length error.
    fn into_error(self, crc_checked: bool) -> VietQrError {
        match self {
            Split::Cut { detail, .. } if !crc_checked => VietQrError::Truncated(detail),
            Split::Cut { id, declared, .. } => {
                VietQrError::Length { id, declared, reason: "the field runs past the end of its parent" }
            }
            Split::Misfit { id, declared, reason } => VietQrError::Length { id, declared, reason },
        }
    }
}

/// Splits `s` into `(id, value)` fields.
fn split(s: &str) -> Result<Vec<(&str, &str)>, Split> {
    let mut out: Vec<(&str, &str)> = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let header = rest.get(..4).filter(|h| h.bytes().all(|b| b.is_ascii_digit()));
        let Some(header) = header else {
            // Either the previous field's length was wrong (it stopped
            // short of, or ran into, the next header) or the text is cut.
            return Err(match out.last() {
                Some((id, value)) if rest.len() >= 4 => Split::Misfit {
                    id: (*id).to_owned(),
                    declared: format!("{:02}", value.len()),
                    reason: "the next field does not start where this length says",
                },
                _ if rest.len() < 4 => Split::Cut {
                    id: rest.get(..2).unwrap_or(rest).to_owned(),
                    declared: String::new(),
                    detail: format!("a field header is cut short at {rest:?}"),
                },
                _ => Split::Misfit {
                    id: rest[..2].to_owned(),
                    declared: rest[2..4].to_owned(),
                    reason: "a field header must be 4 digits",
                },
            });
        };
        let (id, len) = header.split_at(2);
        let n: usize = len.parse().unwrap_or(0);
        let Some(value) = rest.get(4..4 + n) else {
            return Err(Split::Cut {
                id: id.to_owned(),
                declared: len.to_owned(),
                detail: format!("field {id} declares {n} bytes, {} remain", rest.len() - 4),
            });
        };
        out.push((id, value));
        rest = &rest[4 + n..];
    }
    Ok(out)
}

/// Splits the content of a payload whose CRC held.
fn fields(s: &str) -> Result<Vec<(&str, &str)>, VietQrError> {
    split(s).map_err(|e| e.into_error(true))
}

fn get<'a>(f: &[(&'a str, &'a str)], id: &str) -> Option<&'a str> {
    f.iter().find(|(i, _)| *i == id).map(|(_, v)| *v)
}

impl VietQr {
    /// A static code for an account: the driver types the amount.
    pub fn static_account(bin: &str, account: &str) -> Self {
        VietQr {
            kind: Kind::Static,
            bin: bin.to_owned(),
            account: account.to_owned(),
            service: Service::Account,
            amount: None,
            memo: None,
            bill_number: None,
            reference: None,
            terminal: None,
            merchant_name: None,
            city: None,
        }
    }

    /// A dynamic code for an account with the amount and memo fixed: what
    /// an exit lane shows for a fee.
    pub fn payment(bin: &str, account: &str, amount: Vnd, memo: &str) -> Self {
        VietQr {
            kind: Kind::Dynamic,
            amount: Some(amount),
            memo: Some(memo.to_owned()),
            ..VietQr::static_account(bin, account)
        }
    }

    /// The payload string, CRC included.
    pub fn encode(&self) -> Result<String, VietQrError> {
        if self.bin.len() != 6 || !self.bin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("38/01/00", "the bank BIN must be 6 digits"));
        }
        if self.account.is_empty() || !self.account.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(invalid("38/01/01", "the account must be letters and digits"));
        }
        if let Some(memo) = &self.memo {
            if memo.len() > MAX_MEMO {
                return Err(invalid("62/08", format!("memo of {} characters exceeds {MAX_MEMO}", memo.len())));
            }
        }
        let mut s = String::with_capacity(160);
        field(&mut s, "00", "01")?;
        field(&mut s, "01", if self.kind == Kind::Dynamic { "12" } else { "11" })?;
        let mut beneficiary = String::new();
        field(&mut beneficiary, "00", &self.bin)?;
        field(&mut beneficiary, "01", &self.account)?;
        let mut merchant = String::new();
        field(&mut merchant, "00", NAPAS_GUID)?;
        field(&mut merchant, "01", &beneficiary)?;
        field(&mut merchant, "02", self.service.code())?;
        field(&mut s, "38", &merchant)?;
        field(&mut s, "53", "704")?;
        if let Some(amount) = self.amount {
            if amount.get() <= 0 {
                return Err(invalid("54", "the amount must be positive"));
            }
            field(&mut s, "54", &amount.get().to_string())?;
        }
        field(&mut s, "58", "VN")?;
        if let Some(name) = &self.merchant_name {
            field(&mut s, "59", name)?;
        }
        if let Some(city) = &self.city {
            field(&mut s, "60", city)?;
        }
        let mut extra = String::new();
        for (id, v) in [("01", &self.bill_number), ("05", &self.reference), ("07", &self.terminal), ("08", &self.memo)]
        {
            if let Some(v) = v {
                field(&mut extra, id, v)?;
            }
        }
        if !extra.is_empty() {
            field(&mut s, "62", &extra)?;
        }
        s.push_str("6304");
        let crc = crc16(s.as_bytes());
        s.push_str(&format!("{crc:04X}"));
        Ok(s)
    }

    /// Parses and checks a payload.
    pub fn decode(payload: &str) -> Result<Self, VietQrError> {
        let p = payload.trim();
        if !p.is_ascii() {
            return Err(invalid("payload", "must be ASCII"));
        }
        // The CRC must be the last field: `6304XXXX`.
        if p.len() < 8 || p.get(p.len() - 8..p.len() - 4) != Some("6304") {
            let top = split(p).map_err(|e| e.into_error(false))?;
            return Err(if get(&top, "63").is_some() {
                invalid("63", "the CRC must be the last field, 4 hex digits")
            } else if p.len() < 8 {
                VietQrError::Truncated("shorter than a CRC field".into())
            } else {
                VietQrError::Missing("63 (CRC)")
            });
        }
        let carried = &p[p.len() - 4..];
        let computed = format!("{:04X}", crc16(&p.as_bytes()[..p.len() - 4]));
        if !carried.eq_ignore_ascii_case(&computed) {
            return Err(VietQrError::Crc { carried: carried.into(), computed });
        }
        let top = fields(&p[..p.len() - 8])?;
        let need = |id: &'static str| get(&top, id).ok_or(VietQrError::Missing(id));
        if need("00")? != "01" {
            return Err(invalid("00", "payload format indicator must be 01"));
        }
        let kind = match need("01")? {
            "11" => Kind::Static,
            "12" => Kind::Dynamic,
            other => return Err(invalid("01", format!("{other:?} is neither 11 (static) nor 12 (dynamic)"))),
        };
        let merchant = fields(need("38")?)?;
        if get(&merchant, "00") != Some(NAPAS_GUID) {
            return Err(VietQrError::Missing("38/00 (NAPAS GUID A000000727)"));
        }
        let beneficiary = fields(get(&merchant, "01").ok_or(VietQrError::Missing("38/01 (beneficiary)"))?)?;
        let bin = get(&beneficiary, "00").ok_or(VietQrError::Missing("38/01/00 (bank BIN)"))?;
        let account = get(&beneficiary, "01").ok_or(VietQrError::Missing("38/01/01 (account)"))?;
        if bin.len() != 6 || !bin.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid("38/01/00", "the bank BIN must be 6 digits"));
        }
        let service = match get(&merchant, "02").ok_or(VietQrError::Missing("38/02 (service code)"))? {
            "QRIBFTTA" => Service::Account,
            "QRIBFTTC" => Service::Card,
            other => return Err(invalid("38/02", format!("unknown service {other:?}"))),
        };
        if need("53")? != "704" {
            return Err(invalid("53", "currency must be 704 (VND)"));
        }
        if need("58")? != "VN" {
            return Err(invalid("58", "country must be VN"));
        }
        let amount = match get(&top, "54") {
            None => None,
            Some(a) if !a.is_empty() && a.bytes().all(|b| b.is_ascii_digit()) => {
                Some(Vnd::new(a.parse().map_err(|_| invalid("54", "amount out of range"))?))
            }
            Some(a) => return Err(invalid("54", format!("{a:?} is not a whole number of đồng"))),
        };
        let extra = match get(&top, "62") {
            Some(v) => fields(v)?,
            None => Vec::new(),
        };
        let text = |f: &[(&str, &str)], id: &str| get(f, id).map(str::to_owned);
        Ok(VietQr {
            kind,
            bin: bin.to_owned(),
            account: account.to_owned(),
            service,
            amount,
            memo: text(&extra, "08"),
            bill_number: text(&extra, "01"),
            reference: text(&extra, "05"),
            terminal: text(&extra, "07"),
            merchant_name: text(&top, "59"),
            city: text(&top, "60"),
        })
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Static => "static",
            Kind::Dynamic => "dynamic",
        })
    }
}

#[cfg(test)]
mod tests;
