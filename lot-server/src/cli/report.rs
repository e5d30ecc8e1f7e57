//! `lot-server report`: the revenue report of a period, with its
//! reconciliation, as JSON, CSV or XLSX, to a file or standard output.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use super::{Target, database};

/// What `report` takes.
#[derive(Args, Debug)]
pub struct ReportArgs {
    #[command(flatten)]
    pub target: Target,
    /// First local day, YYYY-MM-DD.
    #[arg(long)]
    pub from: String,
    /// Last local day, YYYY-MM-DD (included).
    #[arg(long)]
    pub to: String,
    /// Only this vehicle class.
    #[arg(long)]
    pub class: Option<String>,
    /// Only this channel: account, transfer, pass, free or manual.
    #[arg(long)]
    pub channel: Option<String>,
    #[arg(long, value_enum, default_value = "json")]
    pub format: crate::tax::export::ExportFormat,
    /// The XLSX workbook's language: its sheets, headers and labels.
    #[arg(long, value_enum, default_value = "vi")]
    pub lang: crate::tax::sheet_words::Lang,
    /// Write here instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// Writes the report.
pub async fn run(args: ReportArgs) -> anyhow::Result<()> {
    let ReportArgs { target, from, to, class, channel, format, lang, out } = args;

    let (settings, lot, db) = database(&target).await?;
    let q = crate::tax::report::ReportQuery::new(lot.lot.id.as_str(), &from, &to, class, channel.as_deref())?;
    let r = crate::tax::report::revenue(&db, &q, settings.clock.now()).await?;
    let bytes = crate::tax::export::export(&r, format, lang)?;
    match out {
        Some(path) => {
            std::fs::write(&path, &bytes).with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "revenue {}..{}: {} stays, {} đồng with VAT, {} mismatches; written to {}",
                r.from,
                r.to,
                r.totals.count,
                r.totals.total_vnd,
                r.reconciliation.mismatches.len(),
                path.display()
            );
        }
        None => std::io::Write::write_all(&mut std::io::stdout(), &bytes)?,
    }
    Ok(())
}
