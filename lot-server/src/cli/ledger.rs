//! `lot-server ledger verify|seal|public-key|export`: the tamper-evident
//! journal from the command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::Subcommand;

use super::{Target, database};
use crate::settings::Settings;

#[derive(Subcommand, Debug)]
pub enum LedgerCommand {
    /// Check every record and seal; exits 1 naming where and how the
    /// journal was tampered with.
    Verify {
        #[command(flatten)]
        target: Target,
        /// The lot's published public key (hex); default: the one of
        /// `tax.journal_key`.
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Seal a day (YYYY-MM-DD) at the journal's current end.
    Seal {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        day: String,
    },
    /// Print the public key that verifies this lot's seals.
    PublicKey {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Write the journal as JSON lines, for `journal-verify` or any
    /// verifier that follows docs/journal.md.
    Export {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        out: PathBuf,
    },
}

/// Runs a ledger command.
pub async fn run(command: LedgerCommand) -> anyhow::Result<()> {
    use parking_core::chain;
    let (target, public, day) = match &command {
        LedgerCommand::Verify { target, public_key, .. } => (target, public_key.clone(), None),
        LedgerCommand::Seal { target, day } => (target, None, Some(day.clone())),
        LedgerCommand::Export { target, .. } => (target, None, None),
        LedgerCommand::PublicKey { config } => {
            let key = Settings::load(config)?.tax.journal_key().context("tax.journal_key")?;
            let key = key.context("tax.journal_key is not set")?;
            println!("{}", chain::public_hex(&key));
            return Ok(());
        }
    };
    let (settings, lot, db) = database(target).await?;
    let key = settings.tax.journal_key().context("tax.journal_key")?;
    crate::audit::init(&db, lot.lot.id.as_str()).await?;
    if let LedgerCommand::Export { out, .. } = &command {
        let file = std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
        let mut w = std::io::BufWriter::new(file);
        let n = crate::audit::export(&db, &mut w).await?;
        std::io::Write::flush(&mut w)?;
        let pending = crate::audit::pending(&db).await?;
        eprintln!("{n} records written to {} ({pending} not chained yet)", out.display());
        return Ok(());
    }
    if let Some(day) = day {
        time::Date::parse(&day, &time::macros::format_description!("[year]-[month]-[day]"))
            .with_context(|| format!("--day {day:?} is not YYYY-MM-DD"))?;
        let key = key.context("tax.journal_key is not set: nothing to seal with")?;
        let seal = crate::audit::seal(&db, &key, &day, settings.clock.now_ms()).await?;
        println!("{}", serde_json::to_string(&seal)?);
        return Ok(());
    }
    let public = match public {
        Some(hex) => chain::verifying_key(&hex).context("--public-key")?,
        None => key.context("give --public-key, or set tax.journal_key")?.verifying_key(),
    };
    let pending = crate::audit::pending(&db).await?;
    match crate::audit::verify(&db, &public).await? {
        Ok(v) => {
            println!(
                "{}",
                serde_json::json!({
                    "ok": true, "records": v.records, "seals": v.seals, "last_hash": v.last_hash,
                    "pending": pending,
                })
            );
            Ok(())
        }
        Err(t) => anyhow::bail!("the journal does not verify: {t}"),
    }
}
