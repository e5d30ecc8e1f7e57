//! `lot-server vietqr encode|decode`: the VietQR payload from the command
//! line, and rendered as a QR image (PNG or SVG) for lane displays, kiosks
//! and receipts. The output is a contract an acceptance check relies on:
//! `encode` prints the payload alone; `decode` prints one JSON object with
//! `kind`, `bin`, `account`, `service`, `amount` (number or null) and
//! `memo` (string or null), and fails with a message for an invalid
//! payload.

use std::path::PathBuf;

use anyhow::Context;
use parking_core::Vnd;
use parking_core::vietqr::{Kind, Service, VietQr};
use qrcode::{EcLevel, QrCode};

#[derive(Debug, clap::Subcommand)]
pub enum VietQrCommand {
    /// Print the payload for a bank account (or card): static without an
    /// amount, dynamic with one.
    Encode {
        /// The beneficiary bank's 6-digit BIN.
        #[arg(long)]
        bin: String,
        /// Account (or card) number.
        #[arg(long)]
        account: String,
        /// The number is a card number (QRIBFTTC), not an account.
        #[arg(long)]
        card: bool,
        /// Whole đồng: makes a dynamic code with the amount fixed.
        #[arg(long)]
        amount: Option<i64>,
        /// The transfer memo (ASCII, at most 25 characters).
        #[arg(long)]
        memo: Option<String>,
        /// Also write the QR code as a PNG image here.
        #[arg(long)]
        png: Option<PathBuf>,
        /// Also write the QR code as an SVG image here.
        #[arg(long)]
        svg: Option<PathBuf>,
    },
    /// Check a payload and print what it says, as JSON.
    Decode { payload: String },
}

/// Builds the request `encode` describes.
pub fn request(
    bin: &str,
    account: &str,
    card: bool,
    amount: Option<i64>,
    memo: Option<&str>,
) -> anyhow::Result<VietQr> {
    let mut q = VietQr::static_account(bin, account);
    if card {
        q.service = Service::Card;
    }
    if let Some(a) = amount {
        anyhow::ensure!(a > 0, "--amount must be a positive number of đồng, not {a}");
        q.kind = Kind::Dynamic;
        q.amount = Some(Vnd::new(a));
    }
    q.memo = memo.map(str::to_owned);
    Ok(q)
}

/// The decoded payload, in the contract's shape.
pub fn describe(payload: &str) -> anyhow::Result<serde_json::Value> {
    let q = VietQr::decode(payload.trim()).context("invalid VietQR payload")?;
    Ok(serde_json::json!({
        "kind": q.kind,
        "bin": q.bin,
        "account": q.account,
        "service": q.service.code(),
        "amount": q.amount.map(Vnd::get),
        "memo": q.memo,
    }))
}

/// The QR code of a payload (error correction M, as banking apps print).
fn code(payload: &str) -> anyhow::Result<QrCode> {
    QrCode::with_error_correction_level(payload.as_bytes(), EcLevel::M).context("payload too long for a QR code")
}

/// A PNG of the payload's QR code, 8 pixels a module, with the quiet zone.
pub fn png(payload: &str) -> anyhow::Result<Vec<u8>> {
    let img = code(payload)?.render::<image::Luma<u8>>().module_dimensions(8, 8).build();
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).context("cannot encode the PNG")?;
    Ok(out.into_inner())
}

/// An SVG of the payload's QR code.
pub fn svg(payload: &str) -> anyhow::Result<String> {
    Ok(code(payload)?.render::<qrcode::render::svg::Color<'_>>().min_dimensions(240, 240).build())
}

/// Runs one `vietqr` command, printing to stdout.
pub fn run(command: VietQrCommand) -> anyhow::Result<()> {
    match command {
        VietQrCommand::Encode { bin, account, card, amount, memo, png: png_path, svg: svg_path } => {
            let payload = request(&bin, &account, card, amount, memo.as_deref())?.encode()?;
            if let Some(path) = png_path {
                std::fs::write(&path, png(&payload)?).with_context(|| format!("cannot write {}", path.display()))?;
            }
            if let Some(path) = svg_path {
                std::fs::write(&path, svg(&payload)?).with_context(|| format!("cannot write {}", path.display()))?;
            }
            println!("{payload}");
        }
        VietQrCommand::Decode { payload } => println!("{}", describe(&payload)?),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const DYNAMIC: &str = "00020101021238570010A00000072701270006970403011300110123456780208QRIBFTTA530370454061800005802VN62340107NPS68690819thanh toan don hang63042E2E";

    #[test]
    fn decode_prints_the_contract_keys() {
        let v = describe(DYNAMIC).unwrap();
        assert_eq!(
            v,
            serde_json::json!({ "kind": "dynamic", "bin": "970403", "account": "0011012345678",
                "service": "QRIBFTTA", "amount": 180000, "memo": "thanh toan don hang" })
        );
        let card = describe(
            "00020101021138600010A00000072701300006970403011697040311012345670208QRIBFTTC53037045802VN63044F52",
        )
        .unwrap();
        assert_eq!(
            (card["kind"].as_str(), card["amount"].is_null(), card["memo"].is_null()),
            (Some("static"), true, true)
        );
        assert_eq!(card["service"], "QRIBFTTC");
    }

    #[test]
    fn encode_round_trips_and_refuses_nonsense() {
        let q = request("970403", "0011012345678", false, Some(180_000), Some("PK7X3Q")).unwrap();
        let v = describe(&q.encode().unwrap()).unwrap();
        assert_eq!((v["amount"].as_i64(), v["memo"].as_str()), (Some(180_000), Some("PK7X3Q")));
        assert!(request("970403", "1", false, Some(0), None).is_err());
        assert!(request("9704", "1", false, None, None).unwrap().encode().is_err());
        let bad_crc = DYNAMIC.replace("2E2E", "2E2F");
        let err = format!("{:#}", describe(&bad_crc).unwrap_err());
        assert!(err.contains("invalid VietQR payload") && err.to_lowercase().contains("crc"), "{err}");
    }

    #[test]
    fn rendered_images_scan_back_to_the_payload() {
        let png = png(DYNAMIC).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let img = image::load_from_memory(&png).unwrap().to_luma8();
        let mut prepared = rqrr::PreparedImage::prepare(img);
        let grids = prepared.detect_grids();
        assert_eq!(grids.len(), 1);
        let (_, text) = grids[0].decode().unwrap();
        assert_eq!(text, DYNAMIC);
        let svg = svg(DYNAMIC).unwrap();
        assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.contains("<path"), "{}", &svg[..80]);
    }
}
