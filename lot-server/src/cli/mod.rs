//! The lot server's subcommands other than `run` (which is
//! [`crate::server`]): each parses its arguments and does one job.
//!
//! Parts:
//! - this file: the configuration a command reads and the lot it names;
//! - [`check`]: `check-config` and `migrate`;
//! - [`backup`]: `backup` and `restore` of a lot's SQLite database;
//! - [`token`]: `token create|list|revoke`;
//! - [`node`]: `node add|list|remove|export`: the broker's users;
//! - [`user`]: `user create|list|disable|enable|reset-password`;
//! - [`ledger`]: `ledger verify|seal|public-key|export`;
//! - [`report`]: `report`: a period's revenue as JSON, CSV or XLSX;
//! - [`vietqr`]: `vietqr encode|decode`, and QR images (PNG, SVG).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;

use crate::db::Db;
use crate::settings::{LotConfig, Settings};

pub mod backup;
pub mod check;
pub mod ledger;
pub mod node;
pub mod report;
pub mod token;
pub mod user;
pub mod vietqr;

/// The configuration, and which of its lots a command is about.
#[derive(Args, Debug)]
pub struct Target {
    /// TOML files, later ones overriding earlier ones.
    #[arg(long = "config", required = true)]
    pub config: Vec<PathBuf>,
    /// The lot, by id: `[lot]` (the default) or one of `[[lots]]`.
    #[arg(long)]
    pub lot: Option<String>,
}

/// The settings in `config` (files, then `PARKING__…` and `PARKING_CLOCK`).
pub fn load(config: &[PathBuf]) -> anyhow::Result<Settings> {
    Ok(Settings::load(config)?)
}

/// Runs a command's future on a fresh runtime.
pub fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(f)
}

pub fn lot_configs(s: &Settings) -> anyhow::Result<Vec<LotConfig>> {
    s.lot_configs().map_err(|(key, message, _)| anyhow::anyhow!("{key}: {message}"))
}

/// The lot `--lot` names (`[lot]` without it).
pub fn lot_config(s: &Settings, lot: Option<&str>) -> anyhow::Result<LotConfig> {
    let lots = lot_configs(s)?;
    match lot {
        None => lots.into_iter().next().context("no lot configured"),
        Some(id) => {
            let known: Vec<String> = lots.iter().map(|l| l.lot.id.to_string()).collect();
            lots.into_iter()
                .find(|l| l.lot.id.as_str() == id)
                .with_context(|| format!("--lot {id}: this server serves {}", known.join(", ")))
        }
    }
}

/// A lot's database, migrated.
pub async fn open(lot: &LotConfig) -> anyhow::Result<Db> {
    let db = Db::connect_in(lot.database.url.expose(), lot.database.schema.as_deref())
        .await
        .with_context(|| format!("lot {}: cannot open {}", lot.lot.id, lot.database.describe()))?;
    db.migrate().await?;
    Ok(db)
}

/// The settings, the lot a command names, and its database.
pub async fn database(target: &Target) -> anyhow::Result<(Settings, LotConfig, Db)> {
    let settings = load(&target.config)?;
    let lot = lot_config(&settings, target.lot.as_deref())?;
    let db = open(&lot).await?;
    Ok((settings, lot, db))
}
