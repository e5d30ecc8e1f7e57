//! `lot-server`: the lot server binary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use lot_server::settings::{LotConfig, Settings};
use tokio_util::sync::CancellationToken;

#[derive(Parser, Debug)]
#[command(version, about = "Lot server: sessions, settlement, reports, dashboard")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The configuration, and which of its lots a command is about.
#[derive(Args, Debug)]
struct Target {
    /// TOML files, later ones overriding earlier ones.
    #[arg(long = "config", required = true)]
    config: Vec<PathBuf>,
    /// The lot, by id: `[lot]` (the default) or one of `[[lots]]`.
    #[arg(long)]
    lot: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serve: the HTTP API, ingestion of gate events from MQTT, the lists
    /// and tariff for the controllers (and the embedded broker, if set).
    Run {
        /// TOML files, later ones overriding earlier ones.
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Create or bring the database schema of every lot up to date, then exit.
    Migrate {
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Load and validate the configuration and the tariffs, then print what
    /// they say.
    CheckConfig {
        /// TOML files, later ones overriding earlier ones.
        #[arg(long = "config", required = true)]
        config: Vec<PathBuf>,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Make or check a VietQR payment payload.
    Vietqr {
        #[command(subcommand)]
        command: lot_server::vietqr_cli::VietQrCommand,
    },
    /// The tamper-evident journal: verify it, seal a day, print the public key.
    Ledger {
        #[command(subcommand)]
        command: LedgerCommand,
    },
    /// The revenue report of a period, with its reconciliation, as JSON,
    /// CSV or XLSX (to --out, or standard output).
    Report {
        #[command(flatten)]
        target: Target,
        /// First local day, YYYY-MM-DD.
        #[arg(long)]
        from: String,
        /// Last local day, YYYY-MM-DD (included).
        #[arg(long)]
        to: String,
        /// Only this vehicle class.
        #[arg(long)]
        class: Option<String>,
        /// Only this channel: account, transfer, pass, free or manual.
        #[arg(long)]
        channel: Option<String>,
        #[arg(long, value_enum, default_value = "json")]
        format: lot_server::tax::export::ExportFormat,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Time the monthly revenue report over a generated month of stays;
    /// the last line is JSON with `report_ms`.
    BenchReport(lot_server::bench_report::ReportArgs),
    /// Measure sustained ingestion from MQTT through commit to acknowledgement.
    BenchIngest(lot_server::bench::IngestArgs),
    /// Verify a hash-chained journal of a million records and check that
    /// every kind of tampering is detected; the last line is JSON.
    BenchLedger(lot_server::bench_ledger::LedgerArgs),
}

#[derive(Subcommand, Debug)]
enum TokenCommand {
    /// Create a token and print it, once: only its hash is stored.
    Create {
        #[command(flatten)]
        target: Target,
        /// admin, operator or tax_officer.
        #[arg(long)]
        role: lot_server::tokens::Role,
        /// Whose token it is, e.g. "gate staff, shift A".
        #[arg(long, default_value = "created on the command line")]
        label: String,
    },
    /// List tokens (never the tokens themselves).
    List {
        #[command(flatten)]
        target: Target,
    },
    /// Revoke a token by its id.
    Revoke {
        #[command(flatten)]
        target: Target,
        token_id: String,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::CheckConfig { config } => check(&config),
        Command::Migrate { config } => load(&config).and_then(|s| block_on(migrate(s))),
        Command::Run { config } => load(&config).and_then(|s| {
            telemetry();
            block_on(serve(s))
        }),
        Command::Token { command } => block_on(token(command)),
        Command::Vietqr { command } => lot_server::vietqr_cli::run(command),
        Command::BenchIngest(args) => block_on(lot_server::bench::run(args)),
        Command::BenchLedger(args) => lot_server::bench_ledger::run(args),
        Command::BenchReport(args) => block_on(lot_server::bench_report::run(args)),
        Command::Report { target, from, to, class, channel, format, out } => block_on(async move {
            let (lot, db) = database(&target).await?;
            let q =
                lot_server::tax::report::ReportQuery::new(lot.lot.id.as_str(), &from, &to, class, channel.as_deref())?;
            let r = lot_server::tax::report::revenue(&db, &q, tag_reader::reader::now()).await?;
            let bytes = lot_server::tax::export::export(&r, format)?;
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
        }),
        Command::Ledger { command } => block_on(ledger(command)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn load(config: &[PathBuf]) -> anyhow::Result<Settings> {
    Ok(Settings::load(config)?)
}

fn block_on<F: std::future::Future<Output = anyhow::Result<()>>>(f: F) -> anyhow::Result<()> {
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(f)
}

fn telemetry() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        // rumqttd logs every connection at info.
        .unwrap_or_else(|_| "info,rumqttd=warn".into());
    tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}

async fn migrate(s: Settings) -> anyhow::Result<()> {
    for lot in lot_configs(&s)? {
        let db = open(&lot).await?;
        println!("lot {}: database schema up to date ({:?})", lot.lot.id, db.backend);
    }
    Ok(())
}

fn lot_configs(s: &Settings) -> anyhow::Result<Vec<LotConfig>> {
    s.lot_configs().map_err(|(key, message, _)| anyhow::anyhow!("{key}: {message}"))
}

/// The lot `--lot` names (`[lot]` without it).
fn lot_config(s: &Settings, lot: Option<&str>) -> anyhow::Result<LotConfig> {
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
async fn open(lot: &LotConfig) -> anyhow::Result<lot_server::db::Db> {
    let db = lot_server::db::Db::connect_in(lot.database.url.expose(), lot.database.schema.as_deref())
        .await
        .with_context(|| format!("lot {}: cannot open {}", lot.lot.id, lot.database.describe()))?;
    db.migrate().await?;
    Ok(db)
}

/// The lot a command names, and its database.
async fn database(target: &Target) -> anyhow::Result<(LotConfig, lot_server::db::Db)> {
    let lot = lot_config(&load(&target.config)?, target.lot.as_deref())?;
    let db = open(&lot).await?;
    Ok((lot, db))
}

async fn token(command: TokenCommand) -> anyhow::Result<()> {
    let now = lot_server::db::now_ms();
    match command {
        TokenCommand::Create { target, role, label } => {
            let (lot, db) = database(&target).await?;
            let t = lot_server::tokens::create(&db, role, &label, now).await?;
            eprintln!(
                "token {} ({role}, {label}) of lot {}; it is shown once, keep it secret:",
                t.info.token_id, lot.lot.id
            );
            println!("{}", t.token);
        }
        TokenCommand::List { target } => {
            for t in lot_server::tokens::list(&database(&target).await?.1).await? {
                let state = if t.revoked_ms.is_some() { "revoked" } else { "live" };
                println!("{}  {:<11}  {:<7}  {}", t.token_id, t.role.as_str(), state, t.label);
            }
        }
        TokenCommand::Revoke { target, token_id } => {
            if !lot_server::tokens::revoke(&database(&target).await?.1, &token_id, now).await? {
                anyhow::bail!("no live token {token_id}");
            }
            println!("token {token_id} revoked");
        }
    }
    Ok(())
}

async fn serve(s: Settings) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(s.server.listen)
        .await
        .with_context(|| format!("cannot listen on {} (server.listen)", s.server.listen))?;
    let shutdown = CancellationToken::new();
    let stop = shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        stop.cancel();
    });
    lot_server::run(s, listener, shutdown).await
}

#[derive(Subcommand, Debug)]
enum LedgerCommand {
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
    /// verifier that follows the README's algorithm.
    Export {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        out: PathBuf,
    },
}

async fn ledger(command: LedgerCommand) -> anyhow::Result<()> {
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
    let key = load(&target.config)?.tax.journal_key().context("tax.journal_key")?;
    let (lot, db) = database(target).await?;
    lot_server::audit::init(&db, lot.lot.id.as_str()).await?;
    if let LedgerCommand::Export { out, .. } = &command {
        let file = std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?;
        let mut w = std::io::BufWriter::new(file);
        let n = lot_server::audit::export(&db, &mut w).await?;
        std::io::Write::flush(&mut w)?;
        let pending = lot_server::audit::pending(&db).await?;
        eprintln!("{n} records written to {} ({pending} not chained yet)", out.display());
        return Ok(());
    }
    if let Some(day) = day {
        time::Date::parse(&day, &time::macros::format_description!("[year]-[month]-[day]"))
            .with_context(|| format!("--day {day:?} is not YYYY-MM-DD"))?;
        let key = key.context("tax.journal_key is not set: nothing to seal with")?;
        let seal = lot_server::audit::seal(&db, &key, &day, tag_reader::reader::now().unix_millis()).await?;
        println!("{}", serde_json::to_string(&seal)?);
        return Ok(());
    }
    let public = match public {
        Some(hex) => chain::verifying_key(&hex).context("--public-key")?,
        None => key.context("give --public-key, or set tax.journal_key")?.verifying_key(),
    };
    let pending = lot_server::audit::pending(&db).await?;
    match lot_server::audit::verify(&db, &public).await? {
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

fn check(config: &[PathBuf]) -> anyhow::Result<()> {
    let s = Settings::load(config)?;
    let lots = lot_configs(&s)?;
    let further: Vec<String> = lots.iter().skip(1).map(|l| l.lot.id.to_string()).collect();
    println!(
        "config ok: lot {} ({}), zone {}, listening on {}{}",
        s.lot.id,
        s.lot.name,
        s.lot.zone,
        s.server.listen,
        if further.is_empty() { String::new() } else { format!("; further lots {}", further.join(", ")) }
    );
    let vat = s.tax.schedule().context("[tax] vat")?;
    let today = vat.rate_at(tag_reader::reader::now()).context("[tax] vat")?;
    println!("VAT {today} today ({} dated periods)", vat.periods().len());
    for lot in &lots {
        check_lot(lot, s.server.listen)?;
    }
    Ok(())
}

fn check_lot(lot: &LotConfig, listen: std::net::SocketAddr) -> anyhow::Result<()> {
    let at = if lot.primary {
        format!("http://{listen}/ and /lots/{}/", lot.lot.id)
    } else {
        format!("/lots/{}/", lot.lot.id)
    };
    println!("lot {} ({}), zone {}, served at {at}", lot.lot.id, lot.lot.name, lot.lot.zone);
    let book = lot_server::tariffs::load_dir(Path::new(&lot.lot.tariff_dir), &lot.lot.zone)
        .with_context(|| format!("lot {}", lot.lot.id))?;
    for t in book.tariffs() {
        println!("  tariff {} for zone {} from {}", t.version(), t.zone(), t.effective_from());
    }
    println!("  database {}", lot.database.describe());
    let k = &lot.settlement;
    let providers: Vec<&str> = [
        (k.sepay_api_key.is_some() || k.sepay_hmac_secret.is_some(), "SePay"),
        (k.casso_secret.is_some(), "Casso"),
        (k.sepay_poll.is_some(), "SePay reconciliation"),
    ]
    .into_iter()
    .filter_map(|(on, name)| on.then_some(name))
    .collect();
    println!(
        "  transfer notifications: {}",
        if providers.is_empty() { "none configured".into() } else { providers.join(", ") }
    );
    match lot_server::tax::invoicing::Issuer::from_settings(&lot.invoice)
        .map_err(|e| anyhow::anyhow!("[invoice] {e}"))?
    {
        Some(i) => println!(
            "  invoices: series {} by {} (MST {}), delivered to {}{}",
            i.series(tag_reader::reader::now()),
            i.seller.name,
            i.seller.tax_code,
            lot.invoice.drop_dir.display(),
            if lot.invoice.topups { "; top-ups invoiced" } else { "" }
        ),
        None => println!("  invoices: no seller configured ([invoice]): sales wait for their invoices"),
    }
    Ok(())
}
